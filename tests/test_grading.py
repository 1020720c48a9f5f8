"""Invariant 4: the graders are tested against right and wrong answers, through the real
`nbgrader autograde` and its gradebook, in a scratch course.

Students of the scratch class: the solution (full marks), the untouched release (0 auto-graded
points; chapter 01 only: in every chapter tests/test_mutation.py runs each exercise's blank answer
against its public tests, and tests/test_hostile.py grades every kind of blank notebook of chapter
01 through the real grader), one wrong answer for every exercise at once (the first hand-written mutant of each under
mutants/<chapter>/: every exercise loses its points and no other; the submission also lost a test
cell, which the grader restores and grades), and a broken file (reported, skipped, the run goes
on). Each planted wrong answer must also be diagnosed as itself in the grading kernel, and named
in its feedback. That *each* hand-written mutant costs its own exercise's points and no other's is checked
by tests/test_mutation.py, against every other exercise's tests; here the grader must agree with
it for one wrong answer per exercise. Each extra submission is one more notebook run per chapter
(15-20 s in smoke mode), so the other mutants are left to tests/test_mutation.py, which runs them
without a notebook run each."""

import html
import re
from pathlib import Path

import nbformat
import pytest

from dlcourse.authoring.mutation import HAND_WRITTEN
from dlcourse.grading.grade import find_submissions, grade_submissions
from dlcourse.grading.gradebook import report_from_gradebook
from dlcourse.authoring.known_wrong import descriptions
from dlcourse.notebooks import chapters, release_path, solution_cells, solution_path

MUTANTS = HAND_WRITTEN
FIRST = chapters()[0]
pytestmark = pytest.mark.slow


def plant(chapter: str, answers: dict[str, str], path: Path) -> Path:
    """The solution notebook with each exercise's answer cell replaced by ``answers[exercise]``."""
    nb = nbformat.read(solution_path(chapter), as_version=4)
    cells = solution_cells(nb)
    for exercise, source in answers.items():
        nb.cells[cells[exercise]].source = source
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def mutants(chapter: str) -> dict[str, Path]:
    return {path.stem: path for path in sorted((MUTANTS / chapter).glob("*.py"))}


def pack(chapter: str) -> dict[str, str]:
    """One wrong answer per exercise, {exercise: mutant name}: the first hand-written mutant of each."""
    chosen: dict[str, str] = {}
    for name in mutants(chapter):
        chosen.setdefault(name.split("__")[0], name)
    return chosen


def deleted_cell(chapter: str) -> str:
    """The test cell deleted from the wrong answers' submission: that of its first exercise."""
    return f"test_{sorted(pack(chapter))[0]}"


@pytest.fixture(scope="module", params=chapters())
def graded(request, tmp_path_factory):
    chapter = request.param
    folder = tmp_path_factory.mktemp(f"class-{chapter}")
    submissions = {"solution": solution_path(chapter)}
    if chapter == FIRST:
        submissions["release"] = release_path(chapter)
    sources = mutants(chapter)
    wrong = plant(chapter, {exercise: sources[name].read_text() for exercise, name in pack(chapter).items()},
                  folder / "mutants.ipynb")
    # it also lost one test cell (one notebook run fewer than a separate submission): restored by
    # the grader, that cell must run and fail the mutant
    nb = nbformat.read(wrong, as_version=4)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != deleted_cell(chapter)]
    nbformat.write(nb, wrong)
    submissions["mutants"] = wrong
    (folder / "broken.ipynb").write_text('{"cells": [ truncated')
    submissions["broken-file"] = folder / "broken.ipynb"
    report = grade_submissions(submissions, chapter, folder / "course", feedback=True, log=lambda _: None)
    return chapter, report, {r.student: r for r in report.students}, folder / "course"


def test_solution_gets_full_marks(graded):
    _, report, results, _ = graded
    assert results["solution"].status == "graded"
    assert results["solution"].scores == report.max_scores


def test_plain_wrong_answers_need_no_attention(graded):
    """Mutants are honest mistakes: graded, and not listed as needing attention."""
    _, _, results, _ = graded
    flagged = {name: r.notes for name, r in results.items() if r.notes and name != "mutants"}
    assert not flagged, flagged


@pytest.mark.parametrize("graded", [FIRST], indirect=True)
def test_untouched_release_gets_zero(graded):
    _, report, results, _ = graded
    assert results["release"].status == "graded"
    assert results["release"].scores == {name: 0.0 for name in report.max_scores}


def test_a_wrong_answer_to_every_exercise_loses_exactly_its_points(graded):
    chapter, report, results, _ = graded
    chosen = pack(chapter)
    assert {f"test_{exercise}" for exercise in chosen} == set(report.max_scores), "an exercise without a mutant"
    result = results["mutants"]
    expected = {name: 0.0 for name in report.max_scores}
    scores = result.scores or {}
    wrong = {name: (scores.get(name), points) for name, points in expected.items() if scores.get(name) != points}
    assert result.status == "graded" and not wrong, (
        f"mutants ({', '.join(chosen.values())}): {result.status}; (scored, expected) per test cell that differs: {wrong}")


def test_each_wrong_answer_is_diagnosed_in_the_grading_kernel(graded):
    """Through the real grader, in the jail: each planted wrong answer is diagnosed as its own
    misconception (dlcourse.grading.diagnosis, run in the grading kernel after the last cell), its
    feedback shows that misconception's hint, the class report counts it, and the solution gets
    no diagnosis."""
    chapter, report, results, _ = graded
    known = descriptions(chapter)
    chosen = {exercise: name for exercise, name in pack(chapter).items()
              if not known[name].get("undiagnosed")}  # reviewed: its difference shows in no call's result
    found = results["mutants"].misconceptions
    missing = {exercise: (name, found.get(exercise)) for exercise, name in chosen.items()
               if name not in found.get(exercise, [])}
    assert not missing, f"(planted, diagnosed as) per exercise: {missing}"
    assert not any(results["solution"].misconceptions.values()), results["solution"].misconceptions
    page = html.unescape(results["mutants"].feedback.read_text())
    hints = [known[name]["hint"] for name in chosen.values()]
    assert all(hint in page for hint in hints), [hint for hint in hints if hint not in page]
    counts = report.misconception_counts()
    assert all(counts[f"test_{exercise}"].get(name) == 1 for exercise, name in chosen.items()), counts


def test_deleted_test_cell_is_restored_and_graded(graded):
    """The wrong answers' submission lost a test cell: the grader put it back (noted for the
    instructor) and ran it, so the mutant in its exercise scores 0 there (not "needs manual grade")."""
    chapter, _, results, _ = graded
    result = results["mutants"]
    assert result.status == "graded" and result.scores[deleted_cell(chapter)] == 0.0, (result.status, result.scores)
    assert any(deleted_cell(chapter) in note for note in result.notes), result.notes


def test_broken_submission_is_reported_and_the_run_goes_on(graded):
    _, report, results, _ = graded
    assert "invalid JSON" in results["broken-file"].status
    assert sum(r.status == "graded" for r in report.students) == len(report.students) - 1
    assert "NOT GRADED" in report.table()


def test_feedback_hides_the_hidden_tests(graded):
    chapter, _, results, _ = graded
    graded_results = [r for r in results.values() if r.status == "graded"]
    assert all(r.feedback is not None for r in graded_results)
    solution_source = "\n".join(c.source for c in nbformat.read(solution_path(chapter), as_version=4).cells)
    public_lines = {line.strip() for c in nbformat.read(release_path(chapter), as_version=4).cells
                    for line in c.source.splitlines()}
    hidden_lines = [line.strip() for cell in solution_source.split("### BEGIN HIDDEN TESTS")[1:]
                    for line in cell.split("### END HIDDEN TESTS")[0].splitlines()
                    if len(line.strip()) > 20 and line.strip() not in public_lines]
    assert len(hidden_lines) > 20
    for result in graded_results:
        page = result.feedback.read_text()
        assert "BEGIN HIDDEN TESTS" not in page
        text = html.unescape(re.sub(r"<[^>]+>", "", page))  # the code is highlighted: drop the tags
        leaked = [line for line in hidden_lines if line in text]
        assert not leaked, f"{result.student}'s feedback shows hidden test code: {leaked[:2]}"


def test_gradebook_holds_what_the_report_says(graded):
    chapter, report, results, course = graded
    recorded = {r.student: r.scores for r in report_from_gradebook(course, chapter).students if r.status == "graded"}
    assert recorded == {r.student: r.scores for r in report.students if r.status == "graded"}
    assert not (course / "work").exists(), "scratch courses are removed after the merge"


def test_find_submissions_layouts(tmp_path):
    (tmp_path / "ann" / "01_fundamentals").mkdir(parents=True)
    (tmp_path / "ann" / "01_fundamentals" / "01_fundamentals.ipynb").write_text("{}")
    (tmp_path / "ben").mkdir()
    (tmp_path / "ben" / "01_fundamentals.ipynb").write_text("{}")
    (tmp_path / "cat").mkdir()
    (tmp_path / "bad name!").mkdir()
    found = find_submissions(tmp_path, "01_fundamentals")
    assert isinstance(found["ann"], Path) and isinstance(found["ben"], Path)
    assert "no 01_fundamentals.ipynb" in found["cat"]
    assert "letters, digits" in found["bad name!"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_submissions(tmp_path / "missing", "01_fundamentals")
