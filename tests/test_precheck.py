"""dlcourse.grading.precheck: what is read from a submission before it is graded, without running it."""

import json

import nbformat
import pytest

from dlcourse.notebooks import chapters, release_path, solution_path
from dlcourse.grading.precheck import inspect_submission, suspicious

ALIASES = {"T": "torch", "np": "numpy", "testing": "torch.testing", "signal": "signal", "os": "os", "sys": "sys"}


@pytest.mark.parametrize("source, finding", [
    ("T.allclose = lambda *a, **k: True", "replaces torch.allclose"),
    ("np.testing.assert_allclose = print", "replaces numpy.testing.assert_allclose"),
    ("testing.assert_close = None", "replaces torch.testing.assert_close"),
    ("setattr(T, 'equal', None)", "replaces attributes of torch (setattr)"),
    ("import builtins\nbuiltins.isinstance = lambda *a: True", "replaces builtins.isinstance"),
    ("get_ipython().set_custom_exc((AssertionError,), None)", "changes IPython's exception handler"),
    ("get_ipython().ast_transformers.append(object())", "changes IPython's AST transformers"),
    ("get_ipython().events.register('pre_run_cell', print)", "changes IPython event callbacks"),
    ("sys.settrace(print)", "changes the trace function"),
    ("signal.signal(signal.SIGINT, signal.SIG_IGN)", "installs a signal handler"),
    ("os._exit(0)", "ends the kernel"),
    ("exit()", "ends the kernel"),
    ("import subprocess", "starts processes"),
    ("!ls /", "runs shell commands"),
    ("open('/course/gradebook.db').read()", "names grading files ('gradebook')"),
    ("class E:\n    def __eq__(self, other):\n        return True", "defines an __eq__ that is always True"),
    # reflection: names a check of the source cannot see (issue 26)
    ("getattr(globals()['get_'+'ipython'](), 'input_transformers_'+'post').append(print)",
     "uses reflection (getattr with a computed name)"),
    ("globals()['get_'+'ipython']()", "uses reflection (globals())"),
    ("f = vars(__builtins__)['ev' + 'al']", "uses reflection (vars())"),
    ("ref.polynomial_features.__closure__[0].cell_contents(x, 2)", "uses reflection (__closure__)"),
    ("g = f.__code__.co_consts", "uses reflection (__code__)"),
    ("import importlib\nimportlib.import_module('os')", "imports modules by computed names (importlib)"),
    ("import codecs\nexec(codecs.decode('cevag(1)', 'rot13'))", "decodes text at run time (codecs)"),
    ("import threading\nthreading.Thread(target=print).start()", "starts threads"),
    ("from concurrent.futures import ThreadPoolExecutor", "starts threads"),
    ("print(In)", "reads the kernel's input history (In)"),
    ("print(_i7)", "reads the kernel's input history (_i7)"),
    ("import linecache\nprint(linecache.cache)", "reads the source of cells (linecache)"),
])
def test_suspicious_code_is_named(source, finding):
    assert finding in suspicious(source, ALIASES)


@pytest.mark.parametrize("source", [
    "def f(x):\n    return torch.allclose(x, x)",
    "torch.backends.cudnn.benchmark = True",
    "model.weight = nn.Parameter(torch.zeros(3))",
    "import atexit\natexit.register(print)",
    "class P:\n    def __eq__(self, other):\n        return self.x == other.x",
    "def broken(:\n    pass",  # a syntax error fails when it runs; nothing to flag
])
def test_ordinary_code_is_not_flagged(source):
    assert suspicious(source, {"torch": "torch", "nn": "torch.nn"}) == []


@pytest.mark.parametrize("chapter", chapters())
def test_solutions_and_releases_need_no_attention(chapter):
    for path in (solution_path(chapter), release_path(chapter)):
        inspection = inspect_submission(path, chapter)
        assert inspection.problem is None and inspection.notes == [], (path, inspection.problem, inspection.notes)


def test_edited_and_copied_test_cells_are_restored(tmp_path):
    chapter = chapters()[0]
    nb = nbformat.read(release_path(chapter), as_version=4)
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
             and not c.metadata.nbgrader.get("solution")]
    original = tests[0].source
    tests[0].source = "pass"
    tests[1].metadata.nbgrader["locked"] = False
    path = tmp_path / "edited.ipynb"
    nbformat.write(nb, path)
    inspection = inspect_submission(path, chapter)
    restored = [c for c in inspection.notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == tests[0].metadata.nbgrader.grade_id]
    assert restored[0].source == original and len(inspection.notes) == 2
    assert all(c.metadata.nbgrader.get("locked") for c in inspection.notebook.cells
               if c.metadata.get("nbgrader", {}).get("grade_id") == tests[1].metadata.nbgrader.grade_id)


def test_wrong_assignment_and_duplicated_ids(tmp_path):
    first, second = chapters()[:2]
    inspection = inspect_submission(solution_path(second), first)
    assert inspection.problem.startswith(f"not a {first} notebook") and second in inspection.problem
    raw = json.loads(solution_path(first).read_text())
    raw["cells"][1]["id"] = raw["cells"][0]["id"]
    path = tmp_path / "dup.ipynb"
    path.write_text(json.dumps(raw))
    inspection = inspect_submission(path, first)
    assert inspection.problem is None and inspection.notes == ["duplicated cell ids (2 cells) were given new ids"]
    ids = [c.id for c in inspection.notebook.cells]
    assert len(set(ids)) == len(ids)


def test_forged_nbgrader_metadata_is_removed_with_a_note(tmp_path):
    """nbgrader metadata that is not a mapping, or that names a grade id the release does not have,
    made nbgrader's autograde fail for the whole submission (or the whole class run)."""
    chapter = chapters()[0]
    nb = nbformat.read(solution_path(chapter), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": ["not", "a", "dict"]}))
    nb.cells.append(nbformat.v4.new_code_cell("y = 2", metadata={"nbgrader": {
        "grade": True, "solution": False, "grade_id": "test_forged", "points": 100, "locked": True}}))
    nb.cells.append(nbformat.v4.new_code_cell("z = 3", metadata={"nbgrader": {"grade": False, "solution": False}}))
    path = tmp_path / "forged.ipynb"
    path.write_text(json.dumps(nb))
    inspection = inspect_submission(path, chapter)
    assert inspection.problem is None
    assert all("nbgrader" not in c.metadata for c in inspection.notebook.cells[-3:])
    forged = [n for n in inspection.notes if "nbgrader metadata" in n]
    assert len(forged) == 2 and "not a mapping (list)" in forged[0] and "'test_forged'" in forged[1], forged
