def numerical_gradient(f, x, eps=1e-6):
    """Mutant: nudges x itself in place and puts each value back (fails for an x that requires grad)."""
    gradient = torch.zeros_like(x)
    flat, out = x.view(-1), gradient.view(-1)
    for i in range(x.numel()):
        old = flat[i].item()
        flat[i] = old + eps
        up = f(x)
        flat[i] = old - eps
        down = f(x)
        flat[i] = old
        out[i] = (up - down) / (2 * eps)
    return gradient
