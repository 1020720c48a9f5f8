"""Autograde a class's submissions with the real nbgrader, in parallel, each one isolated.

    python -m tools.grade SUBMISSIONS [--assignment 01_fundamentals] [--course grading] [--workers N]

SUBMISSIONS holds one folder per student, in nbgrader's `submitted/` layout
(``<student>/<assignment>/<assignment>.ipynb``, as `nbgrader collect`, `zip_collect` or
`python -m tools.instructor collect` leave it) or flat (``<student>/<assignment>.ipynb``). Each
notebook is checked, then autograded by `nbgrader autograde` with the smoke parameters
(DLCOURSE_SMOKE=1) in its own scratch course under tools.sandbox limits (wall clock, CPU time,
memory, no network where the system allows it), N at a time. Results are merged one by one into
the class gradebook of the course folder (default: grading/, git-ignored), and feedback without
the hidden tests is generated. A broken, hanging or hostile submission is reported and never
stops the class's run; the gradebook only ever receives complete autograde results. Finally a
table per student and per exercise is printed and written to <course>/grades.csv.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.reader import NotJSONError
from tqdm.auto import tqdm

from tools.notebooks import ROOT, graded_cells, solution_path, tool_environment
from tools.release import ReleaseError, generate, nbgrader, scratch_course
from tools.sandbox import Limits, run_limited

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


    def plot(self, folder: Path) -> list[Path]:
        """Write totals.png (distribution of totals) and exercises.png (mean score and share of
        full marks per test cell) into ``folder``; returns the paths."""
        import matplotlib

        matplotlib.use("Agg")  # files only, no display needed
        import matplotlib.pyplot as plt

        folder.mkdir(parents=True, exist_ok=True)
        graded = [r for r in self.students if r.status == "graded"]
        ids = list(self.max_scores)
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.hist([r.total for r in graded], bins=min(20, max(5, len(graded))), range=(0, self.max_total))
        ax.set_xlabel(f"total auto-graded points (of {self.max_total:g})")
        ax.set_ylabel("students")
        ax.set_title(f"{self.assignment}: {len(graded)} graded, {len(self.students) - len(graded)} not graded")
        fig.tight_layout()
        totals = folder / "totals.png"
        fig.savefig(totals, dpi=100)
        plt.close(fig)
        fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(ids)), 3.8))
        positions = range(len(ids))
        mean = [100 * sum(r.scores.get(i, 0.0) for r in graded) / (len(graded) * self.max_scores[i]) if graded else 0
                for i in ids]
        full = [100 * sum(r.scores.get(i, 0.0) == self.max_scores[i] for r in graded) / len(graded) if graded else 0
                for i in ids]
        ax.bar([x - 0.2 for x in positions], mean, width=0.4, label="mean score, % of the points")
        ax.bar([x + 0.2 for x in positions], full, width=0.4, label="test cell passed (full marks), % of students")
        ax.set_xticks(list(positions), [i.removeprefix("test_") for i in ids], rotation=30, ha="right")
        ax.set_ylim(0, 100)
        ax.legend(fontsize=8)
        ax.set_title(f"{self.assignment}: per exercise")
        fig.tight_layout()
        exercises = folder / "exercises.png"
        fig.savefig(exercises, dpi=100)
        plt.close(fig)
        return [totals, exercises]


def generate_feedback(course: Path, assignment: str, students: list[str]) -> dict[str, Path | None]:
    """HTML feedback per student (hidden tests stripped by tools.feedback.StripHiddenTests, set in
    nbgrader_config.py); None for a student whose feedback could not be generated."""
    pages: dict[str, Path | None] = {}
    for student in students:
        done = nbgrader(course, "generate_feedback", assignment, "--student", student, "--force")
        page = course / "feedback" / student / assignment / f"{assignment}.html"
        pages[student] = page if done.returncode == 0 and page.exists() else None
    return pages


def report_from_gradebook(course: Path, assignment: str) -> Report:
    """The report of every submission of ``assignment`` recorded in ``course``'s gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    max_scores = graded_cells(nbformat.read(solution_path(assignment), as_version=4))
    database = course / "gradebook.db"
    if not database.exists():
        raise FileNotFoundError(f"no gradebook at {database}; grade the class first (make grade)")
    with Gradebook(f"sqlite:///{database}") as gradebook:
        try:
            submissions = gradebook.find_assignment(assignment).submissions
        except MissingEntry:
            raise FileNotFoundError(f"the gradebook {database} has no assignment {assignment!r}") from None
        students = sorted(submission.student.id for submission in submissions)
    return Report(assignment, max_scores,
                  [StudentResult(student, "graded", read_scores(course, assignment, student)) for student in students])


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


def merge_into_gradebook(scratch: Path, course: Path, assignment: str, student: str) -> None:
    """Copy one student's autograde results from a scratch course into the class course: the
    submitted and autograded notebooks, and every grade and comment into its gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    notebook = scratch / "submitted" / student / assignment / f"{assignment}.ipynb"
    kept = course / "submitted" / student / assignment / f"{assignment}.ipynb"
    if not kept.exists() or kept.read_bytes() != notebook.read_bytes():  # never touch what collect placed
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(notebook, kept)
    target = course / "autograded" / student / assignment
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(scratch / "autograded" / student / assignment, target)
    with Gradebook(f"sqlite:///{scratch / 'gradebook.db'}") as source, \
            Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_student(student)
        try:
            gradebook.remove_submission(assignment, student)
        except MissingEntry:
            pass
        graded = source.find_submission(assignment, student)
        with gradebook.db.no_autoflush:  # nbgrader builds the submission's rows before adding them
            gradebook.add_submission(assignment, student, timestamp=graded.timestamp)
        for notebook in graded.notebooks:
            for grade in notebook.grades:
                target = gradebook.find_grade(grade.name, notebook.name, assignment, student)
                target.auto_score, target.manual_score = grade.auto_score, grade.manual_score
                target.extra_credit, target.needs_manual_grade = grade.extra_credit, grade.needs_manual_grade
            for comment in notebook.comments:
                target = gradebook.find_comment(comment.name, notebook.name, assignment, student)
                target.auto_comment, target.manual_comment = comment.auto_comment, comment.manual_comment
        gradebook.db.commit()


def autograde_isolated(student: str, notebook: Path, assignment: str, template: Path, work: Path,
                       limits: Limits, threads: int) -> tuple[str | None, Path]:
    """Autograde one submission in its own scratch course under ``limits``.

    Returns (None or the reason it failed, the scratch course). The scratch course gets a copy
    of the template's gradebook (the assignment and its cells), so nothing the submission does
    can touch the class gradebook or another student's files.
    """
    scratch = work / student
    shutil.rmtree(scratch, ignore_errors=True)
    scratch_course(scratch)
    shutil.copy(template / "gradebook.db", scratch / "gradebook.db")
    target = scratch / "submitted" / student / assignment
    target.mkdir(parents=True)
    shutil.copy(notebook, target / f"{assignment}.ipynb")
    # the kernel inherits DLCOURSE_SMOKE=1: lessons run their smoke sizes whatever SMOKE the student left
    env = tool_environment(DLCOURSE_SMOKE="1", OMP_NUM_THREADS=str(threads))
    outcome = run_limited([sys.executable, "-m", "nbgrader", "autograde", assignment, "--student", student, "--force"],
                          scratch, limits, env=env)
    if outcome.limit:
        return f"stopped by the {outcome.limit}", scratch
    if outcome.returncode == 0 and (scratch / "autograded" / student / assignment).is_dir():
        return None, scratch
    errors = [line for line in (outcome.stdout + outcome.stderr).splitlines() if "ERROR" in line or "Error" in line]
    return "nbgrader autograde failed: " + (" | ".join(errors[-3:])[:500] or f"exit code {outcome.returncode}"), scratch


def grade_submissions(submissions: dict[str, Path | str], assignment: str, course: Path,
                      feedback: bool = True, log=print, workers: int | None = None,
                      limits: Limits = Limits()) -> Report:
    """Autograde every submission in parallel, each isolated, and merge the results into the
    class gradebook of ``course``; return the report. A submission that breaks, hangs or
    exhausts a limit is reported and never stops the others."""
    scratch_course(course)
    generate(assignment, course)  # puts the assignment, its cells and points into the gradebook
    max_scores = graded_cells(nbformat.read(solution_path(assignment), as_version=4))
    workers = workers or os.cpu_count() or 1
    threads = max(1, (os.cpu_count() or 1) // workers)
    results: dict[str, StudentResult] = {}
    runnable = {}
    for student, source in submissions.items():
        problem = source if isinstance(source, str) else check_notebook(source)
        if problem:
            results[student] = StudentResult(student, problem)
            log(f"{student}: skipped: {problem}")
        else:
            runnable[student] = source
    work = course / "work"
    with ThreadPoolExecutor(max_workers=workers) as pool:  # threads only wait: the work runs in subprocesses
        futures = {pool.submit(autograde_isolated, student, source, assignment, course, work, limits, threads): student
                   for student, source in runnable.items()}
        for future in tqdm(as_completed(futures), total=len(futures), desc=f"grading {assignment}", unit="student",
                           disable=not runnable):
            student = futures[future]
            failure, scratch = future.result()
            if failure:
                results[student] = StudentResult(student, failure)
                log(f"{student}: NOT GRADED: {failure}")
                continue
            merge_into_gradebook(scratch, course, assignment, student)  # one at a time: SQLite has one writer
            shutil.rmtree(scratch, ignore_errors=True)
            results[student] = StudentResult(student, "graded", read_scores(course, assignment, student))
            log(f"{student}: {results[student].total:.1f}/{sum(max_scores.values()):.1f}")
    shutil.rmtree(work, ignore_errors=True)
    if feedback:
        pages = generate_feedback(course, assignment, [s for s, r in results.items() if r.status == "graded"])
        for student, page in pages.items():
            results[student].feedback = page
    return Report(assignment, max_scores, [results[student] for student in submissions])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.grade", description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", type=Path, help="folder with one sub-folder per student")
    parser.add_argument("--assignment", default="01_fundamentals")
    parser.add_argument("--course", type=Path, default=ROOT / "grading", help="scratch course folder (default: grading/)")
    parser.add_argument("--no-feedback", action="store_true", help="skip the HTML feedback")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="submissions graded at once (default: cores)")
    parser.add_argument("--timeout", type=float, default=Limits.wall_seconds, help="seconds per submission, kernel included")
    parser.add_argument("--memory-gib", type=float, default=Limits.memory_bytes / 2**30,
                        help="address space per process in GiB (torch alone maps about 4.6)")
    args = parser.parse_args(argv)
    if args.workers < 1:
        print(f"error: --workers must be >= 1, got {args.workers}", file=sys.stderr)
        return 2
    try:
        submissions = find_submissions(args.submissions.resolve(), args.assignment)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not submissions:
        print(f"error: no student folders in {args.submissions}", file=sys.stderr)
        return 2
    try:
        limits = Limits(wall_seconds=args.timeout, memory_bytes=int(args.memory_gib * 2**30))
        report = grade_submissions(submissions, args.assignment, args.course.resolve(), feedback=not args.no_feedback,
                                   workers=args.workers, limits=limits)
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
