"""Reference implementations for chapter 10 (trustworthy ML): explaining predictions.

Permutation importance (checked against ``sklearn.inspection.permutation_importance`` with the
same permutations), exact Shapley values and KernelSHAP (against ``shap``'s Exact and Kernel
explainers), integrated gradients (against ``captum``), and a saliency sanity check (Adebayo et
al. 2018). The tests are in tests/test_trustworthy.py, in float64.

Models are passed as functions ``f(X) -> (n,)`` (a score per row, e.g. the predicted probability
of the positive class) for tabular explanations, or as ``nn.Module`` plus a target class for
gradient-based ones.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn


def permutation_importance(predict: Callable[[torch.Tensor], torch.Tensor], X: torch.Tensor, y: torch.Tensor,
                           score: Callable[[torch.Tensor, torch.Tensor], torch.Tensor | float],
                           permutations: torch.Tensor) -> torch.Tensor:
    """How much ``score(y, predict(X))`` drops when one feature's column is shuffled.

    ``permutations[j, r]`` is the row order used for feature ``j`` in repeat ``r`` (shape
    ``(n_features, n_repeats, n_samples)``). Returns ``(n_features, n_repeats)`` float64: the
    baseline score minus the score with column ``j`` replaced by ``X[permutations[j, r], j]``,
    every other column left as it is. ``X`` itself is not modified."""
    n, d = X.shape
    if permutations.dim() != 3 or permutations.shape[0] != d or permutations.shape[2] != n:
        raise ValueError(f"permutations must be (n_features={d}, n_repeats, n_samples={n}), got {tuple(permutations.shape)}")
    baseline = float(score(y, predict(X)))
    drops = torch.empty(d, permutations.shape[1], dtype=torch.float64)
    for j in range(d):
        for r in range(permutations.shape[1]):
            shuffled = X.clone()
            shuffled[:, j] = X[permutations[j, r], j]
            drops[j, r] = baseline - float(score(y, predict(shuffled)))
    return drops


def sklearn_permutations(n_samples: int, n_features: int, n_repeats: int, random_state: int) -> torch.Tensor:
    """The row orders ``sklearn.inspection.permutation_importance(..., random_state=random_state)``
    uses, as a ``(n_features, n_repeats, n_samples)`` tensor for :func:`permutation_importance`.

    scikit-learn draws one seed from ``random_state``, then for every feature starts a fresh
    ``RandomState(seed)`` and shuffles an index array in place once per repeat, applying each
    shuffle to the column it has already shuffled: repeat r's order is the composition of the
    first r shuffles."""
    seed = np.random.RandomState(random_state).randint(np.iinfo(np.int32).max + 1)
    orders = np.empty((n_features, n_repeats, n_samples), dtype=np.int64)
    for j in range(n_features):
        rng = np.random.RandomState(seed)
        shuffling = np.arange(n_samples)
        order = np.arange(n_samples)
        for r in range(n_repeats):
            rng.shuffle(shuffling)
            order = order[shuffling]
            orders[j, r] = order
    return torch.from_numpy(orders)


def coalition_values(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, background: torch.Tensor,
                     coalitions: torch.Tensor) -> torch.Tensor:
    """v(S) for every row of ``coalitions`` ``(m, d)`` (bool), float64 ``(m,)``, with one call of
    ``f`` on all ``m * b`` mixed rows."""
    mixed = torch.where(coalitions[:, None, :], x, background[None])  # (m, b, d)
    return f(mixed.reshape(-1, x.shape[-1])).double().reshape(len(coalitions), len(background)).mean(dim=1)


def shapley_values(f: Callable[[torch.Tensor], torch.Tensor], X: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
    """Exact Shapley values ``(n, d)`` float64 of ``f`` at each row of ``X`` ``(n, d)``: for each
    feature i the weighted mean over coalitions S without i of v(S + i) - v(S), with weight
    |S|! (d - |S| - 1)! / d!. 2^d coalitions: use it for d up to about 12."""
    n, d = X.shape
    masks = torch.tensor(list(itertools.product([False, True], repeat=d)))  # (2^d, d)
    weights = torch.tensor([math.factorial(k) * math.factorial(d - k - 1) / math.factorial(d) if k < d else 0.0
                            for k in range(d + 1)], dtype=torch.float64)
    index = {tuple(m.tolist()): i for i, m in enumerate(masks)}
    phi = torch.zeros(n, d, dtype=torch.float64)
    for row in range(n):
        values = coalition_values(f, X[row], background, masks)
        for i in range(d):
            for s, m in enumerate(masks):
                if not m[i]:
                    with_i = m.clone()
                    with_i[i] = True
                    phi[row, i] += weights[int(m.sum())] * (values[index[tuple(with_i.tolist())]] - values[s])
    return phi


def shapley_kernel_weight(d: int, size: int) -> float:
    """The Shapley kernel (Lundberg & Lee 2017): (d - 1) / (C(d, |S|) |S| (d - |S|)), infinite for
    the empty and the full coalition (they enter as constraints)."""
    if size in (0, d):
        return math.inf
    return (d - 1) / (math.comb(d, size) * size * (d - size))


def kernel_shap(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, background: torch.Tensor,
                coalitions: torch.Tensor | None = None) -> torch.Tensor:
    """KernelSHAP for one row ``x`` ``(d,)``: the Shapley values as the solution of a weighted
    linear regression of v(S) on the coalition masks, with the Shapley kernel's weights and the
    constraint that the values sum to f(x) - E f(background). With every coalition (the default)
    it is exact; with a sample ``coalitions`` ``(m, d)`` (bool, neither empty nor full) it is the
    approximation that scales to many features."""
    d = x.shape[0]
    if coalitions is None:
        coalitions = torch.tensor([m for m in itertools.product([False, True], repeat=d) if 0 < sum(m) < d])
        weights = torch.tensor([shapley_kernel_weight(d, int(sum(m))) for m in coalitions.tolist()], dtype=torch.float64)
    else:
        weights = torch.ones(len(coalitions), dtype=torch.float64)  # sampled from the kernel already
    ends = coalition_values(f, x, background, torch.stack([torch.zeros(d, dtype=torch.bool), torch.ones(d, dtype=torch.bool)]))
    base, full = ends[0], ends[1]
    values = coalition_values(f, x, background, coalitions) - base
    Z = coalitions.double()
    # eliminate the last feature with the constraint: phi_d = (full - base) - sum(phi_1..d-1)
    A = Z[:, :-1] - Z[:, -1:]
    b = values - Z[:, -1] * (full - base)
    root = weights.sqrt()[:, None]
    # least squares, minimum norm where a small sample leaves the system rank-deficient
    phi = torch.linalg.lstsq(A * root, b[:, None] * root, driver="gelsd").solution.squeeze(1)
    return torch.cat([phi, (full - base - phi.sum()).reshape(1)])


def sample_coalitions(d: int, m: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``m`` random coalitions ``(m, d)`` drawn from the Shapley kernel: a size k with probability
    proportional to the kernel's total weight on size k, then k features uniformly."""
    sizes = torch.arange(1, d)
    size_weight = torch.tensor([shapley_kernel_weight(d, k) * math.comb(d, k) for k in sizes.tolist()])
    drawn = sizes[torch.multinomial(size_weight, m, replacement=True, generator=generator)]
    masks = torch.zeros(m, d, dtype=torch.bool)
    for row, k in enumerate(drawn.tolist()):
        masks[row, torch.randperm(d, generator=generator)[:k]] = True
    return masks


def integrated_gradients(model: nn.Module, x: torch.Tensor, baseline: torch.Tensor, target: torch.Tensor | int,
                         steps: int = 50) -> torch.Tensor:
    """Integrated gradients (Sundararajan et al. 2017) with the midpoint rule: ``(x - baseline)``
    times the mean of the gradients of the target logit at ``baseline + alpha (x - baseline)``,
    ``alpha = (k + 1/2) / steps``. ``x`` and ``baseline`` ``(n, ...)``; same shape and dtype out.
    As captum's ``IntegratedGradients(..., method="riemann_middle")``."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    target = torch.as_tensor(target).expand(x.shape[0])  # one class for every row, or one per row
    total = torch.zeros_like(x)
    for k in range(steps):
        alpha = (k + 0.5) / steps
        point = (baseline + alpha * (x - baseline)).detach().requires_grad_(True)
        out = model(point).gather(1, target.reshape(-1, 1).to(x.device)).sum()
        total += torch.autograd.grad(out, point)[0]
    return (x - baseline) * total / steps


def rank_correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman's rank correlation of two maps (flattened): 1 = same order of importance."""
    ra = torch.argsort(torch.argsort(a.flatten())).double()
    rb = torch.argsort(torch.argsort(b.flatten())).double()
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float((ra @ rb) / (ra.norm() * rb.norm()))


def randomize_layers(model: nn.Module, from_top: int, generator: torch.Generator | None = None) -> nn.Module:
    """A copy of ``model`` whose last ``from_top`` layers with parameters are re-initialised with
    random weights (the cascading randomisation of Adebayo et al. 2018). A saliency method whose
    maps barely change under it explains the input, not the model."""
    import copy

    copied = copy.deepcopy(model)
    layers = [m for m in copied.modules() if any(True for _ in m.parameters(recurse=False))]
    for layer in layers[len(layers) - from_top:]:
        for p in layer.parameters(recurse=False):
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=generator, dtype=p.dtype) * 0.1)
    return copied
