"""The class gradebook (nbgrader's gradebook.db in the course folder): reading results and the
report back, nbgrader's CSV export, merging one student's autograde results in while keeping
every mark the instructor entered, backups and snapshots, and the attention summary beside it."""

from __future__ import annotations

import json
import shutil
from contextlib import closing
from pathlib import Path

import nbformat

from dlcourse.grading.report import Report, StudentResult
from dlcourse.notebooks import chapter_points, nbgrader_meta, solution_path


def written_answers(assignment: str) -> dict[str, float]:
    """grade_id -> points of the written answers (Markdown cells graded by hand)."""
    nb = nbformat.read(solution_path(assignment), as_version=4)
    return {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c)["points"]) for c in nb.cells
            if nbgrader_meta(c).get("grade") and nbgrader_meta(c).get("solution")}


def read_result(course: Path, assignment: str, student: str, result: StudentResult,
                written: dict[str, float]) -> StudentResult:
    """Fill ``result`` from the class gradebook: auto-graded points (nbgrader's score: an
    instructor's manual override counts), written answers' manual points, extra credit, and the
    cells that still need grading by hand. ``written``: the assignment's written answers
    (:func:`written_answers`, read once per report, not once per student)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(assignment, assignment, student)
        result.scores = {g.name: float(g.score) for g in notebook.grades if g.name not in written}
        result.written = {g.name: (None if g.manual_score is None else float(g.manual_score))
                          for g in notebook.grades if g.name in written}
        result.extra_credit = float(sum(g.extra_credit or 0.0 for g in notebook.grades))
        result.needs_manual = sorted(g.name for g in notebook.grades if g.needs_manual_grade)
    return result


def export_grades(course: Path, assignment: str, path: Path) -> Path:
    """nbgrader's own CSV export (its ``CsvExportPlugin``: assignment, duedate, timestamp,
    student_id, last_name, first_name, email, raw_score, late_submission_penalty, score,
    max_score), for a learning-management system's import."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        CsvExportPlugin(to=str(path), assignment=[assignment]).export(gradebook)
    return path


def report_from_gradebook(course: Path, assignment: str) -> Report:
    """The report of every submission of ``assignment`` recorded in ``course``'s gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    max_scores = chapter_points(assignment)
    database = course / "gradebook.db"
    if not database.exists():
        raise FileNotFoundError(f"no gradebook at {database}; grade the class first (make grade)")
    with Gradebook(f"sqlite:///{database}") as gradebook:
        try:
            submissions = gradebook.find_assignment(assignment).submissions
        except MissingEntry:
            raise FileNotFoundError(f"the gradebook {database} has no assignment {assignment!r}") from None
        students = sorted(submission.student.id for submission in submissions)
    try:
        attention = json.loads(_attention_file(course, assignment).read_text())
    except (OSError, ValueError):
        attention = {}
    written = written_answers(assignment)
    graded = [read_result(course, assignment, student,
                          StudentResult(student, "graded", notes=attention.get(student, {}).get("notes", []),
                                        misconceptions=attention.get(student, {}).get("misconceptions", {})), written)
              for student in students]
    not_graded = [StudentResult(student, entry["status"], notes=entry.get("notes", []))
                  for student, entry in sorted(attention.items()) if student not in students and entry.get("status") != "graded"]
    return Report(assignment, max_scores, graded + not_graded, written)


def read_scores(course: Path, assignment: str, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(assignment, assignment, student)
        return {grade.name: float(grade.auto_score or 0.0) for grade in notebook.grades
                if grade.cell.cell_type == "code" and grade.auto_score is not None}


def answer_cells(assignment: str) -> dict[str, str]:
    """grade_id of every graded cell -> grade_id of the cell whose source it grades: a written
    answer grades itself, a test cell the answer cell before it."""
    nb = nbformat.read(solution_path(assignment), as_version=4)
    found, answer = {}, None
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            answer = meta.get("grade_id")
        if meta.get("grade"):
            found[meta["grade_id"]] = meta["grade_id"] if meta.get("solution") else answer
    return found


def _sources(path: Path) -> dict[str, str]:
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return {}
    return {nbgrader_meta(c)["grade_id"]: c.source for c in nb.cells if nbgrader_meta(c).get("grade_id")}


def _cells(submission) -> set:
    """The graded and commented cells of a submission, by notebook: its rows in the gradebook."""
    return {(notebook.name, tuple(sorted(g.name for g in notebook.grades)),
             tuple(sorted(c.name for c in notebook.comments))) for notebook in submission.notebooks}


def merge_into_gradebook(scratch: Path, course: Path, assignment: str, student: str, original: Path,
                         scores: dict[str, float]) -> list[str]:
    """Put one student's autograde results from a scratch course into the class course: the
    original submission (only if the course has none: what collect placed is never replaced), the
    autograded notebook, and the auto-graded scores ``scores`` (checked against the notebook by
    the caller). Only the autograded notebook (with nbgrader's timestamp and submission secret) is
    copied, never other files in its folder. Everything the instructor entered for the student's earlier submission is kept:
    manual scores (of written answers, and overrides of auto-graded cells), extra credit, manual
    comments and the flag, and the submission's rows keep their ids (unless the release's cells
    changed). A manual score whose answer changed since (a resubmission) stays visible, and its
    cell needs manual grading again. Returns a note per such cell."""
    from nbgrader.api import Gradebook, MissingEntry

    answers = answer_cells(assignment)
    before = _sources(course / "autograded" / student / assignment / f"{assignment}.ipynb")
    after = _sources(scratch / "autograded" / student / assignment / f"{assignment}.ipynb")
    notes = []
    kept = course / "submitted" / student / assignment / f"{assignment}.ipynb"
    if not kept.exists():
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(original, kept)
    target = course / "autograded" / student / assignment
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    graded = scratch / "autograded" / student / assignment
    # never other files: the graded notebook is what counts, with nbgrader's bookkeeping (grade.BOOKKEEPING)
    for name in (f"{assignment}.ipynb", "timestamp.txt", "submission_secret.txt"):
        if (graded / name).is_file():
            shutil.copy(graded / name, target / name)
    with Gradebook(f"sqlite:///{scratch / 'gradebook.db'}") as source, \
            Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_student(student)
        marks, comments, flagged = {}, {}, False  # what the instructor entered for the earlier submission
        graded = source.find_submission(assignment, student)
        try:
            earlier = gradebook.find_submission(assignment, student)
        except MissingEntry:
            earlier = None
        if earlier is not None:
            for notebook in earlier.notebooks:
                flagged = flagged or notebook.flagged
                marks.update({g.name: (g.manual_score, g.extra_credit) for g in notebook.grades
                              if g.manual_score is not None or g.extra_credit})
                comments.update({c.name: c.manual_comment for c in notebook.comments if c.manual_comment})
        if earlier is not None and _cells(earlier) == _cells(graded):
            # graded again against the same release: update its rows in place, so that they keep
            # their ids (a formgrader page open on this submission stays valid)
            earlier.timestamp = graded.timestamp
        else:
            if earlier is not None:  # the release's cells changed: the submission's rows are rebuilt
                gradebook.remove_submission(assignment, student)
            with gradebook.db.no_autoflush:  # nbgrader builds the submission's rows before adding them
                gradebook.add_submission(assignment, student, timestamp=graded.timestamp)
        for notebook in graded.notebooks:
            for grade in notebook.grades:
                target = gradebook.find_grade(grade.name, notebook.name, assignment, student)
                if grade.name in scores:
                    target.auto_score, target.needs_manual_grade = scores[grade.name], False
                else:  # written answers: left for the instructor
                    target.auto_score, target.needs_manual_grade = None, True
                if grade.name in marks:
                    target.manual_score, target.extra_credit = marks[grade.name]
                    answer = answers.get(grade.name, grade.name)
                    changed = before.get(answer) != after.get(answer)
                    target.needs_manual_grade = changed or (target.manual_score is None and target.auto_score is None)
                    if changed and target.manual_score is not None:
                        notes.append(f"{answer} changed since {grade.name} was graded by hand: the manual score "
                                     f"{target.manual_score:g} is kept, and the cell needs manual grading again")
            for comment in gradebook.find_submission_notebook(notebook.name, assignment, student).comments:
                if comment.name in comments:
                    comment.manual_comment = comments[comment.name]
            gradebook.find_submission_notebook(notebook.name, assignment, student).flagged = flagged
        gradebook.db.commit()
    return notes


def snapshot_gradebook(course: Path, target: Path) -> Path:
    """A consistent copy of the course's gradebook at ``target``, through SQLite's backup API.

    Workers copy this snapshot, never the class gradebook itself: the class gradebook is written
    (results merged in) while other submissions start, and a file copied in the middle of a write
    can be torn."""
    import sqlite3

    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    with closing(sqlite3.connect(course / "gradebook.db")) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
    return target


def _attention_file(course: Path, assignment: str) -> Path:
    return course / "attention" / f"{assignment}.json"


def load_attention(course: Path, assignment: str) -> dict:
    try:
        known = json.loads(_attention_file(course, assignment).read_text())
    except (OSError, ValueError):
        return {}
    return known if isinstance(known, dict) else {}


def save_attention(course: Path, assignment: str, results: list[StudentResult],
                   fingerprints: dict[str, dict[str, str]] | None = None) -> None:
    """Record each student's status, notes and diagnosed misconceptions of this run (merged with
    earlier runs), for `report`,
    and, for a graded submission, the fingerprints of its notebook and of the release it was
    graded against (incremental grading compares them)."""
    path = _attention_file(course, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    known = load_attention(course, assignment)
    known.update({r.student: {"status": r.status, "notes": r.notes, "misconceptions": r.misconceptions,
                              **((fingerprints or {}).get(r.student, {}) if r.status == "graded" else {})}
                  for r in results})
    staged = path.with_suffix(".tmp")
    staged.write_text(json.dumps(known, indent=1, sort_keys=True))
    staged.replace(path)


BACKUPS = 10  # gradebook backups kept per course


def backup_gradebook(course: Path, keep: int = BACKUPS) -> Path | None:
    """A timestamped copy of the class gradebook, through SQLite's backup API (consistent even
    while something else writes it), in <course>/backups/; only the newest ``keep`` are kept.
    None when there is no gradebook yet. Restore one by copying it over <course>/gradebook.db
    while nothing grades (README: *Restoring the gradebook*)."""
    import sqlite3
    from datetime import datetime

    database = course / "gradebook.db"
    if not database.exists():
        return None
    folder = course / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"gradebook-{datetime.now().strftime('%Y%m%d-%H%M%S-%f')}.db"
    with closing(sqlite3.connect(database)) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
    for old in sorted(folder.glob("gradebook-*.db"))[:-keep]:
        old.unlink()
    return target
