"""A class of hostile and broken submissions of chapter 01, graded by the real grader.

Each case is graded deterministically: either a score with a clear note, or NOT GRADED with the
reason. The correct submissions among them get full marks, nothing a submission does reaches
another student's files or the class gradebook, and the gradebook holds exactly what the report
says. The class is laid out as an instructor's `submitted/` folder and found by the same
functions as `python -m tools.grade` (find_submissions, find_extras).
"""

import json
import os
import sqlite3
import textwrap
from pathlib import Path

import nbformat
import pytest

from tools.grade import find_extras, find_submissions, grade_submissions, report_from_gradebook
from tools.notebooks import graded_cells, solution_cells, solution_path
from tools.sandbox import Limits, isolation_available

pytestmark = pytest.mark.slow
CHAPTER = "01_fundamentals"
CELL_SECONDS = 12  # per cell: ample for chapter 01's cells in smoke mode, short for the loops below
FULL = {name: 1.0 for name in graded_cells(nbformat.read(solution_path(CHAPTER), as_version=4))}


def zero(*exercises: str) -> dict[str, float]:
    return dict(FULL, **{f"test_{exercise}": 0.0 for exercise in exercises})


def solution():
    return nbformat.read(solution_path(CHAPTER), as_version=4)


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
        """), zero("sgd_step", "array_dataset"), "did not respond to the interrupt")
    case("memory-bomb", prepend(solution(), "pairwise_squared_distances", """
        _hog = []
        while True:
            _hog.append(torch.empty(2**28))  # 1 GiB each, until the memory limit
        """), zero("pairwise_squared_distances"), "ran out of memory the grader deleted the globals it assigned (_hog)")
    case("exits-the-kernel", prepend(solution(), "mse_gradients", "import os\nos._exit(1)"),
         zero("mse_gradients", "sgd_step", "array_dataset"), "the kernel died")
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
        """), FULL, "processes left running by the submission were killed")
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
    return cases


def _replace(nb, exercise: str, source: str):
    answer(nb, exercise).source = code(source)
    return nb


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    if not isolation_available():  # several cases rely on the namespaces (PID 1, hidden files)
        if os.environ.get("CI"):
            pytest.fail("CI machines allow user namespaces (unshare); the grader must use them")
        pytest.skip("this machine does not allow user namespaces: the grader warns that submissions run unconfined")
    folder = tmp_path_factory.mktemp("hostile-class")
    cases = build_class(folder)
    submitted = folder / "submitted"
    found = find_submissions(submitted, CHAPTER)
    victim_before = (submitted / "correct" / CHAPTER / f"{CHAPTER}.ipynb").read_bytes()
    report = grade_submissions(found, CHAPTER, folder / "course", feedback=True, log=lambda _: None, workers=2,
                               limits=Limits(wall_seconds=300), cell_seconds=CELL_SECONDS,
                               notes=find_extras(submitted, found))
    return folder, cases, report, {r.student: r for r in report.students}, victim_before


def test_at_least_fifteen_cases(hostile):
    _, cases, report, results, _ = hostile
    assert len(cases) >= 15 and set(results) == set(cases)


def test_each_case_is_graded_as_expected_with_a_clear_reason(hostile):
    _, cases, _, results, _ = hostile
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
    _, _, report, results, _ = hostile
    for student in ("correct", "huge-output", "pytorch-warnings"):
        assert results[student].notes == [], f"{student}: {results[student].notes}"
    summary = report.attention()
    assert "correct:" not in summary.splitlines() and "snoops:" in summary and "NOT GRADED: not a notebook" in summary


def test_nothing_reaches_other_students_or_the_class_gradebook(hostile):
    folder, _, report, results, victim_before = hostile
    victim = folder / "submitted" / "correct" / CHAPTER / f"{CHAPTER}.ipynb"
    assert victim.read_bytes() == victim_before
    assert Path(__file__).read_text().startswith('"""A class of hostile'), "the repository was written"
    output = "".join(o.get("text", "") for c in nbformat.read(
        folder / "course" / "autograded" / "snoops" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4).cells
        for o in c.get("outputs", []))
    assert "readable" not in output.replace("../../../gradebook.db readable", ""), output
    assert "WRITTEN" not in output, output


def test_gradebook_is_consistent(hostile):
    folder, _, report, results, _ = hostile
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
    folder, cases, report, results, _ = hostile
    submitted = folder / "submitted"
    again = {s: p for s, p in find_submissions(submitted, CHAPTER).items() if s in ("correct", "patched-helpers")}
    rerun = grade_submissions(again, CHAPTER, folder / "course", feedback=False, log=lambda _: None, workers=2,
                              limits=Limits(wall_seconds=300), cell_seconds=CELL_SECONDS)
    for r in rerun.students:
        assert (r.status, r.scores, r.notes) == (results[r.student].status, results[r.student].scores,
                                                 results[r.student].notes)
    recorded = {r.student: r.scores for r in report_from_gradebook(folder / "course", CHAPTER).students
                if r.status == "graded"}
    assert recorded == {r.student: r.scores for r in report.students if r.status == "graded"}
