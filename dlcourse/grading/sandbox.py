"""Limits and confinement for grading untrusted code.

Two layers, used by dlcourse.grading.grade:

- :func:`run_limited` runs one trusted command (a submission's `nbgrader autograde`) with a wall
  clock (the whole process group gets SIGKILL at the limit), CPU-time and address-space limits
  (``prlimit``), and caps on the output read back. It does not confine the command: nbgrader
  itself runs only the course's code.
- :func:`jail_command` wraps the command that starts a student's code (the Jupyter kernel) in a
  jail built with Debian's ``bubblewrap`` (``bwrap``). The jail is an allow-list: it starts from an
  empty root and binds read-only only what a kernel needs (the system's ``/usr``, the Python
  installation and virtual environment, the course's ``utils`` package, data folders), plus a
  working folder, ``/tmp``, ``/dev/shm`` and a home folder that are private, size-limited tmpfs
  (``Limits.disk_bytes`` each; nothing written there reaches the host). The repository's
  ``solutions/`` and ``dlcourse/`` (but its kernel guard), the grading course and its gradebook, other students' files and
  the grader's home folder are simply absent. Inside, the code runs as uid 1000 of a new user
  namespace with every capability set, the bounding set included, empty and ``no_new_privs`` set
  (bwrap does this), so it cannot mount, unmount, remount, create namespaces (``--disable-userns``),
  ``setns`` or ``ptrace`` anything outside its own processes. It has its own PID namespace (it sees
  only its own processes, and when the kernel ends they all end), its own network namespace with
  loopback only (the kernel talks to the grader over Unix sockets), its own IPC and UTS namespaces,
  and an environment that holds only what :func:`jail_command` sets (the grader's variables, tokens
  included, never reach it). Limits: address space, CPU time, file size (``prlimit``), and the
  number of processes: a ``pids`` cgroup where the system offers one (:func:`pids_cgroup_root`),
  else ``RLIMIT_NPROC``, which Linux does not enforce when the jail's user maps to root outside.

Where bubblewrap cannot run (:func:`jail_available`; not installed, or no user namespaces) the
kernel runs unconfined with the limits only, and dlcourse.grading.grade warns.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

JAIL_UID = 1000  # the student's uid inside the jail's user namespace: not root, no capabilities
JAIL_HOME = "/home/student"
SEED = "/run/dlcourse/seed"  # the working folder's files as the grader left them, read-only, copied in at start
HOME_SEED = "/run/dlcourse/home"  # files for the home folder (matplotlib's font cache), copied in at start
CGROUP_PREFIX = "dlcourse-"


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 600.0  # the whole command, kernel start included
    cpu_seconds: int = 900  # CPU time of the main process and, separately, of each child (RLIMIT_CPU is per process)
    memory_bytes: int = 8 * 2**30  # address space per process; torch alone maps about 4.6 GB
    max_output_bytes: int = 1_000_000  # of stdout and of stderr read back
    disk_bytes: int = 512 * 2**20  # each of the jail's writable folders (working folder, /tmp, /dev/shm, home), and any one file
    processes: int = 256  # processes and threads in the jail (torch starts a thread per core)
    isolate: bool = True  # run kernels in the jail where the system allows it


@dataclass
class Outcome:
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    limit: str | None = None  # which limit stopped the command, if any

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.limit is None


# --- the jail -------------------------------------------------------------------------------------

def _python_folders() -> list[Path]:
    """The Python installation and virtual environment this process runs from."""
    folders = {Path(sys.prefix), Path(sys.base_prefix), Path(os.path.realpath(sys.executable)).parent.parent}
    return sorted(p.resolve() for p in folders if p.exists())


_SYSTEM = ["--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
           "--symlink", "usr/lib", "/lib", "--proc", "/proc", "--dev", "/dev"]
_ETC = ["/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf", "/etc/mime.types"]  # nothing secret


def _system_binds() -> list[str]:
    binds = list(_SYSTEM)
    for link in ("/lib64", "/lib32", "/libx32"):
        if os.path.islink(link):
            binds += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            binds += ["--ro-bind", link, link]
    for path in _ETC:
        if os.path.exists(path):
            binds += ["--ro-bind", path, path]
    return binds


# a new user namespace (uid 1000, no capabilities, no further namespaces) and every other namespace
_JAIL = ["--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--cap-drop", "ALL",
         "--uid", str(JAIL_UID), "--gid", str(JAIL_UID)]


def prlimit_command(limits: Limits, files: bool = False, processes: bool = False) -> list[str]:
    """util-linux ``prlimit`` with CPU time and address space set, and with ``files`` the file
    size (no core dumps), with ``processes`` RLIMIT_NPROC; the command follows."""
    command = ["prlimit", f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 5}", f"--as={limits.memory_bytes}"]
    if files:
        command += [f"--fsize={limits.disk_bytes}", "--core=0"]
    if processes:
        command.append(f"--nproc={limits.processes}")
    return [*command, "--"]


@functools.cache
def jail_available() -> bool:
    """Whether kernels can run in the jail here: bubblewrap is installed and can create its
    namespaces (Linux with user namespaces; `apt-get install bubblewrap` on Debian/Ubuntu)."""
    if not shutil.which("bwrap"):
        return False
    probe = ["bwrap", *_JAIL, *_system_binds(), "--size", str(2**20), "--tmpfs", "/tmp", "/bin/sh", "-c", "touch /tmp/probe"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def jail_missing_reason() -> str:
    if not shutil.which("bwrap"):
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap; `make setup` does it as root)"
    return "bubblewrap cannot create user namespaces on this system (kernel.unprivileged_userns_clone or a container policy?)"


def _cgroup_root(controller: str, settings: tuple[str, ...], value: str) -> Path | None:
    """A cgroup folder (cgroup v1's ``controller`` hierarchy, or cgroup v2) in which the grader can
    create a child cgroup and write ``value`` into the first of ``settings`` that it has; or None."""
    candidates = []
    try:
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            fields = line.split()
            separator = fields.index("-")
            kind, options, mountpoint = fields[separator + 1], fields[separator + 3], fields[4]
            if (kind == "cgroup" and controller in options.split(",")) or kind == "cgroup2":
                candidates.append(Path(mountpoint))
    except (OSError, ValueError, IndexError):
        return None
    for root in candidates:
        probe = root / f"{CGROUP_PREFIX}probe-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        try:
            probe.mkdir()
        except OSError:
            continue
        try:
            for name in settings:
                if (probe / name).exists():
                    (probe / name).write_text(value)
                    return root
        except OSError:
            continue
        finally:
            try:
                probe.rmdir()
            except OSError:
                pass
    return None


@functools.cache
def pids_cgroup_root() -> Path | None:
    """A cgroup folder in which the grader can create child cgroups with a ``pids.max`` limit
    (cgroup v1's ``pids`` hierarchy, or cgroup v2 with the pids controller), or None."""
    return _cgroup_root("pids", ("pids.max",), "8")


@functools.cache
def memory_cgroup_root() -> Path | None:
    """A cgroup folder in which the grader can create child cgroups with a memory limit (cgroup
    v1's ``memory`` hierarchy: ``memory.limit_in_bytes``; cgroup v2: ``memory.max``), or None.
    Unlike an address-space limit, it counts what a jail holds in all: every process's memory and
    the pages of its tmpfs folders."""
    return _cgroup_root("memory", ("memory.limit_in_bytes", "memory.max"), str(2**30))


class PidsCgroup:
    """The cgroups of one jail: a pids cgroup that limits its processes, lists them and kills
    them all, and (``memory`` bytes) a memory cgroup that limits what the jail holds in all,
    tmpfs pages included. Where the system offers no pids cgroup (``path`` None) or no memory
    cgroup (``memory_path`` None) the methods concerned do nothing."""

    def __init__(self, limit: int, existing: Path | None = None, memory: int | None = None):
        self.memory_path = None
        if existing:
            self.path = existing
            return
        root = pids_cgroup_root()
        # named after the process that made it, so that one left by a grader that was killed can be found
        name = f"{CGROUP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.path = root / name if root else None
        if self.path:
            self.path.mkdir()
            (self.path / "pids.max").write_text(str(limit))
        memory_root = memory_cgroup_root() if memory else None
        if memory_root:
            self.memory_path = memory_root / name
            self.memory_path.mkdir(exist_ok=True)  # cgroup v2: the same folder as the pids cgroup
            for setting in ("memory.limit_in_bytes", "memory.max"):
                if (self.memory_path / setting).exists():
                    (self.memory_path / setting).write_text(str(memory))
                    break

    @staticmethod
    def remove_stale() -> int:
        """Remove the cgroups (and kill the processes) left by graders that no longer run; returns
        how many cgroups that was."""
        removed = 0
        for root in dict.fromkeys(filter(None, (pids_cgroup_root(), memory_cgroup_root()))):
            for folder in root.glob(f"{CGROUP_PREFIX}*"):
                creator = folder.name.removeprefix(CGROUP_PREFIX).split("-")[0]
                if creator.isdigit() and not Path(f"/proc/{creator}").exists() and folder.exists():
                    PidsCgroup(0, existing=folder).remove()
                    removed += 1
        return removed

    def join_command(self) -> list[str]:
        """A prefix that moves the command into the cgroups before it execs."""
        folders = list(dict.fromkeys(str(p) for p in (self.path, self.memory_path) if p))
        if not folders:
            return []
        joins = ' && '.join(f'echo $$ > "${index}/cgroup.procs"' for index in range(len(folders)))
        shift = " && shift" if len(folders) > 1 else ""  # $0 is the first folder, $1 the second
        return ["/bin/sh", "-c", f'{joins}{shift} && exec "$@"', *folders]

    def memory_limit_reached(self) -> bool:
        """Whether the memory cgroup's limit stopped a process (the kernel's OOM killer ran)."""
        if not self.memory_path:
            return False
        for name in ("memory.events", "memory.oom_control"):
            try:
                for line in (self.memory_path / name).read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill" and int(value) > 0:
                        return True
            except (OSError, ValueError):
                continue
        return False

    def pids(self) -> list[int]:
        if not self.path:
            return []
        try:
            return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def limit_reached(self) -> bool:
        """Whether a fork failed in this cgroup because of its pids.max."""
        try:
            return int((self.path / "pids.events").read_text().split()[1]) > 0 if self.path else False
        except (OSError, ValueError, IndexError):
            return False

    def kill_all(self) -> int:
        """SIGKILL every process in the cgroup (a fork loop included); returns how many were seen."""
        seen: set[int] = set()
        for _ in range(50):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            seen.update(pids)
            time.sleep(0.02)
        return len(seen)

    def remove(self) -> None:
        if self.path:
            self.kill_all()
        for path in dict.fromkeys(p for p in (self.path, self.memory_path) if p):
            for _ in range(100):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # processes still exiting
                    time.sleep(0.05)


def jail_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """What a jailed command's environment holds: a fixed set, plus ``env``; nothing else of the
    grader's environment (whose variables may hold tokens or passwords)."""
    python_bin = str(Path(sys.executable).parent)
    base = {"PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin", "HOME": JAIL_HOME, "USER": "student",
            "LOGNAME": "student", "LANG": "C.UTF-8", "TMPDIR": "/tmp",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "DLCOURSE_SMOKE", "DLCOURSE_DATA", "DLCOURSE_DEVICE", "TZ",
                 "DLCOURSE_REFERENCE_CALLS", "NBGRADER_EXECUTION", "NBGRADER_VALIDATING"):
        if name in os.environ:
            base[name] = os.environ[name]
    base.update(env or {})
    return base


def jail_command(command: list[str], workdir: Path, limits: Limits = Limits(), *, readable: list[Path] = (),
                 writable: list[Path] = (), env: dict[str, str] | None = None, cgroup: PidsCgroup | None = None,
                 private: Path | None = None, home: Path | None = None) -> list[str]:
    """``command`` wrapped so that it runs in the jail (module docstring), with ``workdir`` as a
    private, size-limited copy of itself (the command starts there; what it writes is lost),
    ``readable`` shown read-only and ``writable`` shown read-write at their own paths (the grader
    gives none: a host folder the jail can write to has no size limit). ``home``: a folder whose
    files are copied into the jail's home folder at start (matplotlib's font cache). ``private``: a
    folder of the grader's for the jail's /etc/passwd (default: a new temporary folder). SIGINT
    reaches the command (a Jupyter interrupt) without stopping bubblewrap itself."""
    workdir = Path(workdir).resolve()
    private = Path(private or tempfile.mkdtemp(prefix="dlcourse-jail-"))
    (private / "passwd").write_text(f"student:x:{JAIL_UID}:{JAIL_UID}:student:{JAIL_HOME}:/bin/sh\n")
    (private / "group").write_text(f"student:x:{JAIL_UID}:\n")
    disk = str(limits.disk_bytes)
    argv = [shutil.which("bwrap") or "bwrap", *_JAIL, "--hostname", "jail", *_system_binds(),
            "--ro-bind", str(private / "passwd"), "/etc/passwd", "--ro-bind", str(private / "group"), "/etc/group",
            "--size", disk, "--tmpfs", "/tmp", "--size", disk, "--tmpfs", "/dev/shm",
            "--size", disk, "--tmpfs", JAIL_HOME]
    shown = sorted({*_python_folders(), *(Path(p).resolve() for p in readable if Path(p).exists())})
    for path in shown:
        argv += ["--ro-bind", str(path), str(path)]
    argv += ["--ro-bind", str(workdir), SEED, "--size", disk, "--tmpfs", str(workdir)]
    start = f"cp -R {SEED}/. ."
    if home:
        argv += ["--ro-bind", str(Path(home).resolve()), HOME_SEED]
        start += f' && cp -R {HOME_SEED}/. "$HOME"'
    for path in writable:
        argv += ["--bind", str(Path(path).resolve()), str(Path(path).resolve())]
    # bubblewrap's root is a tmpfs holding the folders it made for the mounts above (e.g. the
    # repository's folder around utils/), and so is /dev: read-only, or each would be an unlimited
    # place to write (the device nodes and /dev/shm are mounts of their own and stay usable)
    argv += ["--remount-ro", "/", "--remount-ro", "/dev", "--clearenv"]
    for name, value in jail_environment(env).items():
        argv += ["--setenv", name, value]
    argv += ["--chdir", str(workdir), "--", "/bin/sh", "-c", f'{start} && exec "$@"', "jail", *command]
    # env -i: bubblewrap's own processes (its init is PID 1 in the jail, /proc/1/environ readable there)
    # must not carry the grader's environment either
    limited = [*prlimit_command(limits, files=True, processes=True), "env", "-i"]
    # trap '' INT: bwrap would die of the SIGINT a Jupyter interrupt sends to the kernel's process group
    # (taking the kernel with it); ignored here, bwrap survives and the kernel installs its own handler
    return [*(cgroup.join_command() if cgroup else []), "/bin/sh", "-c", "trap '' INT; exec \"$@\"", "jail",
            *limited, *argv]


def run_jailed(command: list[str], workdir: Path, limits: Limits = Limits(), *, readable: list[Path] = (),
               writable: list[Path] = (), env: dict[str, str] | None = None, home: Path | None = None) -> Outcome:
    """Run ``command`` in the jail, under ``limits`` (the wall clock included) and a pids cgroup
    where one is available; everything it started is killed when it ends."""
    cgroup = PidsCgroup(limits.processes, memory=limits.memory_bytes)
    try:
        with tempfile.TemporaryDirectory(prefix="dlcourse-jail-") as private:
            return run_limited(jail_command(command, workdir, limits, readable=readable, writable=writable, env=env,
                                            cgroup=cgroup, private=Path(private), home=home), workdir, limits)
    finally:
        cgroup.remove()


# --- limits for trusted commands ------------------------------------------------------------------

def _with_limits(command: list[str], limits: Limits) -> tuple[list[str], object]:
    """The command wrapped so that it starts with the CPU and memory limits set.

    util-linux's ``prlimit`` sets them and execs the command; without it, a ``preexec_fn``
    does the same between fork and exec (not safe when other threads run, as in the
    grader's thread pool, hence the preference).
    """
    if shutil.which("prlimit"):
        return [*prlimit_command(limits), *command], None

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
    """Run ``command`` in ``cwd`` under ``limits`` (wall clock, CPU, memory, output); never raises
    for what the command does. Its process group is killed when it ends or hits the wall clock."""
    limited, preexec = _with_limits(command, limits)
    start = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(limited, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                   preexec_fn=preexec, start_new_session=True)
        limit, deadline = None, start + limits.wall_seconds
        try:
            # wait4 also gives the CPU time of the command
            while not (done := os.wait4(process.pid, os.WNOHANG))[0]:
                if time.monotonic() > deadline:
                    limit = f"wall-clock limit of {limits.wall_seconds:g} s"
                    break
                time.sleep(0.05)
        finally:
            try:  # anything started by the command and still in its process group
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if limit:
            done = os.wait4(process.pid, 0)
        _, status, usage = done
        code = process.returncode = os.waitstatus_to_exitcode(status)
        # SIGXCPU: the kernel's soft CPU limit (the rusage can read a hair under it)
        if limit is None and (code == -signal.SIGXCPU or usage.ru_utime + usage.ru_stime >= limits.cpu_seconds):
            limit = f"CPU-time limit of {limits.cpu_seconds} s"
        return Outcome(code, _read(out, limits.max_output_bytes), _read(err, limits.max_output_bytes),
                       time.monotonic() - start, limit)
