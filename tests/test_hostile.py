"""A class of hostile and broken submissions of chapter 01, graded by the real grader.

Each case is graded deterministically: either a score with a clear note, or NOT GRADED with the
reason. The correct submissions among them get full marks, nothing a submission does reaches
another student's files or the class gradebook, and the gradebook holds exactly what the report
says. The class is laid out as an instructor's `submitted/` folder and found by the same
functions as `course grade` (find_submissions, find_extras).
"""

import base64
import hashlib
import json
import os
import sqlite3
import textwrap
from pathlib import Path

import nbformat
import pytest

import active_content
from dlcourse.grading.feedback import hidden_line_numbers, secret_lines
from dlcourse.grading.grade import find_extras, find_submissions, grade_submissions
from dlcourse.grading.gradebook import report_from_gradebook
from dlcourse.notebooks import ROOT, chapter_points, release_path, solution_cells, solution_path
from dlcourse.grading.sandbox import Limits, jail_available, jail_missing_reason

pytestmark = pytest.mark.slow
CHAPTER = "01_fundamentals"
CELL_SECONDS = 12  # per cell: ample for chapter 01's cells in smoke mode, short for the loops below
FULL = chapter_points(CHAPTER)  # test cell -> its points


def zero(*exercises: str) -> dict[str, float]:
    return dict(FULL, **{f"test_{exercise}": 0.0 for exercise in exercises})


def solution():
    return nbformat.read(solution_path(CHAPTER), as_version=4)


def blank():
    """The release as students receive it: every answer raises NotImplementedError."""
    return nbformat.read(release_path(CHAPTER), as_version=4)


SECRET = "DLCOURSE_GRADER_SECRET"  # set in the grader's environment while the class is graded
ESCAPES = [f"mount -o remount,rw,bind {ROOT} && touch {ROOT}/HOSTILE_REPOSITORY_FILE",
           "mount -o remount,rw / && touch /HOSTILE_ROOT_FILE", f"umount {ROOT}/solutions", f"umount -l {ROOT}",
           f"cat {ROOT}/solutions/*/*.ipynb", "mount -t tmpfs none /mnt && touch /mnt/x",
           "unshare -Urm sh -c 'mount -t tmpfs none /usr && touch /usr/x'", "nsenter -t 1 -a true", "su -c id root",
           f"ls {ROOT}/dlcourse {Path.home()}"]


def answer(nb, exercise: str):
    return nb.cells[solution_cells(nb)[exercise]]


def checks_of(nb, exercise: str):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == f"test_{exercise}")


def code(source: str) -> str:
    return textwrap.dedent(source).strip() + "\n"


def prepend(nb, exercise: str, source: str):
    answer(nb, exercise).source = code(source) + answer(nb, exercise).source
    return nb


def build_class(folder: Path) -> dict:
    """Write the class into folder/submitted/<student>/01_fundamentals/; return what to expect."""
    class_gradebook = folder / "course" / "gradebook.db"
    victim = folder / "submitted" / "correct" / CHAPTER / f"{CHAPTER}.ipynb"
    cases = {}

    def case(student, nb, expected, note=None, text=None):
        path = folder / "submitted" / student / CHAPTER / f"{CHAPTER}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is not None:
            path.write_text(text)
        else:
            nbformat.write(nb, path)
        cases[student] = (expected, note)

    case("correct", solution(), FULL)
    case("infinite-loop", prepend(solution(), "polynomial_features", "while True:\n    pass"),
         zero("polynomial_features"), "stopped at the time limit per cell")
    case("ignores-sigint", prepend(solution(), "sgd_step", """
        import signal
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        while True:
            pass
        """), zero("sgd_step", "array_dataset", "train_val_split"), "did not respond to the interrupt")
    case("memory-bomb", prepend(solution(), "pairwise_squared_distances", """
        _hog = []
        while True:
            _hog.append(torch.empty(2**28))  # 1 GiB each, until the memory limit
        """), zero("pairwise_squared_distances"), "ran out of memory the grader deleted the globals it assigned (_hog)")
    case("exits-the-kernel", prepend(solution(), "mse_gradients", "import os\nos._exit(1)"),
         zero("mse_gradients", "sgd_step", "array_dataset", "train_val_split"), "the kernel died")
    case("raises", prepend(solution(), "numerical_gradient", "raise ValueError('not done yet')"),
         zero("numerical_gradient"), None)
    case("invalid-json", None, "invalid JSON", text='{"cells": [ truncated')
    other = solution_path("02_classical_ml")
    case("wrong-assignment", nbformat.read(other, as_version=4), "not a 01_fundamentals notebook")
    (folder / "submitted" / "missing-notebook" / CHAPTER).mkdir(parents=True)
    (folder / "submitted" / "missing-notebook" / CHAPTER / "notes.txt").write_text("forgot the notebook")
    cases["missing-notebook"] = ("no 01_fundamentals.ipynb", None)
    case("extra-notebooks", solution(), FULL, "other notebooks in the student's folder were not graded: "
         "01_fundamentals/scratch.ipynb")
    nbformat.write(solution(), folder / "submitted" / "extra-notebooks" / CHAPTER / "scratch.ipynb")

    nb = solution()
    nb.cells.remove(checks_of(nb, "sgd_step"))
    case("deleted-test-cell", nb, FULL, "graded cells deleted: test_sgd_step")
    nb = solution()
    answer(nb, "polynomial_features").source = code("""
        def polynomial_features(x, degree):
            return torch.zeros(len(x), degree + 1)
        """)
    checks_of(nb, "polynomial_features").source = "pass"
    checks_of(nb, "polynomial_features").metadata.nbgrader["locked"] = False
    checks_of(nb, "mse_gradients").metadata.nbgrader.update(grade=False, solution=True)  # "unlocked"
    case("edited-test-cells", nb, zero("polynomial_features"), "test cell test_polynomial_features was edited")
    nb = solution()
    copy = nbformat.from_dict(dict(checks_of(nb, "sgd_step")))
    copy.source, copy["id"] = "pass", "copied-test"
    nb.cells.insert(nb.cells.index(checks_of(nb, "sgd_step")), copy)
    raw = json.loads(nbformat.writes(nb))  # nbformat.write would repair the duplicated ids
    raw["cells"][1]["id"] = raw["cells"][0]["id"]
    case("duplicated-ids", None, FULL, "duplicated cell ids", text=json.dumps(raw))
    case("equal-to-everything", _replace(solution(), "polynomial_features", """
        class _Everything:
            shape = (3, 3)

            def __eq__(self, other):
                return True

        def polynomial_features(x, degree):
            return _Everything()
        """), zero("polynomial_features"), "defines an __eq__ that is always True")
    case("patched-helpers", _replace(solution(), "polynomial_features", """
        torch.allclose = lambda *args, **kwargs: True
        torch.equal = lambda *args, **kwargs: True
        get_ipython().set_custom_exc((AssertionError,), lambda *args, **kwargs: None)
        def polynomial_features(x, degree):
            return torch.zeros(len(x), degree + 1)
        """), zero("polynomial_features"), "replaces torch.allclose")
    case("snoops", prepend(solution(), "sgd_step", f"""
        import os
        for _path in [{str(class_gradebook)!r}, {str(victim)!r}, "../../../gradebook.db"]:
            try:
                print(_path, "readable:", len(open(_path, "rb").read()), "bytes")
            except OSError as error:
                print(_path, type(error).__name__)
        for _path in [{str(class_gradebook)!r}, {str(victim)!r}, {str(Path(__file__).resolve())!r}]:
            try:
                open(_path, "w").write("overwritten")
                print(_path, "WRITTEN")
            except OSError as error:
                print(_path, "not written:", type(error).__name__)
        """), FULL, "names grading files ('gradebook')")
    case("huge-output", prepend(solution(), "numerical_gradient", "for _i in range(200_000):\n    print(_i)"), FULL)
    case("pytorch-warnings", _replace(solution(), "polynomial_features", """
        def polynomial_features(x, degree):
            torch.nn.functional.softmax(x.detach().reshape(1, -1))  # UserWarning on stderr: implicit dim
            return x.unsqueeze(1) ** torch.arange(degree + 1, device=x.device)
        """), FULL)
    case("leaves-a-daemon", prepend(solution(), "array_dataset", """
        import subprocess, sys
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
        """), FULL, "background process(es) started by earlier cells were still running before cell")
    case("calls-the-reference", _replace(solution(), "polynomial_features", """
        def polynomial_features(x, degree):
            return ref.polynomial_features(x, degree)
        """), zero("polynomial_features"),
         "scored 0: polynomial_features calls utils.fundamentals.polynomial_features, the course's reference")
    case("one-line-output", prepend(solution(), "numerical_gradient", "print('x' * 50_000_000)"), FULL,
         "output 50,000,001 characters: cut to the grader's output limit")
    nb = solution()
    moved = checks_of(nb, "sgd_step")
    nb.cells.remove(moved)
    nb.cells.insert(0, moved)  # dragged to the top by accident: above the answer it tests
    case("moved-test-cell", nb, FULL, "test cell test_sgd_step had been moved (to cell 0): it was put back")
    case("background-stderr", prepend(solution(), "polynomial_features", """
        import subprocess
        subprocess.Popen("for i in $(seq 200); do echo background noise >&2; sleep 0.05; done", shell=True)
        """), FULL, "the grader stopped them, so that their output is not taken for the test's")
    forger = ("import sqlite3, time\n"
              "for _ in range(600):\n"
              "    try:\n"
              "        with sqlite3.connect('../../../gradebook.db') as db:\n"
              "            db.execute('UPDATE grade SET auto_score = 1')\n"
              "            db.execute('UPDATE grade_cells SET max_score = 100')\n"
              "    except Exception:\n"
              "        pass\n"
              "    time.sleep(0.1)\n")
    case("forges-its-gradebook", _replace(solution(), "polynomial_features", f"""
        import subprocess, sys
        subprocess.Popen([sys.executable, "-c", {forger!r}], start_new_session=True)

        def polynomial_features(x, degree):
            return torch.zeros(len(x), degree + 1)
        """), zero("polynomial_features"), "processes left running by the submission were killed")
    # --- escapes from the sandbox (issue 12): each graded as usual, nothing outside changes ------------
    case("escapes-with-commands", prepend(solution(), "sgd_step", f"""
        import subprocess
        for _command in {ESCAPES!r}:
            _done = subprocess.run(_command, shell=True, capture_output=True, text=True)
            print(_done.returncode, _command, _done.stdout[:2000], _done.stderr[:300])
        """), FULL, "starts processes")
    case("escapes-with-ctypes", prepend(solution(), "sgd_step", f"""
        import ctypes, os
        _libc = ctypes.CDLL(None, use_errno=True)
        print("mount", _libc.mount(b"none", b"/mnt", b"tmpfs", 0, None))
        print("remount", _libc.mount(None, {str(ROOT).encode()!r}, None, 32 | 4096, None))  # MS_REMOUNT | MS_BIND
        print("umount", _libc.umount2({str(ROOT / "solutions").encode()!r}, 2))  # MNT_DETACH
        print("unshare", _libc.unshare(0x10000000 | 0x00020000))  # CLONE_NEWUSER | CLONE_NEWNS
        print("setns", _libc.setns(os.open("/proc/1/ns/mnt", os.O_RDONLY), 0))
        print("setuid", _libc.setuid(0))
        import sys
        _connection = sys.argv[sys.argv.index("-f") + 1]  # the kernel's connection file, the grader's
        for _path in [{str(ROOT / "HOSTILE_REPOSITORY_FILE")!r}, _connection]:
            try:
                open(_path, "a").write("x")
                print("WROTE", _path)
            except OSError as _error:
                print("write:", type(_error).__name__)
        """), FULL, "uses ctypes")
    case("attacks-the-grader", prepend(solution(), "sgd_step", f"""
        import ctypes, os, signal
        for _pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit()) + [{os.getpid()}, {os.getppid()}]:
            if _pid != os.getpid():
                try:
                    os.kill(_pid, signal.SIGKILL)
                except OSError as _error:
                    print(_pid, type(_error).__name__)
                print("ptrace", _pid, ctypes.CDLL(None).ptrace(16, _pid, None, None))  # PTRACE_ATTACH
        for _pid in os.listdir("/proc"):
            try:
                print(_pid, open(f"/proc/{{_pid}}/environ").read())
            except OSError:
                pass
        import sys
        print(sorted(sys.modules)[:3], {SECRET!r}, os.environ.get({SECRET!r}))
        """), FULL, "sends signals to processes")
    case("blank-input-transformer", prepend(blank(), "polynomial_features",
         "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])"),
         {name: 0.0 for name in FULL}, "safeguard did not run")
    case("blank-run-cell", prepend(blank(), "polynomial_features", """
        _ip = get_ipython(); _orig = _ip.run_cell
        _ip.run_cell = lambda raw_cell, *a, **k: _orig('pass', *a, **k)
        """), {name: 0.0 for name in FULL}, "safeguard did not run")
    case("blank-execute-request", prepend(blank(), "polynomial_features", """
        _kernel = get_ipython().kernel
        _original = _kernel.shell_handlers["execute_request"]

        def _reply_ok(stream, ident, parent):
            # the grader's own requests and the tests are answered 'ok' without running; the rest runs
            if "assert" not in parent["content"]["code"] and "_dlcourse_guard" not in parent["content"]["code"]:
                return _original(stream, ident, parent)
            content = {"status": "ok", "execution_count": 1, "user_expressions": {}, "payload": []}
            _kernel.session.send(stream, "execute_reply", content, parent, ident=ident)

        _kernel.shell_handlers["execute_request"] = _reply_ok
        """), {name: 0.0 for name in FULL}, "safeguard did not run")
    nb = solution()
    nb = active_content.plant(nb, answer(nb, "sgd_step"))
    case("active-content", nb, FULL, "displayed active content")
    case("fills-the-disk", prepend(solution(), "array_dataset", """
        with open("filler.bin", "wb") as _handle:
            for _ in range(3 * 1024):
                _handle.write(bytes(2**20))  # 3 GiB, 1 MiB at a time
        """), zero("array_dataset"), "hit the disk limit")
    case("fork-bomb", prepend(solution(), "array_dataset", """
        import subprocess
        _children = []
        try:
            while len(_children) < 1500:
                _children.append(subprocess.Popen(["sleep", "600"]))
        except OSError as _error:
            print(len(_children), "started, then", type(_error).__name__)
        for _child in _children:  # leaves the processes running for the rest of the notebook
            pass
        """), FULL, "limit of")
    # --- issue 26: full marks for a blank notebook, hidden tests in feedback, one file that stops a class
    nb = blank()
    answer(nb, "polynomial_features").source = code("""
        import sys
        def polynomial_features(x, degree):
            sys.displayhook("ok")  # a result before the error: nbgrader read it as full marks
            raise NotImplementedError()
        """)
    answer(nb, "pairwise_squared_distances").source = code("""
        def pairwise_squared_distances(a, b):
            sys.displayhook(100)  # above the cell's points: nbgrader's autograde failed
            raise NotImplementedError()
        """)
    case("result-before-error", nb, {name: 0.0 for name in FULL})
    case("reflective-transformer", prepend(blank(), "polynomial_features", """
        getattr(globals()["get_"+"ipython"](), "input_transformers_"+"post").append(
            lambda lines: [l for l in lines if "[grader: test"+" cell" in l])
        """), {name: 0.0 for name in FULL}, "uses reflection (getattr with a computed name)")
    case("forged-replies", prepend(blank(), "polynomial_features", """
        import re as _re
        _kernel = get_ipython().kernel
        _original = _kernel.shell_handlers["execute_request"]

        def _forge(stream, ident, parent):
            # the grader's own requests and the tests are answered 'ok' without running, with the
            # grader's marker lines copied from the code onto IOPub as if they had been printed
            code = parent["content"]["code"]
            if "assert" not in code and "_dlcourse_guard" not in code:
                return _original(stream, ident, parent)
            for _line in _re.findall(r"\\[grader[^\\]]*\\]", code):
                _kernel.session.send(_kernel.iopub_socket, "stream", {"name": "stdout", "text": _line + "\\n"},
                                     parent, ident=_kernel._topic("stream"))
            content = {"status": "ok", "execution_count": 1, "user_expressions": {}, "payload": []}
            _kernel.session.send(stream, "execute_reply", content, parent, ident=ident)

        _kernel.shell_handlers["execute_request"] = _forge
        """), {name: 0.0 for name in FULL}, "safeguard did not run")
    case("thread-repatches", _replace(solution(), "polynomial_features", """
        import threading, time
        def _patch():
            while True:
                torch.allclose = lambda *args, **kwargs: True
                torch.equal = lambda *args, **kwargs: True
                time.sleep(0.002)
        threading.Thread(target=_patch, daemon=True).start()
        def polynomial_features(x, degree):
            return torch.zeros(len(x), degree + 1)
        """), zero("polynomial_features"), "the grader stopped threads started by the submission")
    case("reference-in-a-thread", _replace(solution(), "polynomial_features", """
        from concurrent.futures import ThreadPoolExecutor
        def polynomial_features(x, degree):
            return ThreadPoolExecutor(1).submit(ref.polynomial_features, x, degree).result()
        """), zero("polynomial_features"), "scored 0: polynomial_features calls utils.fundamentals.polynomial_features")
    case("reference-through-closure", _replace(solution(), "polynomial_features", """
        def polynomial_features(x, degree):
            inner = [c.cell_contents for c in ref.polynomial_features.__closure__ if callable(c.cell_contents)][0]
            return inner(x, degree)
        """), FULL, "uses reflection (__closure__)")  # noted for the instructor: the call itself cannot be seen
    nb = solution()
    nb.cells.append(nbformat.v4.new_code_cell(code("""
        import base64, codecs, linecache
        _history = "\\n".join(c for c in In if "assert" in c)
        print("LEAK" + "-ROT13:", codecs.encode(_history, "rot13"))
        print("LEAK" + "-LINECACHE:", base64.b64encode(repr([v for k, v in linecache.cache.items() if "ipykernel_" in k
                                                                  and ("assert" in str(v) or "def polynomial_" in str(v))]
                                                                 ).encode()).decode())
        """)))
    case("prints-the-history", nb, FULL, "reads the kernel's input history (In)")
    nb = solution()
    nb.cells.append(nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": ["not", "a", "dict"]}))
    nb.cells.append(nbformat.v4.new_code_cell("y = 2", metadata={"nbgrader": {
        "grade": True, "solution": False, "grade_id": "test_forged", "points": 100, "locked": True}}))
    case("forged-metadata", nb, FULL, "nbgrader metadata that is not a mapping")
    case("display-flood", prepend(solution(), "numerical_gradient", """
        for _i in range(1_000_000):
            display(_i)
        """), zero("numerical_gradient"), "was stopped at the time limit per cell")
    nb = solution()
    written = next(c for c in nb.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution"))
    written.source = "My plot: ![plot](attachment:missing.png) and ![big](attachment:big.png)"
    written["attachments"] = {"big.png": {"image/png": base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(1600 * 2**10)).decode()}}
    case("attachments", nb, FULL, "attachment 'big.png' removed")
    return cases


def _replace(nb, exercise: str, source: str):
    answer(nb, exercise).source = code(source)
    return nb


UNWATCHED = {".venv", ".git", "build", "grading", ".pytest_cache", "__pycache__", ".ipynb_checkpoints"}


def fingerprint(path: Path, checksum: bool = True) -> str:
    """A file's SHA-256, or its size and modification time (for the virtual environment's 5 GB)."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if checksum else f"{path.stat().st_size}:{path.stat().st_mtime_ns}"


def listing(folder: Path, checksums: bool = True) -> dict[str, str]:
    """path -> fingerprint of every file under ``folder``."""
    return {str(path): fingerprint(path, checksums) for path in sorted(folder.rglob("*"))
            if path.is_file() and not path.is_symlink()}


def repository_listing() -> dict[str, str]:
    found = {}
    for child in ROOT.iterdir():
        if child.name in UNWATCHED:
            continue
        found.update(listing(child) if child.is_dir() else {str(child): fingerprint(child)})
    found = {path: digest for path, digest in found.items() if not set(Path(path).parts) & UNWATCHED}
    venv = ROOT / ".venv"
    return {**found, **(listing(venv, checksums=False) if venv.is_dir() else {})}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    if not jail_available():
        if os.environ.get("CI"):
            pytest.fail(f"CI machines can run bubblewrap; the grader must confine submissions: {jail_missing_reason()}")
        pytest.skip(f"no jail on this machine ({jail_missing_reason()}): the grader warns that submissions run unconfined")
    folder = tmp_path_factory.mktemp("hostile-class")
    cases = build_class(folder)
    submitted = folder / "submitted"
    found = find_submissions(submitted, CHAPTER)
    victim_before = (submitted / "correct" / CHAPTER / f"{CHAPTER}.ipynb").read_bytes()
    canary = folder / "course" / "instructor-notes.txt"  # something of the instructor's in the class course
    canary.parent.mkdir(parents=True)
    canary.write_text("marks to enter later")
    repository_before, submitted_before = repository_listing(), listing(submitted)
    os.environ[SECRET] = "hunter2-token-of-the-instructor"
    try:
        report = grade_submissions(found, CHAPTER, folder / "course", feedback=True, log=lambda _: None, workers=2,
                                   limits=Limits(wall_seconds=300), cell_seconds=CELL_SECONDS,
                                   notes=find_extras(submitted, found))
    finally:
        del os.environ[SECRET]
    changes = {
        "repository": _diff(repository_before, repository_listing()),
        "submitted": _diff(submitted_before, listing(submitted)),
        "canary": [] if canary.read_text() == "marks to enter later" else [str(canary)],
        "host": [p for p in ("/HOSTILE_ROOT_FILE", "/mnt/x", "/usr/x") if Path(p).exists()],
    }
    return folder, cases, report, {r.student: r for r in report.students}, victim_before, changes


def _diff(before: dict, after: dict) -> list[str]:
    return sorted(path for path in set(before) | set(after) if before.get(path) != after.get(path))


def test_at_least_fifteen_cases(hostile):
    _, cases, report, results, _, _ = hostile
    assert len(cases) >= 15 and set(results) == set(cases)


def test_each_case_is_graded_as_expected_with_a_clear_reason(hostile):
    _, cases, _, results, _, _ = hostile
    problems = []
    for student, (expected, note) in cases.items():
        result = results[student]
        if isinstance(expected, str):  # not graded, for this reason
            if result.status == "graded" or expected not in result.status:
                problems.append(f"{student}: expected NOT GRADED ({expected}), got {result.status} {result.scores}")
        elif result.status != "graded" or result.scores != expected:
            problems.append(f"{student}: expected {expected}, got {result.status} {result.scores}")
        if note and not any(note in n for n in result.notes):
            problems.append(f"{student}: no note saying {note!r}; notes: {result.notes}")
    assert not problems, "\n".join(problems)


def test_correct_work_needs_no_attention(hostile):
    _, _, report, results, _, _ = hostile
    for student in ("correct", "huge-output", "pytorch-warnings"):
        assert results[student].notes == [], f"{student}: {results[student].notes}"
    summary = report.attention()
    assert "correct:" not in summary.splitlines() and "snoops:" in summary and "NOT GRADED: not a notebook" in summary


def test_nothing_reaches_other_students_or_the_class_gradebook(hostile):
    folder, _, report, results, victim_before, _ = hostile
    victim = folder / "submitted" / "correct" / CHAPTER / f"{CHAPTER}.ipynb"
    assert victim.read_bytes() == victim_before
    assert Path(__file__).read_text().startswith('"""A class of hostile'), "the repository was written"
    output = "".join(o.get("text", "") for c in nbformat.read(
        folder / "course" / "autograded" / "snoops" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4).cells
        for o in c.get("outputs", []))
    assert "readable" not in output, output  # nothing of the class exists in the jail
    escaped = "".join(o.get("text", "") for c in nbformat.read(
        folder / "course" / "autograded" / "escapes-with-ctypes" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4).cells
        for o in c.get("outputs", []))
    # the connection file is read-only; the repository's path lies in the jail's own /tmp where the clone is under /tmp
    assert "write: OSError" in escaped and not (ROOT / "HOSTILE_REPOSITORY_FILE").exists(), escaped
    # a write to the class gradebook's path lands in the jail's own /tmp, never on the host
    assert (folder / "course" / "gradebook.db").read_bytes()[:16] == b"SQLite format 3\x00"


def test_gradebook_is_consistent(hostile):
    folder, _, report, results, _, _ = hostile
    recorded = report_from_gradebook(folder / "course", CHAPTER)
    graded = {r.student: r.scores for r in report.students if r.status == "graded"}
    assert {r.student: r.scores for r in recorded.students if r.status == "graded"} == graded
    assert {r.student: r.status for r in recorded.students if r.status != "graded"} == \
        {r.student: r.status for r in report.students if r.status != "graded"}
    with sqlite3.connect(folder / "course" / "gradebook.db") as db:
        assert db.execute("SELECT max(max_score) FROM grade_cells").fetchone()[0] <= 2
        assert db.execute("SELECT count(*) FROM grade WHERE manual_score IS NOT NULL").fetchone()[0] == 0
    notes = json.loads((folder / "course" / "attention" / f"{CHAPTER}.json").read_text())
    assert set(notes) == set(results)


def test_grading_again_gives_the_same_result(hostile, tmp_path):
    """Idempotent: a second run over the same course changes nothing for the students it regrades."""
    folder, cases, report, results, _, _ = hostile
    submitted = folder / "submitted"
    again = {s: p for s, p in find_submissions(submitted, CHAPTER).items() if s in ("correct", "patched-helpers")}
    rerun = grade_submissions(again, CHAPTER, folder / "course", feedback=False, log=lambda _: None, workers=2,
                              limits=Limits(wall_seconds=300), cell_seconds=CELL_SECONDS, force=True)
    for r in rerun.students:
        assert (r.status, r.scores, r.notes) == (results[r.student].status, results[r.student].scores,
                                                 results[r.student].notes)
    recorded = {r.student: r.scores for r in report_from_gradebook(folder / "course", CHAPTER).students
                if r.status == "graded"}
    assert recorded == {r.student: r.scores for r in report.students if r.status == "graded"}


def test_nothing_outside_the_scratch_course_changed(hostile):
    """Checksums of the repository (solutions/, dlcourse/, utils/...; the virtual environment by size and
    time), every submitted file and an instructor's file in the class course, before and after
    grading the class; and the files the escapes would have written on the host."""
    *_, changes = hostile
    assert changes == {"repository": [], "submitted": [], "canary": [], "host": []}, changes


def student_files(folder: Path, student: str) -> dict[str, str]:
    """What a student receives (feedback) and what the instructor opens (the autograded notebook)."""
    course = folder / "course"
    files = [course / "feedback" / student / CHAPTER / f"{CHAPTER}.html",
             course / "autograded" / student / CHAPTER / f"{CHAPTER}.ipynb"]
    return {str(path): path.read_text() for path in files if path.exists()}


def test_no_solution_hidden_test_or_secret_leaves_the_sandbox(hostile):
    folder, _, _, results, _, _ = hostile
    secret = secret_lines(CHAPTER) | {line for other in ("02_classical_ml", "03_mlp") for line in secret_lines(other)}
    assert len(secret) > 50
    leaks = []
    graded = [student for student, result in results.items() if result.status == "graded"]
    assert {"escapes-with-commands", "escapes-with-ctypes", "attacks-the-grader", "snoops"} <= set(graded)
    for student in graded:
        files = student_files(folder, student)
        assert files, f"{student}: nothing graded"
        for path, text in files.items():
            if path.endswith(".html"):
                leaks += [f"{path}: {line}" for line in secret if line in text and line not in _own_code(folder, student)]
            leaks += [f"{path}: grader environment" for word in ("hunter2",) if word in text]
    assert not leaks, "\n".join(leaks[:20])
    output = student_files(folder, "escapes-with-commands")
    assert all("HOSTILE" not in p for p in os.listdir("/")), "an escape wrote at the root of the host"
    assert output


def _own_code(folder: Path, student: str) -> str:
    """The student's own source (their answers may legitimately equal solution lines)."""
    nb = nbformat.read(folder / "submitted" / student / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    return "\n".join(c.source for c in nb.cells)


def test_no_active_content_reaches_a_browser(hostile):
    """Scripts, event handlers, script URLs and frames from the student's outputs and Markdown are
    gone from the autograded notebook and the feedback."""
    from html.parser import HTMLParser

    folder, *_ = hostile
    course = folder / "course"
    nb = nbformat.read(course / "autograded" / "active-content" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    kinds = {mime for c in nb.cells for o in c.get("outputs", []) for mime in o.get("data", {})}
    assert kinds <= {"text/plain", "image/png", "image/jpeg", "image/gif"}, kinds

    class Active(HTMLParser):
        found: list = []

        def handle_starttag(self, tag, attrs):
            if tag in ("iframe", "object", "embed"):
                self.found.append(tag)
            for name, value in attrs:
                if name.startswith("on") or "javascript:" in (value or "").replace(" ", "").lower():
                    self.found.append(f"{tag} {name}={value}")

        def handle_data(self, data):
            if "document.title" in data and self.lasttag == "script":
                self.found.append(f"script: {data[:80]}")

    parser = Active()
    parser.feed((course / "feedback" / "active-content" / CHAPTER / f"{CHAPTER}.html").read_text())
    assert parser.found == [], parser.found


def test_class_course_keeps_only_graded_notebooks(hostile):
    folder, *_ = hostile
    autograded = folder / "course" / "autograded"
    extra = [str(p) for p in autograded.rglob("*") if p.is_file() and p.name not in (f"{CHAPTER}.ipynb", "timestamp.txt")]
    assert extra == []
    size = sum(p.stat().st_size for p in (folder / "course").rglob("*") if p.is_file())
    assert size < 200 * 2**20, f"the class course holds {size / 2**20:.0f} MiB after grading"


def test_every_file_grading_writes_is_small(hostile):
    """A cell that prints 50 MB in one line is cut: no graded notebook, feedback page or gradebook
    grows with what a submission prints."""
    folder, _, _, results, _, _ = hostile
    written = [p for p in (folder / "course").rglob("*") if p.is_file()]
    assert any("one-line-output" in str(p) for p in written) and results["one-line-output"].feedback is not None
    large = {str(p.relative_to(folder)): p.stat().st_size for p in written if p.stat().st_size > 3 * 2**20}
    assert not large, f"files over 3 MiB: {large}"


def test_no_hidden_test_reaches_the_kernels_history_or_the_feedback(hostile):
    """Test cells run without history and their source stays out of linecache: what the
    submission printed after them holds no hidden test; and nothing printed after the first test
    cell reaches the feedback (re-encoded text cannot be compared line by line)."""
    import codecs

    folder, _, _, results, _, _ = hostile
    assert results["prints-the-history"].status == "graded"
    graded = nbformat.read(folder / "course" / "autograded" / "prints-the-history" / CHAPTER / f"{CHAPTER}.ipynb",
                           as_version=4)
    printed = "".join(o.get("text", "") for o in graded.cells[-1].get("outputs", []))
    assert "LEAK-ROT13:" in printed and "LEAK-LINECACHE:" in printed, printed[:500]
    decoded = codecs.decode(printed.split("LEAK-ROT13:", 1)[1].split("LEAK-LINECACHE:", 1)[0], "rot13")
    encoded = printed.split("LEAK-LINECACHE:", 1)[1].strip().split("\n")[0]
    linecache = base64.b64decode(encoded[:len(encoded) // 4 * 4]).decode(errors="replace")
    hidden = [line.strip() for cell in solution().cells for number in hidden_line_numbers(cell.source)
              for line in [cell.source.split("\n")[number - 1]] if line.strip().startswith("assert")]
    assert "def polynomial_features" in linecache, "the dump of linecache holds the student's own cells"
    assert len(hidden) > 10 and not [line for line in hidden if line in decoded or line in linecache]
    for student, result in results.items():
        page = folder / "course" / "feedback" / student / CHAPTER / f"{CHAPTER}.html"
        if page.exists():
            assert "LEAK-ROT13:" not in page.read_text() and "LEAK-LINECACHE:" not in page.read_text(), student


def test_a_flood_of_outputs_is_one_note_and_a_small_notebook(hostile):
    folder, _, _, results, _, _ = hostile
    notes = results["display-flood"].notes
    assert len(notes) <= 5 and "stopped at the time limit" in notes[0], notes
    graded = folder / "course" / "autograded" / "display-flood" / CHAPTER / f"{CHAPTER}.ipynb"
    assert graded.stat().st_size < 2 * 2**20 and results["display-flood"].feedback is not None
