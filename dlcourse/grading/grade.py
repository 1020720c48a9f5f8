"""Autograde a class's submissions with the real nbgrader, in parallel, each one isolated.

    python -m dlcourse.grading.grade SUBMISSIONS [--assignment 01_fundamentals] [--course grading] [--workers N]
                                      [--timeout S] [--cell-timeout S] [--memory-gib G]

SUBMISSIONS holds one folder per student, in nbgrader's `submitted/` layout
(``<student>/<assignment>/<assignment>.ipynb``, as `nbgrader collect`, `zip_collect` or
`python -m dlcourse.grading.instructor collect` leave it) or flat (``<student>/<assignment>.ipynb``). Each
notebook is checked without running it (dlcourse.grading.precheck: readable, of this assignment, test cells
put back as released, suspicious code noted), then autograded by `nbgrader autograde` with the
smoke parameters (DLCOURSE_SMOKE=1) and dlcourse.grading.guard's hardened Execute, in its own scratch course
under dlcourse.grading.sandbox (limits on wall clock, CPU time and memory; no network, own PID namespace,
read-only file system with the class's files hidden, where the system allows it), N at a time.
Scores are recomputed from the autograded notebook and merged one by one into the class gradebook
of the course folder (default: grading/, git-ignored), and feedback without the hidden tests is
generated. A broken, hanging or hostile submission is reported and never stops the class's run;
the gradebook only ever receives complete autograde results. Finally a table per student and per
exercise is printed and written to <course>/grades-<assignment>.csv, followed by the summary of submissions
that need attention and why (also kept in <course>/attention/<assignment>.json).
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
from contextlib import closing
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from dlcourse.authoring import mathjax
from dlcourse.grading.collect import printable, valid_student_id
from dlcourse.grading.guard import NOTES, out_of_memory
from dlcourse.notebooks import ROOT, SOLUTIONS, cell_label, graded_cells, nbgrader_meta, solution_path, tool_environment
from dlcourse.grading.precheck import inspect_submission
from dlcourse.authoring.release import ReleaseError, generate, scratch_course
from dlcourse.grading.sanitize import CUT_NOTICE, notice
from dlcourse.grading.scoring import test_cell_score
from utils.exercises import MODE_ENV as REFERENCE_CALLS_ENV
from dlcourse.grading.sandbox import Limits, PidsCgroup, jail_available, jail_missing_reason, run_limited

REFERENCE_NOTICE = re.compile(r"\[course\] \S+ calls \S+, the course's reference implementation of this exercise")


@dataclass
class StudentResult:
    student: str
    status: str  # "graded", or why not
    scores: dict[str, float] = field(default_factory=dict)  # grade_id -> score of auto-graded cells
    feedback: Path | None = None
    notes: list[str] = field(default_factory=list)  # what needs the instructor's attention, graded or not
    written: dict[str, float | None] = field(default_factory=dict)  # written answer -> manual score (None: not yet)
    extra_credit: float = 0.0
    needs_manual: list[str] = field(default_factory=list)  # cells that still need grading by hand

    @property
    def automatic(self) -> float:
        """Points of the auto-graded cells (an instructor's manual override of one counts)."""
        return sum(self.scores.values())

    @property
    def manual(self) -> float:
        return sum(score for score in self.written.values() if score is not None)

    @property
    def total(self) -> float:
        return self.automatic + self.manual + self.extra_credit


@dataclass
class Report:
    assignment: str
    max_scores: dict[str, float]  # auto-graded test cells
    students: list[StudentResult]
    written_max: dict[str, float] = field(default_factory=dict)  # written answers, graded by hand
    skipped: list[str] = field(default_factory=list)  # students not graded again: nothing changed

    @property
    def max_total(self) -> float:
        return sum(self.max_scores.values()) + sum(self.written_max.values())

    def table(self) -> str:
        """One row per student: the total out of the assignment's full total (written answers
        included; ``*``: some are not graded by hand yet), then every cell's points (``-``: not
        graded yet); then the mean and the share of full marks per cell."""
        ids, written = list(self.max_scores), list(self.written_max)
        width = max([len("full marks %")] + [len(s.student) for s in self.students])
        header = f"{'student':<{width}}  {'total':>12}  " + "  ".join(ids + written)
        lines = [header, "-" * len(header)]
        for result in self.students:
            if result.status != "graded":
                lines.append(f"{result.student:<{width}}  {'-':>12}  NOT GRADED: {result.status}")
                continue
            cells = [f"{result.scores.get(i, 0):>{len(i)}.1f}" for i in ids]
            cells += [f"{result.written[i]:>{len(i)}.1f}" if result.written.get(i) is not None else f"{'-':>{len(i)}}"
                      for i in written]
            total = f"{result.total:.1f}/{self.max_total:.1f}" + ("*" if result.needs_manual else " ")
            lines.append(f"{result.student:<{width}}  {total:>12}  {'  '.join(cells)}")
        graded = [r for r in self.students if r.status == "graded"]
        if graded:
            means = [statistics.fmean(r.scores.get(i, 0.0) for r in graded) for i in ids]
            full = [100 * sum(r.scores.get(i, 0.0) == self.max_scores[i] for r in graded) / len(graded) for i in ids]
            for i in written:
                marked = [r.written[i] for r in graded if r.written.get(i) is not None]
                means.append(statistics.fmean(marked) if marked else None)
                full.append(100 * sum(v == self.written_max[i] for v in marked) / len(marked) if marked else None)
            mean_total = statistics.fmean(r.total for r in graded)
            lines.append("-" * len(header))
            lines.append(f"{'mean':<{width}}  {mean_total:>12.1f}  " + "  ".join(
                f"{v:>{len(i)}.1f}" if v is not None else f"{'-':>{len(i)}}" for i, v in zip(ids + written, means)))
            lines.append(f"{'full marks %':<{width}}  {'':>12}  " + "  ".join(
                f"{v:>{len(i)}.1f}" if v is not None else f"{'-':>{len(i)}}" for i, v in zip(ids + written, full)))
            pending = [r.student for r in graded if r.needs_manual]
            if pending:
                lines.append(f"* {len(pending)} of {len(graded)} graded students have cells that still need grading by "
                             "hand: their totals, and the mean total, count those cells as 0 so far; the written "
                             "answers' statistics use the answers graded so far")
        return "\n".join(lines)

    def attention(self) -> str:
        """Every submission that was not graded or that needs a look, and why ("" if none)."""
        lines = []
        for r in self.students:
            reasons = ([f"NOT GRADED: {r.status}"] if r.status != "graded" else []) + r.notes
            if reasons:
                lines.append(f"{r.student}:" + "".join(f"\n  - {reason}" for reason in reasons))
        skipped = (f"{len(self.skipped)} submissions were not graded again: their notebook and the release are "
                   f"unchanged since their last grading (--force grades them again): {', '.join(self.skipped)}"
                   if self.skipped else "")
        if not lines:
            return skipped
        return "\n".join(filter(None, [skipped, f"{len(lines)} of {len(self.students)} submissions need attention:"])) \
            + "\n" + "\n".join(lines)

    def write_csv(self, path: Path) -> None:
        """grades.csv: per student the automatic and manual points, extra credit, the total out of
        the assignment's full total, whether cells still need grading by hand, every cell's
        points (empty: not graded yet) and the notes."""
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["student", "status", "automatic", "manual", "extra_credit", "total", "max_total",
                             "needs_manual_grading", *self.max_scores, *self.written_max, "notes"])
            for r in self.students:
                graded = r.status == "graded"
                writer.writerow([r.student, r.status, r.automatic if graded else "", r.manual if graded else "",
                                 r.extra_credit if graded else "", r.total if graded else "", self.max_total,
                                 ", ".join(r.needs_manual) if graded else "",
                                 *(r.scores.get(i, "") for i in self.max_scores),
                                 *("" if r.written.get(i) is None else r.written[i] for i in self.written_max),
                                 " | ".join(r.notes)])


    def plot(self, folder: Path) -> list[Path]:
        """Write totals.png (distribution of totals) and exercises.png (mean score and share of
        full marks per test cell, and per written answer over those graded by hand so far) into
        ``folder``; returns the paths."""
        import matplotlib

        matplotlib.use("Agg")  # files only, no display needed
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator

        folder.mkdir(parents=True, exist_ok=True)
        graded = [r for r in self.students if r.status == "graded"]
        ids = list(self.max_scores)
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.hist([r.total for r in graded], bins=min(20, max(5, len(graded))), range=(0, self.max_total))
        ax.set_xlabel(f"total points (of {self.max_total:g}; written answers as graded so far)")
        ax.set_ylabel("students")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # whole students, never 0.5
        ax.set_title(f"{self.assignment}: {len(graded)} graded, {len(self.students) - len(graded)} not graded")
        fig.tight_layout()
        totals = folder / "totals.png"
        fig.savefig(totals, dpi=100)
        plt.close(fig)
        written = list(self.written_max)
        fig, ax = plt.subplots(figsize=(max(6, 0.8 * (len(ids) + len(written))), 3.8))
        positions = range(len(ids) + len(written))
        mean = [100 * sum(r.scores.get(i, 0.0) for r in graded) / (len(graded) * self.max_scores[i]) if graded else 0
                for i in ids]
        full = [100 * sum(r.scores.get(i, 0.0) == self.max_scores[i] for r in graded) / len(graded) if graded else 0
                for i in ids]
        for i in written:  # written answers: over the students whose answer was graded by hand so far
            marked = [r.written[i] for r in graded if r.written.get(i) is not None]
            mean.append(100 * sum(marked) / (len(marked) * self.written_max[i]) if marked and self.written_max[i] else 0)
            full.append(100 * sum(v == self.written_max[i] for v in marked) / len(marked) if marked else 0)
        labels = [i.removeprefix("test_") for i in ids] + [
            f"{i} ({sum(r.written.get(i) is not None for r in graded)} graded by hand)" for i in written]
        ax.bar([x - 0.2 for x in positions], mean, width=0.4, label="mean score, % of the points")
        ax.bar([x + 0.2 for x in positions], full, width=0.4, label="test cell passed (full marks), % of students")
        ax.set_xticks(list(positions), labels, rotation=30, ha="right")
        ax.set_ylim(0, 100)
        ax.legend(fontsize=8)
        ax.set_title(f"{self.assignment}: per exercise")
        fig.tight_layout()
        exercises = folder / "exercises.png"
        fig.savefig(exercises, dpi=100)
        plt.close(fig)
        return [totals, exercises]


FEEDBACK_SECONDS = 300  # one student's feedback page (a graded notebook is capped: seconds suffice)
FEEDBACK_MEMORY = 4 * 2**30  # address space of the process that renders it


def generate_feedback(course: Path, assignment: str, students: list[str], workers: int | None = None) -> dict[str, Path | None]:
    """HTML feedback per student (hidden tests stripped by dlcourse.grading.feedback.StripHiddenTests, set in
    nbgrader_config.py), ``workers`` students at a time; None for a student whose feedback could
    not be generated."""
    limits = Limits(wall_seconds=FEEDBACK_SECONDS, cpu_seconds=FEEDBACK_SECONDS, memory_bytes=FEEDBACK_MEMORY)
    mathjax.install()  # formulas rendered by MathJax inlined in the page: no CDN, works offline
    env = tool_environment(**mathjax.environment())

    def one(student: str) -> Path | None:
        command = [sys.executable, "-m", "nbgrader", "generate_feedback", assignment, "--student", student, "--force"]
        done = run_limited(command, course, limits, env=env)
        page = course / "feedback" / student / assignment / f"{assignment}.html"
        return page if done.ok and page.exists() else None

    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:  # each one is a subprocess
        return dict(zip(students, pool.map(one, students)))


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
    try:
        attention = json.loads(_attention_file(course, assignment).read_text())
    except (OSError, ValueError):
        attention = {}
    written = written_answers(assignment)
    graded = [read_result(course, assignment, student,
                          StudentResult(student, "graded", notes=attention.get(student, {}).get("notes", [])), written)
              for student in students]
    not_graded = [StudentResult(student, entry["status"], notes=entry.get("notes", []))
                  for student, entry in sorted(attention.items()) if student not in students and entry.get("status") != "graded"]
    return Report(assignment, max_scores, graded + not_graded, written)


def find_submissions(folder: Path, assignment: str) -> dict[str, Path | str]:
    """student -> notebook path, or -> a reason why the student's folder cannot be graded."""
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder {folder} does not exist; expected {folder}/<student>/{assignment}/{assignment}.ipynb")
    found: dict[str, Path | str] = {}
    for student_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        student = student_dir.name
        if not valid_student_id(student):
            found[printable(student)] = "student folder name must be letters, digits, '_', '.' or '-'"
            continue
        candidates = [student_dir / assignment / f"{assignment}.ipynb", student_dir / f"{assignment}.ipynb"]
        candidates += sorted((student_dir / assignment).glob("*.ipynb")) if (student_dir / assignment).is_dir() else []
        path = next((c for c in candidates if c.is_file()), None)
        found[student] = path if path else f"no {assignment}.ipynb in {student_dir}"
    return found


def find_extras(folder: Path, submissions: dict[str, Path | str]) -> dict[str, list[str]]:
    """student -> a note naming the other notebooks in the student's folder (not graded)."""
    notes = {}
    for student, chosen in submissions.items():
        others = sorted(str(p.relative_to(folder / student)) for p in (folder / student).rglob("*.ipynb")
                        if p != chosen and ".ipynb_checkpoints" not in p.parts)
        if others:
            notes[student] = [f"other notebooks in the student's folder were not graded: {', '.join(others)}"]
    return notes


def check_notebook(path: Path, assignment: str) -> str | None:
    """None if ``path`` is a notebook of ``assignment`` that nbgrader can grade, else what is wrong."""
    return inspect_submission(path, assignment).problem


def read_scores(course: Path, assignment: str, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(assignment, assignment, student)
        return {grade.name: float(grade.auto_score or 0.0) for grade in notebook.grades
                if grade.cell.cell_type == "code" and grade.auto_score is not None}


def scores_from_notebook(path: Path, max_scores: dict[str, float]) -> dict[str, float]:
    """Auto-graded scores recomputed from an autograded notebook's outputs by the course's rule
    (dlcourse.grading.scoring: a test cell with an error or any stderr output anywhere scores 0, else its full
    points; never partial credit), with the class's points, not the points written in the
    submission's metadata."""
    nb = nbformat.read(path, as_version=4)
    scores = {name: 0.0 for name in max_scores}  # a test cell that is not there scores 0
    for cell in nb.cells:
        name = nbgrader_meta(cell).get("grade_id")
        if name in max_scores and cell.cell_type == "code":
            scores[name] = test_cell_score(cell, max_scores[name])
    return scores


MAX_OUTPUT_NOTES = 30  # cells named in the summary from a notebook's outputs; the rest are counted


def notes_from_outputs(path: Path) -> list[str]:
    """What the autograded notebook's outputs say needs attention, one note per cell (a cell that
    displays a million outputs is one note, not a million), cells stopped at the time limit first:
    cells stopped at the time limit, cells that ran out of memory, test cells that wrote to stderr
    (nbgrader scores those 0 even when every check passed), cells that filled their disk space,
    active content (HTML, JavaScript...) that dlcourse.grading.sanitize turned into text or removed, and
    Markdown the grader changed (script links, attachments). Other errors are the student's to
    fix, and score 0."""
    from dlcourse.grading.sanitize import CHANGED_NOTICE

    found: list[tuple[int, str]] = []  # (priority, note); 0: time-outs
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        label, meta = cell_label(cell, index), nbgrader_meta(cell)
        kinds: dict[str, tuple[int, str]] = {}
        if cell.cell_type == "markdown" and (changed := CHANGED_NOTICE.search(cell.source)):
            kinds["markdown"] = (3, f"the grader changed it: {changed.group(1)[:300]}")
        for output in cell.get("outputs", []):
            text = f"{output.get('ename', '')}: {output.get('evalue', '')}"
            if sanitized := notice(output):
                kinds.setdefault("active", (3, f"displayed active content, stored as text: {sanitized}"))
            elif cut := CUT_NOTICE.search(str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
                                          + "".join(output.get("traceback", []))):
                kinds.setdefault("cut", (4, f"output {cut.group(1)} characters: cut to the grader's output limit "
                                            "(the graded notebook and the feedback keep the beginning)"))
            elif any(word in text for word in ("No space left on device", "File too large", "Disk quota exceeded")):
                kinds.setdefault("disk", (1, f"hit the disk limit of the grading sandbox ({text[:120]})"))
            elif output.get("ename") == "ReferenceImplementationCalled" and meta.get("grade"):
                kinds.setdefault("reference", (2, f"scored 0: {output.get('evalue', '')[:200]}"))
            elif output.get("output_type") == "stream" and (called := REFERENCE_NOTICE.search(str(output.get("text", "")))):
                kinds.setdefault("reference", (2, f"{called.group(0)[len('[course] '):]} (not scored 0: --reference-calls note)"))
            elif output.get("ename") == "CellTimeoutError":
                kinds.setdefault("timeout", (0, "was stopped at the time limit per cell"))
            elif out_of_memory(output):
                kinds.setdefault("memory", (1, f"ran out of memory ({text[:120]})"))
            elif output.get("output_type") == "stream" and output.get("name") == "stderr" and \
                    meta.get("grade") and not meta.get("solution"):
                first = next((line for line in str(output.get("text", "")).splitlines() if line.strip()), "")
                kinds.setdefault("stderr", (2, f"wrote to stderr, which nbgrader scores 0 ({first[:120]})"))
        if kinds:
            ordered = sorted(kinds.values())
            found.append((ordered[0][0], f"{label} " + "; ".join(text for _, text in ordered)))
    found.sort(key=lambda item: item[0])  # stable: cells in order within a priority
    notes = [note for _, note in found[:MAX_OUTPUT_NOTES]]
    if len(found) > MAX_OUTPUT_NOTES:
        notes.append(f"... and {len(found) - MAX_OUTPUT_NOTES} more cells with notes (open the graded notebook)")
    return notes


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


def merge_into_gradebook(scratch: Path, course: Path, assignment: str, student: str, original: Path,
                         scores: dict[str, float]) -> list[str]:
    """Put one student's autograde results from a scratch course into the class course: the
    original submission (only if the course has none: what collect placed is never replaced), the
    autograded notebook, and the auto-graded scores ``scores`` (checked against the notebook by
    the caller). Only the autograded notebook (and its timestamp) is copied, never other files in its
    folder. Everything the instructor entered for the student's earlier submission is kept:
    manual scores (of written answers, and overrides of auto-graded cells), extra credit, manual
    comments and the flag. A manual score whose answer changed since (a resubmission) stays
    visible, and its cell needs manual grading again. Returns a note per such cell."""
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
    for name in (f"{assignment}.ipynb", "timestamp.txt"):  # never other files: the graded notebook is what counts
        if (graded / name).is_file():
            shutil.copy(graded / name, target / name)
    with Gradebook(f"sqlite:///{scratch / 'gradebook.db'}") as source, \
            Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_student(student)
        marks, comments, flagged = {}, {}, False  # what the instructor entered for the earlier submission
        try:
            for notebook in gradebook.find_submission(assignment, student).notebooks:
                flagged = flagged or notebook.flagged
                marks.update({g.name: (g.manual_score, g.extra_credit) for g in notebook.grades
                              if g.manual_score is not None or g.extra_credit})
                comments.update({c.name: c.manual_comment for c in notebook.comments if c.manual_comment})
            gradebook.remove_submission(assignment, student)
        except MissingEntry:
            pass
        graded = source.find_submission(assignment, student)
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


GRADING_CONFIG = """
# added by dlcourse.grading.grade for grading in the sandbox
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import IgnorePattern, LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata
from dlcourse.grading.guard import GuardedExecute
from dlcourse.grading.sanitize import SanitizeOutputs
from dlcourse.grading.scoring import NoPartialCredit
c.Autograde.autograde_preprocessors = [GuardedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SanitizeOutputs, NoPartialCredit, SaveAutoGrades, AssignLatePenalties,
                                       CheckCellMetadata]
c.CourseDirectory.source_directory = {source!r}
c.JailedKernelManager.jail = {jail!r}
c.JailedKernelManager.disk_bytes = {disk!r}
c.JailedKernelManager.processes = {processes!r}
c.JailedKernelManager.memory_bytes = {memory!r}
c.JailedKernelManager.cpu_seconds = {cpu!r}
c.JailedKernelManager.readable = {readable!r}
c.JailedKernelManager.home = {home!r}
"""


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


def autograde_isolated(student: str, notebook: nbformat.NotebookNode, assignment: str, gradebook: Path, work: Path,
                       limits: Limits, threads: int, cell_seconds: int | None = None,
                       reference_calls: str = "zero") -> tuple[str | None, Path, list[str]]:
    """Autograde one prepared submission in its own scratch course under ``limits``.

    Returns (None or the reason it failed, the scratch course, what happened while it ran). The
    scratch course gets a copy of ``gradebook`` (the assignment and its cells): a snapshot that
    nothing writes to while submissions are graded (see ``snapshot_gradebook``). nbgrader runs
    the course's code only; the submission's code runs in its kernel, which dlcourse.grading.guard starts in
    dlcourse.grading.sandbox's jail (where ``limits.isolate`` and the system allow it): it sees Python, /usr,
    the course's ``utils`` and the data, and a private copy of its working folder; nothing of the
    scratch course, the class course, other students, solutions/, dlcourse/ or the home folder.
    """
    scratch = work / student
    shutil.rmtree(scratch, ignore_errors=True)
    scratch_course(scratch)
    source = scratch / "source" / assignment  # the chapter's files besides the notebook (data, images)
    shutil.copytree(SOLUTIONS / assignment, source, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
    home = scratch / "home"
    home.mkdir()
    try:  # matplotlib's font cache: without it the first import warns on stderr while it builds one
        import matplotlib

        shutil.copytree(matplotlib.get_cachedir(), home / ".cache" / "matplotlib")
    except (ImportError, OSError):
        pass
    env = tool_environment(DLCOURSE_SMOKE="1", OMP_NUM_THREADS=str(threads), HOME=str(home),
                           **{REFERENCE_CALLS_ENV: "note" if reference_calls == "note" else "error"})
    env.pop("DLCOURSE_CACHE", None)  # the data cache is private too (home/.cache/dl-course)
    data = [env["DLCOURSE_DATA"]] if env.get("DLCOURSE_DATA") else []
    jailed = limits.isolate and jail_available()
    with open(scratch / "nbgrader_config.py", "a") as config:
        config.write(GRADING_CONFIG.format(source=str(scratch / "source"), jail=jailed, disk=limits.disk_bytes,
                                           processes=limits.processes, memory=limits.memory_bytes,
                                           cpu=limits.cpu_seconds, readable=[str(ROOT / "utils"), *data],
                                           home=str(home)))
    shutil.copy(gradebook, scratch / "gradebook.db")
    target = scratch / "submitted" / student / assignment
    target.mkdir(parents=True)
    nbformat.write(notebook, target / f"{assignment}.ipynb")
    # the kernel inherits DLCOURSE_SMOKE=1: lessons run their smoke sizes whatever SMOKE the student left
    command = [sys.executable, "-m", "nbgrader", "autograde", assignment, "--student", student, "--force"]
    if cell_seconds:
        command.append(f"--Execute.timeout={int(cell_seconds)}")
    outcome = run_limited(command, scratch, limits, env=env)
    notes = []
    try:
        notes = [str(note)[:1000] for note in json.loads((scratch / NOTES).read_text())]
        notes = notes[:30] + ([f"... and {len(notes) - 30} more notes of the grader"] if len(notes) > 30 else [])
    except (OSError, ValueError, TypeError):
        pass
    if outcome.limit:
        return f"stopped by the {outcome.limit}", scratch, notes
    if outcome.returncode == 0 and (scratch / "autograded" / student / assignment / f"{assignment}.ipynb").is_file():
        return None, scratch, notes
    errors = [line for line in (outcome.stdout + outcome.stderr).splitlines() if "ERROR" in line or "Error" in line]
    last = outcome.stderr.strip().splitlines()[-1:] or outcome.stdout.strip().splitlines()[-1:]
    reason = " | ".join(errors[-3:])[:500] or f"exit code {outcome.returncode}" + "".join(f": {line[:300]}" for line in last)
    return f"nbgrader autograde failed: {reason}", scratch, notes


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
    """Record each student's status and notes of this run (merged with earlier runs), for `report`,
    and, for a graded submission, the fingerprints of its notebook and of the release it was
    graded against (incremental grading compares them)."""
    path = _attention_file(course, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    known = load_attention(course, assignment)
    known.update({r.student: {"status": r.status, "notes": r.notes,
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


def fingerprint(path: Path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def grade_submissions(submissions: dict[str, Path | str], assignment: str, course: Path,
                      feedback: bool = True, log=lambda text: print(text, flush=True), workers: int | None = None,
                      limits: Limits = Limits(), cell_seconds: int | None = None,
                      notes: dict[str, list[str]] | None = None, reference_calls: str = "zero",
                      force: bool = False) -> Report:
    """Autograde every submission in parallel, each isolated, and merge the results into the
    class gradebook of ``course``; return the report. A submission that breaks, hangs or
    exhausts a limit is reported and never stops the others. ``notes``: what is already known
    to need attention per student (e.g. extra files in the student's folder). ``reference_calls``:
    "zero" (an answer that calls the course's reference implementation of its own exercise fails
    its test cell, see utils.exercises) or "note" (it is only noted in the summary).

    Incremental: a student whose notebook and the release (the solution notebook, hidden tests
    included) are unchanged since the student was last graded is not graded again unless
    ``force``; the report lists them. Before anything changes the class gradebook, a backup of
    it is kept (``backup_gradebook``). Marks the instructor entered are kept (merge_into_gradebook)."""
    log(f"grading {assignment}: {len(submissions)} submission(s) into {course}; first the gradebook backup and "
        "nbgrader's generate_assignment (about 20 s), then each submission in its own jail")
    scratch_course(course)
    backup_gradebook(course)
    generate(assignment, course)  # puts the assignment, its cells and points into the gradebook
    max_scores = graded_cells(nbformat.read(solution_path(assignment), as_version=4))
    release = fingerprint(solution_path(assignment))
    written = written_answers(assignment)
    previous = load_attention(course, assignment)
    fingerprints: dict[str, dict[str, str]] = {}
    skipped: list[str] = []
    workers = workers or os.cpu_count() or 1
    threads = max(1, (os.cpu_count() or 1) // workers)
    results: dict[str, StudentResult] = {}
    runnable: dict[str, tuple[Path, nbformat.NotebookNode]] = {}
    for student, source in submissions.items():
        known = list((notes or {}).get(student, []))
        if isinstance(source, Path) and source.is_file():
            fingerprints[student] = {"submission": fingerprint(source), "release": release}
            earlier = previous.get(student, {})
            if not force and earlier.get("status") == "graded" and all(
                    earlier.get(key) == value for key, value in fingerprints[student].items()):
                try:
                    results[student] = read_result(course, assignment, student, StudentResult(
                        student, "graded", notes=earlier.get("notes", [])), written)
                    skipped.append(student)
                    log(f"{student}: unchanged since its last grading: not graded again")
                    continue
                except Exception:  # not in the gradebook any more (restored from a backup?): grade it
                    results.pop(student, None)
        try:
            inspection = inspect_submission(source, assignment) if isinstance(source, Path) else None
            problem = source if isinstance(source, str) else inspection.problem
        except Exception as error:  # a malformed file must never stop the class's run
            inspection, problem = None, (f"the grader could not read this notebook ({type(error).__name__}: "
                                         f"{str(error)[:200]}); grade it by hand and report the file to the course")
        if problem:
            results[student] = StudentResult(student, problem, notes=known)
            log(f"{student}: NOT GRADED: {problem}")
        else:
            results[student] = StudentResult(student, "pending", notes=known + inspection.notes)
            runnable[student] = (source, inspection.notebook)
    work = course / "work"
    template = snapshot_gradebook(course, work / "gradebook-template.db")
    PidsCgroup.remove_stale()  # left by a grading run that was killed
    if runnable and limits.isolate and not jail_available():
        log(f"warning: submissions cannot be confined here ({jail_missing_reason()}): their code runs with the "
            "network and the file system of the user who grades (limits on time and memory still apply)")
    with ThreadPoolExecutor(max_workers=workers) as pool:  # threads only wait: the work runs in subprocesses
        futures = {pool.submit(autograde_isolated, student, prepared, assignment, template, work, limits, threads,
                               cell_seconds, reference_calls): student
                   for student, (_, prepared) in runnable.items()}
        for future in tqdm(as_completed(futures), total=len(futures), desc=f"grading {assignment}", unit="student",
                           disable=not runnable):
            student = futures[future]
            result = results[student]
            scratch = work / student
            try:
                failure, scratch, happened = future.result()
                result.notes += happened
                graded = scratch / "autograded" / student / assignment / f"{assignment}.ipynb"
                scores = {}
                if not failure:
                    result.notes += notes_from_outputs(graded)
                    scores = scores_from_notebook(graded, max_scores)
                    recorded = read_scores(scratch, assignment, student)
                    if scores != recorded:
                        differ = ", ".join(f"{name}: {recorded.get(name)} in the gradebook, {scores.get(name)} from "
                                           "the notebook" for name in sorted(set(scores) | set(recorded))
                                           if scores.get(name) != recorded.get(name))
                        failure = ("the scores in the grading copy of the gradebook do not match the autograded "
                                   f"notebook ({differ[:300]}): the submission tampered with the gradebook; grade it "
                                   "by hand")
            except Exception as error:  # one submission never stops the class: it is reported, by name
                failure = (f"the grader failed on this submission ({type(error).__name__}: {str(error)[:200]}); "
                           "grade it by hand and report the file to the course")
            result.notes.sort(key=lambda note: "time limit" not in note)  # time-outs first, else in order
            if failure:
                result.status = failure
                log(f"{student}: NOT GRADED: {failure}")
            else:
                try:
                    result.notes += merge_into_gradebook(scratch, course, assignment, student, runnable[student][0],
                                                         scores)
                    result.status = "graded"
                    read_result(course, assignment, student, result, written)
                    log(f"{student}: {result.automatic:.1f}/{sum(max_scores.values()):.1f} automatic points")
                except Exception as error:  # nothing was committed for this student; the others go on
                    result.status = (f"the grader could not record this submission in the gradebook "
                                     f"({type(error).__name__}: {str(error)[:200]}); grade it by hand")
                    log(f"{student}: NOT GRADED: {result.status}")
            shutil.rmtree(scratch, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    report = Report(assignment, max_scores, [results[student] for student in submissions],
                    written, skipped)
    save_attention(course, assignment, report.students, fingerprints)
    if feedback:
        pages = generate_feedback(course, assignment, [s for s, r in results.items()
                                                       if r.status == "graded" and s not in skipped], workers)
        for student, page in pages.items():
            results[student].feedback = page
    return report


def output_paths(course: Path, assignment: str) -> tuple[Path, Path]:
    """The class's grades and nbgrader's export for one assignment (one file each per assignment,
    so that grading another chapter does not overwrite them)."""
    return course / f"grades-{assignment}.csv", course / f"export-{assignment}.csv"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlcourse.grading.grade", description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", type=Path, help="folder with one sub-folder per student")
    parser.add_argument("--assignment", default="01_fundamentals")
    parser.add_argument("--course", type=Path, default=ROOT / "grading", help="scratch course folder (default: grading/)")
    parser.add_argument("--no-feedback", action="store_true", help="skip the HTML feedback")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="submissions graded at once (default: cores)")
    parser.add_argument("--timeout", type=float, default=Limits.wall_seconds, help="seconds per submission, kernel included")
    parser.add_argument("--memory-gib", type=float, default=Limits.memory_bytes / 2**30,
                        help="address space per process in GiB (torch alone maps about 4.6)")
    parser.add_argument("--disk-mib", type=int, default=Limits.disk_bytes // 2**20,
                        help="size of each writable folder of a submission's sandbox, and of any one file (MiB)")
    parser.add_argument("--max-processes", type=int, default=Limits.processes,
                        help="processes and threads a submission's kernel may have")
    parser.add_argument("--cell-timeout", type=int, default=None,
                        help="seconds per cell before it is interrupted (default: nbgrader_config.py's, 300)")
    parser.add_argument("--force", action="store_true",
                        help="grade every submission again, also those unchanged since their last grading")
    parser.add_argument("--reference-calls", choices=["zero", "note"], default="zero",
                        help="an answer that calls the course's reference implementation of its exercise: its test "
                             "cell fails and scores 0 (zero, the default), or it is only noted in the summary (note)")
    args = parser.parse_args(argv)
    for name in ("workers", "disk_mib", "max_processes"):
        if getattr(args, name) < 1:
            print(f"error: --{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}", file=sys.stderr)
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
        limits = Limits(wall_seconds=args.timeout, memory_bytes=int(args.memory_gib * 2**30),
                        disk_bytes=args.disk_mib * 2**20, processes=args.max_processes)
        report = grade_submissions(submissions, args.assignment, args.course.resolve(), feedback=not args.no_feedback,
                                   workers=args.workers, limits=limits, cell_seconds=args.cell_timeout,
                                   notes=find_extras(args.submissions.resolve(), submissions),
                                   reference_calls=args.reference_calls, force=args.force)
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print()
    print(report.table())
    grades, exported = output_paths(args.course, args.assignment)
    report.write_csv(grades)
    export_grades(args.course, args.assignment, exported)
    print(f"\ngrades: {grades} | for a learning-management system (nbgrader's export): "
          f"{exported} | feedback (no hidden tests): {args.course / 'feedback'}")
    print("\n" + (report.attention() or f"all {len(report.students)} submissions graded; none needs attention"))
    return 0 if all(r.status == "graded" for r in report.students) else 1


if __name__ == "__main__":
    raise SystemExit(main())
