"""Optimisers and learning-rate tools written out (chapter 03).

:func:`adamw_step` is one Adam/AdamW update on one tensor; :class:`Adam` and
:class:`SGDMomentum` are complete ``torch.optim.Optimizer`` subclasses built on the same
equations and tested step for step against ``torch.optim.Adam``, ``AdamW`` and ``SGD``
(tests/test_optim.py). :func:`warmup_cosine` is a schedule for ``LambdaLR`` and
:func:`lr_range_test` the learning-rate range test.
"""

from __future__ import annotations

import copy
import math
from typing import Callable, Iterable

import torch
from torch import nn
from tqdm.auto import tqdm

from utils.device import get_device
from utils.training import move_to


@torch.no_grad()
def adamw_step(param: torch.Tensor, grad: torch.Tensor, exp_avg: torch.Tensor, exp_avg_sq: torch.Tensor,
               step: int, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
               weight_decay: float = 0.0, decoupled: bool = True) -> None:
    """One Adam update of ``param`` in place; ``exp_avg`` and ``exp_avg_sq`` are updated too.

    ``step`` counts updates from 1. With ``decoupled=True`` (AdamW) the weights shrink by
    ``lr * weight_decay`` directly; with ``decoupled=False`` (Adam with L2) ``weight_decay * param``
    is added to the gradient before the moments see it::

        m = b1 m + (1 - b1) g          v = b2 v + (1 - b2) g^2
        param -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    """
    if step < 1:
        raise ValueError(f"step counts updates from 1, got {step}")
    beta1, beta2 = betas
    if weight_decay and decoupled:
        param.mul_(1 - lr * weight_decay)
    elif weight_decay:
        grad = grad + weight_decay * param
    exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    denom = (exp_avg_sq / bias_correction2).sqrt_().add_(eps)
    param.addcdiv_(exp_avg, denom, value=-lr / bias_correction1)


class _PerParameter(torch.optim.Optimizer):
    """What every optimiser here shares: evaluate the closure, then update each parameter that
    has a gradient with ``self._update(param, state, group)`` under ``torch.no_grad()``."""

    def _update(self, param: torch.Tensor, state: dict, group: dict) -> None:
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    self._update(param, self.state[param], group)
        return loss


class Adam(_PerParameter):
    """Adam (``decoupled=False``) or AdamW (``decoupled=True``) from :func:`adamw_step`.

    Matches ``torch.optim.Adam`` / ``torch.optim.AdamW`` with the same arguments (no amsgrad).
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, decoupled: bool = False):
        if lr <= 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        if not all(0.0 <= beta < 1.0 for beta in betas):
            raise ValueError(f"betas must be in [0, 1), got {betas}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, decoupled=decoupled))

    def _update(self, param: torch.Tensor, state: dict, group: dict) -> None:
        if not state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(param)
            state["exp_avg_sq"] = torch.zeros_like(param)
        state["step"] += 1
        adamw_step(param, param.grad, state["exp_avg"], state["exp_avg_sq"], state["step"], lr=group["lr"],
                   betas=group["betas"], eps=group["eps"], weight_decay=group["weight_decay"],
                   decoupled=group["decoupled"])


class SGDMomentum(_PerParameter):
    """SGD with (heavy-ball or Nesterov) momentum and L2 weight decay, as ``torch.optim.SGD``::

        g = grad + weight_decay * p;   v = g (first step), else v = momentum v + g
        p -= lr * (g + momentum v if nesterov else v)
    """

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0, nesterov: bool = False):
        if lr <= 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov))

    def _update(self, param: torch.Tensor, state: dict, group: dict) -> None:
        grad = param.grad + group["weight_decay"] * param if group["weight_decay"] else param.grad
        if "velocity" not in state:
            state["velocity"] = grad.clone()
        else:
            state["velocity"].mul_(group["momentum"]).add_(grad)
        velocity = state["velocity"]
        update = grad + group["momentum"] * velocity if group["nesterov"] else velocity
        param.add_(update, alpha=-group["lr"])


def warmup_cosine(step: int, total_steps: int, warmup_steps: int = 0, min_factor: float = 0.0) -> float:
    """Learning-rate factor for ``torch.optim.lr_scheduler.LambdaLR``: a linear warm-up from
    ``1 / (warmup_steps + 1)`` to 1 over ``warmup_steps`` steps, then a cosine decay to ``min_factor``
    at ``total_steps``."""
    if not 0 <= warmup_steps < total_steps:
        raise ValueError(f"need 0 <= warmup_steps < total_steps, got {warmup_steps} and {total_steps}")
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
    return min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * progress))


def lr_range_test(model: nn.Module, loader: Iterable, loss_fn: Callable, optimizer: torch.optim.Optimizer,
                  start_lr: float = 1e-6, end_lr: float = 1.0, steps: int = 100, smoothing: float = 0.05,
                  diverge: float = 4.0, device: torch.device | str | None = None,
                  progress: bool = True) -> tuple[list[float], list[float]]:
    """The learning-rate range test (Smith, 2017): train with a learning rate that grows
    exponentially from ``start_lr`` to ``end_lr`` over ``steps`` batches and record the
    smoothed loss; stop early once it exceeds ``diverge`` times its best value.

    Model and optimizer get their original state back afterwards. A good learning rate lies
    where the loss falls fastest, roughly a tenth of the one where it is lowest.
    Returns ``(learning_rates, smoothed_losses)``.
    """
    if not 0 < start_lr < end_lr:
        raise ValueError(f"need 0 < start_lr < end_lr, got {start_lr} and {end_lr}")
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    device = get_device() if device is None else torch.device(device)
    model_state = copy.deepcopy(model.state_dict())
    optimizer_state = copy.deepcopy(optimizer.state_dict())
    factor = (end_lr / start_lr) ** (1 / (steps - 1))
    lrs, losses, average, best = [], [], 0.0, math.inf
    model.to(device).train()

    def batches():
        while True:  # cycle through the loader as often as needed
            yield from loader

    try:
        for step, (inputs, targets) in zip(tqdm(range(steps), desc="lr range test", disable=not progress), batches()):
            lr = start_lr * factor ** step
            for group in optimizer.param_groups:
                group["lr"] = lr
            inputs, targets = move_to(inputs, device), move_to(targets, device)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            average = smoothing * loss.item() + (1 - smoothing) * average
            smoothed = average / (1 - (1 - smoothing) ** (step + 1))  # bias-corrected moving average
            lrs.append(lr)
            losses.append(smoothed)
            best = min(best, smoothed)
            if not math.isfinite(smoothed) or smoothed > diverge * best:
                break
    finally:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(optimizer_state)
    return lrs, losses
