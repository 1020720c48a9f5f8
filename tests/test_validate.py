"""The student's side: nbgrader's Validate button agrees with the autograder on the public tests.

A student who solved every exercise sees Validate pass, and the autograder gives full marks
(tests/test_grading.py). A student with one plausible wrong answer (the mutants of
mutants/) sees Validate fail only in that exercise's test cell, with the test's message
saying what is wrong, or pass when only the hidden tests catch the mistake; the autograder takes
exactly that exercise's points (tests/test_grading.py). The notebooks here are built from the
release, as a student's are, so Validate runs the public tests only.
"""

import re
import html
from pathlib import Path

import nbformat
import pytest
from nbgrader.validator import Validator

from dlcourse.authoring.mutation import HAND_WRITTEN
from dlcourse.notebooks import chapters, release_path, solution_cells, solution_path

pytestmark = pytest.mark.slow
MUTANTS = HAND_WRITTEN
FIRST = chapters()[0]
# the mistake that only the hidden tests catch (central vs forward differences agree to 1e-5 on x**2)
HIDDEN_ONLY = {"numerical_gradient__nudges_x_in_place"}  # fails only for an x that requires grad: hidden


def solved_release(chapter: str, wrong: tuple[str, str] | None = None):
    """The release with every answer cell filled in from the solution (one replaced by ``wrong``)."""
    nb = nbformat.read(release_path(chapter), as_version=4)
    solution = nbformat.read(solution_path(chapter), as_version=4)
    answers = {name: solution.cells[index].source for name, index in solution_cells(solution).items()}
    if wrong:
        answers[wrong[0]] = wrong[1]
    for name, index in solution_cells(nb).items():
        nb.cells[index].source = answers[name]
    for cell in nb.cells:  # written answers
        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = "My answer, in a few sentences."
    return nb


def validate(nb, path: Path) -> dict:
    nbformat.write(nb, path)
    return Validator().validate(str(path))


def plain(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def test_a_solved_release_passes_validate(tmp_path):
    """Chapter 01 only: in every chapter, the test below shows Validate passing every public test
    cell of a release solved but for one blank exercise, and tests/test_grading.py gives the
    solution full marks (public and hidden tests); one more notebook run per chapter would show
    nothing new."""
    assert validate(solved_release(FIRST), tmp_path / f"{FIRST}.ipynb") == {}


def one_mutant_per_exercise(chapter: str) -> list[Path]:
    first = {}
    for path in sorted((MUTANTS / chapter).glob("*.py")):
        first.setdefault(path.stem.split("__")[0], path)
    return list(first.values())


@pytest.mark.parametrize("mutant", one_mutant_per_exercise(FIRST) + [MUTANTS / FIRST / f"{name}.py" for name in sorted(HIDDEN_ONLY)],
                         ids=lambda p: p.stem)
def test_validate_fails_only_where_the_autograder_takes_points(mutant, tmp_path):
    exercise = mutant.stem.split("__")[0]
    result = validate(solved_release(FIRST, (exercise, mutant.read_text())), tmp_path / f"{FIRST}.ipynb")
    failed = result.get("failed", [])
    test_cell = next(c.source for c in nbformat.read(release_path(FIRST), as_version=4).cells
                     if c.metadata.get("nbgrader", {}).get("grade_id") == f"test_{exercise}")
    for failure in failed:
        assert failure["source"].strip() == test_cell.strip(), \
            f"Validate failed a cell other than test_{exercise}: {failure['source'][:80]!r}"
        message = plain(failure["error"]).strip().splitlines()[-1]
        assert re.match(r"\w+(Error|Exception): \S", message), f"the failure should say what is wrong: {message!r}"
    assert set(result) <= {"failed"}, result
    assert bool(failed) == (mutant.stem not in HIDDEN_ONLY), \
        "Validate should fail this wrong answer" if not failed else "only hidden tests were meant to catch this"


@pytest.mark.parametrize("chapter", chapters())
def test_validate_runs_the_smoke_lessons_names_the_failures_and_hints_at_a_known_wrong_answer(chapter, tmp_path,
                                                                                          monkeypatch, capsys):
    """Validate pressed as JupyterLab does (dlcourse.authoring.validate.press_validate: nbgrader's server
    extension code path), on a notebook whose SMOKE is left False, one exercise blank and another
    answered with a known wrong answer: the lessons run their smoke sizes (the blank answer's
    error reports SMOKE = True), and the only failures are those two test cells: the answer says
    first how many tests fail and which (utils.lab), then names each cell by its id with the reason
    on its first line; the wrong answer's cell then shows its misconception and hint (from the
    fingerprints in utils/misconception_data), the blank one none. The time is printed; `make bench`
    reports it."""
    from dlcourse.authoring.validate import hinted_wrong_answer, validate_with_one_blank
    from dlcourse.authoring.known_wrong import descriptions

    monkeypatch.delenv("DLCOURSE_SMOKE", raising=False)
    exercise, mutant, source = hinted_wrong_answer(chapter)
    answer, seconds = validate_with_one_blank(chapter, tmp_path, wrong=(exercise, source))
    assert answer["success"], answer["value"]
    failed = answer["value"].get("failed", [])
    order = list(solution_cells(nbformat.read(solution_path(chapter), as_version=4)))
    first = order[0]
    expected = sorted([f"test_{first}", f"test_{exercise}"], key=lambda t: order.index(t.removeprefix("test_")))
    summary, *cells = failed
    assert summary["source"].startswith("2 of ") and f"tests fail: {', '.join(expected)}." in summary["source"], summary
    assert [f["source"].split(":")[0] for f in cells] == expected, answer["value"]
    blank, wrong = (cells[0], cells[1]) if expected[0] == f"test_{first}" else (cells[1], cells[0])
    assert "left blank (SMOKE = True)" in blank["source"], blank["source"]  # the reason comes first
    assert "left blank (SMOKE = True)" in plain(blank["error"]), plain(blank["error"])[-300:]
    hint = descriptions(chapter)[mutant]["hint"]
    assert "Hint:" not in blank["source"] and hint in wrong["source"] and hint in plain(wrong["error"]), (
        f"Validate should hint at {mutant}: {wrong['source'][:500]}")
    with capsys.disabled():
        print(f"\n  Validate on {chapter} with one exercise blank and one known wrong answer: {seconds:.1f} s")
