def gru_cell(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """Mutant: applies the reset gate to h before the hidden projection (the original paper's
    variant), so b_hn is not multiplied by r, unlike nn.GRUCell."""
    x_r, x_z, x_n = F.linear(x, weight_ih, bias_ih).chunk(3, dim=1)
    hidden = h.shape[1]
    h_r, h_z, _ = F.linear(h, weight_hh, bias_hh).chunk(3, dim=1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    b_hn = bias_hh[2 * hidden:] if bias_hh is not None else None
    n = torch.tanh(x_n + F.linear(r * h, weight_hh[2 * hidden:], b_hn))
    return (1 - z) * n + z * h
