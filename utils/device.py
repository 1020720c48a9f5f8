"""Device helpers: one code path for CPU, CUDA and Apple's MPS.

Everything here is explicit: nothing runs at import time. On the CPU the mixed-precision
context and the gradient scaler are no-ops, so notebooks call them unconditionally.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from dataclasses import dataclass, field

import numpy as np
import torch

DEVICE_ENV = "DLCOURSE_DEVICE"  # e.g. DLCOURSE_DEVICE=cpu forces the CPU on a GPU machine


def get_device(prefer: str | None = None) -> torch.device:
    """Return the device to compute on: CUDA, then MPS, then the CPU.

    Args:
        prefer: a device string ("cpu", "cuda", "cuda:1", "mps"). When None, the environment
            variable ``DLCOURSE_DEVICE`` is used if set, else the best available device.

    Raises:
        ValueError: if the requested device does not exist on this machine (the message
            says which devices do).
    """
    requested = prefer if prefer is not None else os.environ.get(DEVICE_ENV)
    if requested:
        try:
            device = torch.device(requested)
        except RuntimeError as error:
            raise ValueError(
                f"unknown device {requested!r} (from {'argument' if prefer else DEVICE_ENV}); "
                f"use one of {available_devices()}"
            ) from error
        if not _is_available(device):
            raise ValueError(
                f"device {requested!r} is not available on this machine; available: "
                f"{available_devices()}. Unset {DEVICE_ENV} or pass another device."
            )
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def available_devices() -> list[str]:
    """Names of the devices this machine can compute on, e.g. ``['cpu', 'cuda:0']``."""
    names = ["cpu"]
    names += [f"cuda:{index}" for index in range(torch.cuda.device_count())]
    if torch.backends.mps.is_available():
        names.append("mps")
    return names


def _is_available(device: torch.device) -> bool:
    if device.type == "cpu":
        return True
    if device.type == "cuda":
        index = device.index or 0
        return torch.cuda.is_available() and index < torch.cuda.device_count()
    if device.type == "mps":
        return torch.backends.mps.is_available()
    return False


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and PyTorch (all devices)."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def _device_of(device: torch.device | str | None) -> torch.device:
    return get_device() if device is None else torch.device(device)


def autocast_dtype(device: torch.device | str) -> torch.dtype:
    """The half-precision type mixed precision uses on this device: bfloat16 where the
    hardware supports it (Ampere and newer, recent CPUs), float16 otherwise."""
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


def autocast(device: torch.device | str | None = None, enabled: bool = True, dtype: torch.dtype | None = None):
    """Mixed-precision context: ``torch.autocast`` with :func:`autocast_dtype` (or ``dtype``) on
    CUDA and on the CPU; a no-op on other devices or when ``enabled`` is False.

    On the CPU this means bfloat16 matrix products and convolutions: about twice as fast as
    float32 on CPUs with bfloat16 instructions (AVX-512 BF16, AMX), slower on CPUs without them,
    and always about three significant digits per number instead of seven. Measure before you
    switch it on (chapter 04 does).

    Example::

        with autocast(device, enabled=True):
            loss = loss_fn(model(x), y)
    """
    device = _device_of(device)
    if not enabled or device.type not in ("cuda", "cpu"):
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype or autocast_dtype(device))


def grad_scaler(device: torch.device | str | None = None, enabled: bool = True) -> torch.amp.GradScaler:
    """A gradient scaler for float16 training on CUDA; disabled (a pass-through) elsewhere
    and with bfloat16, whose range needs no scaling."""
    device = _device_of(device)
    active = enabled and device.type == "cuda" and autocast_dtype(device) == torch.float16
    return torch.amp.GradScaler("cuda" if device.type == "cuda" else "cpu", enabled=active)


def synchronize(device: torch.device | str | None = None) -> None:
    """Wait for queued GPU work to finish, so that a clock reads real compute time."""
    device = _device_of(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def memory_report(device: torch.device | str | None = None) -> dict[str, float]:
    """Memory in MiB: on CUDA the allocated, reserved and peak bytes of PyTorch's allocator
    plus the device total; on the CPU the resident set size of this process."""
    device = _device_of(device)
    mib = 2.0**20
    if device.type == "cuda":
        return {
            "allocated_mib": torch.cuda.memory_allocated(device) / mib,
            "reserved_mib": torch.cuda.memory_reserved(device) / mib,
            "peak_allocated_mib": torch.cuda.max_memory_allocated(device) / mib,
            "total_mib": torch.cuda.get_device_properties(device).total_memory / mib,
        }
    if device.type == "mps":
        return {"allocated_mib": torch.mps.current_allocated_memory() / mib}
    import resource  # POSIX only; the course's CPU machines are Linux or macOS

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_bytes = peak if os.uname().sysname == "Darwin" else peak * 1024  # Linux reports KiB
    return {"peak_rss_mib": peak_bytes / mib}


@dataclass
class Timer:
    """Wall-clock timer that synchronises the device on entry and exit.

    Example::

        with Timer(device) as timer:
            model(x)
        print(f"{timer.seconds:.3f} s")
    """

    device: torch.device | str | None = "cpu"
    seconds: float = field(default=0.0, init=False)
    _start: float = field(default=0.0, init=False, repr=False)

    def __enter__(self) -> "Timer":
        synchronize(self.device)
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc_info) -> None:
        synchronize(self.device)
        self.seconds = time.perf_counter() - self._start
