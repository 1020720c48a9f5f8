"""Press Validate the way JupyterLab does, and time it (tests/test_validate.py, `make bench`).

JupyterLab's Validate button posts the notebook's path to nbgrader's server extension, whose
``ValidateAssignmentHandler.validate_notebook`` loads the nbgrader configuration (the server's
working folder first, then Jupyter's config paths) and runs ``Validator(config=...).validate``.
:func:`press_validate` calls that same method, then the course's server extension
(:mod:`utils.lab`: a summary first, and hints on known wrong answers); only the web request
around it is left out.
nbgrader sets NBGRADER_EXECUTION=validate while it runs the notebook, so the lessons run their
smoke sizes whatever ``SMOKE`` the student left (utils.session.smoke_reason).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

import nbformat

from utils.lab import summarize
from dlcourse.notebooks import ROOT, nbgrader_meta, release_path, solution_cells, solution_path

BLANK = "NotImplementedError(f'left blank (SMOKE = {SMOKE})')"  # the error says which mode the lessons ran in


def press_validate(path: Path, server_folder: Path = ROOT) -> tuple[dict, float]:
    """(what the Validate button receives, seconds) for the notebook at ``path``, as a Jupyter
    server started in ``server_folder`` (as `make lab` is, from the repository root) answers."""
    from nbgrader.server_extensions.validate_assignment.handlers import ValidateAssignmentHandler

    from utils.lab import install

    install()  # Validate's hints, as the course's server extension installs them

    class Button:  # what validate_notebook reads of its handler: the server's root folder and log
        root_dir = str(Path(path).parent)
        log = logging.getLogger("nbgrader.validate")
        load_config = ValidateAssignmentHandler.load_config
        validate_notebook = ValidateAssignmentHandler.validate_notebook

    with contextlib.chdir(server_folder):
        start = time.perf_counter()
        answer = Button().validate_notebook(Path(path).name)
        answer = summarize(answer, Path(path))  # what the course's server extension, utils.lab, adds
        return answer, time.perf_counter() - start


def hinted_wrong_answer(chapter: str, blank: str | None = None) -> tuple[str, str, str]:
    """(exercise, mutant name, source) of the first hand-written wrong answer, of an exercise other
    than ``blank`` (default: the first), for which Validate has a hint (utils/misconception_data)."""
    from dlcourse.authoring.known_wrong import MUTANTS, exercise_cells
    from utils.misconceptions import known

    cells = exercise_cells(chapter)
    blank = blank or next(iter(cells.values()))[0]
    for test_id, entry in known(chapter).items():
        exercise = cells[test_id][0] if test_id in cells else None
        names = sorted(e["mutant"] for found in entry.get("known", {}).values() for e in found)
        if exercise and exercise != blank and names:
            return exercise, names[0], (MUTANTS / chapter / f"{names[0]}.py").read_text()
    raise LookupError(f"{chapter} has no wrong answer with a Validate hint besides {blank}'s")


def with_one_blank(chapter: str, blank: str | None = None,
                   wrong: tuple[str, str] | None = None) -> nbformat.NotebookNode:
    """The release as a student who solved every exercise but ``blank`` (default: the first) has
    it: ``SMOKE`` left as released (False), written answers filled in, and the blank exercise's
    function raising NotImplementedError with the SMOKE its lessons ran with. ``wrong``:
    (exercise, answer cell source) of a wrong answer to another exercise."""
    nb = nbformat.read(release_path(chapter), as_version=4)
    solution = nbformat.read(solution_path(chapter), as_version=4)
    answers = {name: solution.cells[index].source for name, index in solution_cells(solution).items()}
    if wrong:
        answers[wrong[0]] = wrong[1]
    blank = blank or next(iter(answers))
    for name, index in solution_cells(nb).items():
        nb.cells[index].source = answers[name]
    cell = nb.cells[solution_cells(nb)[blank]]
    cell.source = cell.source.replace("### BEGIN SOLUTION", f"raise {BLANK}\n    ### BEGIN SOLUTION", 1)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and nbgrader_meta(cell).get("solution"):
            cell.source = "My answer, in a few sentences."
    return nb


def validate_with_one_blank(chapter: str, folder: Path, wrong: tuple[str, str] | None = None) -> tuple[dict, float]:
    """Write :func:`with_one_blank` (with ``wrong``) into ``folder`` and press Validate on it, with
    none of the course's own smoke switches set (DLCOURSE_SMOKE removed while it runs)."""
    path = Path(folder) / f"{chapter}.ipynb"
    nbformat.write(with_one_blank(chapter, wrong=wrong), path)
    saved = os.environ.pop("DLCOURSE_SMOKE", None)
    try:
        return press_validate(path)
    finally:
        if saved is not None:
            os.environ["DLCOURSE_SMOKE"] = saved
