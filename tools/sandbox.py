"""Run one command with limits: wall-clock time, CPU time, memory, output size, and no network
where the operating system allows it. The grader runs each submission's `nbgrader autograde`
through :func:`run_limited`, so that an infinite loop, a memory bomb or a process that ignores
SIGINT costs that submission its grade and nothing else.

- wall clock: the whole process group (the kernel included) gets SIGKILL at the limit, which
  no Python code can catch or ignore;
- CPU time and memory: ``RLIMIT_CPU`` and ``RLIMIT_AS`` set by ``prlimit`` before the command
  starts (inherited by the kernel). The address-space limit must leave room for PyTorch: importing the
  CUDA build of torch maps about 4.6 GB of virtual memory on a CPU-only machine;
- network: the command runs in a new network namespace with only the loopback interface up
  (``unshare --net --map-root-user``; Jupyter kernels talk to their client over 127.0.0.1).
  Where namespaces are not allowed, :func:`network_isolation_available` says so and the command
  runs with the host's network;
- output: stdout and stderr go to files, and only the first ``max_output_bytes`` are read back.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_ISOLATE = ["unshare", "--net", "--map-root-user", "sh", "-c", 'ip link set lo up && exec "$0" "$@"']


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 600.0  # the whole command, kernel start included
    cpu_seconds: int = 900  # CPU time of the main process and, separately, of each child (RLIMIT_CPU is per process)
    memory_bytes: int = 8 * 2**30  # address space per process; torch alone maps about 4.6 GB
    max_output_bytes: int = 1_000_000  # of stdout and of stderr read back
    isolate_network: bool = True


@dataclass
class Outcome:
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    limit: str | None = None  # which limit stopped the command, if any
    network_isolated: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.limit is None


@functools.cache
def network_isolation_available() -> bool:
    """Whether this machine lets us run commands in a private network namespace."""
    if not (shutil.which("unshare") and shutil.which("ip")):
        return False
    try:
        return subprocess.run([*_ISOLATE, "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


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


def run_limited(command: list[str], cwd: Path, limits: Limits = Limits(), env: dict[str, str] | None = None) -> Outcome:
    """Run ``command`` in ``cwd`` under ``limits``; never raises for what the command does."""
    isolated = limits.isolate_network and network_isolation_available()
    limited, preexec = _with_limits(command, limits)
    argv = [*_ISOLATE, *limited] if isolated else limited
    start = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                   preexec_fn=preexec, start_new_session=True)
        limit = None
        try:
            process.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            limit = f"wall-clock limit of {limits.wall_seconds:g} s"
        finally:
            try:  # the kernel and anything the submission started live in the same process group
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
        code = process.returncode
        if limit is None and code == -signal.SIGXCPU:
            limit = f"CPU-time limit of {limits.cpu_seconds} s"
        return Outcome(code, _read(out, limits.max_output_bytes), _read(err, limits.max_output_bytes),
                       time.monotonic() - start, limit, isolated)
