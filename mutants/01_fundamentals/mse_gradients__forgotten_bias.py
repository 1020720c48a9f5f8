# Mutant: leaves the bias out of the residual.
def mse_gradients(X, y, w, b):
    residual = X @ w - y
    n = X.shape[0]
    return 2.0 / n * X.T @ residual, 2.0 / n * residual.sum()
