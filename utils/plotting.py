"""Figures the chapters share. Matplotlib is imported when a function is called, not before."""

from __future__ import annotations

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
