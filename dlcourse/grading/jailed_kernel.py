"""The kernel manager that starts a submission's kernel in dlcourse.grading.sandbox's jail (or only
under its limits), talking to the grader over Unix sockets, and kills what the kernel left
running. dlcourse.grading.guard's GuardedExecute uses it for every kernel it starts."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Integer, List, Unicode


from dlcourse.grading.sandbox import Limits, PidsCgroup, jail_command, prlimit_command


# The kernel side of the guard (dlcourse/grading/kernel_guard.py): bound read-only into the jail so
# that the kernel's first cell (dlcourse.grading.guard.SNAPSHOT) can load it by path.
KERNEL_GUARD = Path(__file__).resolve().with_name("kernel_guard.py")


def _namespace_pid(pid: int) -> int | None:
    """The PID of process ``pid`` inside its own (innermost) PID namespace."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    except (OSError, ValueError):
        pass
    return None


def _descendants(pid: int) -> list[int]:
    import psutil

    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


JAIL_SOCKETS = "/tmp/kernel-ipc"  # where the kernel binds its sockets, in the jail's own (size-limited) /tmp


class JailedKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel in dlcourse.grading.sandbox's jail (``jail`` True) or, with
    ``jail`` False, only under its limits.

    The jail has no network (loopback aside), so the kernel talks to the grader over Unix sockets.
    It binds them in its own /tmp (a size-limited tmpfs: nothing of the host is writable to it), and
    the grader reaches them through ``/proc/<the jail's PID 1>/root``, the jail's file system seen
    from outside. The connection file (with the key that signs messages) is shown to it read-only.
    Processes of the jail are counted and killed from outside: the jail's PID namespace makes
    every one of them a descendant of the launched process, and a pids cgroup (where available)
    limits how many there can be."""

    jail = Bool(True, help="run the kernel in the jail (False: limits only)").tag(config=True)
    disk_bytes = Integer(Limits.disk_bytes, help="size of each writable folder of the jail").tag(config=True)
    processes = Integer(Limits.processes, help="processes and threads in the jail").tag(config=True)
    memory_bytes = Integer(Limits.memory_bytes, help="address space per process").tag(config=True)
    cpu_seconds = Integer(Limits.cpu_seconds, help="CPU time per process").tag(config=True)
    readable = List(Unicode(), help="folders the kernel may read besides Python and /usr").tag(config=True)
    home = Unicode("", help="a folder whose files are copied into the jail's home folder").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._private = Path(tempfile.mkdtemp(prefix="dlk-"))
        self._cgroup = PidsCgroup(self.processes, memory=self.memory_bytes)
        if self.jail:
            self.transport = "ipc"
            self.connection_file = str(self._private / "kernel.json")
            self.ip = JAIL_SOCKETS  # written into the connection file: the kernel binds there

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        await super()._async_launch_kernel(kernel_cmd, **kw)
        if self.jail:  # from now on the grader's side connects through the jail's root
            self.ip = f"/proc/{self._jail_init()}/root{JAIL_SOCKETS}"

    def _jail_init(self) -> int:
        """The grader-side PID of the jail's PID 1: bubblewrap's first child, in a mount namespace
        of its own from the moment it exists."""
        import psutil

        ours = os.readlink("/proc/self/ns/mnt")
        process = psutil.Process(self.provisioner.process.pid)
        for _ in range(400):
            for child in process.children():
                try:
                    if os.readlink(f"/proc/{child.pid}/ns/mnt") != ours:
                        return child.pid
                except OSError:
                    pass
            if not process.is_running():
                break
            time.sleep(0.025)
        raise RuntimeError("the kernel's jail did not start (bubblewrap exited or is stuck); "
                           "check that `bwrap` runs on this machine (dlcourse.grading.sandbox.jail_available)")

    @property
    def limits(self) -> Limits:
        return Limits(memory_bytes=self.memory_bytes, cpu_seconds=self.cpu_seconds, disk_bytes=self.disk_bytes,
                      processes=self.processes)

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        workdir = Path((self._launch_args or {}).get("cwd") or os.getcwd())
        if not self.jail:
            return [*self._cgroup.join_command(), *prlimit_command(self.limits, files=True), *command]
        return jail_command(command, workdir, self.limits,
                            readable=[*(Path(p) for p in self.readable), Path(self.connection_file), KERNEL_GUARD],
                            cgroup=self._cgroup, private=self._private,
                            home=Path(self.home) if self.home else None)

    def jail_pids(self) -> list[int]:
        """Processes of the jail that are not the kernel (nor bubblewrap's own): what the
        submission started and left running."""
        process = getattr(self.provisioner, "process", None)
        if process is None:
            return []
        return [pid for pid in _descendants(process.pid) if _namespace_pid(pid) not in (1, 2)] if self.jail else \
            _descendants(process.pid)

    def end_leftovers(self) -> int:
        """SIGKILL what the submission left running; returns how many processes that was."""
        pids = self.jail_pids()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        return len(pids)

    def process_limit_reached(self) -> bool:
        return self._cgroup.limit_reached()

    def memory_limit_reached(self) -> bool:
        return self._cgroup.memory_limit_reached()

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            self._cgroup.remove()
            shutil.rmtree(self._private, ignore_errors=True)
