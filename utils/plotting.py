"""Figures the chapters share. Matplotlib is imported when a function is called, not before."""

from __future__ import annotations

import os
from typing import Sequence


def plot_history(history, keys: Sequence[str] | None = None, ax=None, title: str | None = None, logy: bool = False):
    """Plot per-epoch curves from a :class:`utils.training.History` (or a dict of lists).

    By default plots ``train_loss`` and, if recorded, ``val_loss``. Returns the axes.
    """
    import matplotlib.pyplot as plt

    records = history.records if hasattr(history, "records") else history
    if keys is None:
        keys = [key for key in ("train_loss", "val_loss") if key in records]
    missing = [key for key in keys if key not in records]
    if missing:
        raise KeyError(f"not in the history: {missing}; recorded: {sorted(records)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for key in keys:
        values = records[key]
        ax.plot(range(1, len(values) + 1), values, marker="o" if len(values) < 30 else None, label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel(", ".join(sorted({key.split("_", 1)[-1] for key in keys})))
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def plot_curves(x: Sequence[float], curves: dict[str, Sequence[float]], xlabel: str, ylabel: str, ax=None,
                title: str | None = None, logy: bool = False):
    """Several named curves over one x axis (e.g. train and validation error against model degree)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for label, values in curves.items():
        if len(values) != len(x):
            raise ValueError(f"curve {label!r} has {len(values)} points but x has {len(x)}")
        ax.plot(x, values, marker="o", label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


FRONT_END_ENV = "JPY_SESSION_NAME"  # set by jupyter_server for the kernels it starts for a notebook (JupyterLab)


def explore(function, **sliders) -> None:
    """Sliders for ``function``'s arguments where a person runs the notebook in JupyterLab:
    ``ipywidgets.interact(function, **sliders)``, each slider given as interact's ``(min, max, step)``
    abbreviation and starting at the function's default value.

    Anywhere else (papermill, nbgrader's Validate and autograde, the tests, the book's build) no
    widget is created and ``function()`` runs once with its defaults, so its code is still checked:
    a notebook executed without a front end can hang on widget messages (jupyter/nbclient#312), and
    nobody is there to move a slider. Such runs are recognised by the absence of the variable that
    jupyter_server sets in a notebook's kernel (``JPY_SESSION_NAME``) or by nbgrader's own.
    """
    from utils.session import GRADER_ENV  # here, not at the top: utils.session imports torch

    if not os.environ.get(FRONT_END_ENV) or os.environ.get(GRADER_ENV):
        function()
        return
    import ipywidgets

    ipywidgets.interact(function, **sliders)
