def bootstrap_ci(metric, *arrays, resamples=1000, level=0.95, generator=None):
    """Mutant: each resample is a permutation (without replacement), so every resample is the full data."""
    n = len(arrays[0])
    rows = torch.stack([torch.randperm(n, generator=generator) for _ in range(resamples)])
    values = torch.tensor([float(metric(*(a[r] for a in arrays))) for r in rows], dtype=torch.float64)
    low, high = torch.quantile(values, torch.tensor([(1 - level) / 2, (1 + level) / 2], dtype=torch.float64))
    return float(low), float(high)
