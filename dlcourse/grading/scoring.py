"""How an auto-graded test cell scores: all its points, or none.

nbgrader's own rule (``nbgrader.utils.determine_grade``) reads a test cell's outputs in order and
returns at the first error, stderr stream *or result*: a result (``execute_result``) is read as
partial credit, a text that is not a number as full marks, and whatever comes after it is never
read. So a blank answer that calls ``sys.displayhook("ok")`` before it raises
``NotImplementedError`` scored full marks, and one that displays ``100`` made nbgrader's
autograde fail for the whole submission (a score above the cell's points).

The course's test cells never end in a value (tests/test_notebooks.py checks the contract), so
here a test cell scores 0 when any of its outputs is an error or stderr text, wherever it is, and
its full points otherwise. :class:`NoPartialCredit` runs in the autograde pipeline before
nbgrader's ``SaveAutoGrades`` and shows every result of a test cell as a plain display, so that
nbgrader's rule gives the same score as :func:`test_cell_score`, which dlcourse.grading.grade uses to
recompute and check the scores nbgrader saved: the two gradebooks agree.
"""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor

from dlcourse.notebooks import nbgrader_meta


def failed(outputs) -> bool:
    """Whether a test cell's outputs hold an error or text on stderr, anywhere among them."""
    return any(o.get("output_type") == "error" or (o.get("output_type") == "stream" and o.get("name") == "stderr")
               for o in outputs)


def test_cell_score(cell, points: float) -> float:
    """``points`` unless the test cell failed (:func:`failed`); never partial credit."""
    return 0.0 if failed(cell.get("outputs", [])) else float(points)


def is_test_cell(cell) -> bool:
    """An auto-graded test cell (a code cell graded, not written, by the student)."""
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


class NoPartialCredit(NbGraderPreprocessor):
    """Show a test cell's results (``execute_result``) as displays: nbgrader then never reads one
    as partial credit, and an error or stderr anywhere in the cell scores it 0."""

    def preprocess_cell(self, cell, resources, index):
        if is_test_cell(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "execute_result":
                    output["output_type"] = "display_data"
                    output.pop("execution_count", None)
        return cell, resources
