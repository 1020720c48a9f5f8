"""utils.lab: the Validate answer starts with how many tests fail and which, each failing cell is
named by its id with the reason first; everything else of nbgrader's answer is left alone."""

from __future__ import annotations

import logging

import nbformat
import pytest

from utils.lab import _load_jupyter_server_extension, summarize


def notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    for name in ("test_a", "test_b", "test_c"):
        cell = nbformat.v4.new_code_cell(f"# {name}\nassert f() == 1, 'f() should be 1'")
        cell.metadata["nbgrader"] = {"grade": True, "grade_id": name, "points": 1, "locked": True, "solution": False}
        nb.cells.append(cell)
    nb.cells.append(nbformat.v4.new_code_cell("print('a lesson')"))
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    return path


def failure(name: str, reason: str) -> dict:
    traceback = f"\x1b[31m---------\x1b[0m\nTraceback (most recent call last)\n  in <cell>\n\x1b[31m{reason}\x1b[0m\n"
    return {"source": f"# {name}\nassert f() == 1, 'f() should be 1'", "error": "<pre>...</pre>", "raw_error": traceback}


def test_the_summary_comes_first_and_each_cell_says_why_on_its_first_line(tmp_path):
    path = notebook(tmp_path)
    answer = {"success": True, "value": {"failed": [failure("test_a", "NotImplementedError: left blank"),
                                                    failure("test_c", "AssertionError: f() should be 1")]}}
    value = summarize(answer, path)["value"]
    summary, first, second = value["failed"]
    assert summary["source"].startswith("2 of 3 tests fail: test_a, test_c.")
    assert first["source"] == "test_a: NotImplementedError: left blank"
    assert second["source"] == "test_c: AssertionError: f() should be 1"
    assert first["error"] == "<pre>...</pre>" and "Traceback" in first["raw_error"]  # the traceback is kept


@pytest.mark.parametrize("answer", [{"success": True, "value": {}},  # every test passes
                                    {"success": True, "value": {"changed": [{"source": "x"}]}},
                                    {"success": False, "value": "There was an error"},
                                    {"success": True, "value": '{"failed": []}'}])
def test_other_answers_are_left_as_nbgrader_gave_them(answer, tmp_path):
    assert summarize(answer, notebook(tmp_path)) == answer


def test_a_cell_it_cannot_match_is_still_listed(tmp_path):
    answer = {"success": True, "value": {"failed": [{"source": "edited", "error": "", "raw_error": ""}]}}
    summary, entry = summarize(answer, tmp_path / "missing.ipynb")["value"]["failed"]
    assert summary["source"].startswith("1 test fails: a cell.")
    assert entry["source"] == "a cell: no output (the cell did not finish)"


def test_the_extension_wraps_nbgraders_handler_once():
    from nbgrader.server_extensions.validate_assignment import handlers

    class Server:
        log = logging.getLogger("test")

    original = handlers.ValidateAssignmentHandler.validate_notebook
    try:
        _load_jupyter_server_extension(Server())
        wrapped = handlers.ValidateAssignmentHandler.validate_notebook
        assert wrapped is not original and wrapped.summarized
        _load_jupyter_server_extension(Server())
        assert handlers.ValidateAssignmentHandler.validate_notebook is wrapped
    finally:
        handlers.ValidateAssignmentHandler.validate_notebook = original
