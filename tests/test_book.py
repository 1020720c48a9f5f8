"""Invariant 5: the book builds offline with warnings as errors, math served locally."""

import html
import re

import nbformat
import pytest

from dlcourse.authoring.book import build
from dlcourse.notebooks import chapters, is_exercise_cell

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


def test_release_lessons_ran_with_exercises_blank(site):
    """Invariant 3: the book executes every release with its exercise and test cells skipped (what a
    reader sees); the lessons must stand alone: no error, every lesson cell ran, no exercise did."""
    staged = site.parent.parent / "chapters"
    for chapter in chapters():
        nb = nbformat.read(staged / f"{chapter}.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        errors = [(i, o.ename) for i, c in enumerate(code) for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{chapter}: lesson cells failed: {errors}"
        exercises = [c for c in code if is_exercise_cell(c)]
        assert exercises and all(not c.outputs and not c.execution_count for c in exercises), (
            f"{chapter}: exercise cells must be skipped")
        not_run = [i for i, c in enumerate(code) if not is_exercise_cell(c) and not c.execution_count]
        assert not not_run, f"{chapter}: lesson cells that did not run: {not_run}"


def test_a_picture_attached_to_a_lesson_cell_is_shown(site):
    """Chapter 08's TensorBoard dashboard is a Markdown attachment: the book shows it as a file."""
    page = (site / "chapters" / "08_scale_and_deploy.html").read_text()
    sources = re.findall(r'<img[^>]+src="([^"]*tensorboard[^"]*)"', page)
    assert sources, "the dashboard's picture is not on chapter 08's page"
    assert (site / "chapters" / sources[0]).resolve().is_file(), sources[0]
    assert "attachment:" not in page


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


def test_progress_bars_show_their_final_state(site):
    """tqdm's widget is stored with a text fallback made when it started (0 %); the book shows
    the text it ended with, read from the saved widget state."""
    pages = {page.name: html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))
             for page in (site / "chapters").glob("*.html")}
    stuck = {name: re.findall(r".{0,30}\b0%\|.{0,40}", text)[:2] for name, text in pages.items()
             if re.search(r"\b0%\|", text)}
    assert not stuck, f"progress bars stored at 0 %: {stuck}"
    assert any(re.search(r"100%\S* \d+/\d+", text) for text in pages.values()), "no finished progress bar shown"


def test_the_guides_are_pages_of_the_book(site):
    for guide in ("student", "instructor", "maintainer", "measured"):
        assert (site / "guides" / f"{guide}.html").exists(), guide
    maintainer = (site / "guides" / "maintainer.html").read_text()
    assert "Measured figures" in maintainer, "the maintainer guide includes the measured figures"
    assert "searchindex.js" in (site / "search.html").read_text()
    assert "Validate" in (site / "searchindex.js").read_text()


def test_a_reader_opens_the_book_from_file(site):
    """The reader's path in Chromium (Debian's, driven by Playwright): the book opens from
    file://, every chapter page renders its math and figures, search finds a term, no page throws
    an error, and no request leaves the machine."""
    from pathlib import Path

    chromium_path = "/usr/bin/chromium"
    if not Path(chromium_path).exists():
        if __import__("os").environ.get("CI"):
            pytest.fail("Chromium is missing: `make setup` installs Debian's chromium as root")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    errors, outside = [], []
    chapters = sorted((site / "chapters").glob("*.html"))
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
        page = chromium.new_page()
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("file://", "data:", "blob:")) else None)
        for path in [site / "index.html", *chapters]:
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000)
            page.evaluate("MathJax.startup.promise")
            rendered = page.locator("mjx-container").count()
            assert rendered > 0 and page.locator("mjx-merror").count() == 0, f"{path.name}: math not rendered"
            broken = page.eval_on_selector_all("img", "els => els.filter(e => !(e.complete && e.naturalWidth > 0))"
                                                      ".map(e => e.getAttribute('src'))")
            figures = page.locator("img").count()
            assert not broken, f"{path.name}: figures that do not load: {broken[:3]}"
            assert path.name == "index.html" or figures >= 1, f"{path.name} shows no figure"
        page.goto((site / "search.html").as_uri() + "?q=attention", wait_until="load")
        page.locator("#search-results", has_text="Search finished").wait_for(timeout=30_000)
        titles = page.locator("#search-results li").all_inner_texts()
        assert any("Transformers" in title for title in titles), titles
        chromium.close()
    assert not errors, errors[:5]
    assert not outside, f"requests that left the machine: {outside[:5]}"
