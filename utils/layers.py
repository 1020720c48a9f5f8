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
