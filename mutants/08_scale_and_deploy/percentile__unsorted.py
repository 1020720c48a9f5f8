# Mutant: forgets to sort: interpolates between samples in the order they arrived.
def percentile(samples, q):
    values = [float(v) for v in samples]
    if not values:
        raise ValueError("no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"q must lie in [0, 100], got {q}")
    position = (len(values) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return values[low] + (values[high] - values[low]) * (position - low)
