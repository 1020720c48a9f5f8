"""No script of a submission runs in the instructor's or the student's browser.

A submission that displays HTML, JavaScript, SVG and Markdown outputs and writes raw HTML into its
written answer is graded by the real grader; then Chromium (Debian's, driven by Playwright) opens
the submission's page in nbgrader's formgrader, served by a real Jupyter server with the
instructor's session, and the student's HTML feedback. Every payload would change the page's
title to a number; the title must stay as the page set it. A control page with the same payloads,
not sanitized, proves that the payloads do run when nothing stops them.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import nbformat
import pytest

from active_content import CLICKS, PAYLOAD_TITLES, plant
from formgrader import api, formgrader, type_manual_score
from dlcourse.grading.grade import find_submissions, grade_submissions
from dlcourse.notebooks import solution_cells, solution_path
from dlcourse.grading.sandbox import Limits

pytestmark = pytest.mark.slow
CHAPTER = "01_fundamentals"
CHROMIUM = "/usr/bin/chromium"


def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: `make setup` installs Debian's chromium as root")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    return sync_playwright()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser-class")
    nb = nbformat.read(solution_path(CHAPTER), as_version=4)
    nb = plant(nb, nb.cells[solution_cells(nb)["sgd_step"]])
    path = folder / "submitted" / "mallory" / CHAPTER / f"{CHAPTER}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    course = folder / "course"
    report = grade_submissions(find_submissions(folder / "submitted", CHAPTER), CHAPTER, course, feedback=True,
                               log=lambda _: None, workers=1, limits=Limits(wall_seconds=300), cell_seconds=60)
    assert report.students[0].status == "graded", report.students[0].status
    return folder, course, nb


def title_after_load(page, url: str) -> str:
    page.goto(url, wait_until="load")
    page.wait_for_timeout(1500)  # onerror handlers and scripts run soon after load
    return page.title()


def click_the_students_links(page) -> list[str]:
    """Click every link of the student's answer (by its text) as an instructor or a student would;
    returns the addresses of every link and image left on the page that is a script or data URL."""
    for text in CLICKS:
        for link in page.locator("a", has_text=text).all():
            link.click(timeout=3000, no_wait_after=True)
            page.wait_for_timeout(300)
    urls = page.eval_on_selector_all("a[href], img[src], iframe[src]",
                                     "els => els.map(e => e.getAttribute('href') || e.getAttribute('src'))")
    return [u for u in urls if u.replace(" ", "").lower().startswith(("javascript:", "vbscript:", "data:text"))]


def test_the_payloads_run_when_nothing_stops_them(graded, tmp_path):
    """The control: every payload, as raw HTML, does change the title in this browser."""
    folder, *_ = graded
    with browser() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = chromium.new_page()
        changed = []
        for payload in ['<img src=x onerror="document.title = 101">', "<script>document.title = 106</script>",
                        '<svg onload="document.title = 113"></svg>']:
            control = tmp_path / "control.html"
            control.write_text(f"<html><head><title>control</title></head><body>{payload}</body></html>")
            changed.append(title_after_load(page, control.as_uri()))
        control.write_text('<html><head><title>control</title></head><body>'
                           '<a href="javascript:document.title=114">click 114</a></body></html>')
        title_after_load(page, control.as_uri())
        left = click_the_students_links(page)
        changed.append(page.title())
        chromium.close()
    assert changed == ["101", "106", "113", "114"] and left == ["javascript:document.title=114"], (changed, left)


def test_the_feedback_runs_no_script_of_the_student(graded):
    _, course, _ = graded
    feedback = course / "feedback" / "mallory" / CHAPTER / f"{CHAPTER}.html"
    with browser() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = chromium.new_page()
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        outside = []
        page.on("request", lambda request: outside.append(request.url) if not request.url.startswith(
            ("file:", "data:", "blob:", "about:")) else None)
        title_after_load(page, feedback.as_uri())
        formulas = page.locator("mjx-container").count()
        text = page.inner_text("body")
        left = click_the_students_links(page)
        title = page.title()
        chromium.close()
    assert title not in PAYLOAD_TITLES and not dialogs and not left, (title, dialogs, left)
    assert not outside, f"the feedback page contacted {outside[:3]}"
    assert formulas > 5, "MathJax (inlined in the page) typesets the lessons' formulas offline"
    assert all(click in text for click in CLICKS), "the answer's links are shown as text"
    assert "My answer" in text and "document.title = 101" in text, "the outputs and the answer are shown as text"


def test_the_formgrader_runs_no_script_of_the_student(graded, tmp_path):
    """The instructor opens the submission in nbgrader's Manual Grading page (their session)."""
    _, course, _ = graded
    with sqlite3.connect(course / "gradebook.db") as db:
        submission_id = db.execute(
            "SELECT submitted_notebook.id FROM submitted_notebook JOIN submitted_assignment "
            "ON submitted_notebook.assignment_id = submitted_assignment.id "
            "WHERE submitted_assignment.student_id = 'mallory'").fetchone()[0]
    with formgrader(course, tmp_path) as (base, token), browser() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = chromium.new_page()
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(f"{base}/formgrader?token={token}")  # logs in: the page's script gets the instructor's cookie
        outside = []
        page.on("request", lambda request: outside.append(request.url) if not request.url.startswith(
            (base, "data:", "blob:", "about:")) else None)
        title_after_load(page, f"{base}/formgrader/submissions/{submission_id}/")
        formulas = page.locator("mjx-container").count()
        text = page.inner_text("body")
        left = click_the_students_links(page)
        title = page.title()
        chromium.close()
    assert "My answer" in text and "document.title = 101" in text, "the formgrader did not show the submission"
    assert title not in PAYLOAD_TITLES and not dialogs and not left, (title, dialogs, left)
    assert not outside, f"the formgrader's page contacted {outside[:3]}"
    assert formulas > 5, "MathJax (inlined in the page) typesets the lessons' formulas offline"


def test_a_manual_score_entered_in_the_formgrader_survives_a_regrade(graded, tmp_path):
    """The instructor's path: the formgrader lists the class after grading; a score typed into the
    Manual Grading page is saved; after a forced re-grade the same page (same address) still shows it."""
    folder, course, _ = graded
    written = next(c.metadata["nbgrader"]["grade_id"] for c in nbformat.read(solution_path(CHAPTER), as_version=4).cells
                   if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade"))
    with sqlite3.connect(course / "gradebook.db") as db:
        notebook_id = db.execute(
            "SELECT submitted_notebook.id FROM submitted_notebook JOIN submitted_assignment "
            "ON submitted_notebook.assignment_id = submitted_assignment.id "
            "WHERE submitted_assignment.student_id = 'mallory'").fetchone()[0]
    with formgrader(course, tmp_path) as (base, token), browser() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = chromium.new_page()
        page.goto(f"{base}/formgrader?token={token}")  # logs in
        page.goto(f"{base}/formgrader/manage_submissions/{CHAPTER}", wait_until="load")
        page.locator("td", has_text="mallory").first.wait_for(timeout=30_000)  # the class is listed

        page.goto(f"{base}/formgrader/submissions/{notebook_id}/", wait_until="load")
        score = page.locator(f"input.score#{written}")
        score.wait_for(state="visible", timeout=60_000)
        recorded = []

        def manual_score():
            grades = api(base, token, f"grades?submission_id={notebook_id}")
            recorded.append(next(g["manual_score"] for g in grades if g["name"] == written))
            return recorded[-1]

        if not type_manual_score(page, score, 1.5, manual_score):
            pytest.fail(f"the score typed into the formgrader was not saved: the input holds {score.input_value()!r}, "
                        f"the gradebook {recorded[-1]!r}")

        again = grade_submissions(find_submissions(folder / "submitted", CHAPTER), CHAPTER, course, feedback=False,
                                  log=lambda _: None, workers=1, limits=Limits(wall_seconds=300), cell_seconds=60,
                                  force=True)
        assert again.students[0].status == "graded" and again.skipped == []

        response = page.goto(f"{base}/formgrader/submissions/{notebook_id}/", wait_until="load")
        assert response.status == 200, f"the open page's address answers {response.status} after the re-grade"
        page.locator(f"input.score#{written}").wait_for(timeout=30_000)
        page.wait_for_timeout(1000)  # the page fills the inputs from the API
        shown = page.locator(f"input.score#{written}").input_value()
        chromium.close()
    assert shown == "1.5", f"the formgrader shows {shown!r} after the re-grade"
