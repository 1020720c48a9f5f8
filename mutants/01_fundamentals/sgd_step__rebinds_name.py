# Mutant: rebinds the loop variable instead of updating the tensor in place: nothing changes.
def sgd_step(params, lr):
    for p in params:
        if p.grad is not None:
            p = p.detach() - lr * p.grad
            p.grad = None
