"""Which known wrong answer does a failing answer behave like? (runs in the grading kernel)

The course keeps, for every exercise, hand-written wrong answers, each a named misconception
(``mutants/<chapter>/<exercise>__<bug>.py``, described for students in
``mutants/<chapter>/misconceptions.toml``). When an answer fails its test cell, this module runs
the answer, the course's solution and each of those wrong answers on the same *probes*, and
compares what they return:

- the probes are every call the exercise's whole test cell (public and hidden tests) makes to the
  exercise's function, recorded by running the test cell once against the solution; for a class,
  each instance the tests create, replayed as its constructor's arguments and the calls of its
  methods, in order, plus the shapes and trainability of a module's parameters afterwards;
- each candidate is called on a fresh deep copy of each probe's arguments with every seed reset,
  and its result, the arguments it was given (as they are after the call: in-place changes
  count) and any exception it raised are reduced to a comparable form;
- the answer is said to behave like a wrong answer when it agrees with it on every probe, differs
  from the solution wherever that wrong answer does, and the wrong answer differs from the
  solution on some probe. An answer that agrees with the solution on every probe is never
  labelled, nor is one that agrees with none of the wrong answers; when several agree, all are
  named (they are the same behaviour on these probes).

This file is executed inside the grading kernel (dlcourse.grading.guard), where the submission's
own code runs: it imports nothing of the course, and whatever it prints is only believed for a
failing exercise and a name among that exercise's known wrong answers. It also runs in-process
for the course's measurements (``course misconceptions``) and in Validate.
"""

from __future__ import annotations

import ast
import copy
import json
import math
import random
import re
import signal
import time
import warnings
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO

PREFIX = "[grader diagnosis] "
RTOL, ATOL = 1e-4, 1e-6  # float32 answers that sum in another order agree within these
MAX_ITEMS = 20_000  # elements of a list or tuple compared (longer: only the first ones)
MAX_DEPTH = 8
METHODS = ("__init__", "__call__", "__len__", "__getitem__")  # dunder methods of a class that are probed
RECORD_SECONDS = 6.0  # of running the test cell against the solution to record its calls
MAX_PROBES = 100  # a test that calls the function in a loop of thousands: the first and evenly spaced others


class _Iterator(list):
    """A probe's argument that was an iterator (e.g. ``model.parameters()``): recorded as its items,
    replayed as a new iterator over a copy of them."""


class _OutOfTime(BaseException):  # BaseException: an answer's `except Exception` does not swallow it
    pass


def defined_name(source: str, exercise: str) -> str:
    """The name an answer cell defines for ``exercise``: the exercise's own name when the cell
    binds it, else the last function or class the cell defines (e.g. ``ArrayDataset`` for
    ``array_dataset``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return exercise
    names = [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    names += [target.id for node in tree.body if isinstance(node, ast.Assign)
              for target in node.targets if isinstance(target, ast.Name)]
    return exercise if exercise in names or not names else names[-1]


# --- comparable forms ------------------------------------------------------------------------------

def _with_gradients(value, depth: int = 0):
    """The tensors in ``value`` (nested containers, modules' parameters, optimizers' parameters)
    that hold a ``.grad``."""
    import torch

    if depth > MAX_DEPTH:
        return
    if isinstance(value, torch.Tensor):
        if value.grad is not None:
            yield value
    elif isinstance(value, torch.nn.Module):
        yield from (p for p in value.parameters() if p.grad is not None)
    elif isinstance(value, torch.optim.Optimizer):
        yield from (p for group in value.param_groups for p in group["params"] if p.grad is not None)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _with_gradients(item, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _with_gradients(item, depth + 1)


def _clone(value):
    """A deep copy of a probe's arguments, gradients included (deepcopy leaves out a parameter's
    ``.grad``); tensors that deepcopy refuses (non-leaf tensors of an autograd graph) are copied
    as new leaves with the same values and ``requires_grad``."""
    memo: dict = {}
    try:
        copied = copy.deepcopy(value, memo)
    except Exception:
        copied = memo = None
    if memo is not None:
        for original in _with_gradients(value):
            twin = memo.get(id(original))
            if twin is not None and twin is not original and twin.grad is None:
                twin.grad = original.grad.detach().clone()
        return copied
    import torch

    if isinstance(value, torch.Tensor):
        copied = value.detach().clone()
        return copied.requires_grad_(value.requires_grad) if copied.is_floating_point() or copied.is_complex() else copied
    if isinstance(value, (list, tuple)):
        items = [_clone(item) for item in value]
        return type(value)(items) if not hasattr(value, "_fields") else type(value)(*items)
    if isinstance(value, dict):
        return type(value)((key, _clone(item)) for key, item in value.items())
    raise TypeError(f"cannot copy a {type(value).__name__}")


def form(value, depth: int = 0):
    """What is compared of a value: a nested tuple whose tensors and arrays are copied."""
    import numpy as np
    import torch

    if depth > MAX_DEPTH:
        return ("opaque", "deep")
    if isinstance(value, BaseException):  # its type and the first line of its message, without addresses
        message = re.sub(r"0x[0-9a-fA-F]+", "0x?", str(value).strip().split("\n")[0])[:200]
        return ("raised", type(value).__name__, message)
    if isinstance(value, torch.Tensor):
        head = ("tensor", tuple(value.shape), str(value.dtype), value.device.type, bool(value.requires_grad))
        if value.device.type == "meta" or value.is_sparse:
            return head + (None, None)
        grad = value.grad if value.is_leaf and value.requires_grad else None  # gradients left behind count
        return head + (value.detach().to("cpu", copy=True), None if grad is None else form(grad, depth + 1))
    if isinstance(value, torch.Generator):  # a seeded generator: its state says which draws follow
        return ("generator", value.device.type, form(value.get_state(), depth + 1))
    if isinstance(value, torch.nn.Module):
        parameters = tuple(form(p, depth + 1) for p in value.parameters())
        buffers = tuple(form(b, depth + 1) for b in value.buffers())
        modes = tuple(bool(m.training) for m in value.modules())
        plain = {key: item for key, item in vars(value).items() if not key.startswith("_") and key != "training"}
        return ("module", modes, parameters, buffers, form(plain, depth + 1), form(_response(value), depth + 1))
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return ("list", tuple(form(v, depth + 1) for v in value.ravel()[:MAX_ITEMS]), value.shape)
        return ("array", value.shape, value.dtype.str, value.copy())
    if isinstance(value, np.generic):
        return ("npscalar", value.dtype.str, value.item())
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return ("scalar", type(value).__name__, value)
    if isinstance(value, (list, tuple)):  # an iterator argument (_Iterator) is not a list given
        return ("iterator" if isinstance(value, _Iterator) else "list" if isinstance(value, list) else "tuple",
                tuple(form(item, depth + 1) for item in value[:MAX_ITEMS]), len(value))
    if isinstance(value, dict):
        keys = sorted(value, key=repr)
        return ("dict", tuple((repr(k), form(value[k], depth + 1)) for k in keys))
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted(repr(v) for v in value)))
    return ("opaque", type(value).__name__)


def _response(module):
    """What a module returns, in evaluation mode, for a fixed random input shaped for its first
    layer (a Linear or a 2-d convolution): two modules with the same parameters can still differ in
    their activations. None when no such input can be made, or the module fails on it."""
    import torch

    first = next((m for m in module.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))), None)
    if first is None or first.weight.device.type == "meta":
        return None
    generator = torch.Generator().manual_seed(0)
    shape = (3, first.in_features) if isinstance(first, torch.nn.Linear) else (2, first.in_channels, 12, 12)
    x = torch.randn(shape, generator=generator, dtype=first.weight.dtype).to(first.weight.device)
    try:
        twin = copy.deepcopy(module).eval()
        with torch.no_grad():
            return twin(x)
    except Exception:
        return None


def _key(value, contents: bool = True, depth: int = 0):
    """A hashable stand-in for a probe's arguments, to find repeated calls: tensors and arrays by
    their bytes (only their shape and dtype without ``contents``), numbers and strings by value, a
    seeded generator by its state, and any other object (a function, a model) by its identity."""
    import numpy as np
    import torch

    if depth > MAX_DEPTH:
        return ("deep",)
    if isinstance(value, torch.Tensor):
        head = ("tensor", tuple(value.shape), str(value.dtype), value.device.type)
        if not contents or value.device.type == "meta" or value.is_sparse:
            return head
        return head + (value.detach().to("cpu").contiguous().view(-1).view(torch.uint8).numpy().tobytes(),)
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.dtype.str) + ((value.tobytes(),) if contents and value.dtype != object else ())
    if isinstance(value, torch.Generator):
        return ("generator", bytes(value.get_state().numpy()) if contents else None)
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return (type(value).__name__, value)
    if isinstance(value, (list, tuple)):
        return (type(value).__name__,) + tuple(_key(item, contents, depth + 1) for item in value[:MAX_ITEMS])
    if isinstance(value, dict):
        return ("dict",) + tuple((repr(k), _key(v, contents, depth + 1)) for k, v in value.items())
    return ("object", type(value).__name__, id(value))


def _close_values(a, b) -> bool:
    import numpy as np
    import torch

    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, torch.Tensor):
        if a.is_floating_point() or a.is_complex():
            a, b = a.to(torch.complex128 if a.is_complex() else torch.float64), \
                b.to(torch.complex128 if b.is_complex() else torch.float64)
            return bool(torch.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True))
        return bool(torch.equal(a, b))
    if isinstance(a, np.ndarray):
        if a.dtype.kind in "fc":
            return bool(np.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True))
        try:
            return bool(np.array_equal(a, b))
        except Exception:
            return False
    if isinstance(a, float) or isinstance(b, float):
        try:
            return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=RTOL, abs_tol=ATOL)
        except TypeError:
            return False
    return a == b


def same(a, b) -> bool:
    """Whether two forms agree (floats within RTOL/ATOL; types, shapes and dtypes exactly)."""
    if type(a) is not type(b):
        return False
    if not isinstance(a, tuple):
        return _close_values(a, b)
    if len(a) != len(b):
        return False
    if a and a[0] == "opaque":
        return a == b
    return all(same(x, y) for x, y in zip(a, b))


# --- probes ------------------------------------------------------------------------------------------

def _reseed() -> None:
    import numpy as np
    import torch

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


def _probed_methods(cls) -> list[str]:
    return [name for name, value in vars(cls).items() if callable(value)
            and (not name.startswith("__") or name in METHODS) and not isinstance(value, (staticmethod, classmethod, type))]


def _state(instance):
    """A module's weights and buffers (copied) as a method of it is called, else None."""
    import torch

    if not isinstance(instance, torch.nn.Module):
        return None
    try:
        return {key: value.detach().clone() for key, value in instance.state_dict().items()}
    except Exception:
        return None


def record(obj, run_tests) -> list:
    """Run ``run_tests(stand_in)`` with a recording stand-in for ``obj`` and return the probes:
    ("call", args, kwargs) for a function, ("instance", args, kwargs, [(method, args, kwargs)...])
    for each instance of a class (None where the arguments could not be copied)."""
    import functools

    probes: list = []
    depth = [0]
    if isinstance(obj, type):
        sessions: dict[int, list] = {}
        originals = {name: vars(obj)[name] for name in _probed_methods(obj)}

        def wrap(name, method):
            @functools.wraps(method)
            def recorded(self, *args, **kwargs):
                if depth[0] == 0:
                    try:
                        copied = _clone((args, kwargs))
                    except Exception:
                        copied = None
                    if name == "__init__":
                        sessions[id(self)] = ["instance", copied, []]
                        probes.append(sessions[id(self)])
                    elif id(self) in sessions:
                        sessions[id(self)][2].append((name, copied, _state(self)))
                depth[0] += 1
                try:
                    return method(self, *args, **kwargs)
                finally:
                    depth[0] -= 1
            return recorded

        for name, method in originals.items():
            setattr(obj, name, wrap(name, method))
        try:
            run_tests(obj)
        finally:
            for name, method in originals.items():
                setattr(obj, name, method)
        return [None if p[1] is None or any(c is None for _, c, _ in p[2]) else ("instance", p[1], p[2]) for p in probes]

    @functools.wraps(obj)
    def stand_in(*args, **kwargs):
        if depth[0] == 0:
            args, kwargs, recorded = _materialised(args, kwargs)
            try:
                probes.append(("call", _clone(recorded)))
            except Exception:
                probes.append(None)
        depth[0] += 1
        try:
            return obj(*args, **kwargs)
        finally:
            depth[0] -= 1

    run_tests(stand_in)
    return probes


def _tensors(value, depth: int = 0):
    """The tensors of ``value`` and of the lists, tuples and dicts nested in it."""
    import torch

    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)) and depth < MAX_DEPTH:
        for item in value:
            yield from _tensors(item, depth + 1)
    elif isinstance(value, dict) and depth < MAX_DEPTH:
        for item in value.values():
            yield from _tensors(item, depth + 1)


def gradients(result, inputs) -> tuple:
    """The gradient of a fixed random weighting of ``result``'s floating tensors with respect to
    the ``inputs`` that require grad (None where none flows): what a test's backward() sees."""
    import torch

    outputs = [t for t in _tensors(result) if t.is_floating_point() and t.requires_grad]
    leaves = [t for t in _tensors(inputs) if t.requires_grad and t.is_leaf]
    if not outputs or not leaves:
        return ()
    generator = torch.Generator().manual_seed(1)
    total = sum((t * torch.randn(t.shape, generator=generator, dtype=t.dtype).to(t.device)).sum() for t in outputs)
    try:
        found = torch.autograd.grad(total, leaves, allow_unused=True)
    except _OutOfTime:
        raise
    except Exception as error:
        return (form(error),)
    return tuple(form(g) for g in found)


def _is_iterator(value) -> bool:
    import types

    return isinstance(value, (types.GeneratorType, map, filter, zip)) or (
        hasattr(value, "__next__") and hasattr(value, "__iter__") and not hasattr(value, "__len__"))


def _materialised(args, kwargs):
    """(args, kwargs) with each iterator argument read into a list and given on as a new iterator,
    and what is recorded: the same with the list marked as an _Iterator."""
    if not any(_is_iterator(v) for v in (*args, *kwargs.values())):
        return args, kwargs, (args, kwargs)
    read = {key: _Iterator(value) for key, value in (*enumerate(args), *kwargs.items()) if _is_iterator(value)}
    args = tuple(read.get(i, value) for i, value in enumerate(args))
    kwargs = {key: read.get(key, value) for key, value in kwargs.items()}
    given = (tuple(iter(a) if isinstance(a, _Iterator) else a for a in args),
             {k: iter(v) if isinstance(v, _Iterator) else v for k, v in kwargs.items()})
    return given[0], given[1], (args, kwargs)


def _given(args, kwargs):
    """A replayed probe's arguments as the function receives them: _Iterator lists as iterators."""
    return (tuple(iter(a) if isinstance(a, _Iterator) else a for a in args),
            {k: iter(v) if isinstance(v, _Iterator) else v for k, v in kwargs.items()})


def replay(obj, probe) -> tuple:
    """The form of what ``obj`` does on one probe."""
    if probe[0] == "call":
        args, kwargs = _clone(probe[1])
        _reseed()
        try:
            given_args, given_kwargs = _given(args, kwargs)
            result = obj(*given_args, **given_kwargs)
        except _OutOfTime:
            raise
        except Exception as error:
            result = error
        return (form(result), form(args), form(kwargs), gradients(result, (args, kwargs)))
    _, (args, kwargs), calls = probe
    args, kwargs = _clone((args, kwargs))
    _reseed()
    try:
        instance = obj(*args, **kwargs)
    except _OutOfTime:
        raise
    except Exception as error:
        return (form(error),)
    forms = []
    for name, copied, state in calls:
        call_args, call_kwargs = _clone(copied)
        if state is not None:  # what the tests set between calls (weights copied in, a step of training)
            try:
                instance.load_state_dict(state)
            except Exception:  # another layout of parameters: the call goes on from the answer's own state
                pass
        _reseed()
        try:
            method = instance if name in ("forward", "__call__") else getattr(instance, name)
            result = method(*call_args, **call_kwargs)
        except _OutOfTime:
            raise
        except Exception as error:
            result = error
        forms.append((name, form(result), form(call_args), gradients(result, (call_args, call_kwargs))))
    import torch

    if isinstance(instance, torch.nn.Module):  # what the tests check besides outputs: weights, what trains
        forms.append(("module", form(instance)))
    return tuple(forms)


# --- the diagnosis -----------------------------------------------------------------------------------

def _define(source: str, name: str, namespace: dict):
    """The object that ``source`` (an answer cell) binds to ``name``, defined in a copy of the
    notebook's namespace (the notebook's own ``name`` is left alone)."""
    scratch = dict(namespace)
    exec(compile(source, f"<answer {name}>", "exec"), scratch)
    return scratch[name]


class _Quiet:
    """Output and warnings silenced, the RNG states put back, and a time limit (SIGALRM)."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def __enter__(self):
        import numpy as np
        import torch

        self.states = (random.getstate(), np.random.get_state(), torch.get_rng_state())
        self.stack = [redirect_stdout(StringIO()), redirect_stderr(StringIO()), warnings.catch_warnings()]
        for context in self.stack:
            context.__enter__()
        warnings.simplefilter("ignore")

        def out_of_time(signum, frame):
            raise _OutOfTime()

        self.previous = signal.signal(signal.SIGALRM, out_of_time)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc):
        import numpy as np
        import torch

        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)
        for context in reversed(self.stack):
            context.__exit__(None, None, None)
        random.setstate(self.states[0])
        np.random.set_state(self.states[1])
        torch.set_rng_state(self.states[2])
        return False


class _Recorded(BaseException):
    pass


class _Recording:
    """Stop the test cell's run after ``seconds`` (raising _Recorded in it: a test that trains a
    model for long records its calls first), within whatever time limit is already set."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def __enter__(self):
        def recorded(signum, frame):
            raise _Recorded()

        self.left = signal.getitimer(signal.ITIMER_REAL)[0]  # 0: no limit set
        self.started = time.monotonic()
        self.previous = signal.signal(signal.SIGALRM, recorded if not self.left or self.seconds < self.left
                                      else signal.getsignal(signal.SIGALRM))
        if not self.left or self.seconds < self.left:
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)
        if self.left:
            signal.setitimer(signal.ITIMER_REAL, max(0.001, self.left - (time.monotonic() - self.started)))
        return False


class Diagnoser:
    """The probes of one exercise and what the solution and each wrong answer do on them,
    computed once; :meth:`of` compares an answer with them."""

    def __init__(self, namespace: dict, exercise: str, solution: str, test: str, wrong: dict[str, str],
                 record_seconds: float = RECORD_SECONDS):
        self.exercise, self.name = exercise, defined_name(solution, exercise)
        reference = _define(solution, self.name, namespace)
        tests = dict(namespace)

        def run_tests(stand_in):
            tests[self.name] = stand_in
            _reseed()
            with _Recording(record_seconds):
                try:
                    exec(compile(test, f"<test {exercise}>", "exec"), tests)
                except (_Recorded, Exception):  # the probes recorded until then count
                    pass

        probes, seen = [], set()
        for probe in record(reference, run_tests):  # a repeated call (a sampling loop) says nothing new
            key = _key(probe) if probe is not None else None
            if key is not None and key not in seen:
                seen.add(key)
                probes.append(probe)
        if len(probes) > MAX_PROBES:  # shared among the kinds of call (shapes, dtypes, other arguments) in turn
            kinds: dict = {}
            for position, probe in enumerate(probes):
                kinds.setdefault(_key(probe, contents=False), []).append(position)
            quota, left = dict.fromkeys(kinds, 0), MAX_PROBES
            while left:
                for kind, members in kinds.items():
                    if left and quota[kind] < len(members):
                        quota[kind], left = quota[kind] + 1, left - 1
            chosen = [members[int(j * len(members) / quota[kind])] for kind, members in kinds.items()
                      for j in range(quota[kind])]
            probes = [probes[i] for i in sorted(chosen)]
        expected = [replay(reference, p) for p in probes]
        again = [replay(reference, p) for p in probes]  # a probe whose result varies says nothing
        keep = [i for i in range(len(probes)) if same(expected[i], again[i])]
        self.probes, self.expected = [probes[i] for i in keep], [expected[i] for i in keep]
        self.wrong: dict[str, list] = {}
        for key, source in wrong.items():
            try:
                candidate = _define(source, self.name, namespace)
            except _OutOfTime:
                raise
            except Exception:
                continue
            forms = [replay(candidate, p) for p in self.probes]
            if any(not same(f, e) for f, e in zip(forms, self.expected)):  # else it says nothing here
                self.wrong[key] = forms

    def of(self, answer) -> dict:
        """{"matches": keys of the wrong answers ``answer`` behaves like, "probes": n, "why": ...}."""
        report = {"exercise": self.exercise, "matches": [], "probes": len(self.probes), "why": ""}
        if not self.probes:
            report["why"] = "no probe"
            return report
        answered = [replay(answer, p) for p in self.probes]
        wrong_at = [not same(a, e) for a, e in zip(answered, self.expected)]
        if not any(wrong_at):
            report["why"] = "agrees with the solution on every probe"
            return report
        for key, forms in self.wrong.items():
            if all(same(a, f) and (same(f, e) or off) for a, f, e, off in zip(answered, forms, self.expected, wrong_at)):
                report["matches"].append(key)
        if not report["matches"]:
            report["why"] = "agrees with no known wrong answer"
        return report


def diagnose(namespace: dict, exercise: str, solution: str, test: str, wrong: dict[str, str],
             seconds: float = 20.0, answer=None) -> dict:
    """Which of the ``wrong`` answers (key -> answer cell source) the notebook's answer to
    ``exercise`` (``answer``, default: what the notebook binds to the exercise's name in
    ``namespace``) behaves like: {"matches": [keys], "probes": how many were compared, "why":
    why there is no match}. Never raises; output, warnings and the RNG states are left as they
    were; after ``seconds`` it gives up and names nothing."""
    name = defined_name(solution, exercise)
    if answer is None:
        answer = namespace.get(name)
    if answer is None:
        return {"exercise": exercise, "matches": [], "probes": 0, "why": f"the notebook defines no {name}"}
    try:
        with _Quiet(seconds):
            return Diagnoser(namespace, exercise, solution, test, wrong).of(answer)
    except _OutOfTime:
        why = f"out of time ({seconds:g} s)"
    except Exception as error:  # the grader's diagnosis never fails a grading: it says nothing
        why = f"{type(error).__name__}: {str(error)[:200]}"
    return {"exercise": exercise, "matches": [], "probes": 0, "why": why}


def run(namespace: dict, payload: str, total: float | None = None) -> None:
    """In the grading kernel: diagnose each exercise of ``payload`` (JSON: a list of {exercise,
    solution, test, wrong, seconds}), within ``total`` seconds for all of them (the exercises left
    when it is spent are not diagnosed), and print one line per exercise, after PREFIX."""
    deadline = time.monotonic() + total if total else None
    for job in json.loads(payload):
        seconds = job["seconds"] if deadline is None else min(job["seconds"], deadline - time.monotonic())
        if seconds < 1:
            result = {"exercise": job["exercise"], "matches": [], "probes": 0, "why": "no time left"}
        else:
            result = diagnose(namespace, job["exercise"], job["solution"], job["test"], job["wrong"], seconds)
        print(PREFIX + json.dumps(result), flush=True)
