"""The grading guard's helpers that run in the grader (the kernel side is exercised by test_hostile)."""

import nbformat

from tools.guard import assigned_globals, ran_out_of_memory


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
