"""Run one command with limits: wall-clock time, CPU time, memory, output size, and no network
where the operating system allows it. The grader runs each submission's `nbgrader autograde`
through :func:`run_limited`, so that an infinite loop, a memory bomb or a process that ignores
SIGINT costs that submission its grade and nothing else.

- wall clock: the whole process group (the kernel included) gets SIGKILL at the limit, which
  no Python code can catch or ignore;
- CPU time and memory: ``RLIMIT_CPU`` and ``RLIMIT_AS`` set by ``prlimit`` before the command
  starts (inherited by the kernel). The address-space limit must leave room for PyTorch: importing the
  CUDA build of torch maps about 4.6 GB of virtual memory on a CPU-only machine;
- isolation (``unshare``: new user, network, PID and mount namespaces), where the operating
  system allows it (:func:`isolation_available`; otherwise the command runs unconfined and
  ``Outcome.isolated`` is False):
  - network: only the loopback interface, up (Jupyter kernels talk to their client over 127.0.0.1);
  - processes: the command is PID 1 of its own PID namespace, so when it ends or is killed every
    process it started ends with it, even one that left its process group (Jupyter kernels start in
    a session of their own); it sees no other process of the machine;
  - files: the whole file system is read-only; ``/tmp`` and ``/dev/shm`` are private, empty and
    writable; the home folder and the folders in ``hide`` look empty and are read-only (``HOME``
    should point into ``cwd``); ``cwd`` is the one writable folder that persists. The Python installation stays
    visible (read-only) even where it lies in a hidden folder, and so do the folders in ``keep``;
- output: stdout and stderr go to files, and only the first ``max_output_bytes`` are read back.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import signal
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_UNSHARE = ["unshare", "--map-root-user", "--net", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc"]


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 600.0  # the whole command, kernel start included
    cpu_seconds: int = 900  # CPU time of the main process and, separately, of each child (RLIMIT_CPU is per process)
    memory_bytes: int = 8 * 2**30  # address space per process; torch alone maps about 4.6 GB
    max_output_bytes: int = 1_000_000  # of stdout and of stderr read back
    isolate: bool = True  # network, processes and files, where the system allows it


@dataclass
class Outcome:
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    limit: str | None = None  # which limit stopped the command, if any
    isolated: bool = False  # whether it ran in its own namespaces

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.limit is None


@functools.cache
def isolation_available() -> bool:
    """Whether this machine lets us run commands in their own user, network, PID and mount
    namespaces (Linux with unprivileged user namespaces, util-linux `unshare`, iproute2 `ip`)."""
    if not (shutil.which("unshare") and shutil.which("ip")):
        return False
    probe = "ip link set lo up && mount -o remount,bind,ro / && mount -t tmpfs tmpfs /tmp"
    try:
        return subprocess.run([*_UNSHARE, "sh", "-c", probe], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _confine(cwd: Path, hide: list[Path], keep: list[Path]) -> list[str]:
    """``sh -c`` arguments that set up the namespaces' file system view, then exec "$@".

    Folders to show again inside hidden ones are opened (file descriptors 3, 4, ...) before
    anything is hidden and bound back from /proc/self/fd afterwards.
    """
    cwd = cwd.resolve()
    home = Path.home().resolve()
    hidden = [home] + [p.resolve() for p in hide]
    python = {Path(sys.prefix), Path(sys.base_prefix), Path(os.path.realpath(sys.executable)).parent}
    shown = sorted({p.resolve() for p in [*python, *keep] if p.exists()} - {cwd})
    # /tmp and /dev/shm become empty tmpfs too: a clone (its virtual environment) under /tmp is shown again
    scratch = [Path("/tmp").resolve(), Path("/dev/shm").resolve()]
    shown = [p for p in shown if any(_under(p, h) for h in [*hidden, *scratch]) and not _under(p, cwd)]
    if len(shown) > 6:
        raise ValueError(f"at most 6 folders can be kept visible inside hidden ones (sh has fds 3-9): {shown}")
    q = shlex.quote
    lines = ["set -e", "ip link set lo up"]
    lines += [f"exec {fd}<{q(str(p))}" for fd, p in enumerate([cwd, *shown], start=3)]
    # every mount read-only (those of /proc, /sys and /dev aside), then private scratch space
    lines += ["awk '{print $5}' /proc/self/mountinfo | while read -r m; do case \"$m\" in /proc*|/sys*|/dev*) ;; "
              "*) mount -o remount,bind,ro \"$m\" 2>/dev/null || true ;; esac; done",
              "mount -t tmpfs -o mode=1777 tmpfs /tmp", "mount -t tmpfs -o mode=1777 tmpfs /dev/shm"]
    covered = {p for p in hidden if p != Path("/") and not _under(p, cwd)}
    fds = {p: fd for fd, p in enumerate(shown, start=4)}
    # outer folders first, so that a folder hidden inside a shown one (solutions/ in the repository)
    # is covered after the shown one is bound, and a folder shown inside a hidden one (the Python
    # install in the home folder) after the hidden one is covered; at the same path, showing wins
    for p in sorted(covered | set(shown), key=lambda p: (len(p.parts), p in fds, str(p))):
        if p in fds:
            lines += [f"mkdir -p {q(str(p))}", f"mount --no-canonicalize --rbind /proc/self/fd/{fds[p]} {q(str(p))}",
                      f"mount -o remount,bind,ro {q(str(p))}"]
        else:  # (one in /tmp is gone already; the empty tmpfs hides its path too)
            lines.append(f"if mkdir -p {q(str(p))} 2>/dev/null; then mount -t tmpfs -o mode=755 tmpfs {q(str(p))}; fi")
    lines += [f"mkdir -p {q(str(cwd))}", f"mount --no-canonicalize --rbind /proc/self/fd/3 {q(str(cwd))}",
              f"mount -o remount,bind,rw {q(str(cwd))}"]
    # hidden folders are read-only too: nothing written there could be mistaken for real
    for p in sorted(covered - set(shown), key=lambda p: len(p.parts), reverse=True):
        lines.append(f"if mountpoint -q {q(str(p))}; then mount -o remount,ro {q(str(p))}; fi")
    lines += [f"exec {fd}<&-" for fd in range(3, 4 + len(shown))]
    lines += [f"cd {q(str(cwd))}", 'exec "$@"']
    return ["sh", "-c", "\n".join(lines), "sandbox"]


def _with_limits(command: list[str], limits: Limits) -> tuple[list[str], object]:
    """The command wrapped so that it starts with the CPU and memory limits set.

    util-linux's ``prlimit`` sets them and execs the command; without it, a ``preexec_fn``
    does the same between fork and exec (not safe when other threads run, as in the
    grader's thread pool, hence the preference).
    """
    if shutil.which("prlimit"):
        return ["prlimit", f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 5}",
                f"--as={limits.memory_bytes}", "--", *command], None

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    return list(command), apply


def _read(handle, limit: int) -> str:
    handle.seek(0)
    data = handle.read(limit + 1)
    text = data[:limit].decode("utf-8", errors="replace")
    return text + (f"\n[output cut at {limit} bytes]" if len(data) > limit else "")


def run_limited(command: list[str], cwd: Path, limits: Limits = Limits(), env: dict[str, str] | None = None,
                hide: list[Path] = (), keep: list[Path] = ()) -> Outcome:
    """Run ``command`` in ``cwd`` under ``limits``; never raises for what the command does.

    Where isolation is available, ``cwd`` is the only persistent writable folder, the folders in
    ``hide`` (and the home folder) look empty, and those in ``keep`` stay visible read-only.
    """
    isolated = limits.isolate and isolation_available()
    limited, preexec = _with_limits(command, limits)
    argv = [*_UNSHARE, *_confine(Path(cwd), list(hide), list(keep)), *limited] if isolated else limited
    start = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                   preexec_fn=preexec, start_new_session=True)
        limit, deadline = None, start + limits.wall_seconds
        try:
            # wait4 also gives the CPU time of the command (unshare waits for it, so it is counted)
            while not (done := os.wait4(process.pid, os.WNOHANG))[0]:
                if time.monotonic() > deadline:
                    limit = f"wall-clock limit of {limits.wall_seconds:g} s"
                    break
                time.sleep(0.05)
        finally:
            try:  # without namespaces, anything started by the command is in its process group
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if limit:
            done = os.wait4(process.pid, 0)
        _, status, usage = done
        code = process.returncode = os.waitstatus_to_exitcode(status)
        if limit is None and usage.ru_utime + usage.ru_stime >= limits.cpu_seconds:
            limit = f"CPU-time limit of {limits.cpu_seconds} s"
        return Outcome(code, _read(out, limits.max_output_bytes), _read(err, limits.max_output_bytes),
                       time.monotonic() - start, limit, isolated)
