def causal_mask(size, device=None):
    """Mutant: strictly below the diagonal, so a position may not attend to itself."""
    return torch.ones(size, size, dtype=torch.bool, device=device).tril(-1)
