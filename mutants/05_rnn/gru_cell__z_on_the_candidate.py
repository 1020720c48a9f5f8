def gru_cell(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """Mutant: swaps the roles of z and 1 - z (h_next = z * n + (1 - z) * h)."""
    x_r, x_z, x_n = F.linear(x, weight_ih, bias_ih).chunk(3, dim=1)
    h_r, h_z, h_n = F.linear(h, weight_hh, bias_hh).chunk(3, dim=1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return z * n + (1 - z) * h
