"""Invariant 1 and the chapter contract: notebooks/ is what nbgrader generates from solutions/."""

import shutil

import nbformat
import pytest

from dlcourse.authoring.mutation import HAND_WRITTEN
from dlcourse.authoring import release as release_tool
from dlcourse.notebooks import chapters, nbgrader_meta, solution_cells, solution_path, graded_cells

MUTANTS = HAND_WRITTEN
CHAPTERS = chapters()


def test_there_are_chapters():
    assert "01_fundamentals" in CHAPTERS


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_release_equals_fresh_nbgrader_output(chapter):
    changes = release_tool.release(chapter, write=False)  # what `python -m dlcourse.authoring.release --check` runs
    assert not changes, f"notebooks/{chapter} is stale ({changes}); run `make release` and commit the result"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_solutions_are_committed_without_outputs(chapter):
    nb = nbformat.read(solution_path(chapter), as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"solution cells {dirty} have outputs; clear them (Kernel > Restart and Clear Outputs) and save"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_contract(chapter):
    nb = nbformat.read(solution_path(chapter), as_version=4)
    assert nb.metadata.kernelspec.name == "dl-course"
    parameters = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1 and "SMOKE = False" in parameters[0].source, "one `parameters` cell with SMOKE = False"
    tests, solutions = graded_cells(nb), solution_cells(nb)
    assert len(tests) >= 6, f"at least 6 auto-graded exercises, found {len(tests)}"
    manual = [c for c in nb.cells if c.cell_type == "markdown" and nbgrader_meta(c).get("grade") and nbgrader_meta(c).get("solution")]
    assert manual, "at least one manually graded written answer"
    assert {f"test_{name}" for name in solutions} == set(tests), "each exercise `X` has one test cell `test_X`"
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and not meta.get("solution"):
            assert "### BEGIN HIDDEN TESTS" in cell.source and "### END HIDDEN TESTS" in cell.source, meta["grade_id"]
            public = cell.source.split("### BEGIN HIDDEN TESTS")[0]
            assert "assert" in public, f"{meta['grade_id']} needs public tests before the hidden ones"
        if meta.get("solution") and cell.cell_type == "code":
            assert "### BEGIN SOLUTION" in cell.source, meta["grade_id"]
    mutants = {path.name.split("__")[0] for path in (MUTANTS / chapter).glob("*.py")}
    assert mutants >= set(solutions), f"exercises without a mutant: {sorted(set(solutions) - mutants)}"
    assert mutants <= set(solutions), f"mutants for unknown exercises: {sorted(mutants - set(solutions))}"


def test_release_keeps_committed_notebooks_when_generation_fails(monkeypatch, tmp_path):
    release_dir = tmp_path / "notebooks"
    shutil.copytree(release_tool.RELEASE, release_dir)
    before = {p: p.read_bytes() for p in release_dir.rglob("*.ipynb")}
    monkeypatch.setattr(release_tool, "RELEASE", release_dir)

    def broken(chapter, course):
        raise release_tool.ReleaseError("simulated failure")

    monkeypatch.setattr(release_tool, "generate", broken)
    with pytest.raises(release_tool.ReleaseError):
        release_tool.release("01_fundamentals")
    assert {p: p.read_bytes() for p in release_dir.rglob("*.ipynb")} == before


def test_release_replaces_a_stale_notebook(monkeypatch, tmp_path):
    release_dir = tmp_path / "notebooks"
    shutil.copytree(release_tool.RELEASE, release_dir)
    target = release_dir / "01_fundamentals" / "01_fundamentals.ipynb"
    good = target.read_bytes()
    target.write_text("stale")
    monkeypatch.setattr(release_tool, "RELEASE", release_dir)
    assert release_tool.release("01_fundamentals") == ["01_fundamentals.ipynb differs"]
    assert target.read_bytes() == good
    assert sorted(p.name for p in release_dir.iterdir()) == sorted(p.name for p in release_tool.RELEASE.iterdir())
