"""Autograde a class's submissions with the real nbgrader, one student at a time.

    python -m tools.grade SUBMISSIONS [--assignment 01_fundamentals] [--course grading]

SUBMISSIONS holds one folder per student, in nbgrader's `submitted/` layout
(``<student>/<assignment>/<assignment>.ipynb``, as `nbgrader collect` or `zip_collect` leave
it) or flat (``<student>/<assignment>.ipynb``). Each notebook is checked, copied into a
scratch course (default: grading/, git-ignored), autograded by `nbgrader autograde` with the
smoke parameters (DLCOURSE_SMOKE=1) and given feedback without the hidden tests. A broken
submission is reported and skipped: it never stops the class's run, and the gradebook only
ever receives complete autograde results. Finally a table per student and per exercise is
printed and written to <course>/grades.csv.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.reader import NotJSONError

from tools.notebooks import ROOT, solution_path, graded_cells
from tools.release import ReleaseError, generate, nbgrader, scratch_course

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class StudentResult:
    student: str
    status: str  # "graded", or why not
    scores: dict[str, float] = field(default_factory=dict)  # grade_id -> score of auto-graded cells
    feedback: Path | None = None

    @property
    def total(self) -> float:
        return sum(self.scores.values())


@dataclass
class Report:
    assignment: str
    max_scores: dict[str, float]
    students: list[StudentResult]

    @property
    def max_total(self) -> float:
        return sum(self.max_scores.values())

    def table(self) -> str:
        ids = list(self.max_scores)
        width = max([len("full marks %")] + [len(s.student) for s in self.students])
        header = f"{'student':<{width}}  {'total':>11}  " + "  ".join(ids)
        lines = [header, "-" * len(header)]
        for result in self.students:
            if result.status != "graded":
                lines.append(f"{result.student:<{width}}  {'-':>11}  NOT GRADED: {result.status}")
                continue
            cells = "  ".join(f"{result.scores.get(i, 0):>{len(i)}.1f}" for i in ids)
            lines.append(f"{result.student:<{width}}  {result.total:>5.1f}/{self.max_total:<5.1f}  {cells}")
        graded = [r for r in self.students if r.status == "graded"]
        if graded:
            means = [statistics.fmean(r.scores.get(i, 0.0) for r in graded) for i in ids]
            full = [100 * sum(r.scores.get(i, 0.0) == self.max_scores[i] for r in graded) / len(graded) for i in ids]
            mean_total = statistics.fmean(r.total for r in graded)
            lines.append("-" * len(header))
            lines.append(f"{'mean':<{width}}  {mean_total:>11.1f}  " + "  ".join(f"{v:>{len(i)}.1f}" for i, v in zip(ids, means)))
            lines.append(f"{'full marks %':<{width}}  {'':>11}  " + "  ".join(f"{v:>{len(i)}.1f}" for i, v in zip(ids, full)))
        return "\n".join(lines)

    def write_csv(self, path: Path) -> None:
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["student", "status", "total", "max_total", *self.max_scores])
            for r in self.students:
                writer.writerow([r.student, r.status, r.total, self.max_total, *(r.scores.get(i, "") for i in self.max_scores)])


def find_submissions(folder: Path, assignment: str) -> dict[str, Path | str]:
    """student -> notebook path, or -> a reason why the student's folder cannot be graded."""
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder {folder} does not exist; expected {folder}/<student>/{assignment}/{assignment}.ipynb")
    found: dict[str, Path | str] = {}
    for student_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        student = student_dir.name
        if not STUDENT_ID.match(student):
            found[student] = "student folder name must be letters, digits, '_', '.' or '-'"
            continue
        candidates = [student_dir / assignment / f"{assignment}.ipynb", student_dir / f"{assignment}.ipynb"]
        candidates += sorted((student_dir / assignment).glob("*.ipynb")) if (student_dir / assignment).is_dir() else []
        path = next((c for c in candidates if c.is_file()), None)
        found[student] = path if path else f"no {assignment}.ipynb in {student_dir}"
    return found


def check_notebook(path: Path) -> str | None:
    """None if ``path`` is a notebook nbgrader can grade, else what is wrong with it."""
    try:
        nb = nbformat.read(path, as_version=4)
    except (NotJSONError, json.JSONDecodeError, UnicodeDecodeError) as error:
        return f"not a notebook (invalid JSON: {str(error)[:120]}); ask the student to resubmit the .ipynb file"
    except Exception as error:  # nbformat raises several types for malformed notebooks
        return f"not a readable notebook ({type(error).__name__}: {error})"
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as error:
        return f"notebook fails the nbformat schema ({error.message})"
    return None


def read_scores(course: Path, assignment: str, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(assignment, assignment, student)
        return {grade.name: float(grade.auto_score or 0.0) for grade in notebook.grades
                if grade.cell.cell_type == "code" and grade.auto_score is not None}


def grade_submissions(submissions: dict[str, Path | str], assignment: str, course: Path,
                      feedback: bool = True, log=print) -> Report:
    """Autograde each submission in ``course`` (a scratch nbgrader course) and return the report."""
    scratch_course(course)
    generate(assignment, course)  # puts the assignment, its cells and points into the gradebook
    max_scores = graded_cells(nbformat.read(solution_path(assignment), as_version=4))
    results = []
    for student, source in submissions.items():
        if isinstance(source, str):
            results.append(StudentResult(student, source))
            log(f"{student}: skipped: {source}")
            continue
        problem = check_notebook(source)
        if problem:
            results.append(StudentResult(student, problem))
            log(f"{student}: skipped: {problem}")
            continue
        target = course / "submitted" / student / assignment
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        shutil.copy(source, target / f"{assignment}.ipynb")
        run = nbgrader_graded(course, assignment, student)
        if run:
            results.append(StudentResult(student, run))
            log(f"{student}: NOT GRADED: {run}")
            continue
        result = StudentResult(student, "graded", read_scores(course, assignment, student))
        if feedback:
            done = nbgrader(course, "generate_feedback", assignment, "--student", student, "--force")
            page = course / "feedback" / student / assignment / f"{assignment}.html"
            result.feedback = page if done.returncode == 0 and page.exists() else None
        log(f"{student}: {result.total:.1f}/{sum(max_scores.values()):.1f}")
        results.append(result)
    return Report(assignment, max_scores, results)


def nbgrader_graded(course: Path, assignment: str, student: str) -> str | None:
    """Run `nbgrader autograde` for one student; None on success, else the reason it failed."""
    # the kernel inherits DLCOURSE_SMOKE=1: lessons run their smoke sizes whatever SMOKE the student left
    result = nbgrader(course, "autograde", assignment, "--student", student, "--force", DLCOURSE_SMOKE="1")
    if result.returncode == 0 and (course / "autograded" / student / assignment).is_dir():
        return None
    errors = [line for line in (result.stdout + result.stderr).splitlines() if "ERROR" in line or "Error" in line]
    return "nbgrader autograde failed: " + (" | ".join(errors[-3:]) or f"exit code {result.returncode}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.grade", description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", type=Path, help="folder with one sub-folder per student")
    parser.add_argument("--assignment", default="01_fundamentals")
    parser.add_argument("--course", type=Path, default=ROOT / "grading", help="scratch course folder (default: grading/)")
    parser.add_argument("--no-feedback", action="store_true", help="skip the HTML feedback")
    args = parser.parse_args(argv)
    try:
        submissions = find_submissions(args.submissions.resolve(), args.assignment)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not submissions:
        print(f"error: no student folders in {args.submissions}", file=sys.stderr)
        return 2
    try:
        report = grade_submissions(submissions, args.assignment, args.course.resolve(), feedback=not args.no_feedback)
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print()
    print(report.table())
    report.write_csv(args.course / "grades.csv")
    print(f"\ngrades: {args.course / 'grades.csv'} | feedback (no hidden tests): {args.course / 'feedback'}")
    return 0 if all(r.status == "graded" for r in report.students) else 1


if __name__ == "__main__":
    raise SystemExit(main())
