# Mutant: the nearest rank (rounds the position) instead of interpolating between the two closest.
def percentile(samples, q):
    values = sorted(float(v) for v in samples)
    if not values:
        raise ValueError("no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"q must lie in [0, 100], got {q}")
    return values[round((len(values) - 1) * q / 100)]
