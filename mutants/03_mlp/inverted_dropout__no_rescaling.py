def inverted_dropout(x, p, training=True, generator=None):
    """Inverted dropout: zero with probability p, scale the rest by 1/(1-p); identity when not training."""
    if not training or p == 0:
        return x
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= p
    return x * keep
