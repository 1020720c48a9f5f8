def seasonal_naive_forecast(history, season, horizon):
    """Mutant: repeats the first season of the history instead of the last one."""
    if season < 1 or horizon < 1:
        raise ValueError(f"season and horizon must be at least 1, got {season} and {horizon}")
    if len(history) < season:
        raise ValueError(f"a history of {len(history)} steps holds no full season of {season}")
    first = history[:season]
    return torch.stack([first[h % season] for h in range(horizon)])
