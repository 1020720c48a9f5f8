"""tools.sandbox.run_limited against hostile commands: each is stopped by the right limit."""

import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tools.sandbox import Limits, isolation_available, run_limited

REPOSITORY = Path(__file__).resolve().parent.parent  # kept visible (read-only), as the grader keeps it


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
    # the child would write its marker 3 s after the command returned, had it survived
    outcome = run_limited(python("""
        import subprocess, sys
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3); open('survived', 'w').write('x')"])
    """), tmp_path, Limits(wall_seconds=30))
    assert outcome.returncode == 0
    time.sleep(5)
    assert not (tmp_path / "survived").exists(), "the submission's background process survived"


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


def require_isolation():
    if not isolation_available():
        if os.environ.get("CI"):
            pytest.fail("CI machines allow user namespaces (unshare); the sandbox must use them")
        pytest.skip("this machine does not allow user namespaces; commands run unconfined")


def test_no_network_but_loopback_works(tmp_path):
    require_isolation()
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
    assert outcome.isolated, outcome.stderr
    lines = outcome.stdout.splitlines()
    assert lines[0] == "['lo']" and lines[1] == "loopback ok" and lines[2].startswith("network blocked"), outcome.stdout


def test_limits_are_set_without_prlimit_too(tmp_path, monkeypatch):
    import tools.sandbox as sandbox

    real_which = sandbox.shutil.which
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None if name == "prlimit" else real_which(name))
    outcome = run_limited(python("block = bytearray(3 * 2**30)"), tmp_path, Limits(wall_seconds=30, memory_bytes=2**30))
    assert outcome.returncode != 0 and "MemoryError" in outcome.stderr


def test_a_process_that_leaves_its_session_is_killed_too(tmp_path):
    """Jupyter kernels start in a session of their own; so can anything a submission starts."""
    require_isolation()
    outcome = run_limited(python("""
        import os, subprocess, sys
        code = "import time; time.sleep(3); open('survived', 'w').write('x')"
        subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
        print(os.getpid(), len([p for p in os.listdir("/proc") if p.isdigit()]))
    """), tmp_path, Limits(wall_seconds=30))
    own_pid, processes = map(int, outcome.stdout.split())
    assert own_pid == 1 and processes == 2, "the command should see only itself and its child"
    time.sleep(5)
    assert not (tmp_path / "survived").exists(), "a process in a session of its own survived"


def test_files_outside_the_working_folder_are_hidden_or_read_only(tmp_path):
    require_isolation()
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "gradebook.db").write_text("grades")
    (tmp_path / "class" / "work").mkdir()
    own = tmp_path / "class" / "work" / "ann"  # inside a hidden folder, as the grader's scratch courses are
    own.mkdir()
    (own / "mine.txt").write_text("ann's")
    marker = Path.home() / f".dlcourse-sandbox-test-{os.getpid()}"  # e.g. what an ~/.ssh key would be
    marker.write_text("secret")
    outcome = run_limited(python(f"""
        import os, pathlib
        def attempt(what, action):
            try:
                print(what, action())
            except OSError as error:
                print(what, type(error).__name__)
        attempt("read-gradebook", lambda: open({str(tmp_path / "class" / "gradebook.db")!r}).read())
        attempt("list-work", lambda: sorted(os.listdir({str(tmp_path / "class" / "work")!r})))
        attempt("write-repo", lambda: open({str(Path(__file__).resolve())!r}, "a").write("#"))
        attempt("write-usr", lambda: open("/usr/sandbox-test", "w").write("x"))
        attempt("read-own", lambda: open("mine.txt").read())
        attempt("write-own", lambda: open("new.txt", "w").write("ok"))
        attempt("write-tmp", lambda: open("/tmp/x", "w").write("ok"))
        attempt("home", lambda: open({str(marker)!r}).read())
        attempt("write-hidden", lambda: open({str(tmp_path / "class" / "new.db")!r}, "w").write("x"))
    """), own, Limits(wall_seconds=30), hide=[tmp_path / "class"], keep=[REPOSITORY])
    marker.unlink()
    seen = dict(line.split(" ", 1) for line in outcome.stdout.splitlines())
    assert seen == {"read-gradebook": "FileNotFoundError", "list-work": "['ann']", "write-repo": "OSError",
                    "write-usr": "OSError", "read-own": "ann's", "write-own": "2", "write-tmp": "2",
                    "home": "FileNotFoundError", "write-hidden": "OSError"}, outcome.stdout + outcome.stderr
    assert (own / "new.txt").read_text() == "ok", "the working folder is the real one"
    assert not Path("/usr/sandbox-test").exists() and (tmp_path / "class" / "gradebook.db").read_text() == "grades"


def test_kept_folders_under_tmp_stay_visible_read_only(tmp_path):
    """A clone under /tmp (its virtual environment, the repository) is shown again over the
    sandbox's empty /tmp; other files in /tmp are not."""
    require_isolation()
    assert str(tmp_path).startswith("/tmp/"), "pytest's tmp_path is expected under /tmp"
    kept, other, work = tmp_path / "clone", tmp_path / "other", tmp_path / "work"
    for folder in (kept, other, work):
        folder.mkdir()
    (kept / "tool.txt").write_text("kept")
    (other / "secret.txt").write_text("other")
    outcome = run_limited(python(f"""
        import os
        print(open({str(kept / "tool.txt")!r}).read())
        print(os.path.exists({str(other / "secret.txt")!r}))
        try:
            open({str(kept / "new.txt")!r}, "w")
        except OSError as error:
            print(type(error).__name__)
    """), work, Limits(wall_seconds=30), keep=[kept])
    assert outcome.stdout.split() == ["kept", "False", "OSError"], outcome.stdout + outcome.stderr
