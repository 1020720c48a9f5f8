"""Grading past one machine: each submission's isolated autograde as one task on a Dask cluster.

``course grade --dask ADDRESS`` sends the submissions to the workers of a running Dask scheduler
(``tcp://host:8786``: a Slurm allocation through dask-jobqueue, a Kubernetes cluster through
dask-kubernetes, or ``dask scheduler`` / ``dask worker`` started by hand); ``--dask N`` starts a
``LocalCluster`` of N worker processes on this machine. A task is dlcourse.grading.grade's
``autograde_isolated`` run on the worker (the same jail, limits, guard and sanitising as the
local pool) in a scratch folder of the worker's own; it returns what the instructor's process
needs (the autograded notebook, its timestamp and the scratch gradebook) as bytes, so that
workers need no shared file system. The merge into the class gradebook, the backups, the
feedback and the report stay with the instructor's process, one writer at a time.

Workers need the course's environment (the same pinned packages, the course's ``utils``,
``dlcourse`` and ``solutions/`` at the same release) and, unless isolation is turned off,
bubblewrap: ``check_workers`` asks each worker before anything is sent and refuses with the
reason. A worker that dies while grading (killed, out of memory, its machine gone) loses
nothing: the scheduler gives its tasks to another worker (up to ``distributed``'s
``scheduler.allowed-failures``, 3 by default); past that the submission is reported as not
graded, by name, and the others go on.
"""

from __future__ import annotations

import importlib.metadata
import io
import logging
import os
import shutil
import tarfile
import tempfile
from contextlib import contextmanager
from pathlib import Path

import nbformat

from dlcourse.grading.isolated import BOOKKEEPING
from dlcourse.authoring.known_wrong import DIAGNOSIS
from dlcourse.grading.sandbox import Limits, jail_available, jail_missing_reason

DISTRIBUTION = "dl-course-utils"  # the course's own package: its requirements are the pins


class ClusterError(RuntimeError):
    """The Dask cluster cannot grade: unreachable, no workers, or workers without the course's environment."""


def pinned_versions() -> dict[str, str]:
    """name -> installed version of every package the course pins (pyproject.toml's dependencies)."""
    from packaging.requirements import Requirement

    found = {}
    for text in importlib.metadata.requires(DISTRIBUTION) or []:
        requirement = Requirement(text)
        if requirement.marker is not None:  # extras (test): not needed to grade
            continue
        try:
            found[requirement.name] = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            found[requirement.name] = "missing"
    return found


def worker_environment(assignment: str) -> dict:
    """What a worker can grade with: run on each worker by ``check_workers``."""
    from dlcourse.grading.isolated import fingerprint
    from dlcourse.notebooks import solution_path

    try:
        release = fingerprint(solution_path(assignment))
    except OSError as error:
        release = f"unreadable ({error})"
    return {"versions": pinned_versions(), "release": release, "jail": jail_available(),
            "jail_missing": "" if jail_available() else jail_missing_reason(), "cores": os.cpu_count() or 1}


def check_workers(client, assignment: str, limits: Limits) -> dict[str, int]:
    """host -> threads per submission (the host's cores shared by the tasks its workers run at
    once: two kernels with two OpenMP threads each on two cores thrash), once every worker of
    ``client`` is known to grade as this machine would; else ClusterError naming each worker and
    what it lacks."""
    from dlcourse.grading.isolated import fingerprint
    from dlcourse.notebooks import solution_path

    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    if not workers:
        raise ClusterError(f"the Dask scheduler at {client.scheduler.address} has no workers; start some with the "
                           "course's environment (e.g. .venv/bin/dask worker SCHEDULER_ADDRESS)")
    answers = client.run(worker_environment, assignment, on_error="return")
    versions, release = pinned_versions(), fingerprint(solution_path(assignment))
    problems = []
    for address, answer in sorted(answers.items()):
        if isinstance(answer, BaseException):
            problems.append(f"{address}: cannot run the course's grader ({type(answer).__name__}: "
                            f"{str(answer)[:200]}); start the worker from the course's environment "
                            "(its .venv, with this checkout's dlcourse/ and utils/ installed)")
            continue
        differ = [f"{name} {answer['versions'].get(name, 'missing')} (here {version})"
                  for name, version in sorted(versions.items()) if answer["versions"].get(name) != version]
        if differ:
            problems.append(f"{address}: its packages differ from the course's pins: {', '.join(differ[:6])}"
                            + (f" and {len(differ) - 6} more" if len(differ) > 6 else "")
                            + "; install the course's environment there (pip install -e . in a checkout)")
        if answer["release"] != release:
            problems.append(f"{address}: its solutions/{assignment}.ipynb is not this one (hidden tests could "
                            "differ): update the worker's checkout to the instructor's commit")
        if limits.isolate and not answer["jail"]:
            problems.append(f"{address}: cannot jail submissions ({answer['jail_missing']}); install bubblewrap "
                            "there (make system), since a worker runs students' code")
    if problems:
        raise ClusterError("these Dask workers cannot grade:\n  " + "\n  ".join(problems))
    slots: dict[str, int] = {}
    cores: dict[str, int] = {}
    for address, info in workers.items():
        host = info.get("host", address)
        slots[host] = slots.get(host, 0) + int(info.get("nthreads", 1))
        cores[host] = answers[address]["cores"]
    return {host: max(1, cores[host] // slots[host]) for host in slots}


@contextmanager
def connect(target: str | int, timeout: float = 20):
    """A ``distributed.Client``: to the scheduler at address ``target``, or to a new
    ``LocalCluster`` of ``target`` worker processes (one task each; their memory is limited per
    submission by the jail, not by Dask), closed on exit; a scheduler that does not answer within
    ``timeout`` seconds is a ClusterError."""
    from distributed import Client, LocalCluster

    if isinstance(target, int) or str(target).isdigit():
        if int(target) < 1:
            raise ClusterError(f"--dask {target}: give a number of local worker processes >= 1 or a scheduler address")
        import dask

        # the workers' statistical profiler samples their threads 100 times a second: about 2 % of a
        # core per idle worker, measured, which grading on the same cores does not need
        with dask.config.set({"distributed.worker.profile.enabled": False}):
            cluster = LocalCluster(n_workers=int(target), threads_per_worker=1, processes=True, memory_limit=0,
                                   dashboard_address=None, silence_logs=logging.ERROR)
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = Client(str(target), timeout=f"{timeout}s")
    except OSError as error:
        raise ClusterError(f"cannot reach the Dask scheduler at {target} ({error}); start one with "
                           "`dask scheduler` or give --dask N for N local worker processes") from error
    try:
        yield client
    finally:
        client.close()


# what autograde_isolated leaves in the scratch course that the instructor's process reads
def _kept(scratch: Path, student: str, assignment: str) -> list[Path]:
    graded = scratch / "autograded" / student / assignment
    return [scratch / "gradebook.db", graded / f"{assignment}.ipynb", *(graded / name for name in BOOKKEEPING),
            scratch / DIAGNOSIS]


def pack(scratch: Path, student: str, assignment: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in _kept(scratch, student, assignment):
            if path.is_file():
                archive.add(path, arcname=str(path.relative_to(scratch)))
    return buffer.getvalue()


def unpack(data: bytes, scratch: Path, student: str, assignment: str) -> None:
    """Into ``scratch``, only the files ``pack`` puts there (names checked, never followed)."""
    allowed = {str(path.relative_to(scratch)) for path in _kept(scratch, student, assignment)}
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        members = [m for m in archive.getmembers() if m.name in allowed and m.isfile()]
        # the names are the expected ones and plain files; the data filter where Python has it (3.11.4+)
        extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        archive.extractall(scratch, members=members, **extra)


def autograde_task(student: str, notebook: str, assignment: str, template: bytes, limits: Limits,
                   cell_seconds: int | None, reference_calls: str,
                   threads: dict[str, int], bookkeeping: dict[str, str] | None = None) -> tuple[str | None, bytes, list[str]]:
    """One submission, on a worker: autograde_isolated in a scratch folder of the worker's, with
    ``threads[its host]`` threads (check_workers); returns (failure or None, pack()'s bytes, notes)."""
    from distributed import get_worker

    from dlcourse.grading.isolated import autograde_isolated

    worker = get_worker()
    count = threads.get(worker.address.rsplit("://", 1)[-1].rsplit(":", 1)[0]) or \
        max(1, (os.cpu_count() or 1) // max(1, worker.state.nthreads))  # a worker that joined since
    # in the worker's own folder: Dask removes it with the worker, and a killed worker's is purged
    # when the next worker starts there
    work = Path(tempfile.mkdtemp(prefix="grade-", dir=worker.local_directory))
    try:
        gradebook = work / "gradebook-template.db"
        gradebook.write_bytes(template)
        failure, scratch, notes = autograde_isolated(student, nbformat.reads(notebook, as_version=4), assignment,
                                                     gradebook, work, limits, count, cell_seconds, reference_calls,
                                                     bookkeeping)
        return failure, pack(scratch, student, assignment), notes
    finally:
        shutil.rmtree(work, ignore_errors=True)
