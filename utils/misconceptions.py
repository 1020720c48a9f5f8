"""Validate's hints: which known wrong answer a failing answer behaves like, before you submit.

The course keeps, for every exercise, wrong answers that students often write, each with the
misconception behind it and a hint. Their code is not shipped (it is the answer with one mistake),
only their *fingerprints*: what each one does when the exercise's public tests run it, reduced to
a hash (:func:`fingerprint`). When a test cell fails under Validate, the course's JupyterLab
extension (:mod:`utils.lab`) asks the notebook's kernel for the fingerprint of your answer on the
same public tests (:func:`hints`); if it is that of a known wrong answer, Validate shows that
wrong answer's misconception and hint above the error.

A fingerprint is a SHA-256 of every call the public tests make to the exercise's function or
class, in order: the call's arguments and result (and the arguments afterwards: in-place changes
count), numbers rounded to 3 significant digits (answers that add in another order agree), an
exception's type, and how the test cell ended (the error's type, and its message with numbers
rounded). Two answers with the same fingerprint behaved the same in every respect the public
tests see. An answer the hash does not know gets no hint. The grader's own diagnosis
(dlcourse.grading.diagnosis, with the hidden tests and the wrong answers' code) is stronger; this
is what can be shipped without the answers. The fingerprints are written by
``course misconceptions --write`` into ``utils/misconception_data/<chapter>.json`` and checked by
tests/test_mutation.py.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import warnings
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path

DATA = Path(__file__).resolve().parent / "misconception_data"
PREFIX = "[course hint] "
DIGITS = 3
TINY = 1e-6  # smaller magnitudes count as 0 (float noise around zero)
NUMBER = re.compile(r"-?\d+\.\d+(?:[eE][-+]?\d+)?")
ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
MAX_ITEMS = 20_000
MAX_DEPTH = 8


def _number(x: float) -> str:
    if x != x:
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return "0" if abs(x) < TINY else f"{x:.{DIGITS}g}"


def _text(message: str) -> str:
    """A message with its decimal numbers rounded and memory addresses removed."""
    message = ADDRESS.sub("0x?", message)
    return NUMBER.sub(lambda m: _number(float(m.group(0))), message)


def describe(value, depth: int = 0):
    """A JSON-able description of a value, numbers rounded (see the module docstring)."""
    import numpy as np
    import torch

    if depth > MAX_DEPTH:
        return "deep"
    if isinstance(value, BaseException):
        return ["raised", type(value).__name__]
    if isinstance(value, torch.Tensor):
        head = ["tensor", list(value.shape), str(value.dtype), value.device.type, bool(value.requires_grad)]
        if value.device.type == "meta" or value.is_sparse or value.is_complex():
            return head
        flat = value.detach().to("cpu").reshape(-1)[:MAX_ITEMS]
        if flat.is_floating_point():
            return head + [[_number(x) for x in flat.double().tolist()]]
        return head + [flat.tolist()]
    if isinstance(value, torch.nn.Module):
        return ["module", [describe(p, depth + 1) for p in value.parameters()], bool(value.training)]
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return ["array", list(value.shape), value.dtype.str, [_number(x) for x in value.ravel()[:MAX_ITEMS].tolist()]]
        if value.dtype.kind in "biu":
            return ["array", list(value.shape), value.dtype.str, value.ravel()[:MAX_ITEMS].tolist()]
        return ["array", list(value.shape), value.dtype.str]
    if isinstance(value, np.generic):
        return describe(value.item(), depth + 1) + [value.dtype.str]
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return [type(value).__name__, value]
    if isinstance(value, float):
        return ["float", _number(value)]
    if isinstance(value, str):
        return ["str", _text(value)[:1000]]
    if isinstance(value, (list, tuple)):
        return [type(value).__name__ if type(value) in (list, tuple) else "sequence",
                [describe(item, depth + 1) for item in value[:MAX_ITEMS]], len(value)]
    if isinstance(value, dict):
        return ["dict", sorted([repr(k), describe(v, depth + 1)] for k, v in value.items())]
    return ["object", type(value).__name__]


def _reseed() -> None:
    import numpy as np
    import torch

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


def fingerprint(namespace: dict, name: str, test: str, answer=None) -> str:
    """The fingerprint of ``answer`` (default: ``namespace[name]``) on the test cell ``test`` (its
    public tests), run in a copy of ``namespace`` with every seed reset; output, warnings and the
    random state are left as they were."""
    return run(namespace, name, test, answer)[0]


def run(namespace: dict, name: str, test: str, answer=None) -> tuple[str, bool]:
    """(:func:`fingerprint`, whether the test cell passed)."""
    import numpy as np
    import torch

    answer = namespace.get(name) if answer is None else answer
    calls: list = []
    depth = [0]

    def recorded(function, label):
        def call(*args, **kwargs):
            if depth[0]:
                return function(*args, **kwargs)
            entry = [label, describe(args), describe(kwargs)]
            depth[0] += 1
            try:
                result = function(*args, **kwargs)
            except Exception as error:
                entry += [describe(error), describe(args)]
                calls.append(entry)
                raise
            finally:
                depth[0] -= 1
            calls.append(entry + [describe(result), describe(args)])
            return result
        return call

    if isinstance(answer, type):  # a class: each method the tests call, on any instance
        stand_in = type(answer.__name__, (answer,), {
            method: (lambda m: lambda self, *a, **k: recorded(lambda *a2, **k2: m(self, *a2, **k2), m.__name__)(*a, **k))(
                getattr(answer, method))
            for method, value in vars(answer).items() if callable(value) and (not method.startswith("__") or method in (
                "__init__", "__call__", "__len__", "__getitem__")) and not isinstance(value, (staticmethod, classmethod))})
    else:
        stand_in = recorded(answer, name)
    scratch = {**namespace, name: stand_in}
    states = (random.getstate(), np.random.get_state(), torch.get_rng_state())
    try:
        with redirect_stdout(StringIO()), redirect_stderr(StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _reseed()
            try:
                exec(compile(test, f"<public tests of {name}>", "exec"), scratch)
                ending = ["passed"]
            except Exception as error:
                ending = [type(error).__name__, _text(str(error))[:500]]
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])
    text = json.dumps([calls, ending], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest(), ending == ["passed"]


def known(chapter: str) -> dict:
    """The chapter's shipped fingerprints ({} when there are none):
    {test id: {"name": ..., "known": {fingerprint: [{"misconception": ..., "hint": ...}]}}}."""
    try:
        data = json.loads((DATA / f"{chapter}.json").read_text())
    except (OSError, ValueError):
        return {}
    return data.get("exercises", {}) if isinstance(data, dict) else {}


def note(entries: list[dict]) -> str:
    return "\n".join(f"Your answer behaves like a known wrong answer: it {e['misconception']}.\nHint: {e['hint']}"
                     for e in entries)


def hints(namespace: dict, chapter: str, failed: dict[str, str]) -> None:
    """In the kernel, under Validate: for each failed test cell (test id -> its source, the public
    tests), print PREFIX and {"test_id": ..., "note": ...} when the answer's fingerprint is that of
    a known wrong answer."""
    exercises = known(chapter)
    for test_id, source in failed.items():
        entry = exercises.get(test_id)
        if not entry or entry.get("name") not in namespace:
            continue
        try:
            found = entry.get("known", {}).get(fingerprint(namespace, entry["name"], source))
        except Exception:  # a hint is a help: without one, Validate says what it always said
            found = None
        if found:
            print(PREFIX + json.dumps({"test_id": test_id, "note": note(found)}), flush=True)
