"""Grading on Dask gives what grading here gives, and a worker that dies loses no submission.

A small class of chapter 01 (a correct answer, a plausible wrong one, a blank notebook and one
that kills its kernel) is graded twice by the real grader: by the local pool of 2 and on a
``LocalCluster`` of 2 worker processes, one of which is killed (SIGKILL) while it grades. Both
gradebooks, reports and notes must be the same. Workers without the course's environment or
bubblewrap are refused before anything changes, with the reason.
"""

import os
import signal
import threading
import time

import nbformat
import pytest

from dlcourse.authoring.mutation import HAND_WRITTEN
from dlcourse.grading import cluster
from dlcourse.grading.grade import find_submissions, grade_submissions
from dlcourse.grading.sandbox import Limits
from dlcourse.notebooks import release_path, solution_cells, solution_path

CHAPTER = "01_fundamentals"
LIMITS = Limits(wall_seconds=300)
SUBMITTED = "2026-12-01 10:00:00.000000 UTC"


def write(folder, student, nb):
    path = folder / student / CHAPTER / f"{CHAPTER}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)


def gradebook_rows(course):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {(s.student.id, g.name): (g.auto_score, g.manual_score, bool(g.needs_manual_grade))
                for s in gradebook.find_assignment(CHAPTER).submissions for n in s.notebooks for g in n.grades}


def summary(report):
    return [(r.student, r.status, r.scores, sorted(r.notes)) for r in report.students]


def kill_a_busy_worker(client, killed: list, stop: threading.Event):
    """SIGKILL the first worker seen grading a submission, 3 s into the task."""
    pids = client.run(os.getpid)
    while not stop.is_set():
        busy = [address for address, keys in client.processing().items()
                if any(str(key).startswith("autograde-") for key in keys)]
        if busy:
            time.sleep(3)
            os.kill(pids[busy[0]], signal.SIGKILL)
            killed.append(busy[0])
            return
        time.sleep(0.2)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from distributed import Client, LocalCluster

    folder = tmp_path_factory.mktemp("dask-class")
    solution = nbformat.read(solution_path(CHAPTER), as_version=4)
    write(folder / "submitted", "ann", solution)
    (folder / "submitted" / "ann" / CHAPTER / "timestamp.txt").write_text(SUBMITTED)  # as nbgrader collect leaves them
    (folder / "submitted" / "ann" / CHAPTER / "submission_secret.txt").write_text("ab" * 64)
    wrong = nbformat.read(solution_path(CHAPTER), as_version=4)
    wrong.cells[solution_cells(wrong)["sgd_step"]].source = (HAND_WRITTEN / CHAPTER / "sgd_step__keeps_gradient.py").read_text()
    write(folder / "submitted", "ben", wrong)
    (folder / "submitted" / "ben" / CHAPTER / "submission_secret.txt").write_text("<not a secret>")
    write(folder / "submitted", "cat", nbformat.read(release_path(CHAPTER), as_version=4))
    exits = nbformat.read(solution_path(CHAPTER), as_version=4)
    exits.cells[solution_cells(exits)["mse_gradients"]].source = "import os\nos._exit(1)"
    write(folder / "submitted", "dan", exits)
    submissions = find_submissions(folder / "submitted", CHAPTER)
    options = dict(feedback=False, log=lambda _: None, limits=LIMITS, cell_seconds=60)

    local = grade_submissions(submissions, CHAPTER, folder / "local", workers=2, **options)
    killed, stop = [], threading.Event()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit=0, dashboard_address=None) as lc, \
            Client(lc) as client:
        killer = threading.Thread(target=kill_a_busy_worker, args=(client, killed, stop), daemon=True)
        killer.start()
        try:
            on_dask = grade_submissions(submissions, CHAPTER, folder / "dask", dask=lc.scheduler_address, **options)
        finally:
            stop.set()
            killer.join()
    return folder, local, on_dask, killed


@pytest.mark.slow
def test_dask_and_the_local_pool_give_the_same_grades_notes_and_gradebook(graded):
    folder, local, on_dask, _ = graded
    assert [r.status for r in local.students] == ["graded"] * 4, local.attention()
    assert summary(on_dask) == summary(local)
    assert gradebook_rows(folder / "dask") == gradebook_rows(folder / "local")
    for course in ("local", "dask"):  # nbgrader's bookkeeping travels with it (late penalties, release_feedback)
        graded = folder / course / "autograded"
        assert (graded / "ann" / CHAPTER / "timestamp.txt").read_text() == SUBMITTED
        assert (graded / "ann" / CHAPTER / "submission_secret.txt").read_text() == "ab" * 64
        assert not (graded / "ben" / CHAPTER / "submission_secret.txt").exists()  # not of the expected form
    scores = {r.student: r.automatic for r in local.students}
    assert scores["ann"] > scores["ben"] > scores["cat"] and scores["cat"] == 0, scores


@pytest.mark.slow
def test_a_worker_killed_while_grading_loses_no_submission(graded):
    _, _, on_dask, killed = graded
    assert killed, "no worker was seen grading, so none was killed: the test proved nothing"
    assert [r.status for r in on_dask.students] == ["graded"] * 4, on_dask.attention()


class FakeClient:
    """What check_workers asks a distributed.Client, answered by three workers."""

    class scheduler:
        address = "tcp://10.0.0.1:8786"

    def __init__(self, answers):
        self.answers = answers

    def scheduler_info(self, n_workers=-1):
        return {"workers": {address: {"host": address.split(":")[1][2:], "nthreads": 1} for address in self.answers}}

    def run(self, function, *args, on_error="raise"):
        return {address: answer(*args) if callable(answer) else answer for address, answer in self.answers.items()}


def test_workers_without_the_course_environment_are_refused_with_the_reason():
    good = cluster.worker_environment
    stale = lambda assignment: {**good(assignment), "release": "0" * 64}
    old_torch = lambda assignment: {**good(assignment), "versions": {**cluster.pinned_versions(), "torch": "2.9.0"}}
    no_jail = lambda assignment: {**good(assignment), "jail": False, "jail_missing": "bwrap is not installed"}
    client = FakeClient({"tcp://a:1": good, "tcp://b:1": ModuleNotFoundError("No module named 'dlcourse'"),
                         "tcp://c:1": stale, "tcp://d:1": old_torch, "tcp://e:1": no_jail})
    with pytest.raises(cluster.ClusterError) as refused:
        cluster.check_workers(client, CHAPTER, Limits())
    text = str(refused.value)
    assert "tcp://a:1" not in text
    assert "tcp://b:1: cannot run the course's grader (ModuleNotFoundError" in text
    assert f"tcp://c:1: its solutions/{CHAPTER}.ipynb is not this one" in text
    assert "tcp://d:1: its packages differ from the course's pins: torch 2.9.0 (here 2.14.1)" in text
    assert "tcp://e:1: cannot jail submissions (bwrap is not installed); install bubblewrap" in text
    # without isolation a worker without bubblewrap may grade; the others still may not
    client.answers = {"tcp://a:1": good, "tcp://e:1": no_jail}
    cores = os.cpu_count() or 1
    assert cluster.check_workers(client, CHAPTER, Limits(isolate=False)) == {"a": cores, "e": cores}
    client.answers = {}
    with pytest.raises(cluster.ClusterError, match="has no workers"):
        cluster.check_workers(client, CHAPTER, Limits())


def test_an_unreachable_scheduler_is_a_clear_error_before_anything_changes(tmp_path):
    from dlcourse.grading.instructor import main

    (tmp_path / "submitted" / "ann").mkdir(parents=True)
    start = time.monotonic()
    with pytest.raises(cluster.ClusterError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        with cluster.connect("tcp://127.0.0.1:9", timeout=3):
            pass
    assert time.monotonic() - start < 15
    assert main(["grade", "--assignment", CHAPTER, "--course", str(tmp_path), "--dask", "0"]) == 2
    assert not (tmp_path / "gradebook.db").exists()


def test_pack_carries_only_what_the_merge_reads(tmp_path):
    scratch = tmp_path / "scratch"
    graded = scratch / "autograded" / "ann" / CHAPTER
    graded.mkdir(parents=True)
    (scratch / "gradebook.db").write_bytes(b"db")
    (graded / f"{CHAPTER}.ipynb").write_text("{}")
    (graded / "timestamp.txt").write_text("t")
    (graded / "huge.bin").write_bytes(b"x" * 1000)
    (scratch / "home").mkdir()
    (scratch / "home" / "secret").write_text("s")
    target = tmp_path / "back"
    cluster.unpack(cluster.pack(scratch, "ann", CHAPTER), target, "ann", CHAPTER)
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()) == [
        f"autograded/ann/{CHAPTER}/{CHAPTER}.ipynb", f"autograded/ann/{CHAPTER}/timestamp.txt", "gradebook.db"]
