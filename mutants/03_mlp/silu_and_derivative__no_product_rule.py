def silu_and_derivative(x):
    """Return (x * sigmoid(x), its derivative), both with the shape of x."""
    s = torch.sigmoid(x)
    return x * s, s
