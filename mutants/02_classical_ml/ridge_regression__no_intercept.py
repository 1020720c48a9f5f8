def ridge_regression(X, y, lam):
    """(w, b) minimising ||y - X w - b||^2 + lam ||w||^2, b not penalised: X (N, D), y (N,) -> (D,), ()."""
    if lam < 0:
        raise ValueError(f"lam must be at least 0, got {lam}")
    # Mutant: the closed form applied to the raw data: no centring, and no intercept at all
    eye = torch.eye(X.shape[1], dtype=X.dtype)
    w = torch.linalg.solve(X.T @ X + lam * eye, X.T @ y)
    return w, torch.zeros((), dtype=X.dtype)
