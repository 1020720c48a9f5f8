"""JupyterLab's Validate button, made readable: a Jupyter server extension of the course.

nbgrader's Validate dialog repeats "The following cell failed:" for each failing cell, with the
whole test cell's source first and the line that says why far below it. With this extension
(enabled in the environment's own Jupyter configuration by ``scripts/configure_lab.py``), the
answer the button receives starts with one summary, how many of the notebook's tests fail and
which, and each failing cell is then named by its test's id with the reason on the first line;
the traceback follows. Only the presentation changes: which cells pass or fail is nbgrader's.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _cells_by_source(notebook: Path) -> dict[str, nbformat.NotebookNode]:
    try:
        nb = nbformat.read(notebook, as_version=4)
    except Exception:  # a notebook nbgrader could validate but we cannot read: keep its answer
        return {}
    return {cell.source.strip(): cell for cell in nb.cells}


def _reason(raw_error: str) -> str:
    """The line that says why: the last non-empty line of the error (its exception and message)."""
    lines = [line.strip() for line in ANSI.sub("", raw_error or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no output (the cell did not finish)"


def summarize(answer: dict, notebook: Path) -> dict:
    """nbgrader's Validate answer for ``notebook`` with a summary first (only when cells failed)."""
    if not answer.get("success") or not isinstance(answer.get("value"), dict):
        return answer
    failed = answer["value"].get("failed")
    if not failed:
        return answer
    cells = _cells_by_source(notebook)
    tests = [cell for cell in cells.values()
             if cell.get("metadata", {}).get("nbgrader", {}).get("grade") and cell.cell_type == "code"]
    names, entries = [], []
    for entry in failed:
        cell = cells.get(entry.get("source", "").strip())
        name = (cell.metadata.get("nbgrader", {}).get("grade_id") if cell is not None else None) or "a cell"
        names.append(name)
        reason = _reason(entry.get("raw_error", ""))
        entries.append({**entry, "source": f"{name}: {reason}"})
    count = f"{len(failed)} of {len(tests)} tests" if tests else f"{len(failed)} test" + "s" * (len(failed) > 1)
    headline = (f"{count} {'fails' if len(failed) == 1 else 'fail'}: {', '.join(names)}. "
                f"Below, each one with the reason on its first line, then its traceback. "
                f"Fix them and press Validate again.")
    summary = {"source": headline, "error": html.escape(""), "raw_error": ""}
    return {**answer, "value": {**answer["value"], "failed": [summary, *entries]}}


def _load_jupyter_server_extension(serverapp) -> None:
    from nbgrader.server_extensions.validate_assignment import handlers

    original = handlers.ValidateAssignmentHandler.validate_notebook
    if getattr(original, "summarized", False):
        return

    def validate_notebook(self, path):
        answer = original(self, path)
        return summarize(answer, Path(self.root_dir).resolve() / path)

    validate_notebook.summarized = True
    handlers.ValidateAssignmentHandler.validate_notebook = validate_notebook
    serverapp.log.info("utils.lab: Validate answers start with a summary")


def _jupyter_server_extension_points():
    return [{"module": "utils.lab"}]
