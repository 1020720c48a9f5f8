"""The course's misconceptions: what each hand-written wrong answer tells a student, and how well
the diagnosis (dlcourse.grading.diagnosis) recognises them.

Every hand-written mutant ``mutants/<chapter>/<exercise>__<bug>.py`` is a wrong answer a student
would write; ``mutants/<chapter>/misconceptions.toml`` gives each one, under ``[<exercise>__<bug>]``,

- ``misconception``: what an answer that behaves like it does wrong, in the student's terms
  ("scales by the number of rows of the whole batch, not by the rows of each class");
- ``hint``: where to look, without giving the answer away.

``course misconceptions [chapters]`` measures, per chapter, in this process (smoke mode):

- every hand-written mutant, planted alone, is diagnosed as itself and nothing else;
- the generated mutants that the tests kill (those not listed in mutants/equivalents.toml): the
  share diagnosed as some hand-written misconception;
- correct answers get no diagnosis: the solution, every generated mutant listed as equivalent
  (a correct alternative) and the hand-written correct alternatives in
  ``mutants/<chapter>/correct/<exercise>__<how>.py`` (loops against vectorised code, another
  formula), each diagnosed as if it had failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from dlcourse.authoring.mutation import ChapterSession, equivalents
from dlcourse.authoring.mutants import Mutant, mutants_of
from dlcourse.grading.diagnosis import Diagnoser, _define, _OutOfTime, _Quiet
from dlcourse.authoring.known_wrong import correct_answers, descriptions, problems, wrong_answers
from dlcourse.notebooks import chapters
from utils.misconceptions import DATA

SECONDS = 60  # time limit for recording one exercise's probes here (the grader's is known_wrong.SECONDS)
ANSWER_SECONDS = 10  # for one answer (a generated mutant may loop forever)


@dataclass
class ExerciseFigures:
    exercise: str
    probes: int = 0
    hand: dict[str, list[str]] = field(default_factory=dict)  # hand-written stem -> what it was diagnosed as
    killed: dict[str, list[str]] = field(default_factory=dict)  # generated killed mutant -> diagnosis
    correct: dict[str, list[str]] = field(default_factory=dict)  # correct answer -> diagnosis (must be [])
    seconds: float = 0.0
    error: str = ""
    failing: list[str] = field(default_factory=list)  # correct alternatives that fail the exercise's tests

    undiagnosed: dict[str, str] = field(default_factory=dict)  # stem -> reviewed reason it cannot be diagnosed

    def misdiagnosed(self) -> list[str]:
        """Hand-written mutants not diagnosed as themselves (except those reviewed as undiagnosable,
        with the reason, in misconceptions.toml), and reviewed ones that now are (a stale reason)."""
        return [f"{self.exercise} | {stem} diagnosed as {found or 'nothing'}" for stem, found in self.hand.items()
                if stem not in found and stem not in self.undiagnosed] + [
            f"{self.exercise} | {stem} is diagnosed as itself now: remove its `undiagnosed` reason"
            for stem, found in self.hand.items() if stem in found and stem in self.undiagnosed]

    def indistinguishable(self) -> list[str]:
        """Hand-written mutants diagnosed as themselves and others: the probes cannot tell them
        apart (they behave the same on every call the tests make), and the feedback names all."""
        return [f"{self.exercise} | {stem} behaves like {', '.join(f for f in found if f != stem)} on every probe"
                for stem, found in self.hand.items() if stem in found and len(found) > 1]

    def false_alarms(self) -> list[str]:
        return [f"{self.exercise} | correct answer {key} diagnosed as {found}" for key, found in self.correct.items()
                if found]


@dataclass
class ChapterFigures:
    chapter: str
    exercises: list[ExerciseFigures]
    seconds: float
    hints: dict | None = None  # Validate's fingerprints (fingerprints()), when every exercise was measured

    def stale_hints(self) -> list[str]:
        """Differences between the fingerprints computed now and those shipped in utils/misconception_data."""
        if self.hints is None:
            return []
        path = DATA / f"{self.chapter}.json"
        try:
            shipped = json.loads(path.read_text())
        except (OSError, ValueError):
            return [f"{path} is missing or unreadable: run `course misconceptions {self.chapter} --write`"]
        if shipped == self.hints:
            return []
        differ = sorted(t for t in set(shipped.get("exercises", {})) | set(self.hints["exercises"])
                        if shipped.get("exercises", {}).get(t) != self.hints["exercises"].get(t))
        return [f"{path.name}: Validate's hints for {', '.join(differ) or 'the chapter'} are stale: run "
                f"`course misconceptions {self.chapter} --write` and commit the file"]

    def write_hints(self) -> Path:
        DATA.mkdir(parents=True, exist_ok=True)
        path = DATA / f"{self.chapter}.json"
        path.write_text(json.dumps(self.hints, indent=1, sort_keys=True) + "\n")
        return path

    def table(self) -> str:
        rows = [f"{self.chapter}: diagnosis measured in {self.seconds:.0f} s",
                f"  {'exercise':<28}{'probes':>7}{'hand-written as itself':>24}{'killed diagnosed':>18}{'correct: none':>15}"]
        for e in self.exercises:
            itself = sum(stem in found for stem, found in e.hand.items())
            diagnosed = sum(bool(found) for found in e.killed.values())
            clean = sum(not found for found in e.correct.values())
            rows.append(f"  {e.exercise:<28}{e.probes:>7}{f'{itself}/{len(e.hand)}':>24}"
                        f"{f'{diagnosed}/{len(e.killed)}':>18}{f'{clean}/{len(e.correct)}':>15}"
                        + (f"  ERROR {e.error}" if e.error else ""))
        hand = [f for e in self.exercises for f in e.hand.items()]
        killed = [f for e in self.exercises for f in e.killed.values()]
        correct = [f for e in self.exercises for f in e.correct.values()]
        reviewed = sum(len(e.undiagnosed) for e in self.exercises)
        rows.append(f"  hand-written diagnosed as themselves: {sum(stem in found for stem, found in hand)}/{len(hand)} "
                    f"(alone: {sum(found == [stem] for stem, found in hand)}; reviewed as undiagnosable: {reviewed}); "
                    f"killed generated mutants diagnosed: {sum(map(bool, killed))}/{len(killed)} "
                    f"({sum(map(bool, killed)) / max(1, len(killed)):.0%}); correct answers with no diagnosis: "
                    f"{sum(not f for f in correct)}/{len(correct)}")
        return "\n".join(rows)


def measure(chapter: str, only: list[str] | None = None, generated: bool = True,
            session: ChapterSession | None = None) -> ChapterFigures:
    """The diagnosis figures of ``chapter`` (see the module docstring); without ``generated``, the
    killed generated mutants are left out (the equivalent ones, correct alternatives, are kept).
    ``session``: the chapter already run (dlcourse.authoring.mutation's), else it is run here."""
    started = time.perf_counter()
    if session is None:
        session = ChapterSession(chapter)
        session.start()
    listed = equivalents()
    figures = []
    for exercise, (solution, test) in session.cells.items():
        if only and exercise not in only:
            continue
        result = ExerciseFigures(exercise)
        result.undiagnosed = {stem: entry["undiagnosed"] for stem, entry in descriptions(chapter).items()
                              if stem.startswith(f"{exercise}__") and entry.get("undiagnosed")}
        begin = time.perf_counter()
        wrong = wrong_answers(chapter, exercise)
        try:
            with _Quiet(SECONDS):
                diagnoser = Diagnoser(session.namespace, exercise, solution, test, wrong)
        except (_OutOfTime, Exception) as error:
            result.error = f"recording the probes: {type(error).__name__}: {str(error)[:200]}"
            figures.append(result)
            continue
        result.probes = len(diagnoser.probes)

        def diagnosed(source: str) -> list[str]:
            """What ``source`` is diagnosed as; an answer that cannot be defined or runs out of time
            is diagnosed as nothing (the grader gives up the same way)."""
            try:
                with _Quiet(ANSWER_SECONDS):
                    return diagnoser.of(_define(source, diagnoser.name, session.namespace))["matches"]
            except (_OutOfTime, Exception):
                return []

        for stem, source in wrong.items():
            result.hand[stem] = diagnosed(source)
        result.correct["the solution"] = diagnosed(solution)
        for key, source in correct_answers(chapter, exercise).items():
            result.correct[key] = diagnosed(source)
            outcome = session.trial(Mutant(exercise, key, source))  # a correct alternative passes the tests
            if outcome.killed:
                result.failing.append(f"{exercise} | correct alternative {key} fails its tests: {outcome.failure}")
        for mutant in mutants_of(exercise, solution):  # the equivalent ones are correct alternatives
            if mutant.key in listed.get(exercise, {}):
                result.correct[mutant.key] = diagnosed(mutant.source)
            elif generated:
                result.killed[mutant.key] = diagnosed(mutant.source)
        result.seconds = time.perf_counter() - begin
        figures.append(result)
    hints = fingerprints(chapter, session) if not only else None
    return ChapterFigures(chapter, figures, time.perf_counter() - started, hints)


def fingerprints(chapter: str, session: ChapterSession) -> dict:
    """What Validate's hints need (utils.misconceptions): per test cell, the name its exercise
    defines and, per fingerprint on the public tests, the misconceptions of the hand-written
    mutants that have it. A mutant that passes the public tests is left out (Validate shows no
    failure to hint at), as is one that behaves there as the solution does."""
    from dlcourse.authoring.mutation import HIDDEN_MARKER
    from dlcourse.grading.diagnosis import defined_name
    from dlcourse.authoring.known_wrong import descriptions, exercise_cells
    from utils.misconceptions import run

    known = descriptions(chapter)
    found = {}
    for test_id, (exercise, solution, test) in exercise_cells(chapter).items():
        public, name = test.split(HIDDEN_MARKER)[0], defined_name(solution, exercise)
        with _Quiet(SECONDS):
            reference, _ = run(session.namespace, name, public, _define(solution, name, session.namespace))
        table: dict[str, list[dict]] = {}
        for stem, source in wrong_answers(chapter, exercise).items():
            try:
                with _Quiet(ANSWER_SECONDS):
                    mark, passed = run(session.namespace, name, public, _define(source, name, session.namespace))
            except (_OutOfTime, Exception):
                continue
            if not passed and mark != reference and stem in known:
                table.setdefault(mark, []).append({"mutant": stem, "misconception": known[stem]["misconception"],
                                                   "hint": known[stem]["hint"]})
        found[test_id] = {"name": name, "known": table}
    return {"chapter": chapter, "exercises": found}


def figures_in_session(chapter: str, exercises: list[str] | None, session: ChapterSession) -> ChapterFigures:
    """:func:`measure` without the generated mutants, in a session already run (the mutation
    tests': dlcourse.authoring.mutation.mutation_report's ``then``)."""
    return measure(chapter, exercises, generated=False, session=session)


def isolated_measure(chapter: str, only: list[str] | None = None, generated: bool = True) -> ChapterFigures:
    """:func:`measure` in a fresh Python (a chapter changes global state the next must not inherit)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(measure, chapter, only, generated).result()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course misconceptions", description=__doc__.splitlines()[0],
                                     epilog="example:\n  course misconceptions 03_mlp --exercise cross_entropy",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chapters", nargs="*", help="chapters to measure (default: all)")
    parser.add_argument("--exercise", action="append", help="only this exercise (repeatable)")
    parser.add_argument("--write", action="store_true",
                        help="write Validate's fingerprints into utils/misconception_data/<chapter>.json")
    parser.add_argument("--show", choices=["problems", "killed", "all"], default="problems",
                        help="list the misdiagnosed hand-written mutants and false alarms (problems), also what "
                             "each killed generated mutant was diagnosed as (killed), or everything (all)")
    args = parser.parse_args(argv)
    unknown = [c for c in args.chapters if c not in chapters()]
    if unknown:
        parser.error(f"no chapter {', '.join(map(repr, unknown))}; the chapters are: {', '.join(chapters())}")
    failed = False
    for chapter in args.chapters or chapters():
        for problem in problems(chapter):
            print(f"  {problem}")
            failed = True
        figures = isolated_measure(chapter, args.exercise)
        print(figures.table())
        for e in figures.exercises:
            for line in e.misdiagnosed() + e.false_alarms() + e.failing:
                print(f"    {line}")
                failed = True
            for line in e.indistinguishable():
                print(f"    {line}")
            for stem, why in e.undiagnosed.items():
                print(f"    {e.exercise} | {stem}: undiagnosable ({why})")
            failed |= bool(e.error)
        if args.write and figures.hints is not None:
            print(f"    wrote {figures.write_hints()}")
        for line in ([] if args.write else figures.stale_hints()):
            print(f"    {line}")
            failed = True
            if args.show in ("killed", "all"):
                for key, found in e.killed.items():
                    if found or args.show == "all":
                        print(f"    {e.exercise} | {key} -> {found or 'nothing'}")
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
