"""The course's known wrong answers, as the grader uses them: which hand-written mutants each
exercise has, what they tell a student (``mutants/<chapter>/misconceptions.toml``), what the
grading kernel is given to diagnose a failing answer (dlcourse.grading.diagnosis), and the note a
diagnosed test cell gets in the graded notebook and the feedback."""

from __future__ import annotations

import functools
import json
import tomllib
from pathlib import Path

import nbformat

from dlcourse.notebooks import ROOT, nbgrader_meta, solution_path

MUTANTS = ROOT / "mutants"  # <chapter>/<exercise>__<bug>.py, and <chapter>/misconceptions.toml
FILE = "misconceptions.toml"
CORRECT = "correct"  # mutants/<chapter>/correct/<exercise>__<how>.py: correct alternatives
DIAGNOSIS = "diagnosis.json"  # written by dlcourse.grading.guard beside execution-notes.json
SECONDS = 15  # the grading kernel's time for one exercise's diagnosis
# The note's first words: dlcourse.grading.feedback keeps a test cell's output that starts with them.
MARK = "[course] Your answer behaves like a known wrong answer"
# Test cells whose error says the answer was not diagnosable: left blank, not run, not graded.
NOT_DIAGNOSED = ("NotImplementedError", "NotRun", "NotGraded", "TestNotRun", "KernelStopped",
                 "ReferenceImplementationCalled", "CellTimeoutError")


def wrong_answers(chapter: str, exercise: str) -> dict[str, str]:
    """mutant file stem -> source of the hand-written wrong answers of ``exercise``."""
    return {path.stem: path.read_text() for path in sorted((MUTANTS / chapter).glob(f"{exercise}__*.py"))}


def correct_answers(chapter: str, exercise: str) -> dict[str, str]:
    """name -> source of the hand-written correct alternatives of ``exercise``."""
    return {path.stem: path.read_text() for path in sorted((MUTANTS / chapter / CORRECT).glob(f"{exercise}__*.py"))}


@functools.cache
def descriptions(chapter: str) -> dict[str, dict[str, str]]:
    """mutant stem -> {"misconception": ..., "hint": ...} ({} if the chapter has no file), and, for
    a mutant the diagnosis cannot tell from the solution, "undiagnosed": the reviewed reason."""
    path = MUTANTS / chapter / FILE
    return tomllib.loads(path.read_text()) if path.exists() else {}


def problems(chapter: str) -> list[str]:
    """What is wrong with ``chapter``'s misconceptions.toml: a mutant without an entry, an entry
    without a mutant, a missing or empty field, an unknown field."""
    found, known = [], descriptions(chapter)
    stems = {path.stem for path in (MUTANTS / chapter).glob("*.py")}
    found += [f"{chapter}: {stem} has no entry in {FILE}" for stem in sorted(stems - set(known))]
    found += [f"{chapter}: {FILE} describes {stem}, which is no mutant" for stem in sorted(set(known) - stems)]
    for stem, entry in known.items():
        for name in ("misconception", "hint"):
            if not str(entry.get(name, "")).strip():
                found.append(f"{chapter}: {stem} has no {name}")
        found += [f"{chapter}: {stem} has an unknown field {name!r}"
                  for name in set(entry) - {"misconception", "hint", "undiagnosed"}]
    return found


@functools.cache
def exercise_cells(chapter: str) -> dict[str, tuple[str, str, str]]:
    """test cell's grade id -> (exercise, answer cell source, whole test cell source with the
    hidden tests) from the solution notebook ({} if there is none)."""
    try:
        cells = nbformat.read(solution_path(chapter), as_version=4).cells
    except (OSError, ValueError):
        return {}
    found = {}
    for position, cell in enumerate(cells):
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("solution") and not meta.get("grade"):
            test = next((c for c in cells[position + 1:] if nbgrader_meta(c).get("grade") and c.cell_type == "code"
                         and not nbgrader_meta(c).get("solution")), None)
            if test is not None:
                found[nbgrader_meta(test)["grade_id"]] = (meta["grade_id"], cell.source, test.source)
    return found


def jobs(chapter: str, test_ids: list[str], seconds: float = SECONDS) -> list[dict]:
    """What the grading kernel diagnoses (dlcourse.grading.diagnosis.run's payload) for the failed
    test cells ``test_ids``: only exercises that have described wrong answers."""
    cells, known = exercise_cells(chapter), descriptions(chapter)
    found = []
    for test_id in test_ids:
        if test_id not in cells:
            continue
        exercise, solution, test = cells[test_id]
        wrong = {stem: source for stem, source in wrong_answers(chapter, exercise).items() if stem in known}
        if wrong:
            found.append({"exercise": exercise, "test_id": test_id, "solution": solution, "test": test,
                          "wrong": wrong, "seconds": seconds})
    return found


def accepted(chapter: str, reports: list[dict], asked: list[dict]) -> dict[str, list[str]]:
    """exercise -> the wrong answers it was diagnosed as, from the kernel's ``reports``, believing
    only exercises that were asked about and names among their known wrong answers (the kernel
    runs the submission's code, which could print anything)."""
    allowed = {job["exercise"]: set(job["wrong"]) for job in asked}
    found: dict[str, list[str]] = {}
    for report in reports:
        exercise = report.get("exercise") if isinstance(report, dict) else None
        matches = report.get("matches") if isinstance(report, dict) else None
        if exercise in allowed and isinstance(matches, list) and all(isinstance(m, str) for m in matches):
            found[exercise] = sorted(m for m in set(matches) if m in allowed[exercise])
    return found


def note(chapter: str, keys: list[str]) -> str:
    """The text a diagnosed test cell gets: each misconception and its hint."""
    known = descriptions(chapter)
    parts = [f"{MARK}: it {known[key]['misconception']}.\nHint: {known[key]['hint']}" for key in keys if key in known]
    return "\n".join(parts) + "\n" if parts else ""


def read_diagnosis(folder: Path, chapter: str) -> dict[str, list[str]]:
    """exercise -> misconceptions from the diagnosis.json that grading left in ``folder`` ({} if
    none), keeping only known exercises and names."""
    try:
        found = json.loads((Path(folder) / DIAGNOSIS).read_text())
    except (OSError, ValueError):
        return {}
    known = descriptions(chapter)
    exercises = {exercise for exercise, _, _ in exercise_cells(chapter).values()}
    if not isinstance(found, dict):
        return {}
    return {exercise: [key for key in keys if key in known and key.startswith(f"{exercise}__")]
            for exercise, keys in found.items() if exercise in exercises and isinstance(keys, list)}
