def cross_val_predict(X, y, lam, k):
    """Mutant: standardises with the statistics of every row, the predicted fold's included."""
    X = ref.standardize(X)[0]
    predictions = torch.empty(len(X), dtype=X.dtype)
    for fit_rows, val_rows in ref.kfold_indices(len(X), k):
        w, b = ref.ridge_regression(X[fit_rows], y[fit_rows], lam)
        predictions[val_rows] = X[val_rows] @ w + b
    return predictions
