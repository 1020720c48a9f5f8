"""Shared fixtures. The whole suite runs with the network closed: any socket connection
from the test process to a non-local address fails the test that made it."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the `tools` package lives at the repository root

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
