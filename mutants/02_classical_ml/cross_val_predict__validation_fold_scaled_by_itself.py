def cross_val_predict(X, y, lam, k):
    """Mutant: scales the predicted fold with its own statistics instead of the fit rows'."""
    predictions = torch.empty(len(X), dtype=X.dtype)
    for fit_rows, val_rows in ref.kfold_indices(len(X), k):
        (fit_X,), (val_X,) = ref.standardize(X[fit_rows]), ref.standardize(X[val_rows])
        w, b = ref.ridge_regression(fit_X, y[fit_rows], lam)
        predictions[val_rows] = val_X @ w + b
    return predictions
