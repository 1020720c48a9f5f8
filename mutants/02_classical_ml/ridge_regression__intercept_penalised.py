def ridge_regression(X, y, lam):
    """(w, b) minimising ||y - X w - b||^2 + lam ||w||^2, b not penalised: X (N, D), y (N,) -> (D,), ()."""
    if lam < 0:
        raise ValueError(f"lam must be at least 0, got {lam}")
    # Mutant: the column of ones joins the penalty, so the intercept is shrunk towards 0 as well
    design = torch.cat([X, torch.ones(X.shape[0], 1, dtype=X.dtype)], dim=1)
    eye = torch.eye(design.shape[1], dtype=X.dtype)
    theta = torch.linalg.solve(design.T @ design + lam * eye, design.T @ y)
    return theta[:-1], theta[-1]
