def cross_val_predict(X, y, lam, k):
    """Mutant: collects the predictions in a tensor of the default dtype, whatever X's."""
    predictions = torch.zeros(len(y))
    for fit_rows, val_rows in ref.kfold_indices(len(X), k):
        fit_X, val_X = ref.standardize(X[fit_rows], X[val_rows])
        w, b = ref.ridge_regression(fit_X, y[fit_rows], lam)
        predictions[val_rows] = val_X @ w + b
    return predictions
