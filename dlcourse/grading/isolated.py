"""One submission autograded in isolation: its own scratch course, the jail, the limits.

What dlcourse.grading.grade runs for each submission, here or (dlcourse.grading.cluster) as a task on a
Dask worker: nothing in it writes outside the scratch folder it is given.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat

from dlcourse.authoring.release import scratch_course
from dlcourse.grading.guard import DEADLINE, NOTES
from dlcourse.grading.sandbox import Limits, jail_available, run_limited
from dlcourse.notebooks import ROOT, SOLUTIONS, tool_environment
from utils.exercises import MODE_ENV as REFERENCE_CALLS_ENV

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


def autograde_isolated(student: str, notebook: nbformat.NotebookNode, assignment: str, gradebook: Path, work: Path,
                       limits: Limits, threads: int, cell_seconds: int | None = None,
                       reference_calls: str = "zero",
                       bookkeeping: dict[str, str] | None = None) -> tuple[str | None, Path, list[str]]:
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
                           **{REFERENCE_CALLS_ENV: "note" if reference_calls == "note" else "error",
                              DEADLINE: str(time.time() + limits.wall_seconds)})
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
    for name, text in (bookkeeping or {}).items():  # nbgrader's files beside it (submission_files)
        (target / name).write_text(text)
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


BOOKKEEPING = {  # nbgrader's files beside a submission that grading carries along, and their form
    "timestamp.txt": re.compile(r"[0-9 :.T+\-A-Za-z]{1,64}"),  # when it was submitted: late penalties
    "submission_secret.txt": re.compile(r"[0-9a-f]{1,256}"),  # names the student's feedback in the exchange
}


def submission_files(source: Path) -> dict[str, str]:
    """nbgrader's bookkeeping files that its submit and collect put beside the notebook, where
    present and of the expected form (they come from the student's folder): the autograded copy
    and the feedback keep them, so that nbgrader's late penalty and release_feedback work."""
    found = {}
    for name, form in BOOKKEEPING.items():
        try:
            text = (Path(source).parent / name).read_text(errors="replace")[:300].strip()
        except OSError:
            continue
        if form.fullmatch(text):
            found[name] = text
    return found


def fingerprint(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
