"""Invariant 4: the graders are tested against right and wrong answers, through the real
`nbgrader autograde` and its gradebook, in a scratch course.

Students of the scratch class: the solution (full marks), the untouched release (0 auto-graded
points), one per mutant under tests/mutants/<chapter>/ (loses exactly its exercise's points),
a solution whose test cell was deleted (restored and graded), and a broken file (reported,
skipped, the run goes on)."""

import html
import re
from pathlib import Path

import nbformat
import pytest

from tools.grade import find_submissions, grade_submissions, report_from_gradebook
from tools.notebooks import chapters, release_path, solution_cells, solution_path, graded_cells

MUTANTS = Path(__file__).parent / "mutants"
pytestmark = pytest.mark.slow


def plant(chapter: str, exercise: str, source: str, folder: Path) -> Path:
    """The solution notebook with exercise ``exercise``'s cell replaced by ``source``."""
    nb = nbformat.read(solution_path(chapter), as_version=4)
    nb.cells[solution_cells(nb)[exercise]].source = source
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{exercise}.ipynb"
    nbformat.write(nb, path)
    return path


def mutants(chapter: str) -> dict[str, Path]:
    return {path.stem: path for path in sorted((MUTANTS / chapter).glob("*.py"))}


@pytest.fixture(scope="module", params=chapters())
def graded(request, tmp_path_factory):
    chapter = request.param
    folder = tmp_path_factory.mktemp(f"class-{chapter}")
    submissions = {"solution": solution_path(chapter), "release": release_path(chapter)}
    for name, path in mutants(chapter).items():
        exercise = name.split("__")[0]
        submissions[f"mutant-{name}"] = plant(chapter, exercise, path.read_text(), folder / name)
    nb = nbformat.read(solution_path(chapter), as_version=4)
    removed = sorted(graded_cells(nb))[0]
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != removed]
    nbformat.write(nb, folder / "deleted.ipynb")
    submissions["deleted-test-cell"] = folder / "deleted.ipynb"
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
    flagged = {name: r.notes for name, r in results.items() if r.notes and name != "deleted-test-cell"}
    assert not flagged, flagged


def test_untouched_release_gets_zero(graded):
    _, report, results, _ = graded
    assert results["release"].status == "graded"
    assert results["release"].scores == {name: 0.0 for name in report.max_scores}


def test_every_mutant_loses_exactly_its_exercise(graded):
    chapter, report, results, _ = graded
    problems = []
    for name in mutants(chapter):
        exercise = name.split("__")[0]
        result = results[f"mutant-{name}"]
        expected = dict(report.max_scores, **{f"test_{exercise}": 0.0})
        if result.status != "graded" or result.scores != expected:
            problems.append(f"{name}: {result.status} {result.scores}")
    assert not problems, "mutants not caught exactly:\n" + "\n".join(problems)


def test_deleted_test_cell_is_restored_and_graded(graded):
    _, report, results, _ = graded
    assert results["deleted-test-cell"].scores == report.max_scores


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
