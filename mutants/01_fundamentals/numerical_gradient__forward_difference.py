# Mutant: a one-sided (forward) difference, accurate only to order eps.
def numerical_gradient(f, x, eps=1e-6):
    flat = x.detach().reshape(-1)
    gradient = torch.zeros_like(flat)
    for i in range(flat.numel()):
        step = torch.zeros_like(flat)
        step[i] = eps
        gradient[i] = (f((flat + step).view_as(x)) - f(x)) / eps
    return gradient.view_as(x)
