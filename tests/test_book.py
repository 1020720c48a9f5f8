"""Invariant 5: the book builds offline with warnings as errors, math served locally."""

import html
import re

import pytest

from dlcourse.authoring.book import build

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    index = build(tmp_path_factory.mktemp("book"), smoke=True)
    return index.parent


def test_book_has_intro_and_chapter_with_outputs(site):
    page = (site / "chapters" / "01_fundamentals.html").read_text()
    chapter = html.unescape(re.sub(r"<[^>]+>", "", page))  # code is highlighted: compare the text
    assert "Fundamentals" in (site / "intro.html").read_text()
    assert "dy/dx = 7.0" in chapter, "lesson outputs are rendered"
    assert page.count("<img") >= 4, "figures are rendered"
    assert "raise NotImplementedError()" in chapter, "exercise cells are shown as students get them"
    assert "BEGIN SOLUTION" not in chapter and "BEGIN HIDDEN TESTS" not in chapter


def test_book_works_offline(site):
    assert (site / "_static" / "mathjax" / "tex-chtml.js").exists()
    assert list((site / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    external = []
    for page in site.rglob("*.html"):
        text = page.read_text()
        external += [f"{page.name}: {m}" for m in re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(https?://[^"]+)"', text)]
    assert not external, f"pages load resources from the network: {external[:5]}"
    chapter = (site / "chapters" / "01_fundamentals.html").read_text()
    assert '_static/mathjax/tex-chtml.js' in chapter and "\\mathbb{E}" in chapter
    assert (site / "searchindex.js").exists() and (site / "search.html").exists()
