def average_precision(y_true, scores):
    """Mutant: the trapezoid rule between the points (interpolated) instead of the step sum."""
    order = torch.argsort(scores, descending=True)
    ranked, hits = scores[order], y_true[order].double()
    last = torch.cat([torch.nonzero(ranked[1:] != ranked[:-1]).squeeze(1), torch.tensor([len(ranked) - 1])])
    tp = torch.cumsum(hits, 0)[last]
    if tp[-1] == 0:
        return torch.zeros((), dtype=torch.float64)
    precision, recall = tp / (last + 1).double(), tp / tp[-1]
    recall = torch.cat([torch.zeros(1, dtype=torch.float64), recall])
    precision = torch.cat([torch.ones(1, dtype=torch.float64), precision])
    return torch.trapezoid(precision, recall)
