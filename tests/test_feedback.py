"""The feedback preprocessor removes hidden tests and tracebacks that quote them."""

import nbformat

from dlcourse.grading.feedback import StripHiddenTests, hidden_line_numbers

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


def test_output_lines_that_repeat_hidden_tests_or_solutions_are_removed():
    """Whatever a submission printed (a solution file it could read, its own test cell's source),
    a line of a hidden test or of a solution block does not reach the student."""
    from dlcourse.grading.feedback import REDACTED, secret_lines
    from dlcourse.notebooks import solution_path

    solution = nbformat.read(solution_path("01_fundamentals"), as_version=4)
    secret = secret_lines("01_fundamentals")
    assert len(secret) > 20
    hidden = next(line for c in solution.cells if "### BEGIN HIDDEN TESTS" in c.source
                  for line in c.source.split("\n")[c.source.split("\n").index("### BEGIN HIDDEN TESTS") + 1:]
                  if line.strip() in secret)
    printed = f"my own line\n{hidden}\nanother line of mine"
    cell = nbformat.v4.new_code_cell("print(open('somewhere').read())")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed),
                    nbformat.v4.new_output("error", ename="ValueError", evalue=hidden.strip(),
                                           traceback=[f"ValueError: {hidden.strip()}"]),
                    nbformat.v4.new_output("display_data", data={"text/plain": printed})]
    cell, _ = StripHiddenTests().preprocess_cell(cell, {"nbgrader": {"assignment": "01_fundamentals"}}, 0)
    assert cell.outputs[0].text == f"my own line\n{REDACTED}\nanother line of mine"
    assert hidden.strip() not in str(cell.outputs)
    assert cell.outputs[2].data["text/plain"].count(REDACTED) == 1


def test_lines_the_release_shows_are_not_secret():
    from dlcourse.grading.feedback import secret_lines
    from dlcourse.notebooks import release_path

    release = {line.strip() for c in nbformat.read(release_path("01_fundamentals"), as_version=4).cells
               for line in c.source.split("\n")}
    assert not secret_lines("01_fundamentals") & release


def test_nothing_printed_after_the_first_test_cell_reaches_the_feedback():
    """A cell that prints the kernel's history re-encoded (rot13, base64) defeats any line-by-line
    comparison: once a test cell has run, the feedback shows no cell's output but the test
    cells' errors, by name and the start of their message."""
    import codecs

    from dlcourse.grading.feedback import AFTER_TESTS, MAX_MESSAGE

    test = {"nbgrader": {"grade": True, "solution": False, "grade_id": "test_f", "points": 1}}
    before = nbformat.v4.new_code_cell("print('mine')")
    before.outputs = [nbformat.v4.new_output("stream", name="stdout", text="mine\n")]
    checks = nbformat.v4.new_code_cell(SOURCE, metadata=test)
    checks.outputs = [nbformat.v4.new_output("stream", name="stdout", text=codecs.encode("secret_check(1)", "rot13")),
                      nbformat.v4.new_output("error", ename="AssertionError", evalue="x" * 5000, traceback=["..."])]
    dump = nbformat.v4.new_code_cell("print(codecs.encode(str(In), 'rot13'))")
    dump.outputs = [nbformat.v4.new_output("stream", name="stdout", text=codecs.encode("secret_check(1)", "rot13")),
                    nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="})]
    nb = nbformat.v4.new_notebook(cells=[before, checks, dump])
    nb, _ = StripHiddenTests().preprocess(nb, {})
    assert nb.cells[0].outputs[0].text == "mine\n"
    assert [o.output_type for o in nb.cells[1].outputs] == ["error"]
    assert len(nb.cells[1].outputs[0].evalue) < MAX_MESSAGE + 10
    assert nb.cells[2].outputs == [{"output_type": "stream", "name": "stdout", "text": AFTER_TESTS + "\n"}]
    assert codecs.encode("secret_check", "rot13") not in str(nb)
