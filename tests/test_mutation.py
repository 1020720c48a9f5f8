"""Mutation testing of every exercise (dlcourse/authoring/mutation.py): each automatic and hand-written mutant
of a solution is killed by its exercise's tests with a clear message, or listed as equivalent
in mutants/equivalents.toml with a reason. One chapter per test, each in a fresh Python."""

import pytest

from dlcourse.authoring.mutants import Mutant, mutants_of
from dlcourse.authoring.mutation import ChapterSession, _judge, isolated_report
from dlcourse.grading.misconceptions import figures_in_session
from dlcourse.notebooks import chapters

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=chapters())
def report(request):
    return isolated_report(request.param, then=figures_in_session)


def test_no_unexplained_survivor(report):
    survivors = [f"{o.mutant.exercise} | {o.mutant.key}" for o in report.unexplained()]
    assert not survivors, (f"{report.chapter}: mutants no test kills (kill them with a better test, or list them in "
                           "mutants/equivalents.toml with the reason they are equivalent):\n" + "\n".join(survivors))


def test_a_blank_answer_fails_its_public_tests(report):
    """A blank notebook never scores: the answer cell as students receive it fails every
    exercise's public tests (and so its test cell)."""
    assert not report.blank_passing, (f"{report.chapter}: the release's blank answer passes the public tests of "
                                      f"{report.blank_passing}: add an assertion that calls the function")


def test_every_failure_message_is_clear(report):
    unclear = [f"{o.mutant.exercise} | {o.mutant.key} | {o.failure}" for o in report.unclear()]
    assert not unclear, f"{report.chapter}: test cells that fail without saying what was expected:\n" + "\n".join(unclear)


def test_no_stale_equivalent(report):
    assert not report.stale(), f"entries that no longer match a surviving mutant: {report.stale()}"


def test_every_hand_written_mutant_is_killed(report):
    survivors = [o.mutant.key for o in report.all() if o.mutant.hand_written and not o.killed]
    assert not survivors, survivors


def test_hand_written_mutants_cost_only_their_own_exercise(report):
    """The grading self-test plants mutants of different exercises in one submission and expects
    exactly their exercises' points lost: each must leave every other exercise's tests passing."""
    assert report.crosstalk() == [], report.crosstalk()
    assert any(o.mutant.hand_written for o in report.all()), f"{report.chapter} has no hand-written mutant"


def test_public_tests_catch_at_least_half(report):
    assert report.public_share() >= 0.5, report.table()


def test_public_tests_show_at_least_half_the_misconceptions(report):
    """The hand-written mutants (mutants) are wrong answers a student would write; the public
    tests, which a student runs before submitting, must show at least half of them, not leave them
    to the hidden tests."""
    hand = [o for o in report.all() if o.mutant.hand_written]
    assert sum(o.by_public for o in hand) >= len(hand) / 2, report.table()


def test_every_hand_written_mutant_is_diagnosed_as_itself(report):
    """The grader's diagnosis (dlcourse.grading.diagnosis) names each hand-written mutant, planted
    alone, as itself; where two behave the same on every probe it names both (listed by `course
    misconceptions`)."""
    figures = report.diagnosis
    errors = [f"{e.exercise}: {e.error}" for e in figures.exercises if e.error]
    wrong = [line for e in figures.exercises for line in e.misdiagnosed()]
    assert not errors and not wrong, "\n".join(errors + wrong)


def test_no_correct_answer_is_diagnosed(report):
    """The solution, every generated mutant listed as equivalent and every hand-written correct
    alternative (mutants/<chapter>/correct/, which must pass the tests) get no diagnosis, even when
    diagnosed as if they had failed."""
    figures = report.diagnosis
    alarms = [line for e in figures.exercises for line in e.false_alarms() + e.failing]
    assert not alarms, "\n".join(alarms)
    assert all("the solution" in e.correct for e in figures.exercises)


def test_validate_hints_are_up_to_date(report):
    """Validate's fingerprints of the hand-written mutants (utils/misconception_data/<chapter>.json)
    are those of the mutants, public tests and descriptions as they are now."""
    assert not report.diagnosis.stale_hints(), report.diagnosis.stale_hints()


def test_enough_mutants_per_exercise(report):
    thin = {e.exercise: len(e.automatic) for e in report.exercises if len(e.automatic) < 5}
    assert not thin, f"exercises with fewer than 5 automatic mutants: {thin}"


SOURCE = '''def f(x, p):
    """doc"""
    ### BEGIN SOLUTION
    if p < 1:
        y = x.clone().mul_(2)
    return y.sum(dim=0), p
    ### END SOLUTION
'''


def test_mutator_covers_the_operators_the_issue_names():
    keys = [m.key for m in mutants_of("f", SOURCE)]
    for expected in ("compare: p < 1 -> p <= 1", "drop call: x.clone() -> x", "out of place: x.clone().mul_(2)",
                     "constant: 0 -> 1", "other function: y.sum(dim=0) -> y.mean(dim=0)", "swap returned",
                     "delete: return", "negate condition"):
        assert any(key.startswith(expected) for key in keys), (expected, keys)
    assert len(keys) == len(set(keys)), "mutant keys must be unique"


def test_mutator_leaves_code_outside_the_solution_alone():
    for mutant in mutants_of("f", SOURCE):
        assert '"""doc"""' in mutant.source or "'doc'" in mutant.source
        assert mutant.source.startswith("def f(x, p):")


def test_judge_tells_clear_from_unclear_failures():
    def raised(code, filename):
        try:
            exec(compile(code, filename, "exec"), {})
        except Exception as error:  # noqa: BLE001
            return error
    assert _judge(raised("assert 1 == 2, 'expected 1, got 2'", "<test f>"), "<test f>", "<answer f>")[1]
    assert not _judge(raised("assert 1 == 2", "<test f>"), "<test f>", "<answer f>")[1]
    generic = raised("import torch\ntorch.testing.assert_close(torch.ones(2), torch.zeros(2))", "<test f>")
    assert not _judge(generic, "<test f>", "<answer f>")[1]
    assert _judge(raised("1 / 0", "<answer f>"), "<test f>", "<answer f>")[1], "an error in the answer is the student's"


def test_a_mutant_that_breaks_another_exercise_is_found():
    session = ChapterSession.__new__(ChapterSession)  # two toy exercises instead of a chapter's notebook
    session.namespace = {}
    session.cells = {"double": ("def double(x):\n    return 2 * x\n", "assert double(2) == 4, 'double(2) != 4'"),
                     "triple": ("def triple(x):\n    return 3 * x\n", "assert triple(2) == 6, 'triple(2) != 6'")}
    for solution, _ in session.cells.values():
        exec(solution, session.namespace)
    honest = session.trial(Mutant("double", "hand-written: honest", "def double(x):\n    return x + x + 1\n",
                                  hand_written=True))
    assert honest.killed and honest.disturbs == []
    leaky = session.trial(Mutant("double", "hand-written: leaky", "def double(x):\n    return 2 * x\n"
                                 "def triple(x):\n    return x\n", hand_written=True))
    assert not leaky.killed and leaky.disturbs == ["triple: AssertionError: triple(2) != 6"]
