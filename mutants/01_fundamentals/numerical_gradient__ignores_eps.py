def numerical_gradient(f, x, eps=1e-6):
    """Mutant: a fixed step of 1e-6, whatever eps is passed."""
    h = 1e-6
    flat = x.detach().clone().reshape(-1)
    gradient = torch.zeros_like(flat)
    for i in range(flat.numel()):
        up, down = flat.clone(), flat.clone()
        up[i] += h
        down[i] -= h
        gradient[i] = (f(up.view_as(x)) - f(down.view_as(x))) / (2 * h)
    return gradient.view_as(x)
