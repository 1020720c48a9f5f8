"""Reference implementations for chapter 10 (trustworthy ML): adversarial robustness and
distribution shift.

Projected gradient descent (Madry et al. 2018) under an L-infinity budget, chapter 04's FGSM
being its one-step special case; adversarial training with FGSM from a random start (Wong et al.
2020, "Fast is better than free"); a margin loss to detect gradient masking; and image
corruptions (noise, blur, contrast) as a distribution shift. Pixels are in [0, 1]. Tested in
tests/test_trustworthy.py.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF
from torch import nn


def project(x_adv: torch.Tensor, x: torch.Tensor, eps: float) -> torch.Tensor:
    """The nearest image to ``x_adv`` within ``eps`` of ``x`` in every pixel (the L-infinity ball)
    that is also a valid image (pixels in [0, 1])."""
    return torch.minimum(torch.maximum(x_adv, x - eps), x + eps).clamp(0.0, 1.0)


def margin_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of (largest wrong logit - true logit): positive when the prediction is
    wrong. Unlike cross-entropy its gradient does not vanish when the softmax saturates (Carlini &
    Wagner 2017), so an attack that uses it sees through one kind of gradient masking."""
    true = logits.gather(1, labels.reshape(-1, 1)).squeeze(1)
    wrong = logits.masked_fill(F.one_hot(labels, logits.shape[1]).bool(), float("-inf")).amax(dim=1)
    return (wrong - true).mean()


def pgd_step(model: nn.Module, x_adv: torch.Tensor, x: torch.Tensor, labels: torch.Tensor, eps: float,
             alpha: float, loss_fn: Callable = F.cross_entropy) -> torch.Tensor:
    """One PGD step: ascend the loss by ``alpha`` times the sign of its gradient with respect to
    ``x_adv``, then project back into the eps-ball around ``x`` and into [0, 1]. Returns a new
    tensor without gradient history; the model's parameter gradients are left untouched."""
    x_adv = x_adv.detach().requires_grad_(True)
    loss = loss_fn(model(x_adv), labels)
    (gradient,) = torch.autograd.grad(loss, x_adv)
    return project(x_adv.detach() + alpha * gradient.sign(), x, eps)


def pgd_attack(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, eps: float, alpha: float, steps: int,
               random_start: bool = True, loss_fn: Callable = F.cross_entropy,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """``steps`` PGD steps from ``x`` (plus uniform noise in the ball if ``random_start``)."""
    x_adv = x.clone()
    if random_start:
        noise = torch.rand(x.shape, generator=generator, dtype=x.dtype).to(x.device) * 2 - 1
        x_adv = project(x + eps * noise, x, eps)
    for _ in range(steps):
        x_adv = pgd_step(model, x_adv, x, labels, eps, alpha, loss_fn)
    return x_adv


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    """Fraction of ``x`` classified correctly, in batches."""
    correct = sum((model(x[i:i + batch_size]).argmax(1) == labels[i:i + batch_size]).sum().item()
                  for i in range(0, len(x), batch_size))
    return correct / len(x)


def robust_accuracy(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, eps: float, steps: int = 20,
                    alpha: float | None = None, loss_fn: Callable = F.cross_entropy, batch_size: int = 500,
                    generator: torch.Generator | None = None) -> float:
    """Accuracy under a ``steps``-step PGD attack of size ``eps`` (step ``alpha``, by default
    2.5 eps / steps as Madry et al.), in batches; the model is put in eval mode."""
    model.eval()
    alpha = 2.5 * eps / steps if alpha is None else alpha
    correct = 0
    for i in range(0, len(x), batch_size):
        xb, yb = x[i:i + batch_size], labels[i:i + batch_size]
        adv = pgd_attack(model, xb, yb, eps, alpha, steps, loss_fn=loss_fn, generator=generator)
        with torch.no_grad():
            correct += (model(adv).argmax(1) == yb).sum().item()
    return correct / len(x)


def fgsm_rs_examples(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, eps: float,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Training examples for fast adversarial training: one FGSM step of 1.25 eps from a uniform
    random start in the ball, projected back (Wong et al. 2020)."""
    return pgd_attack(model, x, labels, eps, 1.25 * eps, 1, random_start=True, generator=generator)


def train_epochs(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, epochs: float, eps: float = 0.0,
                 batch_size: int = 128, lr: float = 3e-3, generator: torch.Generator | None = None,
                 progress: bool = True) -> list[float]:
    """Adam with a one-cycle learning rate (peak ``lr``) on ``(x, labels)`` for ``epochs`` passes (a
    fraction allowed), on adversarial examples from :func:`fgsm_rs_examples` when ``eps > 0``.
    Returns the loss of every step."""
    from tqdm.auto import tqdm

    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps = max(1, int(epochs * len(x) / batch_size))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
    losses = []
    for _ in tqdm(range(steps), disable=not progress, desc="adversarial training" if eps else "training"):
        index = torch.randint(0, len(x), (batch_size,), generator=generator)
        xb, yb = x[index], labels[index]
        if eps > 0:
            model.eval()
            xb = fgsm_rs_examples(model, xb, yb, eps, generator)
        model.train()
        loss = F.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    model.eval()
    return losses


def small_cnn(num_classes: int = 10) -> nn.Sequential:
    """The chapter's classifier: two 5x5 convolutions (16, 32 channels) with max pooling, then a
    100-unit hidden layer."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 100), nn.ReLU(), nn.Linear(100, num_classes))


# ---------------------------------------------------------------------------------------------
# Corruptions: a distribution shift with a severity knob
# ---------------------------------------------------------------------------------------------


def gaussian_noise(x: torch.Tensor, severity: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add N(0, severity^2) noise per pixel, clamped to [0, 1]."""
    return (x + severity * torch.randn(x.shape, generator=generator, dtype=x.dtype)).clamp(0.0, 1.0)


def blur(x: torch.Tensor, severity: float) -> torch.Tensor:
    """Gaussian blur with standard deviation ``severity`` pixels (kernel 2 * ceil(3 sigma) + 1)."""
    if severity <= 0:
        return x.clone()
    size = 2 * int(torch.ceil(torch.tensor(3 * severity)).item()) + 1
    return TF.gaussian_blur(x, kernel_size=[size, size], sigma=[severity, severity])


def contrast(x: torch.Tensor, severity: float) -> torch.Tensor:
    """Pull every pixel towards its image's mean: ``mean + (1 - severity) (x - mean)``."""
    mean = x.mean(dim=(-1, -2), keepdim=True)
    return mean + (1 - severity) * (x - mean)


CORRUPTIONS: dict[str, Callable[..., torch.Tensor]] = {"noise": gaussian_noise, "blur": blur, "contrast": contrast}
