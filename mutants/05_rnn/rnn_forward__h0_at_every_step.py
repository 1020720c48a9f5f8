def rnn_forward(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """Mutant: feeds h0 to every step instead of carrying the previous hidden state."""
    states = []
    for t in range(x.shape[0]):
        h = torch.tanh(F.linear(x[t], weight_ih, bias_ih) + F.linear(h0, weight_hh, bias_hh))
        states.append(h)
    return torch.stack(states)
