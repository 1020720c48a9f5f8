def pairwise_squared_distances(a, b):
    """Correct alternative: two loops over the rows, one pair at a time."""
    out = torch.empty(a.shape[0], b.shape[0], dtype=a.dtype, device=a.device)
    for i in range(a.shape[0]):
        for j in range(b.shape[0]):
            out[i, j] = ((a[i] - b[j]) ** 2).sum()
    return out
