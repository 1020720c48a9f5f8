def cross_val_predict(X, y, lam, k):
    """Mutant: its own scaler divides by the standard deviation even when a column's is 0."""
    predictions = torch.empty(len(X), dtype=X.dtype)
    for fit_rows, val_rows in ref.kfold_indices(len(X), k):
        mean, std = X[fit_rows].mean(dim=0), X[fit_rows].std(dim=0, unbiased=False)
        w, b = ref.ridge_regression((X[fit_rows] - mean) / std, y[fit_rows], lam)
        predictions[val_rows] = (X[val_rows] - mean) / std @ w + b
    return predictions
