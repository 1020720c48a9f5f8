def standardize(X_train, X_test):
    """Correct alternative: the statistics by hand; a constant column is divided by 1."""
    mean = X_train.sum(dim=0) / X_train.shape[0]
    std = ((X_train - mean) ** 2).mean(dim=0).sqrt()
    std[std == 0] = 1
    return (X_train - mean) / std, (X_test - mean) / std
