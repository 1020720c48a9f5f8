def roc_auc(y_true, scores):
    """Mutant: the single-class check added, but tied scores still get distinct ranks."""
    positives = int(y_true.sum())
    negatives = len(y_true) - positives
    if positives == 0 or negatives == 0:
        raise ValueError(f"ROC AUC is undefined with only one class in y_true ({positives} positives, {negatives} negatives)")
    ranks = torch.argsort(torch.argsort(scores)).double() + 1
    return (ranks[y_true == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)
