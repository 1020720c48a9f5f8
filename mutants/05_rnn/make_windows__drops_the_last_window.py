def make_windows(series, window, horizon=1):
    """Mutant: counts T - window - horizon windows, one too few (the last window is lost)."""
    if window < 1 or horizon < 1:
        raise ValueError(f"window and horizon must be at least 1, got {window} and {horizon}")
    count = series.shape[0] - window - horizon
    if count < 1:
        raise ValueError(f"a series of {series.shape[0]} steps is too short for a window of {window} and a horizon of {horizon}")
    inputs = torch.stack([series[k:k + window] for k in range(count)])
    targets = torch.stack([series[k + window:k + window + horizon] for k in range(count)])
    return inputs, targets
