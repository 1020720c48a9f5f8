def lstm_cell(x, state, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """Mutant: computes h_next from the old cell state c instead of c_next."""
    h, c = state
    gates = F.linear(x, weight_ih, bias_ih) + F.linear(h, weight_hh, bias_hh)
    i, f, g, o = gates.chunk(4, dim=1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_next = torch.sigmoid(o) * torch.tanh(c)
    return h_next, c_next
