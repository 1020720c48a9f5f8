"""JupyterLab's Validate button, made readable: a Jupyter server extension of the course.

nbgrader's Validate dialog repeats "The following cell failed:" for each failing cell, with the
whole test cell's source first and the line that says why far below it. With this extension
(enabled in the environment's own Jupyter configuration by ``scripts/configure_lab.py``), the
answer the button receives starts with one summary, how many of the notebook's tests fail and
which, and each failing cell is then named by its test's id with the reason on the first line;
the traceback follows. Only the presentation changes: which cells pass or fail is nbgrader's.

It also gives Validate hints (:func:`install`): after nbgrader's Validator has run the notebook,
the same kernel computes, for each failed test cell, the fingerprint of the answer on its public
tests (utils.misconceptions); where it is that of a known wrong answer, the failing cell's entry
starts with that wrong answer's misconception and hint, and the summary line says it too.
"""

from __future__ import annotations

import html
import json
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
        hint = f"\n{entry['hint']}" if entry.get("hint") else ""
        entries.append({**entry, "source": f"{name}: {reason}{hint}"})
    count = f"{len(failed)} of {len(tests)} tests" if tests else f"{len(failed)} test" + "s" * (len(failed) > 1)
    headline = (f"{count} {'fails' if len(failed) == 1 else 'fail'}: {', '.join(names)}. "
                f"Below, each one with the reason on its first line, then its traceback. "
                f"Fix them and press Validate again.")
    summary = {"source": headline, "error": html.escape(""), "raw_error": ""}
    return {**answer, "value": {**answer["value"], "failed": [summary, *entries]}}


HINT_CODE = "__import__('utils.misconceptions', fromlist=['hints']).hints(get_ipython().user_ns, {chapter!r}, {failed!r})"


def _hinting_validator():
    """nbgrader's Validator whose Execute, after the notebook's last cell, asks the kernel for the
    hints of the failed test cells (utils.misconceptions.hints) and whose answer carries them."""
    import html

    from nbformat.notebooknode import from_dict
    from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, Execute
    from nbgrader.validator import Validator
    from traitlets import List

    from utils.misconceptions import PREFIX

    class HintingExecute(Execute):
        def preprocess(self, nb, resources=None, km=None):
            self._last = max((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), default=-1)
            return super().preprocess(nb, resources, km)

        def preprocess_cell(self, cell, resources, index):
            cell, resources = super().preprocess_cell(cell, resources, index)
            if index == self._last:
                try:
                    self._hints(index)
                except Exception:  # a hint is a help: Validate answers as nbgrader's would
                    pass
            return cell, resources

        def _hints(self, index):
            failed = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in self.nb.cells
                      if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
                      and not c.metadata.get("nbgrader", {}).get("solution")
                      and any(o.get("output_type") == "error" and o.get("ename") != "NotImplementedError"
                              for o in c.get("outputs", []))}
            chapter = getattr(self.parent, "chapter", "")
            if not failed or not chapter:
                return
            probe = from_dict({"cell_type": "code", "source": HINT_CODE.format(chapter=chapter, failed=failed),
                               "metadata": {}, "outputs": [], "execution_count": None})
            student_cell = self.nb.cells[index]
            try:
                self.execute_cell(probe, index, store_history=False)
            finally:
                self.nb.cells[index] = student_cell
            text = "".join(o.get("text", "") for o in probe.outputs if o.get("output_type") == "stream")
            for line in text.splitlines():
                if line.startswith(PREFIX):
                    found = json.loads(line[len(PREFIX):])
                    if found.get("test_id") in failed:
                        self.parent.hints[failed[found["test_id"]].strip()] = str(found.get("note", ""))

    class HintingValidator(Validator):
        preprocessors = List([CheckCellMetadata, ClearOutput, HintingExecute])

        def validate(self, filename):
            self.chapter, self.hints = Path(filename).stem, {}
            results = super().validate(filename)
            for entry in results.get("failed", []) if isinstance(results, dict) else []:
                hint = self.hints.get(entry.get("source", "").strip())
                if hint:
                    entry["hint"] = hint
                    entry["error"] = f"<b>{html.escape(hint)}</b>\n\n" + entry.get("error", "")
            return results

    return HintingValidator


def install() -> None:
    """Validate with hints: nbgrader's Validate handler uses the hinting Validator (idempotent)."""
    from nbgrader.server_extensions.validate_assignment import handlers

    if not getattr(handlers.Validator, "hinting", False):
        handlers.Validator = _hinting_validator()
        handlers.Validator.hinting = True


def _load_jupyter_server_extension(serverapp) -> None:
    from nbgrader.server_extensions.validate_assignment import handlers

    install()
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
