def mse_gradients(X, y, w, b):
    """Correct alternative: the residual's mean and the weighted mean of the rows."""
    residual = X @ w + b - y
    return 2 * (X * residual.unsqueeze(1)).mean(dim=0), 2 * residual.mean()
