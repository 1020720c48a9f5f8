"""Reference implementations for chapter 01 (fundamentals).

The chapter's lessons call these, so the student notebook runs top to bottom with every
exercise left blank. Each function is checked against a PyTorch / NumPy / scikit-learn
built-in in tests/test_fundamentals.py (float64, tight tolerance), gradients included.
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch.utils.data import Dataset


def make_sine_data(n: int, noise: float = 0.2, generator: torch.Generator | None = None,
                   dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points ``y = sin(2 pi x) + noise`` with ``x`` uniform in [0, 1]; returns ``(x, y)``, each (n,)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    x = torch.rand(n, generator=generator, dtype=dtype)
    y = torch.sin(2 * torch.pi * x) + noise * torch.randn(n, generator=generator, dtype=dtype)
    return x, y


def polynomial_features(x: torch.Tensor, degree: int) -> torch.Tensor:
    """Columns ``[1, x, x**2, ..., x**degree]`` of a 1-D tensor.

    Shapes: x (N,) -> (N, degree + 1), same dtype and device as ``x``.
    """
    if x.dim() != 1:
        raise ValueError(f"expected a 1-D tensor of shape (N,), got shape {tuple(x.shape)}")
    if not isinstance(degree, int) or degree < 0:
        raise ValueError(f"degree must be a non-negative int, got {degree!r}")
    powers = torch.arange(degree + 1, device=x.device)
    return x.unsqueeze(1) ** powers  # (N, 1) ** (degree+1,) -> (N, degree+1)


def fit_polynomial(x: torch.Tensor, y: torch.Tensor, degree: int) -> torch.Tensor:
    """Least-squares coefficients ``c`` (degree + 1,) so that ``polynomial_features(x, degree) @ c ~ y``."""
    features = polynomial_features(x, degree)
    return torch.linalg.lstsq(features, y.unsqueeze(1), driver="gelsd").solution.squeeze(1)


def pairwise_squared_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``out[i, j] = sum_d (a[i, d] - b[j, d])**2`` by broadcasting.

    Shapes: a (N, D), b (M, D) -> (N, M).
    """
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"expected a (N, D) and b (M, D), got {tuple(a.shape)} and {tuple(b.shape)}")
    differences = a.unsqueeze(1) - b.unsqueeze(0)  # (N, 1, D) - (1, M, D) -> (N, M, D)
    return (differences**2).sum(dim=-1)  # (N, M)


def numerical_gradient(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Central finite differences of a scalar function: ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``.

    Returns a tensor shaped like ``x``. Use float64: in float32 the rounding error of the
    difference is larger than the answer's precision for eps below about 1e-3.
    """
    gradient = torch.zeros_like(x)
    flat_x, flat_gradient = x.detach().reshape(-1), gradient.view(-1)
    for index in range(flat_x.numel()):
        step = torch.zeros_like(flat_x)
        step[index] = eps
        plus = f((flat_x + step).view_as(x))
        minus = f((flat_x - step).view_as(x))
        flat_gradient[index] = (plus - minus) / (2 * eps)
    return gradient


def mse_gradients(X: torch.Tensor, y: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients of ``L = mean((X @ w + b - y)**2)`` with respect to ``w`` and ``b``.

    dL/dw = (2/N) X^T (X w + b - y),   dL/db = (2/N) sum(X w + b - y)

    Shapes: X (N, D), y (N,), w (D,), b () -> (D,), ().
    """
    residual = X @ w + b - y  # (N,)
    n = X.shape[0]
    return 2.0 / n * X.T @ residual, 2.0 / n * residual.sum()


def sgd_step(params: Iterable[torch.Tensor], lr: float) -> None:
    """One plain gradient-descent step, in place: ``p <- p - lr * p.grad``; then clear the gradients.

    Parameters without a gradient are left alone. Mirrors ``torch.optim.SGD(params, lr).step()``
    followed by ``zero_grad()``.
    """
    with torch.no_grad():  # the update itself must not become part of the graph
        for param in params:
            if param.grad is None:
                continue
            param -= lr * param.grad
            param.grad = None


def train_val_split(X: torch.Tensor, y: torch.Tensor, val_fraction: float, generator: torch.Generator | None = None
                    ) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Shuffle the rows once (``generator`` decides the order) and hold out ``int(N * val_fraction)``
    of them for validation: ``((X_train, y_train), (X_val, y_val))``, every row in exactly one part,
    each target beside its own features. ``torch.utils.data.random_split`` does the same for datasets.
    """
    if len(X) != len(y):
        raise ValueError(f"X and y must have one row per sample, got {len(X)} and {len(y)} rows")
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction is the share of rows held out, strictly between 0 and 1; got {val_fraction}")
    n_val = int(len(X) * val_fraction)
    order = torch.randperm(len(X), generator=generator)  # one permutation for features and targets alike
    val_rows, train_rows = order[:n_val], order[n_val:]
    return (X[train_rows], y[train_rows]), (X[val_rows], y[val_rows])


class ArrayDataset(Dataset):
    """A map-style dataset over paired tensors: item ``i`` is ``(transform(features[i]), targets[i])``.

    Like ``torch.utils.data.TensorDataset`` for two tensors, with an optional transform.
    """

    def __init__(self, features: torch.Tensor, targets: torch.Tensor, transform: Callable | None = None):
        if len(features) != len(targets):
            raise ValueError(f"features and targets differ in length: {len(features)} != {len(targets)}")
        self.features, self.targets, self.transform = features, targets, transform

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: int):
        feature = self.features[index]
        if self.transform is not None:
            feature = self.transform(feature)
        return feature, self.targets[index]
