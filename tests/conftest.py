"""Shared fixtures. The whole suite runs with the network closed: any socket connection
from the test process to a non-local address fails the test that made it."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# With N pytest-xdist workers on C cores, every kernel they start gets C // N threads. Two
# kernels that each spin two OpenMP threads on two cores thrash: measured on the 2-core CI
# machine, chapter 03's notebook tests took 142 s with 2 threads per kernel and 59 s with 1.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // _WORKERS)))

_LOCAL = ("127.", "::1", "localhost", "0.0.0.0")
_real_connect = socket.socket.connect


def _guarded_connect(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and self.family in (socket.AF_INET, socket.AF_INET6) and not host.startswith(_LOCAL):
        raise RuntimeError(f"test tried to reach the network ({address!r}); the test suite must work offline")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setenv("DLCOURSE_SMOKE", "1")  # notebooks started by the tests run their smoke mode
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # silence debugpy's frozen-modules note
    yield


@pytest.fixture
def root() -> Path:
    return ROOT


# --- scheduling on pytest-xdist workers (`make test`: -n 2 --dist loadscope) ----------------
# One work unit per test file, as --dist loadfile, except the grading self-test, which is one
# unit per chapter so that the two workers grade different chapters at once. (xdist's own
# `xdist_group` marks and --dist loadgroup do nothing with pytest 9.2: xdist 3.8 renames
# `item._nodeid`, which pytest 9 no longer reads; checked with a two-worker experiment.)
GRADING = "tests/test_grading.py"
HEAVY_FIRST = ("tests/test_hub.py", GRADING, "tests/test_book.py", "tests/test_notebooks.py", "tests/test_release.py",
               "tests/test_instructor.py", "tests/test_dask_grading.py")


def pytest_collection_modifyitems(config, items):
    """Longest work first (grading of the latest, biggest chapter first), so that no worker
    starts a long unit while the other one is about to run out of work."""
    def rank(item):
        path = item.nodeid.split("::")[0]
        chapter = item.callspec.params.get("graded", "") if hasattr(item, "callspec") else ""
        return (HEAVY_FIRST.index(path) if path in HEAVY_FIRST else len(HEAVY_FIRST),
                [-ord(c) for c in chapter])
    items.sort(key=rank)


def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    config.option.loadscopereorder = False  # keep the longest-first order of the collection

    class ChapterScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::")[0]
            if path == GRADING and nodeid.endswith("]"):
                return f"{path}[{nodeid.rsplit('[', 1)[1]}"  # e.g. tests/test_grading.py[03_mlp]
            return path

    return ChapterScheduling(config, log)
