"""One list of chapters, found in solutions/: everything that lists chapters follows it."""

import ast
import re

import nbformat

from dlcourse.authoring.book import table_of_contents
from dlcourse.notebooks import ROOT, chapters, solution_path


def test_chapters_are_found_in_order():
    found = chapters()
    assert found and found == sorted(found), found
    assert all(re.fullmatch(r"\d\d_[a-z0-9_]+", chapter) for chapter in found), found


def test_the_book_lists_every_chapter_once():
    listed = re.findall(r"- file: chapters/(\S+)", table_of_contents())
    assert listed == chapters()


def test_the_readme_table_has_a_row_per_chapter():
    rows = re.findall(r"^\| (\d\d) · ", (ROOT / "README.md").read_text(), flags=re.MULTILINE)
    assert rows == [chapter[:2] for chapter in chapters()], (
        f"the README's chapter table lists {rows}; solutions/ holds {chapters()}: add or remove rows")


def test_the_book_intro_has_a_row_per_chapter():
    rows = re.findall(r"^\| \[(\d\d) · .*\]\(chapters/(\S+)\.ipynb\)", (ROOT / "book" / "intro.md").read_text(), flags=re.MULTILINE)
    assert [chapter for _, chapter in rows] == chapters(), (
        f"book/intro.md's chapter table links {[c for _, c in rows]}; solutions/ holds {chapters()}")


def test_every_chapter_has_hand_written_mutants():
    missing = [c for c in chapters() if not list((ROOT / "mutants" / c).glob("*.py"))]
    assert not missing, f"chapters without hand-written mutants in mutants/: {missing}"


def test_sizes_are_named_one_per_line():
    """Each chapter's sizes: the parameters cell (full sizes) and the `if SMOKE:` block (smoke sizes)
    assign one name per line, and the smoke block only overrides parameters. A positional tuple
    (`A, B, C = 1, 2, 3`) that someone reorders on one side only would fail silently."""
    for chapter in chapters():
        cells = nbformat.read(solution_path(chapter), as_version=4).cells
        parameters = next(c for c in cells if "parameters" in c.metadata.get("tags", []))
        names = set()
        for node in ast.parse(parameters.source).body:
            if isinstance(node, ast.Assign):
                assert all(isinstance(t, ast.Name) for t in node.targets), \
                    f"{chapter}: one parameter per line, not {ast.unparse(node)[:80]}"
                names |= {t.id for t in node.targets}
        blocks = [node for c in cells if c.cell_type == "code" and "if SMOKE:" in c.source
                  for node in ast.walk(ast.parse(c.source)) if isinstance(node, ast.If)
                  and isinstance(node.test, ast.Name) and node.test.id == "SMOKE"]
        for block in blocks:
            for statement in block.body:
                if isinstance(statement, ast.Assign) and all(isinstance(t, ast.Name) for t in statement.targets):
                    assert statement.targets[0].id in names or not statement.targets[0].id.isupper(), \
                        f"{chapter}: `if SMOKE:` sets {statement.targets[0].id}, which is not a parameter"
                elif isinstance(statement, ast.Assign):
                    assert not any(isinstance(t, ast.Tuple) and all(isinstance(e, ast.Name) and e.id.isupper() for e in t.elts)
                                   for t in statement.targets), f"{chapter}: one smoke size per line, not {ast.unparse(statement)[:80]}"


def test_sliders_go_through_explore_in_cells_the_book_hides():
    """ipywidgets in a notebook run without a front end can hang the run (jupyter/nbclient#312):
    lessons make sliders only through utils.plotting.explore, in cells tagged remove-output (the
    book shows the static figure above them instead of one frozen position of the slider)."""
    found = 0
    for chapter in chapters():
        for index, cell in enumerate(nbformat.read(solution_path(chapter), as_version=4).cells):
            if cell.cell_type != "code":
                continue
            assert "ipywidgets" not in cell.source, f"{chapter} cell {index}: use utils.plotting.explore, not ipywidgets"
            if re.search(r"^explore\(", cell.source, flags=re.MULTILINE):
                found += 1
                assert "remove-output" in cell.metadata.get("tags", []), f"{chapter} cell {index}: tag it remove-output"
    assert found >= 4, f"expected the sliders of 01, 02 and 07, found {found}"
