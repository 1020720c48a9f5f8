def precision_recall_f1(y_true, y_pred, num_classes, average=None):
    """Mutant: macro F1 computed as the F1 of the macro precision and recall."""
    if average not in (None, "macro", "micro", "weighted"):
        raise ValueError(f"average must be None, 'macro', 'micro' or 'weighted', got {average!r}")
    counts = torch.bincount(y_true * num_classes + y_pred, minlength=num_classes ** 2).reshape(num_classes, num_classes)
    counts = counts.double()
    tp, predicted, support = counts.diagonal(), counts.sum(0), counts.sum(1)
    if average == "micro":
        tp, predicted, support = tp.sum(), predicted.sum(), support.sum()

    def ratio(a, b):
        return torch.where(b > 0, a / b.clamp_min(1), torch.zeros_like(b))

    precision, recall = ratio(tp, predicted), ratio(tp, support)
    f1 = ratio(2 * tp, predicted + support)
    if average == "macro":
        p, r = precision.mean(), recall.mean()
        return p, r, 2 * p * r / (p + r)
    if average == "weighted":
        weights = support / support.sum()
        return (precision * weights).sum(), (recall * weights).sum(), (f1 * weights).sum()
    return precision, recall, f1
