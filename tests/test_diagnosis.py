"""The misconception diagnosis (dlcourse.grading.diagnosis) on small exercises written here: it
names the known wrong answer a failing answer behaves like, never labels an answer that agrees
with the solution, and says nothing about a wrong answer it does not know; and the course's
catalogue of misconceptions (dlcourse.authoring.known_wrong) is complete and only believed within
its own names. The chapters' own figures are in tests/test_mutation.py and `course misconceptions`."""

import io
import json
import random
from contextlib import redirect_stdout

import numpy as np
import pytest
import torch

from dlcourse.grading import diagnosis
from dlcourse.authoring import known_wrong
from dlcourse.grading.diagnosis import diagnose, form, same
from dlcourse.notebooks import chapters

SOLUTION = '''def row_sums(x):
    ### BEGIN SOLUTION
    return x.sum(dim=1)
    ### END SOLUTION
'''
TEST = '''_x = torch.arange(12.0).reshape(3, 4)
assert torch.allclose(row_sums(_x), torch.tensor([6.0, 22.0, 38.0])), "row sums"
### BEGIN HIDDEN TESTS
assert row_sums(torch.ones(2, 5, dtype=torch.float64)).dtype == torch.float64, "dtype"
_g = torch.randn(4, 3, requires_grad=True)
row_sums(_g).sum().backward()
### END HIDDEN TESTS
'''
WRONG = {
    "row_sums__whole_sum": "def row_sums(x):\n    return x.sum()\n",
    "row_sums__columns": "def row_sums(x):\n    return x.sum(dim=0)\n",
    "row_sums__detached": "def row_sums(x):\n    return x.detach().sum(dim=1)\n",
    "row_sums__float32": "def row_sums(x):\n    return x.sum(dim=1, dtype=torch.float32)\n",
}


def answer(source: str):
    namespace = {"torch": torch}
    exec(source, namespace)
    return namespace["row_sums"]


def run(source: str, wrong=WRONG, seconds: float = 20.0) -> dict:
    return diagnose({"torch": torch}, "row_sums", SOLUTION, TEST, wrong, seconds, answer=answer(source))


@pytest.mark.parametrize("key", sorted(WRONG))
def test_each_known_wrong_answer_is_named(key):
    assert run(WRONG[key])["matches"] == [key]


@pytest.mark.parametrize("source, key", [
    ("def row_sums(x):\n    return torch.sum(x)\n", "row_sums__whole_sum"),  # written differently
    ("def row_sums(x):\n    return torch.stack(list(x)).sum(0)\n", "row_sums__columns"),
    ("def row_sums(x):\n    return torch.tensor([float(r.sum()) for r in x])\n", "row_sums__float32"),  # no gradient either
])
def test_the_same_mistake_written_another_way_is_named(source, key):
    """Behaviour, not text: a loop or another function with the same wrong result is recognised,
    and an answer with two mistakes is named only for what it shares with a known one entirely."""
    found = run(source)["matches"]
    if key == "row_sums__float32":  # float32 and detached at once: like neither of the two alone
        assert found == [], found
    else:
        assert found == [key], found


@pytest.mark.parametrize("source", [
    SOLUTION,
    "def row_sums(x):\n    return (x * torch.ones(x.shape[1], dtype=x.dtype)).sum(-1)\n",
    "def row_sums(x):\n    out = torch.zeros(x.shape[0], dtype=x.dtype)\n    for i in range(x.shape[0]):\n"
    "        out = out + torch.nn.functional.one_hot(torch.tensor(i), x.shape[0]).to(x.dtype) * x[i].sum()\n"
    "    return out\n",
])
def test_a_correct_answer_is_never_named(source):
    report = run(source)
    assert report["matches"] == [] and "agrees with the solution" in report["why"], report


def test_an_unknown_mistake_is_not_named():
    report = run("def row_sums(x):\n    return x.sum(dim=1) + 1\n")
    assert report["matches"] == [] and "no known wrong answer" in report["why"], report
    assert run("def row_sums(x):\n    raise ValueError('no')\n")["matches"] == []


def test_several_answers_that_behave_alike_are_all_named():
    twins = {**WRONG, "row_sums__columns_again": "def row_sums(x):\n    return x.T.sum(dim=1)\n"}
    assert run(WRONG["row_sums__columns"], twins)["matches"] == ["row_sums__columns", "row_sums__columns_again"]


def test_a_wrong_answer_that_the_probes_cannot_tell_from_the_solution_is_never_named():
    """A 'wrong answer' that agrees with the solution on every probe says nothing: it must not
    take over a failing answer's diagnosis, whatever that answer does."""
    useless = {"row_sums__same": "def row_sums(x):\n    return x.sum(dim=-1)\n"}
    assert run("def row_sums(x):\n    return x.sum(dim=1) * 2\n", useless)["matches"] == []


def test_an_answer_that_loops_forever_gives_up_quietly():
    report = run("def row_sums(x):\n    while True:\n        pass\n", seconds=1.0)
    assert report["matches"] == [] and "out of time" in report["why"], report


def test_the_diagnosis_leaves_output_and_random_state_alone():
    random.seed(5), np.random.seed(5), torch.manual_seed(5)
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(5), np.random.seed(5), torch.manual_seed(5)
    printed = io.StringIO()
    with redirect_stdout(printed):
        run("def row_sums(x):\n    print('noise')\n    return x.sum()\n")
    assert printed.getvalue() == ""
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_in_place_changes_gradients_and_iterators_are_compared():
    """What an answer does to its arguments (in place, gradients left in parameters) counts, and
    an iterator argument (model.parameters()) is replayed as a new iterator each time."""
    solution = "def scale_(params, factor):\n    for p in params:\n        p.data.mul_(factor)\n"
    test = ("_m = torch.nn.Linear(3, 2)\nscale_(_m.parameters(), 2.0)\n"
            "_t = torch.ones(3)\nscale_([_t], 3.0)\nassert torch.equal(_t, torch.full((3,), 3.0)), 'in place'\n")
    wrong = {"scale___copies": "def scale_(params, factor):\n    for p in params:\n        p = p * factor\n",
             "scale___first_only": "def scale_(params, factor):\n    next(iter(params)).data.mul_(factor)\n"}
    namespace = {"torch": torch}
    for key, source in wrong.items():
        exec(source, namespace)
        found = diagnose({"torch": torch}, "scale_", solution, test, wrong, answer=namespace["scale_"])
        assert found["matches"] == [key], found


def test_the_diagnosis_imports_nothing_of_the_course():
    """It runs inside the grading kernel, given as source: dlcourse is not readable there."""
    import ast

    tree = ast.parse(open(diagnosis.__file__).read())
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [name for name in imported if name.split(".")[0] in ("dlcourse", "utils")], imported


def test_forms_compare_values_within_tolerance_and_types_exactly():
    a = torch.tensor([1.0, 2.0])
    assert same(form(a), form(a + 1e-7)) and not same(form(a), form(a + 1e-2))
    assert not same(form(a), form(a.double())), "dtype counts"
    assert not same(form(a), form(a.numpy())) and not same(form(1), form(1.0))
    assert same(form(ValueError("at 0x7f00")), form(ValueError("at 0x7e11"))), "addresses are not compared"
    assert not same(form(ValueError("a")), form(TypeError("a")))
    assert same(form({"b": [1.0, (2, None)]}), form({"b": [1.0 + 1e-9, (2, None)]}))


def test_the_kernel_entry_point_prints_one_line_per_exercise():
    printed = io.StringIO()
    payload = json.dumps([{"exercise": "row_sums", "solution": SOLUTION, "test": TEST, "wrong": WRONG, "seconds": 20}])
    namespace = {"torch": torch, **{"row_sums": answer(WRONG["row_sums__columns"])}}
    with redirect_stdout(printed):
        diagnosis.run(namespace, payload)
    lines = printed.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith(diagnosis.PREFIX)
    assert json.loads(lines[0][len(diagnosis.PREFIX):])["matches"] == ["row_sums__columns"]
    printed = io.StringIO()
    with redirect_stdout(printed):  # the submission's share of the grading time is spent: nothing more
        diagnosis.run(namespace, payload, total=0.5)
    assert json.loads(printed.getvalue()[len(diagnosis.PREFIX):]) == {
        "exercise": "row_sums", "matches": [], "probes": 0, "why": "no time left"}


@pytest.mark.parametrize("chapter", chapters())
def test_every_hand_written_mutant_has_a_misconception_and_a_hint(chapter):
    assert known_wrong.problems(chapter) == []
    assert known_wrong.descriptions(chapter), f"{chapter} has no {known_wrong.FILE}"


def test_the_grader_believes_only_known_names_of_exercises_it_asked_about(tmp_path):
    chapter = chapters()[0]
    test_id, (exercise, _, _) = next(iter(known_wrong.exercise_cells(chapter).items()))
    asked = known_wrong.jobs(chapter, [test_id])
    real = next(iter(asked[0]["wrong"]))
    forged = [{"exercise": exercise, "matches": [real, f"{exercise}__invented"]},
              {"exercise": "not_asked", "matches": [real]}, "junk", {"exercise": exercise, "matches": "x"}]
    assert known_wrong.accepted(chapter, forged[:2], asked) == {exercise: [real]}
    assert known_wrong.accepted(chapter, forged[2:], asked) == {}
    (tmp_path / known_wrong.DIAGNOSIS).write_text(json.dumps({exercise: [real, "other__x"], "unknown": [real]}))
    assert known_wrong.read_diagnosis(tmp_path, chapter) == {exercise: [real]}
    (tmp_path / known_wrong.DIAGNOSIS).write_text("[not a dict")
    assert known_wrong.read_diagnosis(tmp_path, chapter) == {}
    note = known_wrong.note(chapter, [real])
    assert note.startswith(known_wrong.MARK) and known_wrong.descriptions(chapter)[real]["hint"] in note
