"""Neural-network building blocks written out: the reference implementations of chapter 03.

Each function is checked against its PyTorch built-in in tests/test_layers.py (float64, tight
tolerance, gradients included). Shapes use N for the batch, D_in / D_out for features and C
for classes.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """The affine map of ``nn.Linear``: ``y = x W^T + b``.

    Shapes: x (*, D_in), weight (D_out, D_in) as ``nn.Linear`` stores it, bias (D_out,) or None
    -> (*, D_out). Any number of leading batch dimensions is allowed.
    """
    if x.shape[-1] != weight.shape[1]:
        raise ValueError(f"x has {x.shape[-1]} features but weight expects {weight.shape[1]} (weight is (D_out, D_in))")
    out = x @ weight.T
    return out if bias is None else out + bias


def silu_and_derivative(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """SiLU (Swish) ``x * sigmoid(x)`` and its derivative ``s + x s (1 - s)`` with ``s = sigmoid(x)``."""
    s = torch.sigmoid(x)
    return x * s, s * (1 + x * (1 - s))


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Mean cross-entropy of class-index ``targets`` under ``softmax(logits)``, as ``F.cross_entropy``.

    Uses ``log_softmax(z) = z - logsumexp(z)`` (stable for any logit size). With label smoothing
    ``eps`` the target distribution is ``(1 - eps) one_hot + eps / C``.
    Shapes: logits (N, C), targets (N,) int64 -> scalar.
    """
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)  # (N, C)
    nll = -log_probs.gather(1, targets.unsqueeze(1)).squeeze(1)  # (N,)
    uniform = -log_probs.mean(dim=1)  # (N,): cross-entropy against the uniform distribution
    return ((1 - label_smoothing) * nll + label_smoothing * uniform).mean()


def mlp_backward(x: torch.Tensor, targets: torch.Tensor, w1: torch.Tensor, b1: torch.Tensor, w2: torch.Tensor,
                 b2: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Backpropagation by hand through a two-layer MLP with softmax cross-entropy (no autograd).

    Forward: ``z1 = x w1^T + b1``, ``h = relu(z1)``, ``z2 = h w2^T + b2``, ``loss`` = the mean over
    the batch of ``-log softmax(z2)[target]``. Backward, from the chain rule:
    ``dz2 = (softmax(z2) - one_hot(targets)) / N``, ``dw2 = dz2^T h``, ``db2 = sum_rows dz2``,
    ``dh = dz2 w2``, ``dz1 = dh * (z1 > 0)`` (ReLU's slope at 0 taken as 0, as PyTorch does),
    ``dw1 = dz1^T x``, ``db1 = sum_rows dz1``.
    Shapes: x (N, D), targets (N,) int64, w1 (H, D), b1 (H,), w2 (C, H), b2 (C,).
    Returns ``(loss, (dw1, db1, dw2, db2))``, each gradient shaped like its parameter.
    """
    n = x.shape[0]
    z1 = x @ w1.T + b1  # (N, H)
    h = z1.clamp(min=0)
    z2 = h @ w2.T + b2  # (N, C)
    log_probs = z2 - torch.logsumexp(z2, dim=1, keepdim=True)
    loss = -log_probs.gather(1, targets.unsqueeze(1)).mean()
    dz2 = (log_probs.exp() - nn.functional.one_hot(targets, z2.shape[1]).to(z2.dtype)) / n  # (N, C)
    dw2, db2 = dz2.T @ h, dz2.sum(dim=0)
    dz1 = (dz2 @ w2) * (z1 > 0)  # (N, H): dh, through ReLU's slope
    dw1, db1 = dz1.T @ x, dz1.sum(dim=0)
    return loss, (dw1, db1, dw2, db2)


def inverted_dropout(x: torch.Tensor, p: float, training: bool = True,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero each element with probability ``p`` and scale the survivors by ``1 / (1 - p)``.

    The scaling keeps the expected value of every element, so nothing changes at evaluation
    time (``training=False`` returns ``x`` itself). ``p = 1`` returns zeros.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return torch.zeros_like(x)
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= p
    return x * keep / (1 - p)


def batch_norm_train(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Batch normalisation in training mode, as ``F.batch_norm(..., training=True)``.

    Every feature is normalised with the mean and the *biased* variance of the batch, then
    scaled by ``gamma`` and shifted by ``beta``. Shapes: x (N, D), gamma (D,), beta (D,) -> (N, D).
    """
    if x.dim() != 2:
        raise ValueError(f"expected a 2D input (N, D), got {x.dim()}D")
    mean = x.mean(dim=0)
    var = x.var(dim=0, unbiased=False)
    return (x - mean) / torch.sqrt(var + eps) * gamma + beta


def make_mlp(in_features: int, hidden_sizes: Sequence[int], out_features: int, dropout: float = 0.0,
             batch_norm: bool = False, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """A multilayer perceptron: ``Flatten``, then per hidden size ``Linear -> [BatchNorm1d] ->
    activation -> [Dropout]``, then a final ``Linear`` that returns logits (no activation).

    Example: ``make_mlp(784, [512, 256], 10, dropout=0.2)`` maps (N, 1, 28, 28) images to (N, 10).
    """
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_features
    for size in hidden_sizes:
        layers.append(nn.Linear(width, size))
        if batch_norm:
            layers.append(nn.BatchNorm1d(size))
        layers.append(activation())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = size
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


def make_deep_mlp(depth: int = 8, width: int = 48) -> nn.Sequential:
    """A deep MLP that trains (chapter 03's design exercise): ``depth`` hidden layers of ``width``
    units, each ``Linear -> BatchNorm1d -> ReLU``, from (N, 1, 28, 28) images to 10 logits. Batch
    norm puts every layer's input back at mean 0 and variance 1, so depth no longer decides
    whether the signal (and the gradient) survives; 8 x 48 has 55,402 parameters."""
    return make_mlp(784, [width] * depth, 10, batch_norm=True)
