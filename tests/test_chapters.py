"""One list of chapters, found in solutions/: everything that lists chapters follows it."""

import re

from dlcourse.authoring.book import table_of_contents
from dlcourse.notebooks import ROOT, chapters


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
    missing = [c for c in chapters() if not list((ROOT / "tests" / "mutants" / c).glob("*.py"))]
    assert not missing, f"chapters without hand-written mutants in tests/mutants/: {missing}"
