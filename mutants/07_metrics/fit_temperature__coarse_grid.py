def fit_temperature(logits, y_true):
    """Mutant: a coarse grid of temperatures 0.5, 1.0, ..., 5.0: close, but not the minimum."""
    candidates = torch.arange(1, 11, dtype=torch.float64) / 2
    losses = torch.stack([F.cross_entropy(logits.double() / t, y_true) for t in candidates])
    return float(candidates[torch.argmin(losses)])
