"""Reference implementations for chapter 02 (classical machine learning), in PyTorch.

Each function is checked against scikit-learn or PyTorch in tests/test_classical.py (float64,
tight tolerance), gradients included where the function is differentiable.
"""

from __future__ import annotations

import torch

from utils.fundamentals import pairwise_squared_distances


def standardize(train: torch.Tensor, *others: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Scale every column to mean 0 and standard deviation 1 using the statistics of ``train`` only.

    The same mean and (population) standard deviation are applied to ``others`` (validation,
    test): computing them on all data would leak information from the test set. Columns with
    zero spread are only centred, as in ``sklearn.preprocessing.StandardScaler``.

    Shapes: train (N, D), each other (M, D) -> the same shapes, in the same order.
    """
    mean = train.mean(dim=0)
    std = train.std(dim=0, unbiased=False)
    std = torch.where(std == 0, torch.ones_like(std), std)
    return tuple((t - mean) / std for t in (train, *others))


def normal_equation(X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Least-squares linear regression with an intercept: returns ``(w, b)`` with ``X @ w + b ~ y``.

    Appends a column of ones and solves the normal equations ``A^T A theta = A^T y`` with
    ``torch.linalg.lstsq`` (stable even when ``A^T A`` is ill-conditioned).
    Shapes: X (N, D), y (N,) -> w (D,), b ().
    """
    design = torch.cat([X, torch.ones(X.shape[0], 1, dtype=X.dtype, device=X.device)], dim=1)  # (N, D+1)
    theta = torch.linalg.lstsq(design, y.unsqueeze(1)).solution.squeeze(1)  # (D+1,)
    return theta[:-1], theta[-1]


def ridge_regression(X: torch.Tensor, y: torch.Tensor, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Ridge regression with an unpenalised intercept: ``(w, b)`` minimising
    ``||y - X w - b||^2 + lam ||w||^2`` (scikit-learn's ``Ridge(alpha=lam)``).

    The best ``b`` for any ``w`` makes the residuals average 0, ``b = mean(y) - mean(X) w``; put
    back, the problem is least squares on centred data plus the penalty, solved in closed form:
    ``w = (Xc^T Xc + lam I)^-1 Xc^T yc``, invertible for every ``lam > 0`` (also when D > N).
    Shapes: X (N, D), y (N,) -> w (D,), b ().
    """
    if lam < 0:
        raise ValueError(f"lam is the weight of a penalty and must be at least 0, got {lam}")
    x_mean, y_mean = X.mean(dim=0), y.mean()
    centred = X - x_mean
    eye = torch.eye(X.shape[1], dtype=X.dtype, device=X.device)
    w = torch.linalg.solve(centred.T @ centred + lam * eye, centred.T @ (y - y_mean))
    return w, y_mean - x_mean @ w


def binary_cross_entropy_with_logits(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy of ``sigmoid(logits)`` against 0/1 ``targets``, stable for any logit.

    loss = log(1 + exp(z)) - z y, which equals -[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))].
    ``torch.logaddexp(0, z)`` computes log(1 + exp(z)) as max(z, 0) + log(1 + exp(-|z|)), so it never
    overflows, and its gradient is sigmoid(z) everywhere. Written out with ``clamp`` and ``abs``,
    autograd would take one side of their kinks at exactly z = 0 and give -y instead of 0.5 - y.
    """
    return (torch.logaddexp(torch.zeros_like(logits), logits) - logits * targets).mean()


def kmeans_assign(X: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """Index of the nearest center for each row: X (N, D), centers (K, D) -> (N,) int64."""
    return pairwise_squared_distances(X, centers).argmin(dim=1)


KNN_METRICS = ("euclidean", "manhattan", "cosine")


def knn_distances(X_query: torch.Tensor, X_train: torch.Tensor, metric: str = "euclidean") -> torch.Tensor:
    """(Q, N) distances between query and training rows: ``euclidean`` (L2), ``manhattan`` (L1,
    the sum of absolute differences) or ``cosine`` (1 - the cosine of the angle between rows).

    Computed without the (Q, N, D) tensor of differences that broadcasting would build (2.5 GB for
    the digits with 1,024 extra columns in the chapter)."""
    if metric in ("euclidean", "manhattan"):  # cdist never holds the (Q, N, D) differences in memory
        return torch.cdist(X_query, X_train, p=2.0 if metric == "euclidean" else 1.0)
    if metric == "cosine":
        unit_q = X_query / X_query.norm(dim=1, keepdim=True)
        unit_t = X_train / X_train.norm(dim=1, keepdim=True)
        return 1 - unit_q @ unit_t.T
    raise ValueError(f"unknown metric {metric!r}: use one of {', '.join(KNN_METRICS)}")


def knn_predict(X_train: torch.Tensor, y_train: torch.Tensor, X_query: torch.Tensor, k: int,
                metric: str = "euclidean") -> torch.Tensor:
    """k-nearest-neighbour classification: the most frequent label among the ``k`` training rows
    nearest to each query row (scikit-learn's ``KNeighborsClassifier``, uniform weights); a tied
    vote goes to the smallest label. X_train (N, D), y_train (N,) int64, X_query (Q, D) -> (Q,) int64.
    """
    if not 1 <= k <= len(X_train):
        raise ValueError(f"k must be between 1 and the {len(X_train)} training rows, got {k}")
    nearest = knn_distances(X_query, X_train, metric).topk(k, dim=1, largest=False).indices  # (Q, k)
    votes = torch.nn.functional.one_hot(y_train[nearest], int(y_train.max()) + 1).sum(dim=1)  # (Q, classes)
    return votes.argmax(dim=1)  # argmax returns the first maximum: ties go to the smallest label


def kmeans_plus_plus(X: torch.Tensor, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """k-means++ initialisation: the first center uniformly at random, each next one with
    probability proportional to its squared distance to the nearest center chosen so far.

    Returns (k, D) rows of ``X``.
    """
    if not 1 <= k <= X.shape[0]:
        raise ValueError(f"k must be between 1 and the number of points {X.shape[0]}, got {k}")
    first = torch.randint(X.shape[0], (1,), generator=generator, device=X.device)
    centers = [X[first[0]]]
    closest = pairwise_squared_distances(X, centers[0].unsqueeze(0)).squeeze(1)  # (N,)
    for _ in range(1, k):
        index = torch.multinomial(closest / closest.sum(), 1, generator=generator)[0]
        centers.append(X[index])
        closest = torch.minimum(closest, pairwise_squared_distances(X, X[index].unsqueeze(0)).squeeze(1))
    return torch.stack(centers)


def kmeans(X: torch.Tensor, k: int, max_iter: int = 100, tol: float = 1e-6,
           generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, float, int]:
    """Lloyd's algorithm from a k-means++ start.

    Returns ``(centers (K, D), labels (N,), inertia, iterations)``; inertia is the sum of squared
    distances of the points to their centers. Stops when no center moves more than ``tol``.
    """
    centers = kmeans_plus_plus(X, k, generator)
    for iteration in range(1, max_iter + 1):
        labels = kmeans_assign(X, centers)
        new_centers = torch.stack([X[labels == j].mean(dim=0) if (labels == j).any() else centers[j] for j in range(k)])
        shift = (new_centers - centers).norm(dim=1).max().item()
        centers = new_centers
        if shift <= tol:
            break
    distances = pairwise_squared_distances(X, centers)  # (N, K), once for labels and inertia
    labels = distances.argmin(dim=1)
    inertia = distances.gather(1, labels.unsqueeze(1)).sum().item()
    return centers, labels, inertia, iteration


def pca(X: torch.Tensor, n_components: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Principal component analysis by the SVD of the centred data.

    X - mean = U S V^T; the components are the first rows of V^T, the projection is
    (X - mean) V_k, and the explained variance of component i is S_i^2 / (N - 1).
    Returns ``(projection (N, k), components (k, D), explained_variance_ratio (k,))``. Signs are
    arbitrary (a component and its negative explain the same variance).
    """
    if not 1 <= n_components <= min(X.shape):
        raise ValueError(f"n_components must be between 1 and {min(X.shape)}, got {n_components}")
    centred = X - X.mean(dim=0)
    _, singular_values, vh = torch.linalg.svd(centred, full_matrices=False)
    variance = singular_values**2 / (X.shape[0] - 1)
    components = vh[:n_components]  # (k, D)
    return centred @ components.T, components, variance[:n_components] / variance.sum()


def kfold_indices(n: int, k: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Train/validation index pairs of k-fold cross-validation without shuffling.

    Fold i validates on a contiguous block; the first ``n % k`` folds hold one sample more, as
    in ``sklearn.model_selection.KFold``. Returns k pairs of int64 tensors.
    """
    if not 2 <= k <= n:
        raise ValueError(f"k must be between 2 and n={n}, got {k}")
    sizes = [n // k + (1 if fold < n % k else 0) for fold in range(k)]
    indices, folds, start = torch.arange(n), [], 0
    for size in sizes:
        validation = indices[start:start + size]
        train = torch.cat([indices[:start], indices[start + size:]])
        folds.append((train, validation))
        start += size
    return folds


def cross_val_predict(X: torch.Tensor, y: torch.Tensor, lam: float, k: int) -> torch.Tensor:
    """Out-of-fold predictions of ridge regression on standardised features: row ``r``'s prediction
    comes from the model, scaler included, fitted on the ``k - 1`` folds that do not hold ``r``
    (folds of :func:`kfold_indices`), so neither its target nor its fold's inputs shaped it. As
    ``sklearn.model_selection.cross_val_predict`` with ``make_pipeline(StandardScaler(),
    Ridge(alpha=lam))`` and ``KFold(k)``. Shapes: X (N, D), y (N,) -> (N,), in X's dtype."""
    predictions = torch.empty(len(X), dtype=X.dtype, device=X.device)
    for fit_rows, val_rows in kfold_indices(len(X), k):
        fit_X, val_X = standardize(X[fit_rows], X[val_rows])  # statistics of the fit rows only
        w, b = ridge_regression(fit_X, y[fit_rows], lam)
        predictions[val_rows] = val_X @ w + b
    return predictions
