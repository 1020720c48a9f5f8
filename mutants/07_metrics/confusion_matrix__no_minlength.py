def confusion_matrix(y_true, y_pred, num_classes):
    """Mutant: bincount without minlength, so classes above the largest label seen are lost."""
    size = int(max(y_true.max(), y_pred.max())) + 1
    pairs = y_true * size + y_pred
    counts = torch.bincount(pairs, minlength=size * size).reshape(size, size)
    return counts
