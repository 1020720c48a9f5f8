"""Checks a submitted notebook before it is autograded (dlcourse.grading.grade), outside the sandbox.

:func:`inspect_submission` says whether the file can be graded at all (valid JSON and nbformat,
a notebook of this assignment and not of another one) and prepares the copy that is graded:
duplicated cell ids get new ids, duplicated grade ids keep their first cell, and every test cell
the student edited, unlocked or re-typed is put back exactly as released, and a test cell moved
elsewhere in the notebook is put back after its answer (deleted test cells are added back by
nbgrader itself). It also reads the student's code, without running it, for
what a correct answer never needs: replacing functions of torch, numpy, math or builtins,
changing IPython's or the interpreter's hooks, signal handlers, processes, leaving the kernel,
reading grading files. Every finding becomes a note in the summary of submissions that need
attention; only an unreadable file or a notebook of another assignment is not graded.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.reader import NotJSONError

from dlcourse.notebooks import cell_label, chapters, nbgrader_meta, release_path, solution_path

MODULES = {"torch", "numpy", "math", "builtins", "operator", "sys", "IPython", "unittest", "random", "os", "nbgrader"}
HOOKS = {"set_custom_exc": "IPython's exception handler", "ast_transformers": "IPython's AST transformers",
         "input_transformers_cleanup": "IPython's input transformers",
         "input_transformers_post": "IPython's input transformers", "register": "IPython event callbacks",
         "excepthook": "sys.excepthook", "settrace": "the trace function", "setprofile": "the profile function",
         "_dlcourse_guard": "the grader's safeguard"}
CALLS = {("signal", "signal"): "installs a signal handler", ("os", "setsid"): "starts a new session",
         ("os", "fork"): "forks the kernel", ("os", "kill"): "sends signals to processes",
         ("os", "killpg"): "sends signals to processes", ("os", "_exit"): "ends the kernel",
         ("sys", "exit"): "ends the kernel", ("gc", "get_objects"): "walks the interpreter's objects",
         ("gc", "get_referrers"): "walks the interpreter's objects", ("os", "system"): "runs shell commands"}
IMPORTS = {"subprocess": "starts processes", "multiprocessing": "starts processes", "ctypes": "uses ctypes",
           "socket": "opens network sockets", "sqlite3": "opens databases", "ipykernel": "uses the kernel's internals",
           "jupyter_client": "uses the kernel's internals", "zmq": "uses the kernel's internals",
           "traitlets": "uses IPython's internals", "comm": "uses the kernel's internals"}
IMPORTS.update({"threading": "starts threads", "_thread": "starts threads", "concurrent": "starts threads",
                "importlib": "imports modules by computed names (importlib)", "codecs": "decodes text at run time (codecs)",
                "linecache": "reads the source of cells (linecache)", "inspect": "inspects frames or source code",
                "marshal": "loads code objects", "types": "builds functions or code objects (types)"})
# attributes through which code reaches what a name check cannot see: another function's hidden
# state (a closure's cell, the wrapped original), code objects, frames and globals
REFLECTION = {"__builtins__", "__closure__", "cell_contents", "__code__", "__globals__", "__wrapped__", "__func__",
              "_getframe", "f_back", "f_globals", "f_locals", "f_code", "co_consts", "gi_frame", "tb_frame",
              "__subclasses__", "__dict__", "_installed", "get_parent", "parent_header"}
HISTORY = {"In", "Out", "_ih", "_oh", "_ii", "_iii"}  # read (not assigned: `for _i in ...` is common)
INTERNALS = ("IPython.core", "IPython.terminal", "IPython.kernel", "IPython.utils")
RUNTIME_CODE = {"eval", "exec", "compile", "__import__"}
WORDS = ("gradebook", "autograded", "/submitted/", "nbgrader_config")


@dataclass
class Inspection:
    problem: str | None = None  # why it cannot be graded; None: grade `notebook`
    notes: list[str] = field(default_factory=list)
    notebook: nbformat.NotebookNode | None = None


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def _graded_ids(nb) -> set[str]:
    return {grade_id(c) for c in nb.cells if grade_id(c)
            and (nbgrader_meta(c).get("grade") or nbgrader_meta(c).get("solution"))}


def strip_forged_metadata(nb, release) -> list[str]:
    """Remove nbgrader metadata the release does not give: metadata that is not a mapping, or
    that names a grade id the release does not have (nbgrader's autograde fails on either, for
    the whole submission). The cell is then graded as an ordinary cell. Returns a note per cell."""
    known = {grade_id(c) for c in release.cells if grade_id(c)}
    notes = []
    for index, cell in enumerate(nb.cells):
        metadata = cell.get("metadata")
        if not isinstance(metadata, dict) or "nbgrader" not in metadata:
            continue
        meta = metadata["nbgrader"]
        if not isinstance(meta, dict):
            why = f"nbgrader metadata that is not a mapping ({type(meta).__name__})"
        elif meta.get("grade_id") not in known:
            if not any(meta.get(key) for key in ("grade", "solution", "locked", "task", "grade_id")):
                del metadata["nbgrader"]  # what JupyterLab's nbgrader extension leaves on a new cell: nothing to say
                continue
            why = f"nbgrader metadata with a grade id the release does not have ({str(meta.get('grade_id'))[:40]!r})"
        else:
            continue
        del metadata["nbgrader"]
        notes.append(f"cell {index} had {why}: removed, the cell was graded as an ordinary cell")
    return notes


def _python(source: str) -> str:
    """Cell source as plain Python (IPython's `!cmd` and `%magic` lines transformed)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _dotted(node) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    if isinstance(node, ast.Call):  # get_ipython().set_custom_exc -> get_ipython().set_custom_exc
        inner = _dotted(node.func)
        return ".".join([f"{inner}()", *reversed(parts)]) if inner else None
    return None


def suspicious(source: str, aliases: dict[str, str]) -> list[str]:
    """What the code in ``source`` does that a correct answer never needs (empty: nothing).
    ``aliases`` maps names bound by imports anywhere in the notebook to their module."""
    try:
        tree = ast.parse(_python(source))
    except SyntaxError:
        return []  # it fails when it runs, and scores accordingly
    found = []
    if "get_ipython().system" in _python(source) or "getoutput(" in _python(source):
        found.append("runs shell commands")
    if "get_ipython" in source or "__IPYTHON__" in source:  # the raw text: magics (%timeit) are fine
        found.append("uses IPython's shell (get_ipython())")

    def module_of(dotted: str) -> str | None:
        """``dotted`` with its first name resolved to the module it is bound to, if that is one of MODULES."""
        root, _, rest = dotted.partition(".")
        module = aliases.get(root, root if root in MODULES else None)
        if not module or module.split(".")[0] not in MODULES:
            return None
        return f"{module}.{rest}" if rest else module

    for node in ast.walk(tree):
        targets = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        for target in targets:
            resolved = module_of(_dotted(target) or "") if isinstance(target, ast.Attribute) else None
            if resolved and not resolved.startswith("torch.backends."):  # settings such as cudnn.benchmark
                found.append(f"replaces {resolved}")
        if isinstance(node, ast.Call):
            name = _dotted(node.func) or ""
            if name in ("setattr", "delattr") and node.args and (resolved := module_of(_dotted(node.args[0]) or "")):
                found.append(f"replaces attributes of {resolved} ({name})")
            if name in ("exit", "quit"):
                found.append("ends the kernel")
            parts = name.split(".")
            if len(parts) >= 2 and (aliases.get(parts[-2], parts[-2]), parts[-1]) in CALLS:
                found.append(CALLS[(aliases.get(parts[-2], parts[-2]), parts[-1])])
        if isinstance(node, (ast.Attribute, ast.Name)):
            last = node.attr if isinstance(node, ast.Attribute) else node.id
            if last == "register" and not (_dotted(node) or "").endswith("events.register"):
                continue
            if last in HOOKS and (isinstance(node, ast.Attribute) or last == "_dlcourse_guard"):
                found.append(f"changes {HOOKS[last]}")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [IMPORTS[m.split(".")[0]] for m in modules if m.split(".")[0] in IMPORTS]
            found += ["uses IPython's internals" for m in modules if m.startswith(INTERNALS)]
        if isinstance(node, ast.Attribute) and node.attr == "modules" and _dotted(node) in ("sys.modules",):
            found.append("reaches modules through sys.modules")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in RUNTIME_CODE:
            found.append(f"runs code built at run time ({node.func.id})")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ("getattr", "setattr", "delattr", "hasattr") and len(node.args) >= 2 and not (
                    isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
                found.append(f"uses reflection ({node.func.id} with a computed name)")
            if node.func.id in ("globals", "vars", "locals") and (node.func.id != "locals" or node.args):
                found.append(f"uses reflection ({node.func.id}())")
        if isinstance(node, ast.Attribute) and node.attr in REFLECTION:
            found.append(f"uses reflection ({node.attr})")
        if isinstance(node, ast.Name) and node.id in REFLECTION:
            found.append(f"uses reflection ({node.id})")
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and (
                node.id in HISTORY or re.fullmatch(r"_i\d+", node.id)):
            found.append(f"reads the kernel's input history ({node.id})")
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [f"names grading files ({word!r})" for word in WORDS if word in node.value]
        if isinstance(node, ast.FunctionDef) and node.name == "__eq__" and len(node.body) == 1 \
                and isinstance(node.body[0], ast.Return) and isinstance(node.body[0].value, ast.Constant) \
                and node.body[0].value.value is True:
            found.append("defines an __eq__ that is always True")
    return list(dict.fromkeys(found))


def _aliases(nb) -> dict[str, str]:
    aliases = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(_python(cell.source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                aliases.update({(a.asname or a.name.split(".")[0]): (a.name if a.asname else a.name.split(".")[0])
                                for a in node.names})
            elif isinstance(node, ast.ImportFrom) and node.module:
                aliases.update({(a.asname or a.name): f"{node.module}.{a.name}" for a in node.names})
    return aliases


def move_tests_back(nb, release) -> list[str]:
    """Put every test cell that was moved (students drag cells by accident) back where the release
    has it: right after the graded cell before it in the release (its answer), if the submission
    has it somewhere else. A test cell run above its answer fails for a correct answer, and one
    run after a later exercise's cells may see that exercise's names. Returns a note per move."""
    order = [grade_id(c) for c in release.cells if grade_id(c)]
    tests = {grade_id(c) for c in release.cells if grade_id(c) and c.metadata["nbgrader"].get("grade")
             and not c.metadata["nbgrader"].get("solution")}
    notes = []
    for position, gid in enumerate(order):
        if gid not in tests or position == 0:
            continue
        ids = [grade_id(c) for c in nb.cells]
        if gid not in ids or order[position - 1] not in ids:
            continue  # deleted test cell (nbgrader adds it back) or deleted answer (scores 0 anyway)
        index, anchor = ids.index(gid), ids.index(order[position - 1])
        following = next((ids.index(g) for g in order[position + 1:] if g in ids), len(ids))
        if anchor < index < following:
            continue  # in its place, maybe after scratch cells of the student's
        cell = nb.cells.pop(index)
        nb.cells.insert(anchor + (0 if index < anchor else 1), cell)
        notes.append(f"test cell {gid} had been moved (to cell {index}): it was put back right after "
                     f"{order[position - 1]}, where the release has it, and graded there")
    return notes


def inspect_submission(path: Path, assignment: str) -> Inspection:
    """Can ``path`` be graded as ``assignment``, what is to be graded, and what needs attention."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        raw = json.loads(text)
        with warnings.catch_warnings():  # nbformat warns when it gives duplicated cell ids new ones
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)
    except (NotJSONError, json.JSONDecodeError, UnicodeDecodeError) as error:
        return Inspection(f"not a notebook (invalid JSON: {str(error)[:120]}); ask the student to resubmit the .ipynb file")
    except Exception as error:  # nbformat raises several types for malformed notebooks
        return Inspection(f"not a readable notebook ({type(error).__name__}: {str(error)[:200]})")
    notes: list[str] = []
    cells = raw.get("cells") if isinstance(raw, dict) else None
    ids = Counter(c.get("id") for c in cells if isinstance(c, dict) and c.get("id")) if isinstance(cells, list) else {}
    if any(n > 1 for n in ids.values()):
        notes.append(f"duplicated cell ids ({sum(n for n in ids.values() if n > 1)} cells) were given new ids")
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as error:
        return Inspection(f"notebook fails the nbformat schema ({error.message[:200]})", notes)

    release = nbformat.read(release_path(assignment), as_version=4)
    expected = _graded_ids(release)
    present = _graded_ids(nb)
    if not present & expected:
        others = [c for c in chapters() if c != assignment and present & _graded_ids(nbformat.read(release_path(c), as_version=4))]
        guess = f" (its graded cells belong to {', '.join(others)})" if others else ""
        return Inspection(f"not a {assignment} notebook: none of its {len(expected)} graded cells is there{guess}; "
                          "ask the student to submit the right file", notes)
    notes += strip_forged_metadata(nb, release)
    present = _graded_ids(nb)

    seen = Counter()
    for index, cell in enumerate(nb.cells):  # a copied graded cell: the first one counts, as in nbgrader
        gid = grade_id(cell)
        if gid:
            seen[gid] += 1
            if seen[gid] > 1:
                del cell.metadata["nbgrader"]
                notes.append(f"{cell_label(cell, index)} repeats the grade id {gid!r}: graded as an ordinary cell")
    released = {grade_id(c): c for c in release.cells if grade_id(c)}
    with_hidden_tests = {grade_id(c): c.source for c in nbformat.read(solution_path(assignment), as_version=4).cells}
    for index, cell in enumerate(nb.cells):
        original = released.get(grade_id(cell))
        if original is None or not original.metadata["nbgrader"].get("grade") or original.metadata["nbgrader"].get("solution"):
            continue  # only test cells are restored here (locked lesson cells: nbgrader restores them)
        edited = cell.source not in (original.source, with_hidden_tests.get(grade_id(cell)))
        if edited or cell.cell_type != original.cell_type or cell.metadata.get("nbgrader", {}).get("grade") is not True \
                or cell.metadata["nbgrader"].get("locked") is not True \
                or cell.metadata["nbgrader"].get("points") != original.metadata["nbgrader"].get("points"):
            what = "source" if edited else "type or nbgrader metadata: unlocked?"
            notes.append(f"test cell {grade_id(cell)} was edited ({what}): the released test was put back")
            nb.cells[index] = nbformat.from_dict({**original, "id": cell.get("id", original.get("id"))})
    notes += move_tests_back(nb, release)
    missing = [gid for gid in released if gid in expected and gid not in present]
    if missing:
        notes.append(f"graded cells deleted: {', '.join(missing)} (tests are added back; answers score 0)")

    aliases = _aliases(nb)
    unchanged = {c.source for c in release.cells} | set(with_hidden_tests.values())
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.source not in unchanged:
            for finding in suspicious(cell.source, aliases):
                notes.append(f"{cell_label(cell, index)} {finding}")
    return Inspection(None, notes, nb)
