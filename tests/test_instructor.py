"""`python -m dlcourse.grading.instructor` end to end on a tiny class: collect an LMS zip, grade, report, feedback."""

import csv
import zipfile

import pytest

from dlcourse.grading.instructor import main as instructor
from dlcourse.notebooks import chapter_points, release_path, solution_path

pytestmark = pytest.mark.slow


def test_collect_grade_report_feedback(tmp_path, capsys):
    chapter = "01_fundamentals"
    archive = tmp_path / "lms_export.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.write(solution_path(chapter), f"ann_{chapter}.ipynb")
        bundle.write(release_path(chapter), f"ben_{chapter}.ipynb")
        bundle.writestr(f"cat_{chapter}.ipynb", '{"cells": [ truncated')
        bundle.writestr("dan_notes.txt", "not a notebook")
    course = tmp_path / "course"
    assert instructor(["collect", str(archive), "--assignment", chapter, "--course", str(course)]) == 1
    assert "dan_notes.txt: not a .ipynb" in capsys.readouterr().out
    extra = course / "submitted" / "ann" / chapter / "data.csv"
    extra.write_text("a student's extra file")

    assert instructor(["grade", "--assignment", chapter, "--course", str(course), "--workers", "2"]) == 1  # cat: broken
    out = capsys.readouterr().out
    assert "NOT GRADED: not a notebook (invalid JSON" in out
    assert extra.read_text() == "a student's extra file", "grading must not delete anything that was collected"

    assert instructor(["report", "--assignment", chapter, "--course", str(course)]) == 0
    out = capsys.readouterr().out
    rows = {row["student"]: row for row in csv.DictReader((course / f"grades-{chapter}.csv").open())}
    assert set(rows) == {"ann", "ben", "cat"} and rows["cat"]["status"].startswith("not a notebook (invalid JSON")
    assert "1 of 3 submissions need attention" in out and "cat:" in out
    # every automatic point; the written answer (2 points) is not graded by hand yet
    automatic = sum(chapter_points(chapter).values())
    assert (float(rows["ann"]["automatic"]), float(rows["ann"]["manual"]), float(rows["ann"]["total"])) == (automatic, 0.0, automatic)
    assert float(rows["ann"]["max_total"]) == automatic + 2 and rows["ann"]["needs_manual_grading"] == "bias_variance_answer"
    assert float(rows["ben"]["total"]) == 0
    exported = list(csv.DictReader((course / f"export-{chapter}.csv").open()))
    assert {row["student_id"]: float(row["score"]) for row in exported} == {"ann": automatic, "ben": 0.0}
    assert (course / "plots" / chapter / "totals.png").exists() and (course / "plots" / chapter / "exercises.png").exists()

    assert instructor(["feedback", "--assignment", chapter, "--course", str(course)]) == 0
    page = (course / "feedback" / "ann" / chapter / f"{chapter}.html").read_text()
    assert "BEGIN HIDDEN TESTS" not in page
