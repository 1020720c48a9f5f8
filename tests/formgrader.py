"""A real Jupyter server with nbgrader's formgrader on a course folder, for the tests that use it
the way an instructor does (the browser tests, and the manual grades of tests/test_regrade.py)."""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dlcourse.notebooks import tool_environment


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def formgrader(course: Path, scratch: Path):
    """Yields (base URL, token) of a Jupyter server rooted at ``course``; stops it afterwards."""
    port, token = _free_port(), secrets.token_hex(16)
    from dlcourse.authoring import mathjax

    mathjax.install()
    env = tool_environment(JUPYTER_RUNTIME_DIR=str(scratch / "runtime"), HOME=str(scratch / "home"),
                           JUPYTER_CONFIG_DIR=str(scratch / "config"), **mathjax.environment())
    server = subprocess.Popen([sys.executable, "-m", "jupyter", "server", f"--port={port}", "--ip=127.0.0.1",
                               "--no-browser", f"--IdentityProvider.token={token}", "--allow-root",
                               f"--ServerApp.root_dir={course}"], cwd=course, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"the Jupyter server did not start: {server.stderr.read1(4000).decode(errors='replace')}")
        yield base, token
    finally:
        server.terminate()
        server.wait(timeout=30)


def type_manual_score(page, score, value: float, recorded) -> bool:
    """Type ``value`` into the formgrader's score input ``score`` and leave it (the page saves on
    change) until ``recorded()`` (the gradebook's manual score) is ``value``: 20 s per try, three
    tries, as a loaded machine can re-render the input under the first key presses."""
    page.wait_for_load_state("networkidle")  # the page renders its inputs after loading the grades
    for _ in range(3):
        score.fill(f"{value:g}")
        score.press("Tab")
        for _ in range(40):
            if recorded() == value:
                return True
            page.wait_for_timeout(500)
    return False


def api(base: str, token: str, path: str, method: str = "GET", body: dict | None = None):
    """A call to the formgrader's REST API (what its Manual Grading page sends), as JSON."""
    request = urllib.request.Request(f"{base}/formgrader/api/{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")
