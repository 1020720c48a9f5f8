"""Reference implementations for chapter 10 (trustworthy ML): privacy.

Per-sample gradients with ``torch.func`` (``vmap`` of ``grad``), DP-SGD's clipping and noise
(Abadi et al. 2016) exactly as Opacus computes them, DP-SGD training with Poisson sampling, and a
loss-threshold membership inference attack (Yeom et al. 2018). Checked against ``opacus`` in
tests/test_trustworthy.py; the privacy budget epsilon comes from Opacus's RDP accountant.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from utils.metrics import roc_curve


def per_sample_gradients(model: nn.Module, loss_fn: Callable, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """The gradient of ``loss_fn(model(x_i), y_i)`` for every example i on its own: a dict from
    parameter name to a ``(B, *parameter.shape)`` tensor. Each example is passed as a batch of
    one, so a loss with ``reduction="mean"`` gives the same as one with ``"sum"``."""
    params = {name: p.detach() for name, p in model.named_parameters()}
    buffers = {name: b.detach() for name, b in model.named_buffers()}

    def loss_of_one(parameters, xi, yi):
        out = functional_call(model, (parameters, buffers), (xi.unsqueeze(0),))
        return loss_fn(out, yi.unsqueeze(0))

    return vmap(grad(loss_of_one), in_dims=(None, 0, 0))(params, x, y)


def clip_factors(per_sample: dict[str, torch.Tensor], max_norm: float) -> torch.Tensor:
    """min(1, C / (||g_i|| + 1e-6)) for each example, ``||g_i||`` the L2 norm of its gradient over
    all parameters together (Opacus's flat clipping)."""
    norms = torch.stack([g.reshape(len(g), -1).norm(2, dim=1) for g in per_sample.values()], dim=1).norm(2, dim=1)
    return (max_norm / (norms + 1e-6)).clamp(max=1.0)


def privatize_gradients(per_sample: dict[str, torch.Tensor], max_norm: float, noise_multiplier: float,
                        expected_batch_size: int, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """DP-SGD's gradient: clip each example's gradient to norm ``max_norm`` (:func:`clip_factors`),
    sum over the batch, add N(0, (noise_multiplier max_norm)^2) noise to every entry (drawn with
    ``torch.normal`` from ``generator``, parameter by parameter in the dict's order) and divide by
    ``expected_batch_size``. As Opacus's ``DPOptimizer`` with ``loss_reduction="mean"``."""
    factors = clip_factors(per_sample, max_norm)
    result = {}
    for name, g in per_sample.items():
        summed = torch.einsum("i,i...", factors.to(g.dtype), g)
        noise = torch.normal(0.0, noise_multiplier * max_norm, size=summed.shape, generator=generator,
                             dtype=summed.dtype) if noise_multiplier > 0 else torch.zeros_like(summed)
        result[name] = (summed + noise) / expected_batch_size
    return result


def dp_sgd_train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, sample_rate: float, lr: float,
                 max_norm: float, noise_multiplier: float, loss_fn: Callable = nn.functional.cross_entropy,
                 generator: torch.Generator | None = None, progress: bool = True) -> None:
    """DP-SGD: at every step each example joins the batch with probability ``sample_rate``
    (Poisson sampling, which the accountant assumes), then one SGD step on
    :func:`privatize_gradients` with expected batch size ``sample_rate * len(x)``."""
    from tqdm.auto import tqdm

    expected = sample_rate * len(x)
    for _ in tqdm(range(steps), disable=not progress, desc="DP-SGD"):
        chosen = torch.rand(len(x), generator=generator) < sample_rate
        if chosen.any():
            per_sample = per_sample_gradients(model, loss_fn, x[chosen], y[chosen])
        else:  # an empty batch still gets its noise
            per_sample = {name: torch.zeros((0, *p.shape), dtype=p.dtype) for name, p in model.named_parameters()}
        gradients = privatize_gradients(per_sample, max_norm, noise_multiplier, expected, generator)
        with torch.no_grad():
            for name, p in model.named_parameters():
                p -= lr * gradients[name]


def epsilon(noise_multiplier: float, sample_rate: float, steps: int, delta: float) -> float:
    """The (epsilon, delta) guarantee of ``steps`` DP-SGD steps, from Opacus's RDP accountant."""
    from opacus.accountants import RDPAccountant

    accountant = RDPAccountant()
    accountant.history = [(noise_multiplier, sample_rate, steps)]
    return accountant.get_epsilon(delta)


@torch.no_grad()
def example_losses(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: Callable = nn.functional.cross_entropy
                   ) -> torch.Tensor:
    """The loss of every example on its own (``reduction="none"``)."""
    model.eval()
    return loss_fn(model(x), y, reduction="none")


def membership_advantage(member_losses: torch.Tensor, nonmember_losses: torch.Tensor) -> float:
    """The best loss-threshold membership attack: guess "was in the training set" when the loss is
    at most t; the advantage is max over t of TPR - FPR (0 = no better than a coin, 1 = perfect)."""
    is_member = torch.cat([torch.ones(len(member_losses)), torch.zeros(len(nonmember_losses))]).long()
    fpr, tpr, _ = roc_curve(is_member, -torch.cat([member_losses, nonmember_losses]).double())  # low loss = member
    return max(0.0, float((tpr - fpr).max()))
