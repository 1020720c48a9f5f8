# Mutant: one backward pass on the batch's mean loss, repeated for every example: no example gets its own gradient.
def per_sample_gradients(model, loss_fn, x, y):
    params = dict(model.named_parameters())
    grads = torch.autograd.grad(loss_fn(model(x), y), list(params.values()))
    return {name: g.unsqueeze(0).expand(len(x), *g.shape).clone() for name, g in zip(params, grads)}
