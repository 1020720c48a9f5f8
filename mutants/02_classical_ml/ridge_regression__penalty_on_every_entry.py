def ridge_regression(X, y, lam):
    """(w, b) minimising ||y - X w - b||^2 + lam ||w||^2, b not penalised: X (N, D), y (N,) -> (D,), ()."""
    if lam < 0:
        raise ValueError(f"lam must be at least 0, got {lam}")
    x_mean, y_mean = X.mean(dim=0), y.mean()
    centred = X - x_mean
    eye = torch.eye(X.shape[1], dtype=X.dtype, device=X.device)
    # Mutant: lam added to every entry of the matrix instead of its diagonal
    w = torch.linalg.solve(centred.T @ centred + lam, centred.T @ (y - y_mean))
    return w, y_mean - x_mean @ w
