def bootstrap_ci(metric, *arrays, resamples=1000, level=0.95, generator=None):
    """Mutant: the first array is resampled and the others are left as they are (pairs broken)."""
    n = len(arrays[0])
    rows = torch.randint(n, (resamples, n), generator=generator)
    values = torch.tensor([float(metric(arrays[0][r], *arrays[1:])) for r in rows], dtype=torch.float64)
    low, high = torch.quantile(values, torch.tensor([(1 - level) / 2, (1 + level) / 2], dtype=torch.float64))
    return float(low), float(high)
