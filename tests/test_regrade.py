"""Re-grading keeps everything the instructor entered, grades only what changed, and the report
shows the whole grade.

End to end, as an instructor works: a small class of chapter 01 is graded by the real grader;
manual grades, extra credit, comments and a flag are entered through the formgrader's web API
(what its Manual Grading page sends) on a real Jupyter server; then the class is graded again:
with the same files (nothing is run again), with --force (everything is, and every mark stays),
and after two students resubmitted (only they are, a changed written answer keeps its mark and
needs manual grading again). The report, grades.csv and nbgrader's own export include the manual
points; every run keeps a backup of the gradebook, and a backup restores the earlier state.
"""

import csv
import shutil
import sqlite3

import nbformat
import pytest

from formgrader import api, formgrader
from dlcourse.authoring.mutation import HAND_WRITTEN
from dlcourse.grading.grade import find_submissions, grade_submissions
from dlcourse.grading.gradebook import export_grades, report_from_gradebook
from dlcourse.notebooks import chapter_points, release_path, solution_cells, solution_path
from dlcourse.grading.sandbox import Limits

pytestmark = pytest.mark.slow
CHAPTER = "01_fundamentals"
WRITTEN = "bias_variance_answer"
AUTOMATIC = sum(chapter_points(CHAPTER).values())  # every test cell's points


def write(folder, student, nb):
    path = folder / "submitted" / student / CHAPTER / f"{CHAPTER}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def with_answer(nb, text):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == WRITTEN:
            cell.source = text
    return nb


def solution():
    return nbformat.read(solution_path(CHAPTER), as_version=4)


def grade(folder, **options):
    return grade_submissions(find_submissions(folder / "submitted", CHAPTER), CHAPTER, folder / "course",
                             feedback=False, log=lambda _: None, workers=2, limits=Limits(wall_seconds=300),
                             cell_seconds=60, **options)


def gradebook_rows(course):
    """(grades, manual comments, flagged students) as nbgrader's Gradebook API reads them."""
    from nbgrader.api import Gradebook

    grades, comments, flags = {}, [], []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for submission in gradebook.find_assignment(CHAPTER).submissions:
            student = submission.student.id
            notebook = gradebook.find_submission_notebook(CHAPTER, CHAPTER, student)
            grades.update({(student, g.name): (g.auto_score, g.manual_score, g.extra_credit, bool(g.needs_manual_grade))
                           for g in notebook.grades})
            comments += [(student, c.manual_comment) for c in notebook.comments if c.manual_comment]
            flags += [(student,)] if notebook.flagged else []
    return grades, sorted(comments), sorted(flags)


def row_ids(course):
    """Per student the ids of the submission's rows, which the formgrader's pages and links carry."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {submission.student.id: (submission.id, [(n.id, sorted(g.id for g in n.grades), sorted(c.id for c in n.comments))
                                                        for n in submission.notebooks])
                for submission in gradebook.find_assignment(CHAPTER).submissions}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    folder = tmp_path_factory.mktemp("regrade-class")
    write(folder, "ann", with_answer(solution(), "High degrees overfit: variance grows."))
    ben = with_answer(solution(), "Low degrees underfit.")
    ben.cells[solution_cells(ben)["sgd_step"]].source = (MUTANTS / "sgd_step__keeps_gradient.py").read_text()
    write(folder, "ben", ben)
    write(folder, "cat", nbformat.read(release_path(CHAPTER), as_version=4))
    first = grade(folder)
    assert [r.status for r in first.students] == ["graded"] * 3, first.attention()

    entered = {}
    with formgrader(folder / "course", folder) as (base, token):
        notebooks = {n["student"]: n["id"] for n in api(base, token, f"submitted_notebooks/{CHAPTER}/{CHAPTER}")}
        for student, marks in {"ann": {WRITTEN: (2.0, None)},
                               "ben": {WRITTEN: (1.5, 0.5), "test_sgd_step": (0.5, None)}}.items():
            grades = {g["name"]: g["id"] for g in api(base, token, f"grades?submission_id={notebooks[student]}")}
            for name, (score, extra) in marks.items():
                api(base, token, f"grade/{grades[name]}", "PUT", {"manual_score": score, "extra_credit": extra})
            comments = {c["name"]: c["id"] for c in api(base, token, f"comments?submission_id={notebooks[student]}")}
            api(base, token, f"comment/{comments[WRITTEN]}", "PUT", {"manual_comment": f"Comment for {student}."})
        api(base, token, f"submitted_notebook/{notebooks['cat']}/flag", "POST", {})
    entered = gradebook_rows(folder / "course")
    return folder, first, entered


MUTANTS = HAND_WRITTEN / CHAPTER


def test_the_formgrader_recorded_the_marks(course):
    _, _, (grades, comments, flags) = course
    assert grades[("ann", WRITTEN)][1:] == (2.0, None, False)
    assert grades[("ben", WRITTEN)][1:] == (1.5, 0.5, False)
    assert grades[("ben", "test_sgd_step")][:2] == (0.0, 0.5)
    assert comments == [("ann", "Comment for ann."), ("ben", "Comment for ben.")] and flags == [("cat",)]


def test_grading_unchanged_files_again_runs_nothing_and_keeps_every_mark(course):
    folder, _, entered = course
    again = grade(folder)
    assert sorted(again.skipped) == ["ann", "ben", "cat"]
    assert "3 submissions were not graded again" in again.attention() and "--force" in again.attention()
    assert gradebook_rows(folder / "course") == entered
    ann = next(r for r in again.students if r.student == "ann")
    assert (ann.automatic, ann.manual, ann.total) == (AUTOMATIC, 2.0, AUTOMATIC + 2)


def test_force_grades_again_and_keeps_every_mark(course):
    folder, _, entered = course
    ids = row_ids(folder / "course")
    forced = grade(folder, force=True)
    assert forced.skipped == [] and all(r.status == "graded" for r in forced.students)
    assert gradebook_rows(folder / "course") == entered
    assert row_ids(folder / "course") == ids, "a re-grade keeps the rows' ids: an open formgrader page stays valid"
    assert not any("changed since" in note for r in forced.students for note in r.notes)


def test_a_resubmission_is_graded_again_and_its_changed_answer_flagged(course):
    folder, _, entered = course
    write(folder, "ann", with_answer(solution(), "Rewritten after the deadline: bias falls, variance grows."))
    write(folder, "ben", with_answer(solution(), "Low degrees underfit."))  # only the code changed: sgd_step fixed
    report = grade(folder)
    assert report.skipped == ["cat"]
    grades, comments, flags = gradebook_rows(folder / "course")
    assert grades[("ann", WRITTEN)][1:] == (2.0, None, True), "the old mark stays visible, to be checked again"
    assert grades[("ben", WRITTEN)][1:] == (1.5, 0.5, False), "an unchanged written answer keeps its mark"
    assert grades[("ben", "test_sgd_step")] == (1.0, 0.5, None, True), "a manual override of a changed answer is kept, flagged"
    assert (comments, flags) == (entered[1], entered[2])
    results = {r.student: r for r in report.students}
    assert any(f"{WRITTEN} changed since {WRITTEN} was graded by hand" in n for n in results["ann"].notes)
    assert any("sgd_step changed since test_sgd_step was graded by hand" in n for n in results["ben"].notes)
    assert results["ann"].needs_manual == [WRITTEN] and "ann:" in report.attention()


def test_report_csv_and_export_include_the_manual_points(course, tmp_path):
    folder, *_ = course
    report = report_from_gradebook(folder / "course", CHAPTER)
    assert report.max_total == AUTOMATIC + 2 and report.written_max == {WRITTEN: 2.0}
    rows = {r.student: r for r in report.students}
    # ann: all automatic points + 2 manual; ben: all but sgd_step's point (overridden to 0.5) + 1.5 + 0.5 extra
    assert (rows["ann"].automatic, rows["ann"].manual, rows["ann"].total) == (AUTOMATIC, 2.0, AUTOMATIC + 2)
    assert (rows["ben"].automatic, rows["ben"].manual, rows["ben"].extra_credit, rows["ben"].total) == (AUTOMATIC - 0.5, 1.5, 0.5, AUTOMATIC + 1.5)
    assert rows["cat"].needs_manual == [WRITTEN] and rows["cat"].written == {WRITTEN: None}
    table = report.table()
    assert f"{AUTOMATIC + 2:.1f}/{AUTOMATIC + 2:.1f}*" in table and "need grading by hand" in table
    report.write_csv(tmp_path / "grades.csv")
    csv_rows = {row["student"]: row for row in csv.DictReader((tmp_path / "grades.csv").open())}
    assert (csv_rows["ben"]["automatic"], csv_rows["ben"]["manual"], csv_rows["ben"]["total"]) == (str(AUTOMATIC - 0.5), "1.5", str(AUTOMATIC + 1.5))
    assert csv_rows["ann"]["needs_manual_grading"] == WRITTEN and csv_rows["cat"][WRITTEN] == ""
    exported = {row["student_id"]: row for row in csv.DictReader(export_grades(folder / "course", CHAPTER,
                                                                                tmp_path / "export.csv").open())}
    assert list(exported["ben"]) == ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
                                     "email", "raw_score", "late_submission_penalty", "score", "max_score"]
    assert float(exported["ben"]["score"]) == AUTOMATIC + 1.5 and float(exported["ben"]["max_score"]) == AUTOMATIC + 2


def test_every_run_keeps_a_backup_that_restores_the_earlier_gradebook(course, tmp_path):
    folder, *_ = course
    backups = sorted((folder / "course" / "backups").glob("gradebook-*.db"))
    assert len(backups) >= 3, backups  # one before each grading run that found a gradebook
    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copy(backups[-1], restored / "gradebook.db")  # the README's restore: copy it back
    with sqlite3.connect(restored / "gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    grades, _, _ = gradebook_rows(restored)
    assert grades[("ann", WRITTEN)][1:] == (2.0, None, False), (
        "the newest backup is the gradebook as it was before the resubmission was graded")
