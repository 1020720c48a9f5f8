"""Feedback for students without the hidden tests.

nbgrader's feedback shows every test cell as graded, hidden tests included. This
preprocessor removes the hidden region from each test cell's source and replaces the
traceback of a failed test cell (IPython quotes the lines around the failing one, hidden
ones included) by the error, its message and, for a visible test, the failing line. The
messages of hidden tests are written to say what is wrong without giving the test away.
"""

from __future__ import annotations

import re

from nbgrader.preprocessors import NbGraderPreprocessor

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
LINE_OF_ERROR = re.compile(r"line (\d+)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def hidden_line_numbers(source: str) -> set[int]:
    """1-based numbers of the lines inside (and on) the hidden-test markers."""
    hidden, inside = set(), False
    for number, line in enumerate(source.split("\n"), start=1):
        if BEGIN in line:
            inside = True
        if inside:
            hidden.add(number)
        if END in line:
            inside = False
    return hidden


def strip_hidden(source: str) -> str:
    lines, hidden = source.split("\n"), hidden_line_numbers(source)
    kept = [line for number, line in enumerate(lines, start=1) if number not in hidden]
    if len(kept) < len(lines):
        kept.append("# (hidden tests ran here)")
    return "\n".join(kept)


class StripHiddenTests(NbGraderPreprocessor):
    """Remove hidden tests, and tracebacks that quote them, from graded notebooks."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or BEGIN not in cell.source:
            return cell, resources
        lines, hidden = cell.source.split("\n"), hidden_line_numbers(cell.source)
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            # IPython's traceback quotes the lines around the failing one, hidden ones included:
            # keep only the error and, when a visible test failed, that test's own line.
            frames = [ANSI.sub("", frame) for frame in output.get("traceback", [])]
            numbers = [int(m.group(1)) for frame in frames if "Cell In[" in frame
                       for m in [LINE_OF_ERROR.search(frame)] if m]
            where = "(raised by a hidden test; its code is not shown)"
            if numbers and numbers[0] not in hidden and numbers[0] <= len(lines):
                where = f"(raised by this visible test: {lines[numbers[0] - 1].strip()})"
            output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}", where]
        cell.source = strip_hidden(cell.source)
        return cell, resources
