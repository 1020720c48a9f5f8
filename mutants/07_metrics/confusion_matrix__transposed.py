def confusion_matrix(y_true, y_pred, num_classes):
    """Mutant: rows are the predicted class, columns the true one (the transpose)."""
    pairs = y_pred * num_classes + y_true
    return torch.bincount(pairs, minlength=num_classes * num_classes).reshape(num_classes, num_classes)
