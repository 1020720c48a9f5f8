def average_precision(y_true, scores):
    """Mutant: one step per sample, so tied scores are split into thresholds in sorting order."""
    order = torch.argsort(scores, descending=True)
    hits = y_true[order].double()
    tp = torch.cumsum(hits, 0)
    if tp[-1] == 0:
        return torch.zeros((), dtype=torch.float64)
    precision = tp / torch.arange(1, len(tp) + 1, dtype=torch.float64)
    recall = tp / tp[-1]
    return (torch.diff(recall, prepend=torch.zeros(1, dtype=torch.float64)) * precision).sum()
