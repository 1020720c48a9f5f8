"""Feedback for students without the hidden tests (nor the solutions).

nbgrader's feedback shows every test cell as graded, hidden tests included. This
preprocessor removes the hidden region from each test cell's source and replaces the
traceback of a failed test cell (IPython quotes the lines around the failing one, hidden
ones included) by the error, its message and, for a visible test, the failing line. The
messages of hidden tests are written to say what is wrong without giving the test away.

Defence in depth: a submission's code can print anything it can read, so every output line of
the graded notebook that reproduces a line of a hidden test or of a solution block (lines the
student's release does not show, of 12 characters or more) is replaced by a notice before the
feedback is written.
"""

from __future__ import annotations

import functools
import re

import nbformat

from nbgrader.preprocessors import NbGraderPreprocessor

from dlcourse.grading.scoring import is_test_cell

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
LINE_OF_ERROR = re.compile(r"line (\d+)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def marked_line_numbers(source: str, begin: str = BEGIN, end: str = END) -> set[int]:
    """1-based numbers of the lines inside (and on) the markers ``begin`` and ``end``."""
    marked, inside = set(), False
    for number, line in enumerate(source.split("\n"), start=1):
        if begin in line:
            inside = True
        if inside:
            marked.add(number)
        if end in line:
            inside = False
    return marked


def hidden_line_numbers(source: str) -> set[int]:
    """1-based numbers of the lines inside (and on) the hidden-test markers."""
    return marked_line_numbers(source, BEGIN, END)


def strip_hidden(source: str) -> str:
    lines, hidden = source.split("\n"), hidden_line_numbers(source)
    kept = [line for number, line in enumerate(lines, start=1) if number not in hidden]
    if len(kept) < len(lines):
        kept.append("# (hidden tests ran here)")
    return "\n".join(kept)


SOLUTION_BEGIN, SOLUTION_END = "### BEGIN SOLUTION", "### END SOLUTION"
REDACTED = "[line removed from the feedback: it repeats the grader's code]"
MIN_SECRET = 12  # shorter lines (`return x`, `pass`) give nothing away and occur everywhere


@functools.cache
def secret_lines(assignment: str) -> frozenset[str]:
    """Stripped lines of ``assignment``'s hidden tests and solution blocks that its release does not show."""
    import nbformat

    from dlcourse.notebooks import release_path, solution_path

    try:
        solution = nbformat.read(solution_path(assignment), as_version=4)
        release = nbformat.read(release_path(assignment), as_version=4)
    except (OSError, ValueError):
        return frozenset()
    shown = {line.strip() for cell in release.cells for line in cell.source.split("\n")}
    secret = set()
    for cell in solution.cells:
        lines = cell.source.split("\n")
        for begin, end in ((BEGIN, END), (SOLUTION_BEGIN, SOLUTION_END)):
            secret |= {lines[number - 1].strip() for number in marked_line_numbers(cell.source, begin, end)}
    # the markers themselves are comments, as are other lines that give nothing away
    return frozenset(line for line in secret - shown if len(line) >= MIN_SECRET and not line.startswith("#"))


def redact_text(text: str, secret: frozenset[str]) -> tuple[str, int]:
    """``text`` with every line that contains a secret line replaced; and how many were."""
    if not secret or not text:
        return text, 0
    lines, count = text.split("\n"), 0
    for index, line in enumerate(lines):
        if any(s in line for s in secret):
            lines[index], count = REDACTED, count + 1
    return "\n".join(lines), count


def redact_output(output, secret: frozenset[str]) -> int:
    """Redact one output in place (streams, errors, every text format of displayed data)."""
    count = 0
    if "text" in output:
        output["text"], n = redact_text("".join(output["text"]) if isinstance(output["text"], list) else output["text"], secret)
        count += n
    if output.get("output_type") == "error":
        output["evalue"], n = redact_text(str(output.get("evalue", "")), secret)
        count += n
        redacted = [redact_text(ANSI.sub("", frame), secret) for frame in output.get("traceback", [])]
        if any(n for _, n in redacted):
            output["traceback"] = [frame for frame, _ in redacted]
            count += sum(n for _, n in redacted)
    for mime, value in output.get("data", {}).items():
        if mime.startswith("text/") or mime.endswith("json"):
            output["data"][mime], n = redact_text("".join(value) if isinstance(value, list) else str(value), secret)
            count += n
    return count


AFTER_TESTS = ("[outputs not shown in the feedback: once a test cell has run, what a cell prints could repeat "
               "the grader's tests; your own notebook has them]")
MAX_MESSAGE = 500  # characters of a failed test's message shown in the feedback


def _summary(output) -> dict:
    """A failed test's error as name and message only (at most MAX_MESSAGE characters)."""
    message = str(output.get("evalue", ""))
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + " [...]"
    return nbformat.from_dict({**output, "evalue": message})


def _diagnosis_note(output) -> bool:
    """Whether an output is the grader's note naming a known wrong answer (dlcourse.grading.guard
    adds it to a failed test cell; a submission that prints the same words only misleads itself)."""
    from dlcourse.authoring.known_wrong import MARK

    text = output.get("text", "")
    text = "".join(text) if isinstance(text, list) else str(text)
    return output.get("output_type") == "stream" and output.get("name") == "stdout" and text.startswith(MARK)


class StripHiddenTests(NbGraderPreprocessor):
    """Remove hidden tests, tracebacks that quote them, and output lines that repeat hidden tests
    or solutions, from graded notebooks.

    Once the first test cell has run, the hidden tests have been in the kernel, and the
    submission's code could have read and re-encoded them (rot13, base64: no line-by-line
    comparison finds those). So from the first test cell on, the feedback shows no cell's outputs
    except each test cell's error (its name and the start of its message) and the grader's note
    on the known wrong answer a failing answer behaves like (dlcourse.authoring.known_wrong.note)."""

    def preprocess(self, nb, resources):
        self._first_test = next((i for i, c in enumerate(nb.cells) if is_test_cell(c)), len(nb.cells))
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        first_test = getattr(self, "_first_test", None)  # None: preprocess_cell called on its own
        if cell.cell_type == "code" and first_test is not None and cell_index >= first_test:
            if is_test_cell(cell):  # the error, and the grader's note on a known wrong answer (known_wrong.note)
                cell.outputs = [_summary(o) if o.get("output_type") == "error" else o for o in cell.get("outputs", [])
                                if o.get("output_type") == "error" or _diagnosis_note(o)]
            elif cell.get("outputs"):
                cell.outputs = [nbformat.from_dict({"output_type": "stream", "name": "stdout", "text": AFTER_TESTS + "\n"})]
        if cell.cell_type == "code":
            secret = secret_lines(resources.get("nbgrader", {}).get("assignment") or "")
            for output in cell.get("outputs", []):
                redact_output(output, secret)
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
