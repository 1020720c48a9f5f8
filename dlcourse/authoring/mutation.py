"""Mutation testing of every exercise: do the tests catch the wrong answers a student could write?

For each exercise of a chapter, the solution cell's code between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` is mutated one small change at a time (an operator, a comparison's
boundary, a constant off by one, a dropped or swapped statement, swapped arguments, a removed
``.clone()``/``.detach()``/reduction, an in-place update made out of place, ...). Each mutant
replaces the solution in a namespace where the chapter's cells already ran (smoke mode, in
this process), and the exercise's test cell runs against it: first its public part, then the
whole cell. A mutant is *killed* when the test cell raises, *survives* when it passes.

Why not mutmut or cosmic-ray (both on PyPI, evaluated: mutmut 3.8.1, cosmic-ray 8.7.0)? Both
mutate ``.py`` files of a package on disk and run a test command for them: mutmut copies the
source tree into ``mutants/`` with trampolines and runs pytest, cosmic-ray starts the test
command in a new process per mutant. An exercise is a notebook cell whose test is another
cell that needs the chapter's earlier cells run first; written as modules, every mutant would
pay for a new Python with torch and the chapter's setup (seconds each, thousands of mutants).
So this is a small AST mutator (Python's ``ast``) that runs everything in one process.

Every survivor must be killed by a better test or listed, with a one-line reason, in
``mutants/equivalents.toml`` (reviewed: an equivalent mutant computes the same thing).
Every killing failure must be clear: an error raised inside the answer's own code (the
student's traceback points at it) or an ``AssertionError`` from the test cell whose message is
not a bare or generic one. ``make mutation`` prints the figures; tests/test_mutation.py fails
on an unexplained survivor, an unclear message or a stale equivalent entry.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import time
import tomllib
import traceback
import warnings
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from io import StringIO

import nbformat

from dlcourse.authoring.mutants import Mutant, mutants_of
from dlcourse.notebooks import ROOT, chapters, nbgrader_meta, release_path, solution_cells, solution_path

HAND_WRITTEN = ROOT / "mutants"  # <chapter>/<exercise>__<bug>.py: wrong answers a student would write
EQUIVALENTS = HAND_WRITTEN / "equivalents.toml"  # surviving mutants that compute the same thing, with the reason
HIDDEN_MARKER = "### BEGIN HIDDEN TESTS"
TIMEOUT_S = 20  # a mutant that loops for longer is killed (the grader's timeout would end it)

# Torch's generic messages: a student who reads them learns nothing about the exercise.
GENERIC_MESSAGES = ("Tensor-likes are not close", "Scalars are not close", "Scalars are not equal",
                    "The values for attribute", "Booleans mismatch", "Comparing")


@dataclass
class Outcome:
    mutant: Mutant
    killed: bool
    by_public: bool = False
    failure: str = ""  # the message a student would read
    clear: bool = True
    disturbs: list[str] = field(default_factory=list)  # hand-written: other exercises' tests it fails


@dataclass
class ExerciseReport:
    exercise: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def automatic(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.mutant.hand_written]


# --- generating mutants ------------------------------------------------------------------------


# --- running mutants ---------------------------------------------------------------------------

class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout(f"still running after {TIMEOUT_S} s")


def _run(code: str, filename: str, namespace: dict) -> BaseException | None:
    try:
        exec(compile(code, filename, "exec"), namespace)
    except Exception as error:  # noqa: BLE001 - any failure of a test cell counts
        return error
    except _Timeout as error:
        return error
    return None


def _judge(error: BaseException, test_file: str, answer_file: str) -> tuple[str, bool]:
    """The message a student reads, and whether it is clear (see the module docstring)."""
    if isinstance(error, _Timeout):
        return f"timeout: {error}", True
    frames = [f.filename for f in traceback.extract_tb(error.__traceback__) if f.filename in (test_file, answer_file)]
    message = str(error).strip()
    text = f"{type(error).__name__}: {message}".splitlines()[0][:200]
    if frames and frames[-1] == answer_file:
        return text, True  # raised in the student's own code: the traceback points at it
    clear = (isinstance(error, AssertionError) and bool(message)
             and not message.startswith(GENERIC_MESSAGES))
    return text, clear


class ChapterSession:
    """A chapter's solution notebook, run once in this process (smoke mode), ready for mutants."""

    def __init__(self, chapter: str):
        self.chapter = chapter
        self.nb = nbformat.read(solution_path(chapter), as_version=4)
        self.namespace: dict = {"__name__": "__main__"}
        self.cells: dict[str, tuple[str, str]] = {}  # exercise -> (solution source, test source)
        cells = self.nb.cells
        for position, cell in enumerate(cells):
            meta = nbgrader_meta(cell)
            if cell.cell_type == "code" and meta.get("solution") and not meta.get("grade"):
                test = next(c for c in cells[position + 1:] if nbgrader_meta(c).get("grade") and c.cell_type == "code")
                self.cells[meta["grade_id"]] = (cell.source, test.source)

    def start(self) -> None:
        os.environ["DLCOURSE_SMOKE"] = "1"
        os.environ.setdefault("MPLBACKEND", "Agg")
        import matplotlib
        matplotlib.use("Agg")
        import torch
        from IPython.display import display
        torch.set_num_threads(1)
        self.namespace["display"] = display
        previous = os.getcwd()
        os.chdir(solution_path(self.chapter).parent)
        try:
            with redirect_stdout(StringIO()), redirect_stderr(StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for position, cell in enumerate(self.nb.cells):
                    if cell.cell_type != "code":
                        continue
                    error = _run(cell.source, f"<cell {position}>", self.namespace)
                    if error is not None:
                        raise RuntimeError(f"{self.chapter}: cell {position} of the solution failed: {error!r}")
        finally:
            os.chdir(previous)
        import matplotlib.pyplot as plt
        plt.close("all")

    def _seeded_run(self, *pieces: tuple[str, str]) -> BaseException | None:
        """Run each (source, filename) in the chapter's namespace, in order, with the seeds reset
        and under the time limit (SIGALRM's handler must be set); the first error, or None."""
        import torch

        random.seed(0)
        torch.manual_seed(0)
        signal.setitimer(signal.ITIMER_REAL, TIMEOUT_S)
        try:
            for source, filename in pieces:
                error = _run(source, filename, self.namespace)
                if error is not None:
                    return error
            return None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def trial(self, mutant: Mutant) -> Outcome:
        _, test = self.cells[mutant.exercise]
        public = test.split(HIDDEN_MARKER)[0]
        answer_file, test_file = f"<answer {mutant.exercise}>", f"<test {mutant.exercise}>"
        outcome = Outcome(mutant, killed=False)
        with self._answer_replaced(mutant.exercise):
            for part, is_public in ((public, True), (test, False)):
                error = self._seeded_run((mutant.source, answer_file), (part, test_file))
                if error is not None:
                    outcome.killed, outcome.by_public = True, is_public
                    outcome.failure, outcome.clear = _judge(error, test_file, answer_file)
                    break
                if is_public and public == test:
                    break
            if mutant.hand_written:
                outcome.disturbs = self._others_failing(mutant.exercise)
        return outcome

    @contextmanager
    def _answer_replaced(self, exercise: str):
        """While another answer to ``exercise`` runs: the time limit's handler set, output and
        warnings silenced; afterwards the solution is defined again in the namespace."""
        previous_handler = signal.signal(signal.SIGALRM, _alarm)
        try:
            with redirect_stdout(StringIO()), redirect_stderr(StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield
        finally:
            signal.signal(signal.SIGALRM, previous_handler)
            error = _run(self.cells[exercise][0], f"<solution {exercise}>", self.namespace)
            if error is not None:
                raise RuntimeError(f"restoring the solution of {exercise} failed: {error!r}")

    def _others_failing(self, exercise: str) -> list[str]:
        """The other exercises whose whole test cell fails in the current namespace. The grading
        self-test (tests/test_grading.py) plants hand-written mutants of different exercises in
        one submission; this shows that each one costs its own exercise's points only."""
        failing = []
        for other, (_, test) in self.cells.items():
            if other == exercise:
                continue
            error = self._seeded_run((test, f"<test {other}>"))
            if error is not None:
                failing.append(f"{other}: {type(error).__name__}: {str(error)[:150]}")
        return failing

    def blank_passing(self) -> list[str]:
        """Exercises whose public tests pass with the answer cell as students receive it (the
        release's ``raise NotImplementedError()``): each must fail, or a blank notebook scores.
        The grading self-test grades a whole untouched release through nbgrader (chapter 01 for
        every kind of blank, tests/test_hostile.py); this checks every exercise of every chapter
        without a notebook run."""
        release = nbformat.read(release_path(self.chapter), as_version=4)
        blanks = {name: release.cells[index].source for name, index in solution_cells(release).items()}
        passing = []
        for exercise, (_, test) in self.cells.items():
            public = test.split(HIDDEN_MARKER)[0]
            with self._answer_replaced(exercise):
                if self._seeded_run((blanks[exercise], f"<blank {exercise}>"), (public, f"<test {exercise}>")) is None:
                    passing.append(exercise)
        return passing

    def check_solution(self) -> None:
        """The tests must pass on the solution itself, or every mutant would look killed."""
        for exercise, (solution, _) in self.cells.items():
            outcome = self.trial(Mutant(exercise, "solution", solution))
            if outcome.killed:
                raise RuntimeError(f"{self.chapter}: the test of {exercise} fails on the solution: {outcome.failure}")


def hand_written(chapter: str, exercises) -> list[Mutant]:
    found = []
    for path in sorted((HAND_WRITTEN / chapter).glob("*.py")):
        exercise = path.stem.split("__")[0]
        if exercise in exercises:
            found.append(Mutant(exercise, f"hand-written: {path.stem}", path.read_text(), hand_written=True))
    return found


def equivalents() -> dict[str, dict[str, str]]:
    """exercise -> {mutant key: reason} from the reviewed file."""
    if not EQUIVALENTS.exists():
        return {}
    return tomllib.loads(EQUIVALENTS.read_text())


@dataclass
class ChapterReport:
    chapter: str
    exercises: list[ExerciseReport]
    seconds: float
    blank_passing: list[str] = field(default_factory=list)  # exercises a blank answer passes (public tests)
    diagnosis: object = None  # dlcourse.grading.misconceptions.ChapterFigures, when asked for

    def all(self) -> list[Outcome]:
        return [o for e in self.exercises for o in e.outcomes]

    def survivors(self) -> list[Outcome]:
        return [o for o in self.all() if not o.killed]

    def unexplained(self) -> list[Outcome]:
        listed = equivalents()
        return [o for o in self.survivors() if o.mutant.key not in listed.get(o.mutant.exercise, {})]

    def crosstalk(self) -> list[str]:
        """Hand-written mutants that also fail another exercise's test cell."""
        return [f"{o.mutant.key} fails {other}" for o in self.all() for other in o.disturbs]

    def unclear(self) -> list[Outcome]:
        return [o for o in self.all() if o.killed and not o.clear]

    def stale(self) -> list[str]:
        """Listed equivalents of this chapter's exercises that no longer survive (or exist)."""
        surviving = {(o.mutant.exercise, o.mutant.key) for o in self.survivors()}
        names = {e.exercise for e in self.exercises}
        return [f"{exercise}: {key}" for exercise, keys in equivalents().items() if exercise in names
                for key in keys if (exercise, key) not in surviving]

    def public_share(self) -> float:
        outcomes = self.all()
        return sum(o.by_public for o in outcomes) / len(outcomes)

    def table(self) -> str:
        listed = equivalents()
        rows = [f"{self.chapter}: {len(self.all())} mutants in {self.seconds:.0f} s",
                f"  {'exercise':<26}{'mutants':>8}{'killed':>8}{'equiv.':>8}{'unexpl.':>8}{'public':>8}{'hand':>6}"]
        for report in self.exercises:
            outcomes = report.outcomes
            equivalent = sum(1 for o in outcomes if not o.killed and o.mutant.key in listed.get(report.exercise, {}))
            survived = sum(1 for o in outcomes if not o.killed)
            public = sum(o.by_public for o in outcomes) / max(1, len(outcomes))
            hand = [o for o in outcomes if o.mutant.hand_written]
            rows.append(f"  {report.exercise:<26}{len(outcomes):>8}{sum(o.killed for o in outcomes):>8}"
                        f"{equivalent:>8}{survived - equivalent:>8}{public:>8.0%}"
                        f"{sum(o.killed for o in hand):>3}/{len(hand)}")
        rows.append(f"  public tests alone catch {self.public_share():.0%} of the mutants "
                    f"(hand-written {_share([o for o in self.all() if o.mutant.hand_written])}, "
                    f"automatic {_share([o for o in self.all() if not o.mutant.hand_written])})")
        return "\n".join(rows)


def _share(outcomes: list[Outcome]) -> str:
    return f"{sum(o.by_public for o in outcomes) / max(1, len(outcomes)):.0%}"


def mutation_report(chapter: str, exercises: list[str] | None = None, then=None) -> ChapterReport:
    """Every mutant of ``chapter``'s exercises tried. ``then``: a function of (chapter, exercises,
    session) run afterwards in the same session, whose result is kept in ``.diagnosis`` (the
    misconception diagnosis's figures: dlcourse.grading.misconceptions.figures_in_session)."""
    started = time.perf_counter()
    session = ChapterSession(chapter)
    session.start()
    session.check_solution()
    blank = session.blank_passing()
    reports = []
    for exercise, (solution, _) in session.cells.items():
        if exercises and exercise not in exercises:
            continue
        report = ExerciseReport(exercise)
        for mutant in mutants_of(exercise, solution) + hand_written(chapter, [exercise]):
            report.outcomes.append(session.trial(mutant))
        reports.append(report)
    seconds = time.perf_counter() - started
    figures = then(chapter, exercises, session) if then is not None else None
    return ChapterReport(chapter, reports, seconds, blank, figures)


def isolated_report(chapter: str, exercises: list[str] | None = None, then=None) -> ChapterReport:
    """:func:`mutation_report` in a fresh Python: a chapter changes global state (torch's default
    dtype, seeds, imported modules) that the next chapter must not inherit."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(mutation_report, chapter, exercises, then).result()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course mutation", epilog="example:\n  course mutation 07_metrics --show survivors",
                                     formatter_class=argparse.RawDescriptionHelpFormatter, description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="chapters to test (default: all)")
    parser.add_argument("--exercise", action="append", help="only this exercise (repeatable)")
    parser.add_argument("--show", choices=["survivors", "unclear", "all"], default="survivors",
                        help="which mutants to list under the table")
    args = parser.parse_args(argv)
    unknown = [c for c in args.chapters if c not in chapters()]
    if unknown:
        parser.error(f"no chapter {', '.join(map(repr, unknown))}; the chapters are: {', '.join(chapters())}")
    failed = False
    for chapter in args.chapters or chapters():
        report = isolated_report(chapter, args.exercise)
        print(report.table())
        listed = equivalents()
        for outcome in report.all():
            show = (args.show == "all" or (args.show == "survivors" and not outcome.killed)
                    or (not outcome.clear and args.show in ("survivors", "unclear")))
            if not show:
                continue
            if not outcome.killed:
                reason = listed.get(outcome.mutant.exercise, {}).get(outcome.mutant.key)
                state = f"equivalent ({reason})" if reason else "SURVIVED, unexplained"
            else:
                state = ("public" if outcome.by_public else "hidden") + ("" if outcome.clear else ", UNCLEAR")
                state += f": {outcome.failure}"
            print(f"    {outcome.mutant.exercise} | {outcome.mutant.key} | {state}")
        for entry in report.crosstalk():
            print(f"    hand-written mutant that costs another exercise's points: {entry}")
        for entry in report.stale():
            print(f"    stale entry in {EQUIVALENTS.name}: {entry} (no such surviving mutant)")
        failed |= bool(report.unexplained() or report.unclear() or report.stale() or report.crosstalk())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
