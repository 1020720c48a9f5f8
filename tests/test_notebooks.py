"""Invariant 2: solutions run in smoke mode (and nbval reproduces them). Invariant 3 (releases
run with their exercise and test cells skipped) is checked on the notebooks the book build
executes exactly so (tests/test_book.py): one run per chapter instead of two."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from dlcourse.notebooks import chapters, execute, solution_path, tool_environment

SANITIZE = Path(__file__).parent / "nbval_sanitize.cfg"


def errors(nb):
    return [(i, o.ename, o.evalue) for i, c in enumerate(nb.cells) if c.cell_type == "code"
            for o in c.outputs if o.output_type == "error"]


@pytest.mark.slow
@pytest.mark.parametrize("chapter", chapters())
def test_solution_runs_in_smoke_mode_and_nbval_reproduces_it(chapter, tmp_path):
    executed = tmp_path / f"{chapter}.ipynb"
    execute(solution_path(chapter), executed, smoke=True)
    nb = nbformat.read(executed, as_version=4)
    assert not errors(nb)
    assert "mode=smoke" in "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    # nbval runs the executed notebook again and compares every output: same seed, same numbers.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", str(executed), "--nbval-sanitize-with", str(SANITIZE),
         "-p", "no:cacheprovider", "-q", "-o", "addopts=", "--rootdir", str(tmp_path)],
        capture_output=True, text=True, env=tool_environment(DLCOURSE_SMOKE="1"), cwd=tmp_path,
    )
    assert result.returncode == 0, f"nbval found differences or errors:\n{result.stdout[-5000:]}"
