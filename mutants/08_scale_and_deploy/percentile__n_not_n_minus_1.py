# Mutant: position n q / 100 instead of (n - 1) q / 100 (clamped to the last index).
def percentile(samples, q):
    values = sorted(float(v) for v in samples)
    if not values:
        raise ValueError("no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"q must lie in [0, 100], got {q}")
    position = min(len(values) * q / 100, len(values) - 1)
    low, high = math.floor(position), math.ceil(position)
    return values[low] + (values[high] - values[low]) * (position - low)
