def roc_auc(y_true, scores):
    """Mutant: ties fixed, but one class only returns NaN or inf instead of raising."""
    positives = int(y_true.sum())
    negatives = len(y_true) - positives
    values, group, counts = torch.unique(scores, return_inverse=True, return_counts=True)
    ends = torch.cumsum(counts, 0).double()
    average_rank = ends - (counts.double() - 1) / 2
    ranks = average_rank[group]
    return (ranks[y_true == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)
