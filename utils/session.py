"""``setup()``: the one explicit call a chapter makes before its lessons."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from utils.device import get_device, seed_everything
from utils.exercises import guard_references

SMOKE_ENV = "DLCOURSE_SMOKE"  # "1": CI and the graders ask every notebook for its smoke run


GRADER_ENV = "NBGRADER_EXECUTION"  # set by nbgrader while it runs a notebook: "validate" or "autograde"
GRADER_RUNS = {"validate": "nbgrader's Validate", "autograde": "nbgrader's autograde"}


def smoke_reason(smoke: bool) -> str | None:
    """Why the lessons run their smoke sizes, or None when they run in full.

    Smoke mode is on when the notebook's ``SMOKE`` is True, when the environment sets
    DLCOURSE_SMOKE=1 (CI, ``make grade``), or while nbgrader runs the notebook (it sets
    NBGRADER_EXECUTION in the kernel's environment: "validate" for the Validate button,
    "autograde" for grading), so that Validate answers in seconds whatever ``SMOKE`` the student
    left, and runs the same code as the grader. The exercises' tests do not depend on it.
    DLCOURSE_SMOKE=0 does not turn it off under nbgrader.
    """
    value = os.environ.get(SMOKE_ENV, "").strip().lower()
    if value not in ("", "0", "false", "no", "1", "true", "yes"):
        raise ValueError(f"{SMOKE_ENV} must be 1 or 0, got {value!r}")
    grader = os.environ.get(GRADER_ENV, "").strip().lower()
    if grader:
        return f"{GRADER_RUNS.get(grader, 'nbgrader')} runs this notebook ({GRADER_ENV}={grader})"
    if value in ("1", "true", "yes"):
        return f"{SMOKE_ENV}={value}"
    return "SMOKE = True" if smoke else None


def smoke_mode(smoke: bool) -> bool:
    """The notebook's ``SMOKE`` flag, forced on by DLCOURSE_SMOKE=1 or under nbgrader (see
    :func:`smoke_reason`)."""
    return smoke_reason(smoke) is not None


@dataclass(frozen=True)
class Session:
    seed: int
    device: torch.device
    smoke: bool
    deterministic: bool
    smoke_reason: str | None = None

    def __str__(self) -> str:
        mode = f"smoke (tiny, fast run: {self.smoke_reason or 'SMOKE = True'})" if self.smoke else "full"
        return (
            f"seed={self.seed} (random, numpy, torch) | device={self.device} | mode={mode} | "
            f"deterministic algorithms={'on' if self.deterministic else 'off'} | torch {torch.__version__}"
        )


def setup(seed: int = 0, smoke: bool = False, device: str | None = None, deterministic: bool = False,
          verbose: bool = True) -> Session:
    """Seed every generator, pick the device and say what was set.

    Args:
        seed: seeds Python's ``random``, NumPy and PyTorch.
        smoke: the notebook's ``SMOKE`` parameter (see :func:`smoke_mode`).
        device: force a device ("cpu", "cuda", "mps"); default: the best available.
        deterministic: also ask PyTorch for deterministic algorithms (slower on GPUs).
        verbose: print the one-line summary.
    """
    seed_everything(seed)
    guard_references()  # answers may read the course's reference implementations, not call them
    if deterministic:
        torch.use_deterministic_algorithms(True)
    reason = smoke_reason(smoke)
    session = Session(seed=seed, device=get_device(device), smoke=reason is not None, deterministic=deterministic,
                      smoke_reason=reason)
    if verbose:
        print(session)
    return session
