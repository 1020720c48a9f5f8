"""A small training loop: ``fit(model, train_loader, loss_fn, optimizer, ...)``.

One code path for CPU and GPU: batches move to ``device``, mixed precision is switched by
``mixed_precision=`` (bfloat16 autocast on the CPU), and a :class:`History` records the mean loss and
every metric per epoch for training and validation.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

import torch
from torch import nn
from tqdm.auto import tqdm

from utils.device import autocast, get_device, grad_scaler

Metric = Callable[[torch.Tensor, torch.Tensor], torch.Tensor | float]  # metric(outputs, targets)


@dataclass
class History:
    """Per-epoch records: ``history["train_loss"]``, ``history["val_accuracy"]``, ...

    ``best_epoch`` is the epoch (0-based) with the lowest monitored value when early
    stopping was used, and ``stopped_early`` tells whether training ended before ``epochs``.
    """

    records: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    best_epoch: int | None = None
    stopped_early: bool = False

    def __getitem__(self, key: str) -> list[float]:
        if key not in self.records:
            raise KeyError(f"no record {key!r}; recorded: {sorted(self.records)}")
        return self.records[key]

    def __contains__(self, key: str) -> bool:
        return key in self.records

    def keys(self) -> list[str]:
        return sorted(self.records)

    @property
    def epochs(self) -> int:
        return len(self.records.get("train_loss", []))

    def append(self, values: Mapping[str, float]) -> None:
        for key, value in values.items():
            self.records[key].append(float(value))


@dataclass
class EarlyStopping:
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; with ``restore_best`` the model gets the weights of its best epoch back.

    Use it in :func:`fit`, or by hand: ``if stopper.step(val_loss): break`` after every epoch;
    ``best``, ``best_epoch`` (0-based) and ``waited`` say where it stands.
    """

    patience: int = 3
    monitor: str = "val_loss"
    mode: str = "min"  # "min" for losses, "max" for accuracy-like metrics
    min_delta: float = 0.0
    restore_best: bool = True
    best: float | None = field(default=None, init=False)
    best_epoch: int | None = field(default=None, init=False)
    waited: int = field(default=0, init=False)  # epochs since the last improvement
    epochs_seen: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.patience < 1:
            raise ValueError(f"patience must be >= 1, got {self.patience}")
        if self.mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {self.mode!r}")
        if self.min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {self.min_delta}")

    def reset(self) -> None:
        self.best, self.best_epoch, self.waited, self.epochs_seen = None, None, 0, 0

    def improves(self, value: float) -> bool:
        """Whether ``value`` beats the best so far by more than ``min_delta``."""
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def step(self, value: float) -> bool:
        """Record one epoch's monitored value; True when training should stop now."""
        value = float(value)
        if math.isnan(value):
            raise ValueError(f"{self.monitor} is NaN in epoch {self.epochs_seen + 1}; the model diverged")
        if self.improves(value):
            self.best, self.best_epoch, self.waited = value, self.epochs_seen, 0
        else:
            self.waited += 1
        self.epochs_seen += 1
        return self.waited >= self.patience


def move_to(batch, device: torch.device):
    """Move a tensor, or tensors nested in tuples, lists and dicts, to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {key: move_to(value, device) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to(value, device) for value in batch)
    return batch


def _batch_size(targets) -> int:
    return targets.shape[0] if isinstance(targets, torch.Tensor) and targets.dim() > 0 else 1


def evaluate(model: nn.Module, loader: Iterable, loss_fn: Callable, metrics: Mapping[str, Metric] | None = None,
             device: torch.device | str | None = None, mixed_precision: bool = False) -> dict[str, float]:
    """Mean loss and metrics of ``model`` over ``loader`` (weighted by batch size), no gradients."""
    device = get_device() if device is None else torch.device(device)
    metrics = metrics or {}
    totals: dict[str, float] = defaultdict(float)
    count = 0
    model.eval()
    with torch.no_grad():
        for inputs, targets in loader:
            inputs, targets = move_to(inputs, device), move_to(targets, device)
            with autocast(device, enabled=mixed_precision):
                outputs = model(inputs)
                loss = loss_fn(outputs, targets)
            size = _batch_size(targets)
            count += size
            totals["loss"] += float(loss) * size
            for name, metric in metrics.items():
                totals[name] += float(metric(outputs, targets)) * size
    if count == 0:
        raise ValueError("the loader yielded no batches; check the dataset and batch_size")
    return {name: total / count for name, total in totals.items()}


def train_step(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss_fn: Callable,
               optimizer: torch.optim.Optimizer, max_grad_norm: float | None = None) -> float:
    """One optimisation step on one batch; returns the batch loss as a Python float.

    Training mode (dropout on, batch norm uses batch statistics), zero the old gradients,
    forward, loss, backward, optionally clip the global gradient norm to ``max_grad_norm``,
    update. :func:`fit` does the same per batch, plus mixed precision and metrics.
    """
    model.train()
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(model(inputs), targets)
    loss.backward()
    if max_grad_norm is not None:
        nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    return loss.item()


def fit(model: nn.Module, train_loader: Iterable, loss_fn: Callable, optimizer: torch.optim.Optimizer,
        epochs: int, val_loader: Iterable | None = None, metrics: Mapping[str, Metric] | None = None,
        device: torch.device | str | None = None, clip_grad_norm: float | None = None,
        mixed_precision: bool = False, early_stopping: EarlyStopping | None = None,
        scheduler=None, progress: bool = True, callbacks: Iterable[Callable[[int, dict], None]] = (),
        scheduler_per: str = "epoch") -> History:
    """Train ``model`` for up to ``epochs`` epochs and return its :class:`History`.

    Args:
        model: moved to ``device`` before training.
        train_loader, val_loader: iterables of ``(inputs, targets)`` batches.
        loss_fn: ``loss_fn(outputs, targets)`` -> scalar tensor.
        metrics: name -> ``metric(outputs, targets)``, recorded as ``train_<name>``/``val_<name>``.
        clip_grad_norm: clip the global gradient norm to this value (None: no clipping).
        mixed_precision: autocast (:func:`utils.device.autocast`), with gradient scaling for float16 on CUDA.
        early_stopping: an :class:`EarlyStopping`; its ``monitor`` must be recorded.
        scheduler: a learning-rate scheduler, stepped once per epoch (``scheduler_per="epoch"``) or
            after every optimiser step (``scheduler_per="batch"``, for warm-up and one-cycle schedules).
        progress: show one tqdm progress bar over all steps (set False in tests and scripts).
        callbacks: called as ``callback(epoch, record)`` after every epoch.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if scheduler_per not in ("epoch", "batch"):
        raise ValueError(f"scheduler_per must be 'epoch' or 'batch', got {scheduler_per!r}")
    if early_stopping is not None and early_stopping.monitor.startswith("val_") and val_loader is None:
        raise ValueError(f"early stopping monitors {early_stopping.monitor!r} but no val_loader was given")
    device = get_device() if device is None else torch.device(device)
    metrics = metrics or {}
    model.to(device)
    scaler = grad_scaler(device, enabled=mixed_precision)
    history = History()
    best_state = None
    if early_stopping is not None:
        early_stopping.reset()

    try:
        steps_per_epoch = len(train_loader)
    except TypeError:  # an iterable without a length: the bar counts steps without a total
        steps_per_epoch = None
    total = steps_per_epoch * epochs if steps_per_epoch is not None else None
    bar = tqdm(total=total, desc="training", unit="step", disable=not progress)  # one bar for the whole run
    try:
        for epoch in range(epochs):
            model.train()
            totals: dict[str, float] = defaultdict(float)
            count = 0
            bar.set_description(f"epoch {epoch + 1}/{epochs}")
            for inputs, targets in train_loader:
                inputs, targets = move_to(inputs, device), move_to(targets, device)
                optimizer.zero_grad(set_to_none=True)
                with autocast(device, enabled=mixed_precision):
                    outputs = model(inputs)
                    loss = loss_fn(outputs, targets)
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"loss became {loss.item()} in epoch {epoch + 1}; lower the learning rate or clip gradients"
                    )
                scaler.scale(loss).backward()
                if clip_grad_norm is not None:
                    scaler.unscale_(optimizer)
                    nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
                scaler.step(optimizer)
                scaler.update()
                if scheduler is not None and scheduler_per == "batch":
                    scheduler.step()
                size = _batch_size(targets)
                count += size
                totals["loss"] += loss.item() * size
                with torch.no_grad():
                    for name, metric in metrics.items():
                        totals[name] += float(metric(outputs.detach(), targets)) * size
                bar.update(1)
                bar.set_postfix(loss=f"{totals['loss'] / count:.4f}", refresh=False)
            if count == 0:
                raise ValueError("the training loader yielded no batches; check the dataset and batch_size")
            record = {f"train_{name}": total / count for name, total in totals.items()}
            if val_loader is not None:
                scores = evaluate(model, val_loader, loss_fn, metrics, device, mixed_precision)
                record.update({f"val_{name}": value for name, value in scores.items()})
            record["lr"] = optimizer.param_groups[0]["lr"]
            history.append(record)
            if scheduler is not None and scheduler_per == "epoch":
                scheduler.step()
            for callback in callbacks:
                callback(epoch, record)

            if early_stopping is not None:
                if early_stopping.monitor not in record:
                    raise KeyError(f"early stopping monitors {early_stopping.monitor!r}; recorded: {sorted(record)}")
                stop = early_stopping.step(record[early_stopping.monitor])
                if early_stopping.best_epoch == epoch:
                    history.best_epoch = epoch
                    if early_stopping.restore_best:
                        best_state = {key: tensor.detach().clone() for key, tensor in model.state_dict().items()}
                if stop:
                    history.stopped_early = epoch + 1 < epochs
                    break
    finally:
        bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Fraction of rows whose arg-max equals the target class (outputs: (N, C), targets: (N,))."""
    return (outputs.argmax(dim=1) == targets).float().mean()
