"""Answers may read the course's reference implementations but not call them (utils.exercises).

In-process with IPython's shell (as in a notebook), through nbgrader's Validate (what a student
sees before submitting); the grader's side is a case of tests/test_hostile.py."""

import html
import importlib
import re

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell

from dlcourse.notebooks import chapters, release_path, solution_cells, solution_path
from utils import exercises

SETUP = """
import functools
import torch
import utils
from utils import layers as ref
from utils.training import EarlyStopping
from utils.layers import cross_entropy as early_alias  # bound before the guard: rebound to the checked one
session = utils.setup(verbose=False)
"""
CALL = "cross_entropy(torch.randn(3, 4), torch.tensor([0, 1, 2]))"


@pytest.fixture(scope="module")
def shell():
    shell = InteractiveShell.instance()
    assert shell.run_cell(SETUP).success
    return shell


def error_of(shell, *cells):
    for cell in cells[:-1]:
        assert shell.run_cell(cell).success, cell
    return shell.run_cell(cells[-1]).error_in_exec


def test_every_graded_exercise_has_its_reference_listed():
    """Chapters 04-07 must list theirs too: the name each answer cell defines -> its reference."""
    for chapter in chapters():
        nb = nbformat.read(solution_path(chapter), as_version=4)
        for exercise, index in solution_cells(nb).items():
            defined = exercises._defined_names(nb.cells[index].source)
            assert defined & set(exercises.REFERENCES), f"{chapter}: no reference listed for {exercise} ({defined})"
    for references in exercises.REFERENCES.values():
        for reference in references:
            module, attribute = reference.split(":")
            assert hasattr(importlib.import_module(module), attribute), reference


@pytest.mark.parametrize("answer", [
    "def cross_entropy(logits, targets, label_smoothing=0.0):\n    return ref.cross_entropy(logits, targets, label_smoothing)",
    "def cross_entropy(logits, targets, label_smoothing=0.0):\n    return early_alias(logits, targets, label_smoothing)",
    "def _helper(z, y):\n    return ref.cross_entropy(z, y)\n\ndef cross_entropy(logits, targets, label_smoothing=0.0):\n"
    "    return _helper(logits, targets)",
    "cross_entropy = lambda logits, targets, label_smoothing=0.0: ref.cross_entropy(logits, targets)",
    "cross_entropy = ref.cross_entropy",
    "cross_entropy = functools.partial(ref.cross_entropy, label_smoothing=0.0)",
])
def test_an_answer_that_calls_its_reference_fails_with_the_reason(shell, answer):
    error = error_of(shell, answer, CALL)
    assert isinstance(error, exercises.ReferenceImplementationCalled), error
    assert "utils.layers.cross_entropy" in str(error) and "write your own code" in str(error)


def test_classes_subclassed_or_wrapped_are_caught(shell):
    for answer in ("class EarlyStopper(EarlyStopping):\n    pass",
                   "class EarlyStopper:\n    def __init__(self, patience, min_delta=0.0):\n"
                   "        self.inner = EarlyStopping(patience=patience, min_delta=min_delta)"):
        error = error_of(shell, answer, "EarlyStopper(patience=2)")
        assert isinstance(error, exercises.ReferenceImplementationCalled), (answer, error)


def test_lessons_tests_and_own_answers_may_use_the_references(shell):
    assert error_of(shell, "ref.cross_entropy(torch.randn(3, 4), torch.tensor([0, 1, 2])); EarlyStopping(patience=2)") is None
    own = ("def cross_entropy(logits, targets, label_smoothing=0.0):\n"
           "    return (torch.logsumexp(logits, 1) - logits.gather(1, targets[:, None])[:, 0]).mean()")
    assert error_of(shell, own, CALL) is None
    # a test cell comparing the answer with the reference calls both: allowed
    assert error_of(shell, f"torch.testing.assert_close({CALL}, ref.{CALL}, rtol=0, atol=0) if False else None") is None
    # another exercise's reference inside an answer is allowed (only its own exercise's is not)
    other = ("def cross_entropy(logits, targets, label_smoothing=0.0):\n"
             "    probabilities = torch.softmax(ref.linear(logits, torch.eye(logits.shape[1])), 1)\n"
             "    return -probabilities.gather(1, targets[:, None]).log().mean()")
    assert error_of(shell, other, CALL) is None


def test_note_mode_lets_the_call_through_and_says_so(shell, monkeypatch, capsys):
    monkeypatch.setenv(exercises.MODE_ENV, "note")
    answer = "def cross_entropy(logits, targets, label_smoothing=0.0):\n    return ref.cross_entropy(logits, targets)"
    assert error_of(shell, answer, CALL) is None
    assert "[course] cross_entropy calls utils.layers.cross_entropy" in capsys.readouterr().out


def test_validate_tells_the_student(tmp_path):
    from nbgrader.validator import Validator

    chapter = chapters()[0]
    nb = nbformat.read(release_path(chapter), as_version=4)
    solution = nbformat.read(solution_path(chapter), as_version=4)
    for name, index in solution_cells(nb).items():
        nb.cells[index].source = solution.cells[solution_cells(solution)[name]].source
    for cell in nb.cells:  # written answers
        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = "My answer, in a few sentences."
    nb.cells[solution_cells(nb)["polynomial_features"]].source = (
        "def polynomial_features(x, degree):\n    return ref.polynomial_features(x, degree)\n")
    path = tmp_path / f"{chapter}.ipynb"
    nbformat.write(nb, path)
    result = Validator().validate(str(path))
    failed = result.get("failed", [])
    assert len(failed) == 1, result
    error = html.unescape(re.sub(r"<[^>]+>", "", failed[0]["error"]))
    assert "utils.fundamentals.polynomial_features, the course's reference implementation" in error, error
    assert "_x = torch.tensor([1.0, 2.0, 3.0])" in failed[0]["source"], "the failing cell is the exercise's test cell"


def test_defined_names():
    assert exercises._defined_names("def f():\n    pass\nclass C: pass\nx = y = 1\nimport os\n") == {"f", "C", "x", "y"}
