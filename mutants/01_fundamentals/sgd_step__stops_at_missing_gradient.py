# Mutant: `break` where `continue` belongs: a parameter without a gradient ends the update, so
# every parameter after it is skipped (a frozen layer in front of trained ones).
def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is None:
                break
            p -= lr * p.grad
            p.grad = None
