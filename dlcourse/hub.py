"""A class on one server: JupyterHub with nbgrader's exchange, for the course (`make hub`).

    course hub setup [--students 3] [--assignments 01_fundamentals ...]   # as root; idempotent
    course hub start [--ip 127.0.0.1] [--port 8000]                        # setup, then the hub (Ctrl-C stops)
    course hub remove                                                      # the demo accounts and the hub's state

What ``setup`` builds (paths from HUB_PREFIX, default /opt/dl-course, and HUB_STATE, default
/srv/dl-course-hub):

- ``PREFIX/course``: a copy of this checkout, owned by root. ``utils/`` (which students import, as
  in the student edition) is readable by everyone; everything else (``solutions/``, ``tests/``,
  ``mutants/``, ``dlcourse/``, the configuration) by the staff group only (``dl-course-staff``).
- ``PREFIX/venv``: the course's pinned environment, built from the system's Python 3.11 (users must
  be able to run it; a Python under /root cannot be), with JupyterHub, the course's kernel and
  JupyterLab's settings. Rebuilt only when pyproject.toml changes.
- ``PREFIX/config/{student,instructor}``: what each role's JupyterLab loads (JUPYTER_CONFIG_PATH, set by
  hub/jupyterhub_config.py): nbgrader's course id and exchange for both; for students the Assignments
  tab and Validate only (the formgrader, Create Assignment and the course list are off, client and
  server side).
- ``STATE/private`` (mode 700): the hub's database, cookie secret and the demo's passwords;
  ``STATE/exchange``: nbgrader's exchange (mode 1777 as nbgrader documents; its inbound folder
  cannot be listed).
- Demo accounts (real Linux users, PAM): ``dl-instructor`` (in the staff group) and ``dl-student1..N``,
  random passwords in STATE/private/passwords, homes mode 700. The instructor's course folder is
  ``~dl-instructor/course`` (its gradebook, submissions, feedback), and the chosen assignments are
  released to the exchange with nbgrader's ``release_assignment``.
- The proxy: ``configurable-http-proxy`` from npm into ``PREFIX/proxy``.

The instructor then works as nbgrader documents, with the course's grader in the middle:
``nbgrader collect ASSIGNMENT``, ``course grade --course ~/course --assignment ASSIGNMENT`` (the jail,
limits and sanitising; bubblewrap works for unprivileged users here), the formgrader for written
answers, ``course feedback --course ~/course --assignment ASSIGNMENT`` and
``nbgrader release_feedback ASSIGNMENT`` (hidden tests stripped). book/guides/hub.md explains it.
"""

from __future__ import annotations

import argparse
import grp
import hashlib
import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from dlcourse.notebooks import ROOT, chapters

SYSTEM_PYTHON = "/usr/bin/python3.11"
PROXY = "configurable-http-proxy@4.6.3"
STAFF = "dl-course-staff"
COURSE_ID = "dl-course"
STUDENT_HIDDEN = ["@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:formgrader",
                  "@jupyter/nbgrader:course-list"]  # the Assignments tab and Validate stay
STUDENT_SERVER_OFF = ["nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.create_assignment",
                      "nbgrader.server_extensions.course_list"]
PUBLIC = ["utils", "pyproject.toml", "README.md", "LICENSE"]  # what every user may read in PREFIX/course


class HubError(RuntimeError):
    """What stops `make hub`, with what to do."""


@dataclass
class Hub:
    prefix: Path = Path(os.environ.get("HUB_PREFIX", "/opt/dl-course"))
    state: Path = Path(os.environ.get("HUB_STATE", "/srv/dl-course-hub"))
    instructor: str = "dl-instructor"
    students: list[str] = field(default_factory=lambda: [f"dl-student{i}" for i in range(1, 4)])
    ip: str = "127.0.0.1"
    port: int = 8000

    @property
    def course(self) -> Path:
        return self.prefix / "course"

    @property
    def venv(self) -> Path:
        return self.prefix / "venv"

    @property
    def exchange(self) -> Path:
        return self.state / "exchange"

    @property
    def private(self) -> Path:
        """The hub's database, cookie secret, proxy pid and the demo's passwords: root only."""
        return self.state / "private"

    def home(self, user: str) -> Path:
        return Path(pwd.getpwnam(user).pw_dir)

    @property
    def instructor_course(self) -> Path:
        return self.home(self.instructor) / "course"

    def environment(self) -> dict[str, str]:
        """What hub/jupyterhub_config.py reads."""
        return {**os.environ, "HUB_PREFIX": str(self.prefix), "HUB_STATE": str(self.state), "HUB_IP": self.ip,
                "HUB_PORT": str(self.port), "HUB_INSTRUCTOR": self.instructor, "HUB_STUDENTS": ",".join(self.students),
                "HUB_STAFF": STAFF}


def run(command: list[str], **options) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, errors="replace", **options)
    if done.returncode != 0:
        raise HubError(f"{' '.join(map(str, command))} failed (exit {done.returncode}):\n"
                       f"{(done.stdout + done.stderr).strip()[-2000:]}")
    return done


def as_user(hub: Hub, user: str, command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``command`` as ``user`` (its groups, its home, the course's environment first on PATH)."""
    entry = pwd.getpwnam(user)
    groups = [g.gr_gid for g in grp.getgrall() if user in g.gr_mem]
    env = {"HOME": entry.pw_dir, "USER": user, "LOGNAME": user, "LANG": "C.UTF-8",
           "PATH": f"{hub.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
           "JUPYTER_CONFIG_PATH": str(hub.prefix / "config" / ("instructor" if user == hub.instructor else "student"))}
    return run(command, user=entry.pw_uid, group=entry.pw_gid, extra_groups=groups, env=env,
               cwd=cwd or entry.pw_dir)


def require_root() -> None:
    if os.geteuid() != 0:
        raise HubError("the hub creates Linux accounts and runs JupyterHub, which starts each user's server as that "
                       "user: run it as root (sudo make hub) on a server you give to the class")
    for program, package in ((SYSTEM_PYTHON, "python3.11 python3.11-venv"), ("npm", "npm"), ("useradd", "passwd")):
        if not shutil.which(program):
            raise HubError(f"{program} is missing: apt-get install {package}")


def copy_course(hub: Hub) -> None:
    """This checkout's files (tracked and new, not ignored) into PREFIX/course, replaced whole."""
    listed = run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT).stdout
    staged = hub.prefix / "course.new"
    shutil.rmtree(staged, ignore_errors=True)
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (staged / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, staged / name)
    if (ROOT / "build" / "jupyter").is_dir():  # MathJax for the feedback pages (dlcourse.authoring.mathjax)
        shutil.copytree(ROOT / "build" / "jupyter", staged / "build" / "jupyter")
    old = hub.prefix / "course.old"
    shutil.rmtree(old, ignore_errors=True)
    if hub.course.exists():
        hub.course.rename(old)
    staged.rename(hub.course)
    shutil.rmtree(old, ignore_errors=True)


def set_permissions(hub: Hub) -> None:
    """Root owns the copy; the staff group reads it all; others traverse it and read PUBLIC only."""
    staff = grp.getgrnam(STAFF).gr_gid
    for folder, dirs, files in os.walk(hub.course):
        for name in dirs + files:
            path = Path(folder) / name
            os.chown(path, 0, staff, follow_symlinks=False)
            public = path.relative_to(hub.course).parts[0] in PUBLIC
            os.chmod(path, (0o755 if path.is_dir() else 0o644) if public else (0o750 if path.is_dir() else 0o640))
    os.chown(hub.course, 0, staff)
    os.chmod(hub.course, 0o751)  # others may reach utils/ and its metadata, not list the rest
    os.chmod(hub.prefix, 0o755)


def build_environment(hub: Hub, log) -> None:
    """PREFIX/venv from the system's Python with the course's pins (editable: PREFIX/course)."""
    stamp = hub.venv / ".installed"
    wanted = hashlib.sha256((hub.course / "pyproject.toml").read_bytes()).hexdigest()
    pip = [str(hub.venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    if not (stamp.exists() and stamp.read_text() == wanted):
        log(f"building {hub.venv} from {SYSTEM_PYTHON} with the course's pins (about 2 minutes; once)")
        shutil.rmtree(hub.venv, ignore_errors=True)
        run([SYSTEM_PYTHON, "-m", "venv", str(hub.venv)])
        run([*pip, "--upgrade", "pip"])
        run([*pip, "-e", str(hub.course)])
        stamp.write_text(wanted)
    else:  # the packages are current: only the editable link to the new copy
        run([*pip, "--no-deps", "-e", str(hub.course)])
    python = str(hub.venv / "bin" / "python")
    run([python, "-m", "ipykernel", "install", "--sys-prefix", "--name", "dl-course", "--display-name",
         "Python 3 (dl-course)"])
    run([python, str(hub.course / "scripts" / "configure_lab.py"), "--prefix", str(hub.venv)])
    run([python, "-m", "dlcourse.authoring.mathjax"], cwd=hub.course)


def write_configs(hub: Hub) -> None:
    """Each role's Jupyter configuration folder (found through JUPYTER_CONFIG_PATH)."""
    common = (f"c = get_config()\nc.CourseDirectory.course_id = {COURSE_ID!r}\n"
              f"c.Exchange.root = {str(hub.exchange)!r}\n")
    for role in ("student", "instructor"):
        folder = hub.prefix / "config" / role
        (folder / "labconfig").mkdir(parents=True, exist_ok=True)
        nbgrader = common
        if role == "instructor":  # the formgrader opens the instructor's course folder and its configuration
            course = hub.instructor_course
            nbgrader += (f"c.CourseDirectory.root = {str(course)!r}\n"
                         f"load_subconfig({str(course / 'nbgrader_config.py')!r})\n")
        (folder / "nbgrader_config.py").write_text(nbgrader)
        hidden = STUDENT_HIDDEN if role == "student" else []
        (folder / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {name: True for name in hidden}}, indent=2))
        server = {"ServerApp": {"jpserver_extensions": {name: False for name in STUDENT_SERVER_OFF}}} \
            if role == "student" else {}
        (folder / "jupyter_server_config.json").write_text(json.dumps(server, indent=2))
    for folder, dirs, files in os.walk(hub.prefix / "config"):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(Path(folder) / name, 0o644)


def create_users(hub: Hub) -> dict[str, str]:
    """The demo class's accounts with new random passwords (also in STATE/passwords, mode 600)."""
    try:
        grp.getgrnam(STAFF)
    except KeyError:
        run(["groupadd", "--system", STAFF])
    passwords = {}
    for user in [hub.instructor, *hub.students]:
        try:
            pwd.getpwnam(user)
        except KeyError:
            run(["useradd", "--create-home", "--shell", "/bin/bash", user])
        if user == hub.instructor:
            run(["usermod", "--append", "--groups", STAFF, user])
        os.chmod(hub.home(user), 0o700)
        passwords[user] = secrets.token_urlsafe(12)
        run(["chpasswd"], input=f"{user}:{passwords[user]}\n")
    hub.state.mkdir(parents=True, exist_ok=True)
    os.chmod(hub.state, 0o711)  # users reach the exchange through it, and list nothing
    hub.private.mkdir(exist_ok=True)
    os.chmod(hub.private, 0o700)  # whatever JupyterHub writes there (its database is 644) stays root's
    secret = hub.private / "passwords"
    secret.touch(mode=0o600)
    os.chmod(secret, 0o600)
    secret.write_text("".join(f"{user} {password}\n" for user, password in passwords.items()))
    return passwords


def prepare_exchange(hub: Hub) -> None:
    hub.exchange.mkdir(parents=True, exist_ok=True)
    os.chmod(hub.exchange, 0o1777)  # as nbgrader documents; nbgrader makes inbound/ write-only for others


def prepare_instructor(hub: Hub, assignments: list[str], log) -> None:
    """The instructor's course folder, made as the instructor by the course's own tools (the
    grader's course layout, dlcourse.authoring.release.scratch_course), and the assignments
    generated into it and released to the exchange by nbgrader's release_assignment."""
    course = hub.instructor_course
    code = ("import sys; from pathlib import Path; from dlcourse.authoring.release import scratch_course, generate; "
            "course = scratch_course(Path(sys.argv[1])); [generate(a, course) for a in sys.argv[2:]]")
    log(f"generating {', '.join(assignments)} in {course} (about 20 s each)")
    as_user(hub, hub.instructor, ["python", "-c", code, str(course), *assignments])
    for assignment in assignments:
        log(f"releasing {assignment} to the exchange")
        as_user(hub, hub.instructor, ["nbgrader", "release_assignment", assignment, "--force"], cwd=course)


def install_proxy(hub: Hub) -> Path:
    binary = hub.prefix / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
    if not binary.exists():
        run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(hub.prefix / "proxy"), PROXY])
    return binary


def setup(hub: Hub, assignments: list[str], log=print) -> dict[str, str]:
    """Everything the hub needs; returns the demo accounts' passwords."""
    require_root()
    hub.prefix.mkdir(parents=True, exist_ok=True)
    passwords = create_users(hub)
    log(f"copying the course to {hub.course}")
    copy_course(hub)
    set_permissions(hub)
    build_environment(hub, log)
    set_permissions(hub)  # the editable install's metadata
    write_configs(hub)
    prepare_exchange(hub)
    install_proxy(hub)
    prepare_instructor(hub, assignments, log)
    return passwords


def start(hub: Hub, extra: dict[str, str] | None = None, **options) -> subprocess.Popen:
    """The hub (as root: it starts each user's server as that user), from PREFIX/venv; ``extra``
    environment variables reach the hub's configuration and the users' servers (DLCOURSE_SMOKE)."""
    config = hub.course / "hub" / "jupyterhub_config.py"
    return subprocess.Popen([str(hub.venv / "bin" / "jupyterhub"), "-f", str(config)], cwd=hub.private,
                            env={**hub.environment(), **(extra or {})}, **options)


def remove(hub: Hub) -> None:
    """The demo accounts (with their homes) and the hub's state; PREFIX stays (the environment)."""
    require_root()
    for user in [hub.instructor, *hub.students]:
        subprocess.run(["pkill", "-u", user], capture_output=True)
        subprocess.run(["userdel", "--remove", user], capture_output=True)
    shutil.rmtree(hub.state, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course hub", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="example:\n  course hub start --students 30    # as root; = sudo make hub HUB_ARGS=\"--students 30\"")
    parser.add_argument("action", choices=["setup", "start", "remove"])
    parser.add_argument("--students", type=int, default=3, help="demo student accounts (default %(default)d)")
    parser.add_argument("--assignments", nargs="+", default=["01_fundamentals"], choices=chapters(),
                        help="released to the exchange (default: %(default)s)")
    parser.add_argument("--ip", default="127.0.0.1", help="where the hub listens (default: loopback only)")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    hub = Hub(students=[f"dl-student{i}" for i in range(1, args.students + 1)], ip=args.ip, port=args.port)
    try:
        if args.action == "remove":
            remove(hub)
            print(f"removed the demo accounts and {hub.state}")
            return 0
        setup(hub, args.assignments)
    except HubError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"demo accounts and passwords: {hub.private / 'passwords'} (root only)")
    if args.action == "setup":
        return 0
    print(f"JupyterHub on http://{hub.ip}:{hub.port} (Ctrl-C stops it)")
    process = start(hub)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        return process.wait()


if __name__ == "__main__":
    raise SystemExit(main())
