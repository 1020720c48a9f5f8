"""tools.sandbox.run_limited against hostile commands: each is stopped by the right limit."""

import os
import sys
import textwrap
import time

import pytest

from tools.sandbox import Limits, network_isolation_available, run_limited


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_a_normal_command_runs_and_reports_its_output(tmp_path):
    outcome = run_limited(python("import os; print('hello from', os.getcwd())"), tmp_path, Limits(wall_seconds=30))
    assert outcome.ok and outcome.limit is None
    assert outcome.stdout.strip() == f"hello from {tmp_path}"


def test_a_loop_that_ignores_sigint_is_killed_at_the_wall_clock_limit(tmp_path):
    outcome = run_limited(python("""
        import signal
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            pass
    """), tmp_path, Limits(wall_seconds=2))
    assert not outcome.ok and "wall-clock limit of 2 s" in outcome.limit
    assert outcome.seconds < 10


def test_processes_left_behind_are_killed(tmp_path):
    marker = tmp_path / "pid"
    outcome = run_limited(python(f"""
        import subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
        open({str(marker)!r}, "w").write(str(child.pid))
    """), tmp_path, Limits(wall_seconds=30))
    assert outcome.returncode == 0
    pid = int(marker.read_text())
    deadline = time.monotonic() + 5  # SIGKILL is asynchronous: give the kernel a moment to reap it
    while time.monotonic() < deadline:
        state = open(f"/proc/{pid}/stat").read().split()[2] if os.path.exists(f"/proc/{pid}") else "gone"
        if state in ("gone", "Z"):
            break
        time.sleep(0.05)
    assert state in ("gone", "Z"), f"the submission's background process survived (state {state})"


def test_a_memory_bomb_hits_the_memory_limit(tmp_path):
    outcome = run_limited(python("block = bytearray(3 * 2**30)"), tmp_path,
                          Limits(wall_seconds=30, memory_bytes=1 * 2**30))
    assert outcome.returncode != 0 and "MemoryError" in outcome.stderr


def test_a_cpu_burner_hits_the_cpu_limit(tmp_path):
    outcome = run_limited(python("while True:\n    pass"), tmp_path, Limits(wall_seconds=30, cpu_seconds=1))
    assert outcome.limit == "CPU-time limit of 1 s"
    assert outcome.seconds < 15


def test_huge_output_is_cut(tmp_path):
    outcome = run_limited(python("print('x' * 3_000_000)"), tmp_path, Limits(wall_seconds=30, max_output_bytes=1000))
    assert outcome.ok and len(outcome.stdout) < 1100 and "output cut at 1000 bytes" in outcome.stdout


def test_no_network_but_loopback_works(tmp_path):
    if not network_isolation_available():
        if os.environ.get("CI"):
            pytest.fail("CI machines allow network namespaces (unshare --net); the sandbox must use them")
        pytest.skip("this machine does not allow network namespaces; commands run with the host network")
    outcome = run_limited(python("""
        import socket
        print(sorted(name for _, name in socket.if_nameindex()))
        server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen()
        client = socket.create_connection(server.getsockname(), timeout=5)
        print("loopback ok")
        try:
            socket.create_connection(("192.0.2.1", 80), timeout=5)
            print("reached the network")
        except OSError as error:
            print("network blocked:", error.errno)
    """), tmp_path, Limits(wall_seconds=30))
    assert outcome.network_isolated, outcome.stderr
    lines = outcome.stdout.splitlines()
    assert lines[0] == "['lo']" and lines[1] == "loopback ok" and lines[2].startswith("network blocked"), outcome.stdout


def test_limits_are_set_without_prlimit_too(tmp_path, monkeypatch):
    import tools.sandbox as sandbox

    real_which = sandbox.shutil.which
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None if name == "prlimit" else real_which(name))
    outcome = run_limited(python("block = bytearray(3 * 2**30)"), tmp_path, Limits(wall_seconds=30, memory_bytes=2**30))
    assert outcome.returncode != 0 and "MemoryError" in outcome.stderr
