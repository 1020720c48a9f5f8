"""The feedback preprocessor removes hidden tests and tracebacks that quote them."""

import nbformat

from tools.feedback import StripHiddenTests, hidden_line_numbers

SOURCE = "assert visible()\n### BEGIN HIDDEN TESTS\nassert secret_check(1)\n### END HIDDEN TESTS"


def cell_with_error(line: int):
    cell = nbformat.v4.new_code_cell(SOURCE)
    context = "\n".join(f"{n} {text}" for n, text in enumerate(SOURCE.split("\n"), start=1))
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="shape is wrong",
                                           traceback=["\x1b[31m----\x1b[0m", f"Cell \x1b[32mIn[3], line {line}\x1b[0m\n{context}"])]
    return cell


def test_hidden_line_numbers():
    assert hidden_line_numbers(SOURCE) == {2, 3, 4}


def test_hidden_failure_shows_only_the_message():
    cell, _ = StripHiddenTests().preprocess_cell(cell_with_error(3), {}, 0)
    text = cell.source + "".join(cell.outputs[0].traceback)
    assert "secret_check" not in text and "BEGIN HIDDEN" not in text
    assert "shape is wrong" in text and "hidden test" in text


def test_visible_failure_keeps_its_line_but_not_the_context():
    cell, _ = StripHiddenTests().preprocess_cell(cell_with_error(1), {}, 0)
    text = "".join(cell.outputs[0].traceback)
    assert "assert visible()" in text and "secret_check" not in text
    assert cell.source.startswith("assert visible()") and "hidden tests ran here" in cell.source


def test_cells_without_hidden_tests_are_untouched():
    cell = nbformat.v4.new_code_cell("x = 1")
    assert StripHiddenTests().preprocess_cell(cell, {}, 0)[0].source == "x = 1"
