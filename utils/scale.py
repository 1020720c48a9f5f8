"""Chapter 08: training that fits and resumes: accumulation, activation checkpointing, loss
scaling, training checkpoints, and where time and memory go.

- :func:`accumulate_gradients`: the gradient of a large batch from micro-batches (each micro-batch's
  mean loss weighted by its share of the batch, so that a short last one counts for less).
- :func:`update_loss_scale`: the dynamic loss scale of ``torch.amp.GradScaler`` (back off on an
  overflow, grow after ``growth_interval`` clean steps), equal to ``torch._amp_update_scale_``.
- :func:`checkpointed_forward` / :func:`activation_peak`: activation checkpointing with
  ``torch.utils.checkpoint`` and the peak memory of a forward + backward by category, from
  PyTorch's own tensor tracker.
- :func:`save_training_state` / :func:`load_training_state`: everything a resumed run needs to
  continue exactly as if never stopped (model, optimiser, scheduler, epoch, random generators),
  in a file that loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint_sequential

__all__ = ["accumulate_gradients", "update_loss_scale", "checkpointed_forward", "activation_peak",
           "save_training_state", "load_training_state", "profile_step"]


def accumulate_gradients(model: nn.Module, loss_fn: Callable, inputs: torch.Tensor, targets: torch.Tensor,
                         micro_batch_size: int) -> float:
    """Forward and backward over ``inputs`` in micro-batches of ``micro_batch_size`` rows (the
    last may be shorter), adding to each parameter's ``.grad`` the gradient of ``loss_fn`` over the
    whole batch, as one ``loss_fn(model(inputs), targets).backward()`` would (``loss_fn`` takes
    the mean over its rows). Only one micro-batch's activations are alive at a time. Returns the
    whole batch's mean loss as a float; zeroing the gradients before is the caller's job."""
    if micro_batch_size < 1:
        raise ValueError(f"micro_batch_size must be at least 1, got {micro_batch_size}")
    total = len(inputs)
    if total == 0:
        raise ValueError("inputs is empty: no rows to accumulate")
    loss_sum = 0.0
    for start in range(0, total, micro_batch_size):
        x, y = inputs[start:start + micro_batch_size], targets[start:start + micro_batch_size]
        loss = loss_fn(model(x), y) * (len(x) / total)  # a mean over len(x) rows, weighted by its share
        loss.backward()
        loss_sum += loss.item()
    return loss_sum


def update_loss_scale(scale: float, found_inf: bool, growth_tracker: int, growth_factor: float = 2.0,
                      backoff_factor: float = 0.5, growth_interval: int = 2000) -> tuple[float, int]:
    """One update of a dynamic loss scale after a step: ``(new_scale, new_growth_tracker)``.

    An overflow (``found_inf``: the step was skipped) multiplies the scale by ``backoff_factor``
    and resets the count of clean steps; a clean step counts one more, and the ``growth_interval``-th
    clean step in a row multiplies the scale by ``growth_factor`` and resets the count. As in
    PyTorch, where the scale is a float32 tensor, a growth that would overflow float32 keeps the
    scale (the count still resets)."""
    if found_inf:
        return scale * backoff_factor, 0
    clean = growth_tracker + 1
    if clean == growth_interval:
        grown = scale * growth_factor
        return (grown if grown <= torch.finfo(torch.float32).max else scale), 0
    return scale, clean


def checkpointed_forward(blocks: nn.Sequential, x: torch.Tensor, segments: int) -> torch.Tensor:
    """``blocks(x)`` keeping only the inputs of ``segments`` segments for the backward pass; each
    segment's activations are recomputed when the backward pass reaches it. ``segments = 0``:
    plain forward (everything kept)."""
    if segments == 0:
        return blocks(x)
    return checkpoint_sequential(blocks, segments, x, use_reentrant=False)


def activation_peak(step: Callable[[], None], model: nn.Module, *inputs: torch.Tensor) -> dict[str, float]:
    """Run ``step()`` (a forward and backward) and return the peak memory in MiB it reached, by
    category: ``activations`` (what autograd kept or recomputed), ``gradients``, ``parameters``,
    ``total``. Measured by PyTorch's tensor tracker (``torch.distributed._tools.mem_tracker``,
    the tool behind FSDP's memory estimates), which sees every tensor allocated and freed, on the
    CPU as on a GPU; peaks are per category, so they need not add up to ``total``."""
    from torch.distributed._tools.mem_tracker import MemTracker, _MemRefType

    tracker = MemTracker()
    tracker.track_external(model, *inputs)
    with tracker:
        step()
    (device_peaks,) = tracker.get_tracker_snapshot("peak").values()
    mib = 2.0**20
    return {"activations": device_peaks[_MemRefType.ACT] / mib, "gradients": device_peaks[_MemRefType.GRAD] / mib,
            "parameters": device_peaks[_MemRefType.PARAM] / mib, "total": device_peaks["Total"] / mib}


def _rng_state() -> dict[str, torch.Tensor | list[torch.Tensor]]:
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def save_training_state(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                        scheduler=None, epoch: int = 0) -> None:
    """Save what resuming needs: the model's and optimiser's ``state_dict``, the scheduler's (if
    any), the epoch and the random generators' states (CPU, and every GPU where there is one).
    Only tensors, numbers, strings, lists and dicts: the file loads with ``weights_only=True``."""
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "epoch": epoch, "rng": _rng_state()}, path)


def load_training_state(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                        scheduler=None) -> int:
    """Restore a :func:`save_training_state` file into ``model``, ``optimizer`` and
    ``scheduler`` (in place) and the random generators; returns the saved epoch. Loads with
    ``weights_only=True``: a file that holds anything else (a pickled object that could run code)
    is refused."""
    state = torch.load(path, weights_only=True, map_location="cpu")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None:
        if state["scheduler"] is None:
            raise ValueError(f"{path} holds no scheduler state, but a scheduler was given to restore")
        scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"]["cpu"])
    if "cuda" in state["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    return state["epoch"]


def profile_step(step: Callable[[], None], trace: str | Path | None = None, row_limit: int = 10,
                 warmup: int = 1) -> str:
    """Profile one call of ``step`` with ``torch.profiler`` (CPU, and CUDA where available) after
    ``warmup`` unprofiled calls; returns the table of the ``row_limit`` operators that took the
    most time (self time) and, with ``trace``, writes a Chrome trace file that Perfetto
    (ui.perfetto.dev, offline after its first load) and chrome://tracing open."""
    from torch.profiler import ProfilerActivity, profile

    # Kineto, the profiler's C++ library, logs its start, stop and a GPU probe on this process's
    # stderr: silenced (a documented setting, read when the profiler first starts) unless set
    os.environ.setdefault("KINETO_LOG_LEVEL", "6")
    for _ in range(warmup):
        step()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
    with profile(activities=activities, record_shapes=True) as prof:
        step()
    if trace is not None:
        prof.export_chrome_trace(str(trace))
    sort = "self_cuda_time_total" if torch.cuda.is_available() else "self_cpu_time_total"
    return prof.key_averages().table(sort_by=sort, row_limit=row_limit)
