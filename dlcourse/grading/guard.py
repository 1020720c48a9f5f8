"""nbgrader's Execute preprocessor, hardened for grading hostile submissions (dlcourse.grading.grade sets it).

A submission's code runs in the same kernel as the tests that grade it, so it can try to make
them pass without solving the exercise, or to stop the grading. :class:`GuardedExecute` runs the
notebook as nbgrader's Execute does, and also:

- it starts the kernel through :class:`dlcourse.grading.jailed_kernel.JailedKernelManager`: in dlcourse.grading.sandbox's jail (no
  capabilities, an allow-list file system, no network, its own processes, limited disk and
  processes), talking to nbgrader over Unix sockets;
- before the first cell, it snapshots the attributes of the modules and classes tests compare
  with (builtins, math, operator, torch, torch.testing, torch.Tensor, torch.nn.functional, numpy,
  numpy.testing, numpy.ndarray), ``sys``'s hooks, and the whole state of IPython's shell and the
  kernel (``snapshot_shell`` in dlcourse/grading/kernel_guard.py: every IPython/ipykernel object reachable from them, their
  classes' methods, lists and dicts of callables); before every test cell it puts back whatever
  the submission replaced, and removes globals that hide a built-in or rebind `torch`, `np` or
  `math`, so that `torch.allclose = lambda *a, **k: True`, `isinstance = ...`, a shadowed
  `run_cell` or an exception handler that hides failures cannot pass a test (each restoration is
  noted);
- it appends to every test cell a line that prints a new random nonce, and a test cell whose
  output lacks that line, and has no error of its own, gets an error (it scores 0) and a note:
  its code was replaced or skipped (an input transformer, a replaced message handler...);
- after a cell runs out of memory, it deletes the globals that cell assigns (a memory bomb's
  list) and collects garbage, so the cells after it run with the memory they would have had,
  not with whatever the bomb happened to leave;
- when the kernel dies (`exit()`, `os._exit`, a crash), the remaining cells are not run and get
  an error, so they score 0 and the cells before them keep their scores;
- when the kernel ignores the interrupt sent at the cell time limit (a loop that ignores SIGINT),
  the kernel is killed and the remaining cells get an error in the same way;
- after the last cell, every other process of the jail is killed before grades are computed and
  files written, so nothing the submission left running can alter them.

What happened is written to ``execution-notes.json`` in the working directory, for the summary.
The guard runs in the kernel's own Python process: determined tampering (code that finds and
edits the snapshot, or a trace function that jumps over assertions) is not prevented; dlcourse.grading.precheck
notes such code (get_ipython(), internals, sys.modules, trace functions, eval/exec) statically.
"""

from __future__ import annotations

import ast
import json
import os
import secrets
import time
from pathlib import Path

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from jupyter_core.utils import run_sync
from nbformat.notebooknode import NotebookNode, from_dict
from traitlets import Bool, Integer

from nbgrader.preprocessors import Execute

from dlcourse.notebooks import cell_label, nbgrader_meta
from dlcourse.grading.scoring import is_test_cell
from dlcourse.grading.jailed_kernel import KERNEL_GUARD, JailedKernelManager

NOTES = "execution-notes.json"

# The kernel side of the guard (dlcourse/grading/kernel_guard.py), bound read-only into the jail: the first cell
# loads it by path into a namespace of its own (so that globals the submission defines later, e.g.
# `isinstance = ...`, cannot change what it does) and takes the snapshot; the snapshot lives in a
# module, sys.modules["_dlcourse_guard"], whose `report()` restores and prints.
SNAPSHOT = f"__import__('runpy').run_path({str(KERNEL_GUARD)!r}, run_name='_dlcourse_kernel_guard')['install'](get_ipython())"
# Appended to every test cell, with a new random nonce each time: a test cell whose output lacks
# the line did not run to its end (its code was replaced or skipped), whatever else it shows.
MARKER = "print({line!r})"
MARKER_LINE = "[grader: test cell {nonce} ran to its end]"

# Runs before every test cell; prints what it had to put back, one item per line.
# It ends by printing its nonce: without that line, the restore step did not run (its code was
# replaced or skipped), and the test cell after it is not graded on the submission's word.
RESTORE = "import _dlcourse_guard\n_dlcourse_guard.report({nonce!r})"
RESTORE_DONE = "[grader restore {nonce} done]"
# Runs after a cell that ran out of memory: deletes the globals it assigned, prints their names.
RELEASE = "import _dlcourse_guard\n_dlcourse_guard.release({names!r})"
# Runs after the last cell when test cells failed: puts back what the submission replaced, then
# dlcourse/grading/diagnosis.py, given as source (the jail has no dlcourse/), in a namespace of its
# own, prints one line per failed exercise: the known wrong answers the answer behaves like.
DIAGNOSE = ("import _dlcourse_guard\n_dlcourse_guard.report('diagnosis')\n"
            "(lambda g: (exec(compile({source!r}, '<grader diagnosis>', 'exec'), g), "
            "g['run'](get_ipython().user_ns, {payload!r}, {total!r})))({{'__name__': '_dlcourse_diagnosis'}})")
DIAGNOSIS_SECONDS = 120  # at most, for all the failed exercises of one submission together
DEADLINE = "DLCOURSE_GRADING_DEADLINE"  # when the grading command's wall-clock limit ends (time.time())


def assigned_globals(source: str) -> list[str]:
    """The global names a cell's code binds at its top level (assignments, loop targets, imports,
    definitions), not those bound inside functions or classes; [] if it does not parse."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        tree = ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError):
        return []
    names: list[str] = []

    def visit(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
            return  # their bodies are another scope
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.append(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.extend((alias.asname or alias.name).split(".")[0] for alias in node.names if alias.name != "*")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return sorted(set(names))


def out_of_memory(output) -> bool:
    """Whether an output is the error of an allocation that failed (Python's MemoryError, or
    PyTorch's CPU or CUDA allocator)."""
    return output.get("output_type") == "error" and (output.get("ename") == "MemoryError" or any(
        text in str(output.get("evalue", "")) for text in ("can't allocate memory", "out of memory")))


def ran_out_of_memory(cell) -> bool:
    return any(out_of_memory(output) for output in cell.get("outputs", []))


def _prefixed(cell: NotebookNode, prefix: str) -> list[str]:
    """The lines of a grader cell's stdout that start with ``prefix``, without it: anything else
    there (a background process of the submission writing at the same time) is not the grader's."""
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream" and o.get("name") == "stdout")
    return [line[len(prefix):] for line in text.splitlines() if line.startswith(prefix)]


def _code_cell(source: str) -> NotebookNode:
    return from_dict({"cell_type": "code", "source": source, "metadata": {}, "outputs": [], "execution_count": None})


def _error(name: str, message: str) -> NotebookNode:
    return from_dict({"output_type": "error", "ename": name, "evalue": message, "traceback": [f"{name}: {message}"]})


class GuardedExecute(Execute):
    """nbgrader's Execute with the safeguards described in the module docstring."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", JailedKernelManager)
        super().__init__(*args, **kwargs)

    max_outputs = Integer(100, help="outputs kept per cell; the rest are counted, one notice says how many").tag(config=True)
    diagnose = Bool(os.environ.get("DLCOURSE_DIAGNOSIS", "1") != "0", help="after the last cell, name the known wrong answer each failing answer behaves like "
                               "(dlcourse.grading.diagnosis), in its test cell and in diagnosis.json").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._notes: list[str] = []
        self._dropped: dict[int, int] = {}  # cell index -> outputs not kept
        self._stopped: str | None = None  # why cells are no longer run
        self._guarded = False
        self._last = max((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), default=-1)
        try:
            return super().preprocess(nb, resources, km)
        finally:
            Path(NOTES).write_text(json.dumps(self._notes))

    def output(self, outs, msg, display_id, cell_index):
        """Keep at most ``max_outputs`` outputs per cell (a loop of a million ``display()`` calls
        gave a 146 MB graded notebook), except what decides the score: an error, and the first
        text on stderr. The others are counted; :meth:`_note_dropped` adds one notice per cell."""
        if len(outs) >= self.max_outputs and not self.output_hook_stack[msg["parent_header"].get("msg_id")]:
            kind = msg["msg_type"]
            stderr = kind == "stream" and msg.get("content", {}).get("name") == "stderr" and not any(
                o.get("output_type") == "stream" and o.get("name") == "stderr" for o in outs)
            if kind != "error" and not stderr:
                self._dropped[cell_index] = self._dropped.get(cell_index, 0) + 1
                return None
        return super().output(outs, msg, display_id, cell_index)

    def _note_dropped(self, cell, index: int) -> None:
        dropped = self._dropped.pop(index, 0)
        if dropped:
            cell.outputs = list(cell.get("outputs", [])) + [from_dict({
                "output_type": "stream", "name": "stdout",
                "text": f"[{dropped:,} more outputs of this cell were not kept by the grader: at most "
                        f"{self.max_outputs} per cell]\n"})]
            self._notes.append(f"{cell_label(cell, index)} produced {dropped + self.max_outputs:,} outputs or more: "
                               f"the first {self.max_outputs} were kept")

    def _end_leftovers(self) -> None:
        """After the last cell, before the kernel is shut down and anything is scored."""
        manager = self.km
        if isinstance(manager, JailedKernelManager):
            if manager.end_leftovers():
                self._notes.append("processes left running by the submission were killed before scoring")
            if manager.memory_limit_reached() and not any("memory limit" in note for note in self._notes):
                self._notes.append(f"the submission reached the sandbox's memory limit of "
                                   f"{manager.memory_bytes / 2**30:g} GiB (processes and the files it wrote, "
                                   "together): a process of it was stopped")
            if manager.process_limit_reached():
                self._notes.append(f"the submission reached the limit of {manager.processes} processes and threads "
                                   "(a fork bomb?); starting more failed")

    def _stop_background(self, cell, index: int) -> None:
        """Before a test cell, stop what earlier cells left running in the background: its output
        (stderr above all, which scores a test cell 0) would land in the test cell's output."""
        manager = self.km
        if isinstance(manager, JailedKernelManager) and (count := manager.end_leftovers()):
            time.sleep(0.2)  # output they wrote before they died reaches the kernel's streams now
            self._notes.append(f"{count} background process(es) started by earlier cells were still running before "
                               f"{cell_label(cell, index)}: the grader stopped them, so that their output is not "
                               "taken for the test's")

    def _run_quietly(self, source: str, index: int) -> NotebookNode:
        """Run the grader's own code in the kernel; its outputs stay out of the notebook (nbclient
        puts the cell it ran at ``index`` in the notebook: the student's cell is put back)."""
        cell = _code_cell(source)
        student_cell = self.nb.cells[index]
        try:
            self.execute_cell(cell, index, store_history=False)
        finally:
            self.nb.cells[index] = student_cell
        return cell

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._stopped:
            cell.outputs = [_error("NotRun", f"not run: {self._stopped}")]
            return cell, resources
        try:
            if not self._guarded:
                self._guarded = True
                self._run_quietly(SNAPSHOT, index)
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                self._stop_background(cell, index)
            refused = self._restore_before(cell, index) if meta.get("grade") else None
            if refused and not meta.get("solution"):
                cell.outputs = [_error("NotGraded", refused)]
            elif meta.get("grade") and not meta.get("solution"):
                cell, resources = self._run_test_cell(cell, resources, index)
            else:
                cell, resources = super().preprocess_cell(cell, resources, index)
            self._note_dropped(cell, index)
            if ran_out_of_memory(cell):
                self._release_after(cell, index)
            if index == self._last:
                if self.diagnose and not self._stopped:
                    self._diagnose(index, resources)
                self._end_leftovers()
            return cell, resources
        except DeadKernelError:
            manager = self.km
            if isinstance(manager, JailedKernelManager) and manager.memory_limit_reached():
                self._stop(cell, index, f"the kernel died: the sandbox's memory limit of "
                                        f"{manager.memory_bytes / 2**30:g} GiB (its processes and the files it wrote, "
                                        "together) was reached")
            else:
                self._stop(cell, index, "the kernel died (exit(), os._exit() or a crash)")
        except CellTimeoutError:
            self._stop(cell, index, f"the kernel did not respond to the interrupt after the time limit "
                                    f"of {self.timeout} s (a loop that ignores Ctrl-C?) and was killed")
            try:
                run_sync(self.km.shutdown_kernel)(now=True)
            except Exception:  # already gone: nothing left to stop
                pass
        return cell, resources

    def _run_test_cell(self, cell, resources, index: int):
        """Run a test cell with a line appended that prints a new random nonce; a cell whose output
        lacks it did not run to its end (the submission replaced or skipped its code) and gets an
        error, which scores 0, unless it already failed with an error of its own."""
        line = MARKER_LINE.format(nonce=secrets.token_hex(12))
        original = cell.source
        cell.source = f"{original}\n{MARKER.format(line=line)}"
        try:  # not in the kernel's history (In, _ih, _i): nothing the submission prints later can show it
            self._check_assign_resources(resources)
            cell = self.execute_cell(cell, index, store_history=False)
        finally:
            cell.source = original
        found = False
        for output in list(cell.get("outputs", [])):
            if output.get("output_type") == "stream" and line in output.get("text", ""):
                found = True
                output["text"] = output["text"].replace(line + "\n", "").replace(line, "")
                if not output["text"]:
                    cell.outputs.remove(output)
        if not found and not any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            cell.outputs = list(cell.get("outputs", [])) + [_error(
                "TestNotRun", "this test cell did not run to its end: something in the notebook replaced or "
                              "skipped its code, so it scores 0")]
            self._notes.append(f"{cell_label(cell, index)} did not run to its end (its code was replaced or "
                               "skipped by the submission): scored 0")
        return cell, resources

    def _restore_before(self, cell, index: int) -> str | None:
        """Before a graded cell: stop the threads the submission left running and put back what it
        replaced (dlcourse.grading.kernel_guard's report()). Returns why the test cell cannot be graded, or None: the
        restore step did not run to its end (no nonce line: its code was replaced or skipped) or
        failed, or a thread of the submission could not be stopped."""
        nonce = secrets.token_hex(12)
        guard = self._run_quietly(RESTORE.format(nonce=nonce), index)
        restored = _prefixed(guard, "[grader restored] ")
        stopped = _prefixed(guard, "[grader thread stopped] ")
        alive = _prefixed(guard, "[grader thread alive] ")
        errors = [o for o in guard.outputs if o.get("output_type") == "error"]
        label = cell_label(cell, index)
        if stopped:
            self._notes.append(f"before {label} the grader stopped threads started by the submission that were "
                               f"still running: {', '.join(stopped)}")
        if restored:
            self._notes.append(f"before {label} the grader put back what the submission had "
                               f"replaced: {', '.join(sorted(set(restored)))}")
        if errors or not any(RESTORE_DONE.format(nonce=nonce) in o.get("text", "") for o in guard.outputs):
            why = f"{errors[0].get('ename')}" if errors else "its code was replaced or skipped"
            self._notes.append(f"before {label} the grader's safeguard did not run ({why}): the submission tampered "
                               "with it, so the test cell was not graded and scores 0")
            return ("the grader's safeguard before this test cell did not run: something in the notebook replaced or "
                    "skipped its code, so this test cell scores 0")
        if alive:
            self._notes.append(f"before {label} threads started by the submission were still running and could not be "
                               f"stopped ({', '.join(alive)}): the test cell was not graded and scores 0")
            return (f"threads started by the notebook were still running before this test cell and could not be "
                    f"stopped ({', '.join(alive)}); a correct answer leaves no thread running, so this test cell "
                    "scores 0")
        return None

    def _diagnose(self, index: int, resources) -> None:
        """After the last cell: for each test cell that failed on a wrong answer (not a blank, a
        cell not run or a time-out), ask the kernel which known wrong answers the answer behaves
        like (dlcourse.grading.diagnosis); add each diagnosis to its test cell as a note and
        write them all to diagnosis.json. All of it within DIAGNOSIS_SECONDS, and a minute before
        the grading command's wall-clock limit (DEADLINE); whatever goes wrong here, grading goes
        on without it."""
        from dlcourse.authoring import known_wrong
        from dlcourse.grading import diagnosis

        chapter = (resources or {}).get("nbgrader", {}).get("assignment") or ""
        failed = {nbgrader_meta(c).get("grade_id"): c for c in self.nb.cells if is_test_cell(c) and any(
            o.get("output_type") == "error" for o in c.get("outputs", [])) and not any(
            o.get("ename") in known_wrong.NOT_DIAGNOSED for o in c.get("outputs", []))}
        asked = known_wrong.jobs(chapter, [name for name in failed if name])
        found: dict[str, list[str]] = {}
        total = float(DIAGNOSIS_SECONDS)
        if os.environ.get(DEADLINE):  # leave a minute of the grading's wall clock for scoring and saving
            try:
                total = min(total, float(os.environ[DEADLINE]) - time.time() - 60)
            except ValueError:
                pass
        if asked and total >= 5:
            source = Path(diagnosis.__file__).read_text()
            saved = self.timeout
            self.timeout = int(total + 15)
            try:
                ran = self._run_quietly(DIAGNOSE.format(source=source, payload=json.dumps(asked), total=total), index)
                reports = []
                for line in _prefixed(ran, diagnosis.PREFIX):
                    try:
                        reports.append(json.loads(line))
                    except ValueError:
                        continue
                found = known_wrong.accepted(chapter, reports, asked)
            except Exception as error:  # a diagnosis is a help, never a condition of grading
                self._notes.append(f"the grader's diagnosis of the failed exercises did not finish "
                                   f"({type(error).__name__}); the scores are not affected")
            finally:
                self.timeout = saved
        for job in asked:
            text = known_wrong.note(chapter, found.get(job["exercise"], []))
            cell = failed[job["test_id"]]
            if text:
                cell.outputs = list(cell.get("outputs", [])) + [from_dict(
                    {"output_type": "stream", "name": "stdout", "text": text})]
        Path(known_wrong.DIAGNOSIS).write_text(json.dumps(found))

    def _release_after(self, cell, index: int) -> None:
        """Give back the memory a cell took before it ran out: whatever its globals hold (a memory
        bomb's list) would otherwise leave the cells after it a few bytes, so that they fail or
        not depending on where the bomb stopped."""
        names = assigned_globals(cell.source)
        if not names:
            return
        freed = self._run_quietly(RELEASE.format(names=names), index)
        deleted = _prefixed(freed, "[grader freed] ")
        if any(o.get("output_type") == "error" for o in freed.outputs):
            self._notes.append(f"after {cell_label(cell, index)} ran out of memory the grader could not free it: "
                               "the cells after it may fail for lack of memory")
        elif deleted:
            self._notes.append(f"after {cell_label(cell, index)} ran out of memory the grader deleted the globals "
                               f"it assigned ({', '.join(deleted)}) to free the memory for the cells after it")

    def _stop(self, cell, cell_index: int, why: str) -> None:
        self._note_dropped(cell, cell_index)
        self._stopped = f"{why} in {cell_label(cell, cell_index)}"
        self._notes.append(f"{self._stopped}; the cells after it were not run and score 0")
        if cell.cell_type == "code":
            cell.outputs = list(cell.get("outputs", [])) + [_error("KernelStopped", self._stopped)]
