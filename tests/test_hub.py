"""A class on the course's JupyterHub, end to end, in a real browser (as root, with Chromium).

`course hub setup` builds the hub for a test class (its own prefix, state and accounts, so that a
demo class on the same machine is left alone); the hub runs on loopback. In Chromium: a student
logs in, fetches chapter 01 in the Assignments tab, solves one exercise in the editor, presses
Validate and submits; a second student submits the notebook blank. The instructor collects with
nbgrader and grades with the course's grader (as the instructor's Linux account), sees both
students in the formgrader and enters a manual score there; feedback is regenerated and released;
the first student fetches it in the Assignments tab and reads the solved exercise's score and the
manual score, and no line of a hidden test. As each student account: what it must not reach.
Everything the test started is stopped, and its accounts and state removed; the environment it
builds (about 2 minutes, 5.5 GB) stays in HUB_TEST_PREFIX (default /opt/dl-course-test) for the
next run, rebuilt when pyproject.toml changes.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from dlcourse import hub as hubtool
from formgrader import type_manual_score
from test_student_path import press_validate
from dlcourse.notebooks import solution_cells, solution_path

pytestmark = pytest.mark.slow
CHAPTER = "01_fundamentals"
CHROMIUM = "/usr/bin/chromium"
WRITTEN = "bias_variance_answer"
PREFIX = Path(os.environ.get("HUB_TEST_PREFIX", "/opt/dl-course-test"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def missing() -> str | None:
    if os.geteuid() != 0:
        return "the hub test creates Linux accounts: it runs as root only"
    for path, package in ((CHROMIUM, "chromium"), (hubtool.SYSTEM_PYTHON, "python3.11-venv"),
                          ("/usr/bin/bwrap", "bubblewrap")):
        if not Path(path).exists():
            return f"{path} is missing (apt-get install {package})"
    if not shutil.which("npm"):
        return "npm is missing (apt-get install npm)"
    return None


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """(Hub, base URL, passwords) of a running hub for a test class; everything removed after."""
    if reason := missing():
        if os.environ.get("CI"):
            pytest.fail(f"the hub test cannot run: {reason}")
        pytest.skip(reason)
    # not under pytest's temporary folders: they are private, and users must reach the exchange
    state = Path(tempfile.mkdtemp(prefix="dl-course-test-hub-", dir="/srv"))
    hub = hubtool.Hub(prefix=PREFIX, state=state, instructor="dlt-instructor",
                      students=["dlt-student1", "dlt-student2"], port=_free_port())
    process = None
    try:
        start = time.monotonic()
        passwords = hubtool.setup(hub, [CHAPTER], log=lambda text: print(f"[hub] {text}", flush=True))
        print(f"[hub] setup took {time.monotonic() - start:.0f} s", flush=True)
        log = open(tmp_path_factory.mktemp("hub-log") / "jupyterhub.log", "w")
        process = hubtool.start(hub, {"DLCOURSE_SMOKE": "1"}, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{hub.port}"
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/hub/api", timeout=2)
                break
            except OSError:
                if process.poll() is not None:
                    break
                time.sleep(0.5)
        else:
            pytest.fail(f"the hub did not start; its log: {Path(log.name).read_text()[-3000:]}")
        if process.poll() is not None:
            pytest.fail(f"the hub stopped at start; its log: {Path(log.name).read_text()[-3000:]}")
        yield hub, base, passwords, Path(log.name)
    finally:
        if process is not None:
            process.terminate()  # cleanup_servers: the users' servers stop with it
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        hubtool.remove(hub)


def login(browser, base: str, user: str, password: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{base}/hub/login", wait_until="load")
    page.locator("#username_input").fill(user)
    page.locator("#password_input").fill(password)
    page.locator("#login_submit").click()
    page.wait_for_url(re.compile(rf".*/user/{user}/lab.*"), timeout=180_000)
    page.locator("#jp-main-dock-panel").wait_for(timeout=180_000)
    return page


def assignment_list(page, base: str, user: str):
    """JupyterLab's Assignments tab (nbgrader's assignment list), opened from its menu."""
    page.goto(f"{base}/user/{user}/lab", wait_until="load")
    page.locator("#jp-main-dock-panel").wait_for(timeout=120_000)
    page.get_by_role("menuitem", name="Nbgrader").click()
    page.get_by_role("menuitem", name="Assignment List").click()
    page.locator("#released_assignments_list").wait_for(timeout=60_000)
    return page


def press(page, section: str, button: str, timeout: int = 120_000) -> None:
    row = page.locator(f"#{section}", has_text=CHAPTER)
    row.wait_for(timeout=timeout)
    row.get_by_role("button", name=button).first.click()


def fetch_and_open(page, base, user):
    assignment_list(page, base, user)
    press(page, "released_assignments_list", "Fetch")
    page.locator("#fetched_assignments_list", has_text=CHAPTER).wait_for(timeout=60_000)


def rows(hub) -> dict:
    """(student, grade cell) -> (automatic, manual score), as nbgrader's Gradebook reads the instructor's."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{hub.instructor_course / 'gradebook.db'}") as gradebook:
        return {(s.student.id, g.name): (g.auto_score, g.manual_score)
                for s in gradebook.find_assignment(CHAPTER).submissions for n in s.notebooks for g in n.grades}


def notebook_id(hub, student: str) -> str:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{hub.instructor_course / 'gradebook.db'}") as gradebook:
        return gradebook.find_submission_notebook(CHAPTER, CHAPTER, student).id


def test_a_class_on_the_hub_from_fetch_to_feedback(hub):
    from playwright.sync_api import sync_playwright

    hub, base, passwords, log = hub
    first, second = hub.students
    solution = nbformat.read(solution_path(CHAPTER), as_version=4)
    solved = next(iter(solution_cells(solution)))
    answer = solution.cells[solution_cells(solution)[solved]].source
    fetched = hub.home(first) / CHAPTER / f"{CHAPTER}.ipynb"
    outside = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = login(browser, base, first, passwords[first])
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((base, "data:", "blob:")) else None)
        response = page.goto(f"{base}/user/{first}/formgrader", wait_until="load")
        assert response.status == 404, f"a student's server serves the formgrader ({response.status})"
        fetch_and_open(page, base, first)
        assert fetched.is_file(), "Fetch did not put the notebook in the student's home"
        assert fetched.stat().st_uid == hub.home(first).stat().st_uid, "the fetched notebook is not the student's"

        # solve one exercise in the editor, save, Validate: its test passes, the blank ones fail
        page.goto(f"{base}/user/{first}/lab/tree/{CHAPTER}/{CHAPTER}.ipynb", wait_until="load")
        cells = page.locator(".jp-Notebook .jp-Cell")
        cells.first.wait_for(timeout=180_000)
        index = solution_cells(nbformat.read(fetched, as_version=4))[solved]
        cells.nth(index).locator(".cm-content").click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.insert_text(answer)
        page.keyboard.press("Control+S")
        page.wait_for_timeout(1500)
        assert nbformat.read(fetched, as_version=4).cells[index].source.strip() == answer.strip()
        message = press_validate(page)
        failing = re.search(r"tests? fails?: ([^.]*)\.", message)
        assert failing, f"Validate did not list the failing tests: {message[:600]}"
        assert f"test_{solved}" not in failing.group(1), f"the solved exercise still fails: {message[:600]}"

        # submit from the Assignments tab
        assignment_list(page, base, first)
        press(page, "fetched_assignments_list", "Submit")
        page.locator("#submitted_assignments_list", has_text=CHAPTER).wait_for(timeout=60_000)

        # a second student submits the notebook blank
        other = login(browser, base, second, passwords[second])
        fetch_and_open(other, base, second)
        press(other, "fetched_assignments_list", "Submit")
        other.locator("#submitted_assignments_list", has_text=CHAPTER).wait_for(timeout=60_000)
        other.context.close()

        # the instructor collects with nbgrader and grades with the course's grader
        course = hub.instructor_course
        hubtool.as_user(hub, hub.instructor, ["nbgrader", "collect", CHAPTER], cwd=course)
        graded = hubtool.as_user(hub, hub.instructor, ["course", "grade", "--course", str(course), "--assignment",
                                                      CHAPTER, "--workers", "2", "--no-feedback"], cwd=course)
        assert "cannot be confined" not in graded.stdout + graded.stderr, "the grader ran without its jail"
        scores = rows(hub)
        solved_points = scores[(first, f"test_{solved}")][0]
        assert solved_points and solved_points > 0, scores
        assert scores[(second, f"test_{solved}")][0] == 0, scores

        # ... sees both in the formgrader and enters a manual score for the written answer
        teacher = login(browser, base, hub.instructor, passwords[hub.instructor])
        teacher.goto(f"{base}/user/{hub.instructor}/formgrader/manage_submissions/{CHAPTER}", wait_until="load")
        for student in (first, second):
            teacher.locator("body", has_text=student).wait_for(timeout=60_000)
        teacher.goto(f"{base}/user/{hub.instructor}/formgrader/submissions/{notebook_id(hub, first)}/",
                     wait_until="load")
        score = teacher.locator(f"input.score#{WRITTEN}")
        score.wait_for(state="visible", timeout=60_000)
        if not type_manual_score(teacher, score, 1.5, lambda: rows(hub)[(first, WRITTEN)][1]):
            pytest.fail(f"the manual score was not saved: the input holds {score.input_value()!r}, "
                        f"the gradebook {rows(hub)[(first, WRITTEN)]}")

        # feedback with the manual score, released through the exchange
        hubtool.as_user(hub, hub.instructor, ["course", "feedback", "--course", str(course), "--assignment", CHAPTER],
                        cwd=course)
        hubtool.as_user(hub, hub.instructor, ["nbgrader", "release_feedback", CHAPTER], cwd=course)

        # the first student fetches it and reads it
        assignment_list(page, base, first)
        press(page, "submitted_assignments_list", "Fetch Feedback")
        page.locator("#submitted_assignments_list", has_text="view feedback").wait_for(timeout=60_000)
        pages = sorted((hub.home(first) / CHAPTER / "feedback").glob(f"*/{CHAPTER}.html"))
        assert pages, "Fetch Feedback put no page in the student's home"
        stamp = pages[-1].parent.name
        page.goto(f"{base}/user/{first}/files/{CHAPTER}/feedback/{stamp}/{CHAPTER}.html", wait_until="load")
        shown = page.content()
        browser.close()
    mark = re.search(rf'href="#test_{solved}">Test cell</a> \(Score: ([\d.]+) / ([\d.]+)\)', shown)
    assert mark and mark.group(1) == mark.group(2), f"the feedback does not show test_{solved} passed"
    assert re.search(rf'href="#{WRITTEN}">[^<]*</a> \(Score: 1\.5 / ', shown), "the manual score is not in the feedback"
    from dlcourse.grading.feedback import secret_lines

    text = html.unescape(shown)
    leaked = [line for line in secret_lines(CHAPTER) if len(line) >= 20 and line in text]
    assert not leaked, f"the feedback shows hidden tests or solutions: {leaked[:3]}"
    assert not outside, f"the pages contacted other hosts: {outside[:5]}"


def denied(hub, user: str, command: list[str]) -> bool:
    try:
        hubtool.as_user(hub, user, command)
    except hubtool.HubError as error:
        return "Permission denied" in str(error)
    return False


def test_what_a_student_cannot_reach(hub):
    hub, _, _, _ = hub
    first, second = hub.students
    inbound = hub.exchange / hubtool.COURSE_ID / "inbound"
    assert inbound.is_dir()
    for student in (first, second):
        other = second if student == first else first
        assert denied(hub, student, ["ls", str(inbound)]), "a student can list the exchange's inbound folder"
        assert denied(hub, student, ["ls", str(hub.home(other))]), "a student can list another student's home"
        assert denied(hub, student, ["cat", str(hub.course / "solutions" / CHAPTER / f"{CHAPTER}.ipynb")])
        assert denied(hub, student, ["ls", str(hub.course / "tests")])
        assert denied(hub, student, ["ls", str(hub.home(hub.instructor))]), "a student can reach the gradebook"
        for secret in ("passwords", "cookie_secret", "jupyterhub.sqlite"):
            assert (hub.private / secret).exists(), secret
            assert denied(hub, student, ["cat", str(hub.private / secret)]), f"a student can read {secret}"
        assert denied(hub, student, ["ls", str(hub.state)]), "a student can list the hub's state folder"
    # what students need does work: the course's utils in the kernel's Python
    done = hubtool.as_user(hub, first, ["python", "-c", "import utils, torch; print('ok', torch.__version__)"])
    assert done.stdout.startswith("ok 2.14.1"), done.stdout
