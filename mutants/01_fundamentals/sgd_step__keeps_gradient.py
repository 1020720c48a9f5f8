# Mutant: updates correctly but never clears the gradient, so the next step accumulates it.
def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p -= lr * p.grad
