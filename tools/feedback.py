"""Feedback for students without the hidden tests.

nbgrader's feedback shows every test cell as graded, hidden tests included. This
preprocessor removes the hidden region from each test cell's source and, when the failure
came from a hidden line, replaces the traceback (which would quote that line) with the error
type and message only. The messages of hidden tests are written to say what is wrong without
giving the test away.
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
        hidden = hidden_line_numbers(cell.source)
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            cell_frames = [ANSI.sub("", frame) for frame in output.get("traceback", []) if "Cell In[" in ANSI.sub("", frame)]
            numbers = [int(m.group(1)) for frame in cell_frames for m in [LINE_OF_ERROR.search(frame)] if m]
            if not numbers or numbers[0] in hidden:
                output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}",
                                       "(raised by a hidden test; its code is not shown)"]
        cell.source = strip_hidden(cell.source)
        return cell, resources
