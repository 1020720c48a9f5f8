def linear_forward(x, weight, bias=None):
    """y = x W^T + b. Shapes: x (*, D_in), weight (D_out, D_in), bias (D_out,) or None -> (*, D_out)."""
    return x @ weight.T
