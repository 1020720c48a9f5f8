def cross_val_predict(X, y, lam, k):
    """Mutant: the scaler is fitted per fold, but the weights on every row, the predicted fold's included."""
    predictions = torch.empty(len(X), dtype=X.dtype)
    for fit_rows, val_rows in ref.kfold_indices(len(X), k):
        all_X, val_X = ref.standardize(X[fit_rows], X, X[val_rows])[1:]
        w, b = ref.ridge_regression(all_X, y, lam)
        predictions[val_rows] = val_X @ w + b
    return predictions
