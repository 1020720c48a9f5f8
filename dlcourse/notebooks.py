"""Helpers shared by the tools: find chapters, read nbgrader metadata, execute notebooks."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
RELEASE = ROOT / "notebooks"
SKIP_TAG = "skip-execution"  # nbclient (and so papermill) skips cells with this tag


def tool_environment(**overrides: str) -> dict[str, str]:
    """os.environ with this Python's bin folder first on PATH: nbgrader runs `alembic` from PATH,
    and the Makefile calls .venv/bin/python without activating the environment."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(overrides)
    return env


def chapters() -> list[str]:
    """Assignment ids, e.g. ['01_fundamentals'], from solutions/NN_slug/NN_slug.ipynb."""
    return sorted(path.parent.name for path in SOLUTIONS.glob("*/*.ipynb") if path.stem == path.parent.name)


def solution_path(chapter: str) -> Path:
    return SOLUTIONS / chapter / f"{chapter}.ipynb"


def release_path(chapter: str) -> Path:
    return RELEASE / chapter / f"{chapter}.ipynb"


def nbgrader_meta(cell) -> dict:
    """A cell's nbgrader metadata; {} when it has none or when it is not a mapping (a forged one)."""
    meta = cell.get("metadata", {})
    meta = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return meta if isinstance(meta, dict) else {}


def cell_label(cell, index: int) -> str:
    """How the summary names a cell: its index, and its grade id where it has one."""
    grade_id = nbgrader_meta(cell).get("grade_id")
    return f"cell {index}" + (f" ({grade_id})" if grade_id else "")


def is_exercise_cell(cell) -> bool:
    """A cell a student writes (solution) or that grades them (tests)."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("solution") or meta.get("grade"))


def graded_cells(nb) -> dict[str, float]:
    """grade_id -> points of the auto-graded test cells."""
    return {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c)["points"]) for c in nb.cells
            if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")}


def chapter_points(chapter: str) -> dict[str, float]:
    """grade_id -> points of the auto-graded test cells of ``chapter``'s solution notebook."""
    return graded_cells(nbformat.read(solution_path(chapter), as_version=4))


def solution_cells(nb) -> dict[str, int]:
    """grade_id -> index of the code cells students complete."""
    return {nbgrader_meta(c)["grade_id"]: i for i, c in enumerate(nb.cells)
            if nbgrader_meta(c).get("solution") and c.cell_type == "code"}


def tag_exercises_skipped(nb):
    """A copy of ``nb`` whose exercise and test cells carry the skip-execution tag."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and is_exercise_cell(cell):
            tags = cell.metadata.setdefault("tags", [])
            if SKIP_TAG not in tags:
                tags.append(SKIP_TAG)
    return nb


@contextlib.contextmanager
def smoke_environment(smoke: bool):
    """Set DLCOURSE_SMOKE for kernels started inside the block (they inherit the environment), and
    hide JPY_SESSION_NAME (set when this runs from a notebook's kernel): with it, the kernels would
    make widgets (utils.plotting.explore), on which a run without a front end can hang."""
    previous = os.environ.get("DLCOURSE_SMOKE")
    session = os.environ.pop("JPY_SESSION_NAME", None)
    os.environ["DLCOURSE_SMOKE"] = "1" if smoke else "0"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DLCOURSE_SMOKE", None)
        else:
            os.environ["DLCOURSE_SMOKE"] = previous
        if session is not None:
            os.environ["JPY_SESSION_NAME"] = session


def execute(source: Path, output: Path, smoke: bool, skip_exercises: bool = False, timeout: int = 600,
            progress: bool = False):
    """Run a notebook with papermill (``SMOKE`` injected) and write the executed copy to ``output``.

    With ``skip_exercises`` the exercise and test cells are not run: the lessons must stand alone.
    Raises ``papermill.PapermillExecutionError`` naming the failing cell.
    """
    import papermill

    nb = nbformat.read(source, as_version=4)
    if skip_exercises:
        nb = tag_exercises_skipped(nb)
    output.parent.mkdir(parents=True, exist_ok=True)
    with smoke_environment(smoke):
        return papermill.execute_notebook(nb, str(output), parameters={"SMOKE": smoke} if smoke else {},
                                          cwd=str(source.parent), execution_timeout=timeout,
                                          progress_bar=progress, log_output=False,
                                          # the kernel's own log: its TCP warning, printed once per kernel
                                          extra_arguments=["--IPKernelApp.log_level=ERROR"])
