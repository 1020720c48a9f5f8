"""Grading benchmark (part of `make bench`): a class of chapter 01 submissions, mixed correct,
partly wrong and hostile, graded sequentially (1 worker) and in parallel (one worker per core)
by dlcourse.grading.grade, and on a Dask LocalCluster of one worker process per core; and the
cost of autograding one submission against running the same notebook once with papermill.

    python -m dlcourse.bench.grading [--students 60] [--repeats 3] [--parallel-only] [--no-dask]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from dlcourse.authoring.mutation import HAND_WRITTEN
from dlcourse.grading.grade import autograde_isolated, grade_submissions
from dlcourse.notebooks import ROOT, execute, solution_cells, solution_path
from dlcourse.grading.precheck import inspect_submission
from dlcourse.authoring.release import generate, scratch_course
from dlcourse.grading.sandbox import Limits

CHAPTER = "01_fundamentals"
MUTANTS = HAND_WRITTEN / CHAPTER
CELL_SECONDS = 10  # the hostile loops below each cost this much

# answer cell -> code put in front of it: what a hostile or broken submission does
HOSTILE = {
    "raises": ("numerical_gradient", "raise ValueError('not done')"),
    "exits": ("mse_gradients", "import os\nos._exit(1)"),
    "patches": ("polynomial_features", "torch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True"),
    "memory-bomb": ("pairwise_squared_distances", "_hog = []\nwhile True:\n    _hog.append(torch.empty(2**28))"),
    "loop": ("polynomial_features", "while True:\n    pass"),
    "ignores-sigint": ("sgd_step", "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"),
    "daemon": ("array_dataset", "import subprocess, sys\n"
                               "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], start_new_session=True)"),
    "huge-output": ("numerical_gradient", "for _i in range(100_000):\n    print(_i)"),
}


def build_class(folder: Path, students: int) -> dict[str, Path]:
    """A third correct, a third with one plausible wrong answer (the grading self-test's
    mutants), a third hostile or broken (HOSTILE, a deleted test cell, invalid JSON)."""
    mutants = sorted(MUTANTS.glob("*.py"))
    kinds = [*HOSTILE, "deleted-test", "invalid-json"]
    submissions = {}
    for number in range(students):
        nb = nbformat.read(solution_path(CHAPTER), as_version=4)
        group, index = number % 3, number // 3
        if group == 1:
            mutant = mutants[index % len(mutants)]
            nb.cells[solution_cells(nb)[mutant.stem.split("__")[0]]].source = mutant.read_text()
            name = f"s{number:03d}-wrong-{mutant.stem}"
        elif group == 2:
            kind = kinds[index % len(kinds)]
            name = f"s{number:03d}-{kind}"
            if kind in HOSTILE:
                exercise, code = HOSTILE[kind]
                cell = nb.cells[solution_cells(nb)[exercise]]
                cell.source = code + "\n" + cell.source
            elif kind == "deleted-test":
                nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_sgd_step"]
        else:
            name = f"s{number:03d}-correct"
        path = folder / name / CHAPTER / f"{CHAPTER}.ipynb"
        path.parent.mkdir(parents=True)
        if group == 2 and kinds[index % len(kinds)] == "invalid-json":
            path.write_text('{"cells": [ truncated')
        else:
            nbformat.write(nb, path)
        submissions[name] = path
    return submissions


def median(times: list[float]) -> float:
    return statistics.median(times)


def bench_grading(students: int = 60, repeats: int = 3, workers: int | None = None,
                  sequential: bool = True, dask: bool = True) -> list[dict]:
    workers = workers or os.cpu_count() or 1
    results = []
    limits = Limits(wall_seconds=300)
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        scratch = Path(scratch)
        # one submission: papermill run of the notebook vs autograding it in the sandbox
        papermill = []
        for run in range(repeats):
            start = time.perf_counter()
            execute(solution_path(CHAPTER), scratch / f"papermill-{run}.ipynb", smoke=True)
            papermill.append(time.perf_counter() - start)
        course = scratch_course(scratch / "one")
        generate(CHAPTER, course)
        prepared = inspect_submission(solution_path(CHAPTER), CHAPTER).notebook
        graded = []
        for run in range(repeats):
            start = time.perf_counter()
            failure, _, _ = autograde_isolated(f"run{run}", prepared, CHAPTER, course / "gradebook.db", course / "work", limits,
                                               threads=os.cpu_count() or 1, cell_seconds=CELL_SECONDS)
            graded.append(time.perf_counter() - start)
            assert failure is None, failure
        ratio = median(graded) / median(papermill)
        print(f"one {CHAPTER} submission (smoke mode, median of {repeats}):")
        print(f"  papermill, new kernel                                {median(papermill):8.1f} s  "
              f"(runs: {', '.join(f'{t:.1f}' for t in papermill)})")
        print(f"  autograded in the sandbox (nbgrader, guard, limits)  {median(graded):8.1f} s  "
              f"(runs: {', '.join(f'{t:.1f}' for t in graded)})")
        print(f"  overhead: {ratio:.2f}x the papermill run (target: at most 1.5x)", flush=True)
        results.append({"name": "autograde one submission / papermill", "median": ratio, "unit": "x",
                        "papermill_s": papermill, "autograde_s": graded})

        submissions = build_class(scratch / "submitted", students)
        totals = {}
        for count in ((1, workers) if sequential else (workers,)):
            start = time.perf_counter()
            messages = []
            report = grade_submissions(submissions, CHAPTER, scratch / f"course-{count}", feedback=True,
                                       log=messages.append, workers=count, limits=limits, cell_seconds=CELL_SECONDS)
            totals[count] = time.perf_counter() - start
            graded_count = sum(r.status == "graded" for r in report.students)
            attention = sum(bool(r.notes) or r.status != "graded" for r in report.students)
            print(f"  {students} submissions, {count} worker(s): {totals[count]:7.1f} s "
                  f"({graded_count} graded, {attention} needing attention)", flush=True)
            for message in messages:  # the two invalid-JSON notebooks, anything unexpected, the merge's cost
                if "NOT GRADED" in message or message.startswith("recorded"):
                    print(f"    {message[:200]}")
            if count != workers:
                shutil.rmtree(scratch / f"course-{count}", ignore_errors=True)
        if sequential:
            speedup = totals[1] / totals[workers]
            print(f"  speed-up with {workers} workers: {speedup:.2f}x (target on 2 cores: at least 1.7x)")
            results.append({"name": f"grade {students} submissions", "sequential_s": totals[1],
                            "parallel_s": totals[workers], "workers": workers, "median": speedup, "unit": "x"})
        if dask:  # the same class as Dask tasks on a LocalCluster of as many worker processes (its start included)
            start, messages = time.perf_counter(), []
            on_dask = grade_submissions(submissions, CHAPTER, scratch / "course-dask", feedback=True,
                                        log=messages.append, workers=workers, limits=limits,
                                        cell_seconds=CELL_SECONDS, dask=workers)
            elapsed = time.perf_counter() - start
            same = [(r.student, r.status, r.scores) for r in on_dask.students] == \
                [(r.student, r.status, r.scores) for r in report.students]
            print(f"  {students} submissions on a Dask LocalCluster of {workers} worker processes: {elapsed:7.1f} s, "
                  f"{elapsed / totals[workers]:.2f}x the local pool of {workers} (aim: at most 1.15x); "
                  f"statuses and scores {'the same' if same else 'DIFFERENT'}", flush=True)
            print("".join(f"    {m[:200]}\n" for m in messages if m.startswith(("recorded", "grading on"))), end="")
            results.append({"name": f"grade {students} submissions on Dask LocalCluster({workers}) / local pool",
                            "median": elapsed / totals[workers], "unit": "x", "dask_s": elapsed,
                            "local_s": totals[workers], "same_scores": same})
            shutil.rmtree(scratch / "course-dask", ignore_errors=True)
        # a late resubmission: grading the class again runs only the changed notebook
        late = next(name for name in submissions if name.endswith("-correct"))
        nb = nbformat.read(submissions[late], as_version=4)
        nb.cells[solution_cells(nb)["polynomial_features"]].source += "\n# resubmitted after the deadline\n"
        nbformat.write(nb, submissions[late])
        start = time.perf_counter()
        report = grade_submissions(submissions, CHAPTER, scratch / f"course-{workers}", feedback=True,
                                   log=lambda _: None, workers=workers, limits=limits, cell_seconds=CELL_SECONDS)
        again = time.perf_counter() - start
        print(f"  the {students} submissions graded again after one changed: {again:7.1f} s "
              f"({len(report.skipped)} unchanged, not run again)", flush=True)
        results.append({"name": f"grade {students} submissions again, one changed", "median": again, "unit": "s",
                        "skipped": len(report.skipped)})
        shutil.rmtree(scratch / f"course-{workers}", ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlcourse.bench.grading", description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--parallel-only", action="store_true", help="skip grading the class on one worker")
    parser.add_argument("--no-dask", action="store_true", help="skip grading the class on a Dask LocalCluster")
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "bench-grading.json")
    args = parser.parse_args(argv)
    results = bench_grading(args.students, args.repeats, sequential=not args.parallel_only, dask=not args.no_dask)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
