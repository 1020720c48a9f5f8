"""The grading guard's helpers that run in the grader (the kernel side is exercised by test_hostile)."""

import nbformat

from dlcourse.grading.guard import assigned_globals, ran_out_of_memory


def test_assigned_globals_are_the_cells_top_level_bindings():
    source = (
        "_hog = []\n"
        "while True:\n"
        "    _hog.append(torch.empty(2**28))\n"
        "def f(a):\n"
        "    inside = 1\n"
        "    return [y for y in a]\n"
        "import numpy as np, os.path\n"
        "for i, (j, k) in enumerate([]):\n"
        "    total += 1\n"
        "%matplotlib inline\n"
    )
    assert assigned_globals(source) == ["_hog", "f", "i", "j", "k", "np", "os", "total"]
    assert assigned_globals("def broken(:\n") == []


def test_out_of_memory_is_recognised_from_the_error_output():
    def cell(**error):
        return nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("error", traceback=[], **error)])

    assert ran_out_of_memory(cell(ename="MemoryError", evalue=""))
    assert ran_out_of_memory(cell(ename="RuntimeError", evalue="DefaultCPUAllocator: can't allocate memory: you tried"))
    assert ran_out_of_memory(cell(ename="OutOfMemoryError", evalue="CUDA out of memory. Tried to allocate 2 GiB"))
    assert not ran_out_of_memory(cell(ename="ValueError", evalue="not done"))
    assert not ran_out_of_memory(nbformat.v4.new_code_cell())


def run_in_kernel(*sources: str) -> list[str]:
    """Each cell's printed text, run in order in a new kernel of the course."""
    import pytest
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata.kernelspec = {"name": "dl-course", "display_name": "dl-course", "language": "python"}
    NotebookClient(nb, timeout=120).execute()
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    if errors:
        pytest.fail(f"{errors[0].ename}: {errors[0].evalue}")
    return ["".join(o.get("text", "") for o in c.outputs if o.output_type == "stream") for c in nb.cells]


def test_the_snapshot_puts_back_the_shell_and_kernel_state_and_nothing_else():
    """Planted hooks of every kind are put back (and named); a notebook that only computes, plots
    and shows progress bars changes nothing the guard would put back."""
    import pytest

    from dlcourse.grading.guard import RESTORE, RESTORE_DONE, SNAPSHOT

    pytest.importorskip("nbclient")
    normal = ("import torch, numpy as np, matplotlib.pyplot as plt\nfrom tqdm.auto import tqdm\nimport utils\n"
              "for _ in tqdm(range(3)):\n    pass\nplt.plot([1, 2]); plt.show()\n%timeit -n1 -r1 sum(range(10))")
    planted = """
ip = get_ipython()
_original_run_cell = ip.run_cell
ip.run_cell = lambda raw_cell, *args, **kwargs: _original_run_cell(raw_cell, *args, **kwargs)
ip.input_transformers_post.append(lambda lines: lines)
ip.events.register("pre_run_cell", lambda *args: None)
ip.kernel.shell_handlers["execute_request"] = ip.kernel.shell_handlers["execute_request"]
ip.kernel.shell_handlers["my_request"] = lambda *args: None
type(ip).showtraceback = lambda self, *args, **kwargs: None
ip.display_formatter.formatters["text/plain"].for_type(int, lambda obj, p, cycle: p.text("one"))
import sys
sys.unraisablehook = lambda *args: None
"""
    restore = RESTORE.format(nonce="0123abcd")
    done = RESTORE_DONE.format(nonce="0123abcd")
    texts = run_in_kernel(SNAPSHOT, normal, restore, planted, restore, restore)
    assert all(done in texts[i] for i in (2, 4, 5)), f"the restore step did not say it ran to its end: {texts}"
    texts = [text.replace(done + "\n", "").replace(done, "") for text in texts]
    assert texts[2] == "", f"a notebook that only computes needed restoring: {texts[2]}"
    restored = texts[4]
    for expected in ("ZMQInteractiveShell.run_cell (added)", "input_transformers_post", "EventManager.callbacks",
                     "IPythonKernel.shell_handlers", "ZMQInteractiveShell.showtraceback", "sys.unraisablehook"):
        assert expected in restored, f"{expected} not put back: {restored}"
    assert texts[5] == "", f"putting back is not idempotent: {texts[5]}"


KERNEL_SIDE = r'''
import linecache, math, sys, threading, time
import torch
from IPython.core.interactiveshell import InteractiveShell
from dlcourse.grading.kernel_guard import install

shell = InteractiveShell.instance()
install(shell)
import _dlcourse_guard

math.sqrt = lambda x: 0.0
torch.allclose = lambda *args, **kwargs: True
shell.user_ns["len"] = lambda x: 0
shell.user_ns["torch"] = "not torch"
shell.input_transformers_post.append(lambda lines: lines)
planted_hook = sys.displayhook = lambda value: None
stop = threading.Event()
threading.Thread(target=lambda: [time.sleep(0.01) for _ in iter(stop.is_set, True)], name="planted").start()
_dlcourse_guard.report("n0nce")
assert math.sqrt(4.0) == 2.0 and not torch.allclose(torch.zeros(1), torch.ones(1))
assert "len" not in shell.user_ns and shell.user_ns["torch"] is torch
assert shell.input_transformers_post == [] and sys.displayhook is not planted_hook
shell.run_cell("secret_test_line = 12345")
assert not any("secret_test_line" in "".join(lines) for _, _, lines, _ in
               (entry for entry in linecache.cache.values() if len(entry) == 4)), "the cell after report() stays out of linecache"
shell.run_cell("visible_line = 1")
assert any("visible_line" in "".join(entry[2]) for entry in linecache.cache.values() if len(entry) == 4)
shell.user_ns["_hog"] = [0] * 1000
_dlcourse_guard.release(["_hog", "absent"])
assert "_hog" not in shell.user_ns
_dlcourse_guard.report("again")
'''


def test_the_kernel_guard_works_as_a_module_outside_a_kernel():
    """dlcourse/grading/kernel_guard.py is a plain module: install() on an IPython shell in a fresh Python,
    then the planted replacements are put back, a planted thread is stopped, the cell after
    report() stays out of linecache, release() frees names, and each report ends with its nonce."""
    import subprocess
    import sys
    import tempfile

    # from another folder: the installed package, not the repository's working directory, is imported
    done = subprocess.run([sys.executable, "-c", KERNEL_SIDE], capture_output=True, text=True, timeout=120,
                          cwd=tempfile.gettempdir())
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    first = lines[:lines.index("[grader restore n0nce done]")]
    for expected in ("[grader restored] math.sqrt", "[grader restored] torch.allclose",
                     "[grader restored] built-in len (shadowed by a global)",
                     "[grader restored] global torch (not the torch module)",
                     "[grader restored] InteractiveShell.input_transformers_post", "[grader restored] sys.displayhook"):
        assert expected in first, (expected, lines)
    assert any(line.startswith("[grader thread stopped] planted") for line in first), lines
    assert "[grader freed] _hog" in lines and not any("absent" in line for line in lines), lines
    after = lines[lines.index("[grader freed] _hog") + 1:]
    assert after[-1] == "[grader restore again done]", after
    # the second time, nothing the test planted is back (run_cell outside a kernel moves IPython's own DisplayTrap)
    assert not any(name in line for line in after for name in ("math", "torch", "len", "transformers", "displayhook",
                                                                 "thread")), after


def test_the_snapshot_loads_the_kernel_guard_from_its_file():
    from dlcourse.grading.guard import KERNEL_GUARD, SNAPSHOT

    assert KERNEL_GUARD.is_file() and repr(str(KERNEL_GUARD)) in SNAPSHOT
    compile(SNAPSHOT, "<snapshot>", "exec")
