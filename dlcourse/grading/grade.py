"""Autograde a class's submissions with the real nbgrader, in parallel, each one isolated.

Its command line is ``course grade`` (dlcourse.grading.instructor). The submissions folder holds one folder per student, in nbgrader's `submitted/` layout
(``<student>/<assignment>/<assignment>.ipynb``, as `nbgrader collect`, `zip_collect` or
`course collect` leaves it) or flat (``<student>/<assignment>.ipynb``). Each
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

import os
import re
import shutil
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from dlcourse.authoring import mathjax
from dlcourse.grading.collect import printable, valid_student_id
from dlcourse.grading.guard import out_of_memory
from dlcourse.authoring.known_wrong import read_diagnosis
from dlcourse.notebooks import cell_label, chapter_points, nbgrader_meta, solution_path, tool_environment
from dlcourse.grading.precheck import inspect_submission
from dlcourse.authoring.release import generate, scratch_course
from dlcourse.grading.sanitize import CUT_NOTICE, notice
from dlcourse.grading.scoring import test_cell_score
from dlcourse.grading.report import Report, StudentResult
from dlcourse.grading.gradebook import (backup_gradebook, load_attention, merge_into_gradebook, read_result,
                                        read_scores, save_attention, snapshot_gradebook, written_answers)
from dlcourse.grading.sandbox import Limits, PidsCgroup, jail_available, jail_missing_reason, run_limited
from dlcourse.grading.isolated import autograde_isolated, fingerprint, submission_files  # noqa: F401 (bench imports them here)

REFERENCE_NOTICE = re.compile(r"\[course\] \S+ calls \S+, the course's reference implementation of this exercise")


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


def _on_threads(workers, threads, runnable, template, work, assignment, limits, cell_seconds, reference_calls):
    """(student, future of autograde_isolated's result) as each submission is done, ``workers`` at a time here."""
    with ThreadPoolExecutor(max_workers=workers) as pool:  # threads only wait: the work runs in subprocesses
        futures = {pool.submit(autograde_isolated, student, prepared, assignment, template, work, limits, threads,
                               cell_seconds, reference_calls, submission_files(source)): student
                   for student, (source, prepared) in runnable.items()}
        for future in as_completed(futures):
            yield futures[future], future


class _Done:
    """A finished future's stand-in: ``result()`` returns or raises what the task did."""

    def __init__(self, value=None, error: BaseException | None = None):
        self.value, self.error = value, error

    def result(self):
        if self.error is not None:
            raise self.error
        return self.value


def _on_dask(client, threads, runnable, template, work, assignment, limits, cell_seconds, reference_calls):
    """As _on_threads, each submission a task on the Dask cluster of ``client`` (dlcourse.grading.cluster);
    the results are unpacked into ``work/<student>`` here, where the gradebook is merged."""
    from distributed import as_completed as completed

    from dlcourse.grading.cluster import autograde_task, unpack

    if runnable:
        run = uuid.uuid4().hex[:8]  # keys unique to this run on a cluster that may outlive it
        blob = Path(template).read_bytes()  # small (the assignment's rows): sent with each task, lost with none
        futures = {client.submit(autograde_task, student, nbformat.writes(prepared), assignment, blob, limits,
                                 cell_seconds, reference_calls, threads, submission_files(source),
                                 key=f"autograde-{assignment}-{student}-{run}", pure=False): student
                   for student, (source, prepared) in runnable.items()}
        for future in completed(futures):
            student = futures[future]
            try:
                failure, packed, happened = future.result()
                unpack(packed, work / student, student, assignment)
                yield student, _Done((failure, work / student, happened))
            except Exception as error:  # e.g. KilledWorker: its worker died once too often
                yield student, _Done(error=error)
            future.release()


def grade_submissions(submissions: dict[str, Path | str], assignment: str, course: Path,
                      feedback: bool = True, log=lambda text: print(text, flush=True), workers: int | None = None,
                      limits: Limits = Limits(), cell_seconds: int | None = None,
                      notes: dict[str, list[str]] | None = None, reference_calls: str = "zero",
                      force: bool = False, dask: str | int | None = None) -> Report:
    """Autograde every submission in parallel, each isolated, and merge the results into the
    class gradebook of ``course``; return the report. A submission that breaks, hangs or
    exhausts a limit is reported and never stops the others. ``notes``: what is already known
    to need attention per student (e.g. extra files in the student's folder). ``reference_calls``:
    "zero" (an answer that calls the course's reference implementation of its own exercise fails
    its test cell, see utils.exercises) or "note" (it is only noted in the summary).

    Incremental: a student whose notebook and the release (the solution notebook, hidden tests
    included) are unchanged since the student was last graded is not graded again unless
    ``force``; the report lists them. Before anything changes the class gradebook, a backup of
    it is kept (``backup_gradebook``). Marks the instructor entered are kept (merge_into_gradebook).

    ``dask``: a Dask scheduler's address, or a number of local worker processes: each submission's
    autograde then runs as one task on a worker (dlcourse.grading.cluster), which must have the
    course's environment (checked first: ClusterError says which worker lacks what); everything
    else stays here. ``workers`` then only sets how many feedback pages are made at once."""
    if dask is None:
        return _grade(submissions, assignment, course, feedback, log, workers, limits, cell_seconds, notes,
                      reference_calls, force, None)
    from dlcourse.grading.cluster import check_workers, connect

    with connect(dask) as client:  # before anything changes: a cluster that cannot grade is refused first
        threads = check_workers(client, assignment, limits)
        log(f"grading on the Dask cluster at {client.scheduler.address}: {len(threads)} host(s), one task per "
            f"submission, {', '.join(f'{n} thread(s) each on {host}' for host, n in threads.items())}")
        return _grade(submissions, assignment, course, feedback, log, workers, limits, cell_seconds, notes,
                      reference_calls, force, (client, threads))


def _grade(submissions, assignment, course, feedback, log, workers, limits, cell_seconds, notes, reference_calls,
           force, cluster) -> Report:
    log(f"grading {assignment}: {len(submissions)} submission(s) into {course}; first the gradebook backup and "
        "nbgrader's generate_assignment (about 20 s), then each submission in its own jail")
    scratch_course(course)
    backup_gradebook(course)
    generate(assignment, course)  # puts the assignment, its cells and points into the gradebook
    max_scores = chapter_points(assignment)
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
                        student, "graded", notes=earlier.get("notes", []),
                        misconceptions=earlier.get("misconceptions", {})), written)
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
    arguments = (assignment, limits, cell_seconds, reference_calls)
    outcomes = (_on_dask(*cluster, runnable, template, work, *arguments) if cluster is not None
                else _on_threads(workers, threads, runnable, template, work, *arguments))
    here = 0.0  # seconds this process spends per result (checks and the merge): the part no worker can share
    for student, future in tqdm(outcomes, total=len(runnable), desc=f"grading {assignment}", unit="student",
                                disable=not runnable):
        started = time.perf_counter()
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
                result.misconceptions = read_diagnosis(scratch, assignment)
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
        here += time.perf_counter() - started
    if runnable:
        log(f"recorded {len(runnable)} results in the gradebook in {here:.1f} s ({here / len(runnable):.2f} s each, "
            "one at a time in this process)")
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
