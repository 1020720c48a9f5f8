"""The class report: per-student rows, per-exercise statistics, CSV; the gradebook snapshot
that parallel workers start from."""

import csv
import sqlite3
from contextlib import closing

import nbformat

from dlcourse.grading.grade import check_notebook, notes_from_outputs, scores_from_notebook
from dlcourse.grading.gradebook import snapshot_gradebook
from dlcourse.grading.report import Report, StudentResult

CHAPTER = "01_fundamentals"


def report():
    return Report("01_x", {"test_a": 1.0, "test_b": 2.0}, [
        StudentResult("ann", "graded", {"test_a": 1.0, "test_b": 0.0}),
        StudentResult("ben", "graded", {"test_a": 1.0, "test_b": 2.0}),
        StudentResult("cat", "not a readable notebook"),
    ])


def test_table_has_students_and_exercise_statistics():
    lines = report().table().splitlines()
    assert lines[2].split() == ["ann", "1.0/3.0", "test_b", "0/2"]
    assert lines[3].split() == ["ben", "3.0/3.0", "none"]
    assert "NOT GRADED: not a readable notebook" in lines[4]
    cells = {line.split()[0]: line.split()[1:] for line in lines[6:]}
    assert cells["test_a"] == ["1", "1.00", "100.0"] and cells["test_b"] == ["2", "1.00", "50.0"]
    assert cells["total"] == ["3", "2.00"]


def test_the_table_fits_an_80_column_terminal_whatever_the_number_of_exercises():
    many = {f"test_exercise_with_a_long_name_{n}": 1.0 for n in range(15)}
    wide = Report("01_x", many, [StudentResult("ann", "graded", {name: 1.0 for name in many}),
                                 StudentResult("ben", "graded", {})])
    table = wide.table()
    assert max(len(line) for line in table.splitlines() if not line.startswith("* ")) <= 80, table
    assert sum(line.count(" 0/1") for line in table.splitlines()) == 15, "ben's cells below full marks, wrapped"


def test_csv_keeps_every_student(tmp_path):
    path = tmp_path / "grades.csv"
    report().write_csv(path)
    rows = list(csv.DictReader(path.open()))
    assert [row["student"] for row in rows] == ["ann", "ben", "cat"]
    assert rows[1]["total"] == "3.0" and rows[2]["test_a"] == "" and rows[2]["status"] == "not a readable notebook"


def test_check_notebook_explains_what_is_wrong(tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{oops")
    assert "invalid JSON" in check_notebook(bad, CHAPTER) and "resubmit" in check_notebook(bad, CHAPTER)
    wrong_schema = tmp_path / "schema.ipynb"
    assert check_notebook(tmp_path / "missing.ipynb", CHAPTER).startswith("not a readable notebook")
    wrong_schema.write_text('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code"}]}')
    problem = check_notebook(wrong_schema, CHAPTER)
    assert problem is not None and "invalid JSON" not in problem, problem


def test_plots_are_written(tmp_path):
    paths = report().plot(tmp_path / "plots")
    assert [p.name for p in paths] == ["totals.png", "exercises.png", "misconceptions.png"]  # ann failed test_b
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000 for p in paths)
    everyone_passed = Report("01_x", {"test_a": 1.0}, [StudentResult("ann", "graded", {"test_a": 1.0})])
    assert [p.name for p in everyone_passed.plot(tmp_path / "all")] == ["totals.png", "exercises.png"]


def misconceptions_report():
    return Report("01_x", {"test_a": 1.0, "test_b": 2.0}, [
        StudentResult("ann", "graded", {"test_a": 0.0, "test_b": 0.0},
                      misconceptions={"a": ["a__off_by_one"], "b": ["b__wrong_axis", "b__no_scale"]}),
        StudentResult("ben", "graded", {"test_a": 0.0, "test_b": 2.0}, misconceptions={"a": ["a__off_by_one"]}),
        StudentResult("cat", "graded", {"test_a": 0.0, "test_b": 2.0}),
        StudentResult("dan", "graded", {"test_a": 1.0, "test_b": 0.0}, misconceptions={"b": ["b__wrong_axis"]}),
        StudentResult("eve", "not a readable notebook", misconceptions={"a": ["a__off_by_one"]}),
    ])


def test_the_report_counts_the_misconceptions_of_failing_students():
    """Per failed exercise: the known wrong answers the failing answers behave like (an answer that
    behaves like two counts for both) and how many behave like none; students not graded and
    exercises nobody failed are left out."""
    from dlcourse.grading.report import NONE

    counts = misconceptions_report().misconception_counts()
    assert counts == {"test_a": {"a__off_by_one": 2, NONE: 1}, "test_b": {"b__wrong_axis": 2, "b__no_scale": 1}}
    table = misconceptions_report().misconception_table()
    rows = [line.split() for line in table.splitlines()[3:]]
    assert rows[0] == ["a", "3", "off_by_one", "2"] and rows[1][-1] == "1" and NONE in table
    assert rows[2] == ["b", "2", "wrong_axis", "2"] and rows[3] == ["no_scale", "1"]
    assert max(len(line) for line in table.splitlines()) <= 80
    assert report().misconception_table().count("\n") == 3, "ann failed test_b and behaves like no known wrong answer"
    everyone_passed = Report("01_x", {"test_a": 1.0}, [StudentResult("ann", "graded", {"test_a": 1.0})])
    assert everyone_passed.misconception_table() == ""


def test_the_csv_names_each_students_misconceptions(tmp_path):
    path = tmp_path / "grades.csv"
    misconceptions_report().write_csv(path)
    rows = {row["student"]: row for row in csv.DictReader(path.open())}
    assert rows["ann"]["misconceptions"] == "a: a__off_by_one | b: b__wrong_axis, b__no_scale"
    assert rows["cat"]["misconceptions"] == ""


def test_plots_count_whole_students_and_show_the_written_answers(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    written = Report("01_x", {"test_a": 1.0}, [
        StudentResult("ann", "graded", {"test_a": 1.0}, written={"essay": 2.0}),
        StudentResult("ben", "graded", {"test_a": 0.0}, written={"essay": None}),
    ], written_max={"essay": 2.0})
    captured = []
    original = plt.Figure.savefig

    def keep(figure, *args, **kwargs):
        captured.append(figure)
        return original(figure, *args, **kwargs)

    plt.Figure.savefig = keep
    try:
        written.plot(tmp_path)
    finally:
        plt.Figure.savefig = original
    totals, exercises = (figure.axes[0] for figure in captured[:2])  # misconceptions.png after them: ben failed
    ticks = [t for t in totals.get_yticks() if 0 <= t <= totals.get_ylim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks), f"students are counted whole: {ticks}"
    labels = [label.get_text() for label in exercises.get_xticklabels()]
    assert labels == ["a", "essay (1 graded by hand)"], labels
    heights = [bar.get_height() for bar in exercises.patches]
    assert heights == [50.0, 100.0, 50.0, 100.0], heights  # mean score a, essay; full marks a, essay


def test_snapshot_holds_committed_rows_while_another_connection_writes(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    with closing(sqlite3.connect(course / "gradebook.db")) as db:
        db.execute("create table assignment (name text)")
        db.execute("insert into assignment values ('01_fundamentals')")
        db.commit()
        db.execute("insert into assignment values ('half-written')")  # a write in progress, not committed
        snapshot = snapshot_gradebook(course, tmp_path / "work" / "template.db")
        db.rollback()
    with closing(sqlite3.connect(snapshot)) as copy:
        assert copy.execute("pragma integrity_check").fetchone() == ("ok",)
        assert copy.execute("select name from assignment").fetchall() == [("01_fundamentals",)]
    assert snapshot_gradebook(course, snapshot) == snapshot  # taken again over an older one


def graded_notebook(path, outputs):
    """An autograded notebook: one test cell per entry of ``outputs`` (grade id -> its outputs),
    whose metadata claims 100 points (the class's points must win)."""
    nb = nbformat.v4.new_notebook()
    for name, cell_outputs in outputs.items():
        cell = nbformat.v4.new_code_cell("check()", outputs=[nbformat.from_dict(o) for o in cell_outputs])
        cell.metadata.nbgrader = {"grade": True, "solution": False, "locked": True, "points": 100, "grade_id": name}
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def test_recomputed_scores_are_all_or_nothing(tmp_path):
    """A test cell scores 0 on an error or stderr anywhere among its outputs, else its full points:
    never partial credit read from a result (nbgrader's own rule returns at the first result, so a
    result before an error gave full marks to a blank answer, issue 26)."""
    stderr = {"output_type": "stream", "name": "stderr", "text": "UserWarning: something\n"}
    result = {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/plain": "0.5"}}
    error = {"output_type": "error", "ename": "NotImplementedError", "evalue": "", "traceback": []}
    path = graded_notebook(tmp_path / "graded.ipynb", {
        "test_clean": [{"output_type": "stream", "name": "stdout", "text": "fine\n"}],
        "test_error": [{"output_type": "error", "ename": "AssertionError", "evalue": "no", "traceback": []}],
        "test_stderr": [stderr],
        "test_partial": [result],
        "test_result_then_error": [dict(result, data={"text/plain": "'ok'"}), error],
    })
    max_scores = {"test_clean": 2.0, "test_error": 1.0, "test_stderr": 1.0, "test_partial": 2.0,
                  "test_result_then_error": 1.0, "test_missing": 1.0}
    assert scores_from_notebook(path, max_scores) == {
        "test_clean": 2.0, "test_error": 0.0, "test_stderr": 0.0, "test_partial": 2.0, "test_result_then_error": 0.0,
        "test_missing": 0.0}
    assert notes_from_outputs(path) == ["cell 2 (test_stderr) wrote to stderr, which nbgrader scores 0 (UserWarning: something)"]
