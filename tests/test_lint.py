"""Every Python file of the course's packages, tests and scripts passes pyflakes (pinned in
pyproject.toml): no unused import, undefined name or shadowed definition."""

import subprocess
import sys

from dlcourse.notebooks import ROOT

FOLDERS = ["utils", "dlcourse", "tests", "scripts", "book/_ext"]  # not mutants/: cells of a notebook, run in its namespace


def test_the_code_passes_pyflakes():
    result = subprocess.run([sys.executable, "-m", "pyflakes", *FOLDERS], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"pyflakes:\n{result.stdout}{result.stderr}"
