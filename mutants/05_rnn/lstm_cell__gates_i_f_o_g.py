def lstm_cell(x, state, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """Mutant: reads the stacked gates in the order (i, f, o, g) instead of PyTorch's (i, f, g, o)."""
    h, c = state
    gates = F.linear(x, weight_ih, bias_ih) + F.linear(h, weight_hh, bias_hh)
    i, f, o, g = gates.chunk(4, dim=1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_next = torch.sigmoid(o) * torch.tanh(c_next)
    return h_next, c_next
