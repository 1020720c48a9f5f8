"""dlcourse.grading.sandbox against hostile commands: run_limited stops each one by the right limit, and the
jail (bubblewrap) in which students' code runs gives it no way out: no capabilities, no mounts,
no namespaces, an allow-list file system, no network, its own processes only, limited disk and
processes, none of the grader's environment."""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dlcourse.grading.sandbox import JAIL_UID, Limits, jail_available, jail_missing_reason, pids_cgroup_root, run_jailed, run_limited

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


def test_limits_are_set_without_prlimit_too(tmp_path, monkeypatch):
    import dlcourse.grading.sandbox as sandbox

    real_which = sandbox.shutil.which
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None if name == "prlimit" else real_which(name))
    outcome = run_limited(python("block = bytearray(3 * 2**30)"), tmp_path, Limits(wall_seconds=30, memory_bytes=2**30))
    assert outcome.returncode != 0 and "MemoryError" in outcome.stderr




# --- the jail -------------------------------------------------------------------------------------

def require_jail():
    if not jail_available():
        if os.environ.get("CI"):
            pytest.fail(f"CI machines can run bubblewrap; the grader must confine submissions: {jail_missing_reason()}")
        pytest.skip(f"no jail on this machine: {jail_missing_reason()}")


def jailed(code: str, workdir: Path, limits: Limits = Limits(wall_seconds=60), **kwargs):
    require_jail()
    workdir.mkdir(exist_ok=True)
    return run_jailed(python(code), workdir, limits, readable=[REPOSITORY / "utils"], **kwargs)


def test_the_jail_runs_python_with_the_course_utils_and_no_privileges(tmp_path):
    outcome = jailed("""
        import os, utils, torch
        status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
        print(os.getuid(), os.geteuid(), utils.__name__, torch.tensor([1.0, 2.0]).sum().item())
        for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs"):
            print(key, status[key].strip())
    """, tmp_path / "work")
    assert outcome.ok, outcome.stderr
    lines = outcome.stdout.splitlines()
    assert lines[0] == f"{JAIL_UID} {JAIL_UID} utils 3.0"
    assert lines[1:] == [f"{key} 0000000000000000" for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")] + \
        ["NoNewPrivs 1"], lines


def test_the_jail_cannot_mount_unmount_remount_or_make_namespaces(tmp_path):
    """The attacks that opened the old sandbox: remount read-write and write, unmount a cover, mount a
    new file system, the same through ctypes without a subprocess, unshare and nsenter, a setuid binary."""
    outcome = jailed(f"""
        import ctypes, os, subprocess
        repo = {str(REPOSITORY)!r}
        for command in [f"mount -o remount,rw,bind {{repo}}/utils && touch {{repo}}/utils/JAILBREAK",
                        "mount -o remount,rw / && touch /JAILBREAK", f"umount {{repo}}/utils",
                        "umount -l /usr", "mount -t tmpfs none /tmp", "unshare -Urm true", "unshare -m true",
                        "nsenter -t 1 -m -U true", "su -c id root"]:
            done = subprocess.run(command, shell=True, capture_output=True)
            print(done.returncode != 0, command)
        libc = ctypes.CDLL(None, use_errno=True)
        print(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) == -1, "ctypes mount")
        print(libc.mount(None, b"/usr", None, 32 | 4096 | 16384, None) == -1, "ctypes remount")  # MS_REMOUNT|MS_BIND
        print(libc.umount2(b"/usr", 2) == -1, "ctypes umount")  # MNT_DETACH
        print(libc.unshare(0x10000000) == -1, "ctypes unshare(CLONE_NEWUSER)")
        print(libc.setuid(0) == -1, "setuid(0)")
    """, tmp_path / "work")
    assert outcome.ok, outcome.stderr
    failed = [line for line in outcome.stdout.splitlines() if not line.startswith("True")]
    assert len(outcome.stdout.splitlines()) == 14 and not failed, outcome.stdout
    assert not (REPOSITORY / "utils" / "JAILBREAK").exists() and not Path("/JAILBREAK").exists()


def test_the_jail_sees_only_what_it_is_given(tmp_path):
    marker = Path.home() / f".dlcourse-jail-test-{os.getpid()}"  # e.g. what an ~/.ssh key would be
    marker.write_text("secret")
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "gradebook.db").write_text("grades")
    try:
        outcome = jailed(f"""
            import os
            for path in [{str(REPOSITORY / "solutions")!r}, {str(REPOSITORY / "dlcourse" / "grading" / "grade.py")!r}, {str(marker)!r},
                         {str(tmp_path / "class")!r}, {str(REPOSITORY / "README.md")!r}, "/etc/shadow", "/root"]:
                print(os.path.exists(path), path)
            print(sorted(os.listdir({str(REPOSITORY)!r})))
            for path in [{str(REPOSITORY / "utils" / "new.py")!r}, "/usr/new", {str(REPOSITORY / "new")!r}, "/new",
                         "/etc/new", "/run/new", "/dev/new", "new.txt", "/tmp/new"]:
                try:
                    open(path, "w").write("x")
                    print("written", path)
                except OSError as error:
                    print(type(error).__name__, path)
        """, tmp_path / "work")
    finally:
        marker.unlink()
    lines = outcome.stdout.splitlines()
    assert all(line.startswith("False") for line in lines[:6]), outcome.stdout + outcome.stderr
    shown = sorted({"utils"} | {Path(sys.prefix).resolve().relative_to(REPOSITORY).parts[0]}
                   if Path(sys.prefix).resolve().is_relative_to(REPOSITORY) else {"utils"})
    assert lines[7] == str(shown), lines[7]  # the course's utils, and the virtual environment if it lies there
    # the jail's /tmp is its own tmpfs: a clone under /tmp has its folders there, writable to it but not on the host
    in_tmp = "written" if REPOSITORY.is_relative_to("/tmp") else "OSError"
    assert lines[8:] == [f"OSError {REPOSITORY / 'utils' / 'new.py'}", "OSError /usr/new", f"{in_tmp} {REPOSITORY / 'new'}",
                         "OSError /new", "OSError /etc/new", "OSError /run/new", "OSError /dev/new", "written new.txt",
                         "written /tmp/new"], lines[8:]
    assert not (REPOSITORY / "new").exists() and not (REPOSITORY / "utils" / "new.py").exists()
    assert not (tmp_path / "work" / "new.txt").exists(), "the working folder is a private copy"


def test_the_jail_has_no_network_but_loopback(tmp_path):
    outcome = jailed("""
        import socket
        print(sorted(name for _, name in socket.if_nameindex()))
        server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen()
        socket.create_connection(server.getsockname(), timeout=5)
        print("loopback ok")
        try:
            socket.create_connection(("192.0.2.1", 80), timeout=5)
            print("reached the network")
        except OSError as error:
            print("network blocked")
    """, tmp_path / "work")
    assert outcome.stdout.split("\n")[:3] == ["['lo']", "loopback ok", "network blocked"], outcome.stdout + outcome.stderr


def test_the_jail_cannot_see_signal_or_trace_the_grader(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCOURSE_GRADER_SECRET", "hunter2")  # as a token in the instructor's environment would be
    outcome = jailed(f"""
        import ctypes, os, signal
        print(sorted(int(p) for p in os.listdir("/proc") if p.isdigit()) == [1, 2], "only itself and the jail's init")
        for pid in ({os.getpid()}, {os.getppid()}):
            try:
                os.kill(pid, signal.SIGKILL)
                print(False, "killed", pid)
            except ProcessLookupError:
                print(True, "no such process", pid)
        libc = ctypes.CDLL(None, use_errno=True)
        print(libc.ptrace(16, {os.getpid()}, None, None) == -1, "ptrace attach to the grader")  # PTRACE_ATTACH
        print("DLCOURSE_GRADER_SECRET" not in open("/proc/self/environ").read()
              and "DLCOURSE_GRADER_SECRET" not in open("/proc/1/environ").read(), "environment")
    """, tmp_path / "work")
    lines = outcome.stdout.splitlines()
    assert len(lines) == 5 and all(line.startswith("True") for line in lines), outcome.stdout + outcome.stderr


def test_disk_is_limited_and_nothing_reaches_the_host(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    outcome = jailed("""
        import os
        for path in ["big.bin", "/tmp/big.bin", os.path.expanduser("~/big.bin")]:
            try:
                with open(path, "wb") as handle:
                    for _ in range(64):
                        handle.write(b"x" * 2**20)
                print("wrote 64 MiB", path)
            except OSError as error:
                print(type(error).__name__, error.strerror, path)
    """, tmp_path / "work", Limits(wall_seconds=60, disk_bytes=16 * 2**20))
    lines = outcome.stdout.splitlines()
    assert len(lines) == 3 and all(line.startswith("OSError") for line in lines), outcome.stdout + outcome.stderr
    assert any("File too large" in line or "No space left" in line for line in lines)
    assert list((tmp_path / "work").iterdir()) == []


def test_processes_are_limited_and_none_outlives_the_jail(tmp_path):
    require_jail()
    if not pids_cgroup_root() and os.getuid() == 0:
        pytest.fail("no pids cgroup on this machine, and RLIMIT_NPROC does not apply to root: a fork bomb is not stopped")
    out = tmp_path / "out"
    out.mkdir()
    outcome = jailed(f"""
        import subprocess, sys
        started = 0
        try:
            for _ in range(500):
                subprocess.Popen(["sleep", "60"])
                started += 1
        except OSError as error:
            print("stopped at", started, type(error).__name__)
        code = "import time; time.sleep(3); open({str(out / 'survived')!r}, 'w').write('x')"
        subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    """, tmp_path / "work", Limits(wall_seconds=60, processes=40), writable=[out])
    assert outcome.stdout.startswith("stopped at"), outcome.stdout + outcome.stderr
    assert int(outcome.stdout.split()[2]) < 40
    time.sleep(5)
    assert not (out / "survived").exists(), "a process of the jail outlived it"


def test_cgroups_left_by_a_killed_grader_are_removed():
    from dlcourse.grading.sandbox import CGROUP_PREFIX, PidsCgroup

    require_jail()
    root = pids_cgroup_root()
    if root is None:
        if os.environ.get("CI"):
            pytest.fail("CI machines offer a pids cgroup; the grader must limit processes with it")
        pytest.skip("no pids cgroup on this machine")
    child = subprocess.Popen(["true"])  # its PID belongs to no process any more once it is reaped
    child.wait()
    stale = root / f"{CGROUP_PREFIX}{child.pid}-0123456789ab"
    ours = PidsCgroup(8)
    stale.mkdir()
    try:
        assert PidsCgroup.remove_stale() >= 1
        assert not stale.exists() and ours.path.exists(), "only the cgroups of graders that ended are removed"
    finally:
        ours.remove()
        if stale.exists():
            stale.rmdir()


def test_the_jail_memory_counts_its_tmpfs_files(tmp_path):
    """An address-space limit per process does not count what a jail keeps in its tmpfs folders
    (RAM): the memory cgroup does. Files of 100 MiB written to /tmp and /dev/shm stop at the
    jail's memory limit (384 MiB), well before the disk limit of each folder (1 GiB) is reached."""
    from dlcourse.grading.sandbox import memory_cgroup_root

    require_jail()
    if memory_cgroup_root() is None:
        if os.environ.get("CI"):
            pytest.fail("CI machines offer a memory cgroup; the grader must limit a jail's memory with it")
        pytest.skip("no memory cgroup on this machine")
    outcome = jailed("""
        import sys
        for folder in ("/tmp", "/dev/shm"):
            for index in range(9):
                with open(f"{folder}/fill{index}", "wb") as handle:
                    handle.write(bytes(100 * 2**20))
                print(folder, index + 1, flush=True)
        print("all written")
    """, tmp_path / "work", Limits(wall_seconds=60, memory_bytes=384 * 2**20, disk_bytes=2**30))
    assert "all written" not in outcome.stdout, outcome.stdout
    written = len(outcome.stdout.splitlines())
    assert 1 <= written < 5, outcome.stdout + outcome.stderr  # about 384 MiB of the 1.8 GiB
