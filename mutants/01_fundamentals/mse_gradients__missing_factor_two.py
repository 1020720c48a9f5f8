# Mutant: forgets the factor 2 from differentiating the square.
def mse_gradients(X, y, w, b):
    residual = X @ w + b - y
    n = X.shape[0]
    return X.T @ residual / n, residual.sum() / n
