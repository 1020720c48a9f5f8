"""dlcourse.grading.sanitize keeps only inert content: text and raster images, escaped Markdown HTML."""

import base64

import nbformat
import pytest

from dlcourse.notebooks import release_path
from dlcourse.grading.sanitize import SanitizeOutputs, escape_markdown_html, sanitize_output

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(16)).decode()


def display(data, metadata=None):
    return nbformat.v4.new_output("display_data", data=data, metadata=metadata or {})


def test_html_javascript_svg_and_widgets_become_text():
    for mime in ("text/html", "application/javascript", "image/svg+xml", "text/markdown", "text/latex",
                 "application/vnd.jupyter.widget-view+json"):
        output = display({mime: "<script>alert(1)</script>"})
        assert sanitize_output(output) == [mime]
        assert list(output.data) == ["text/plain"] and output.data["text/plain"].startswith(f"[{mime} output shown as text")


def test_text_and_raster_images_are_kept():
    output = display({"text/plain": "<Figure>", "image/png": PNG, "text/html": "<b>x</b>"},
                     {"image/png": {"width": 640, "height": "480"}})
    assert sanitize_output(output, announce=False) == ["text/html"]  # a lesson's own output
    assert output.data == {"text/plain": "<Figure>", "image/png": PNG}
    assert output.metadata == {"image/png": {"width": 640, "height": "480"}}
    output = display({"text/plain": "<Figure>", "text/html": "<script>x()</script>"})
    assert sanitize_output(output) == ["text/html"]  # the student's: the removal is said, and noted
    assert output.data == {"text/plain": "[text/html output removed by the grader]\n<Figure>"}


def test_image_data_or_sizes_that_could_break_out_of_an_attribute_are_dropped():
    output = display({"image/png": 'x" onerror="alert(1)'}, {"image/png": {"width": '1" onload="alert(2)'}})
    assert sanitize_output(output) == ["image/png"]
    assert "onerror" in output.data["text/plain"] and "image/png" not in output.data
    output = display({"image/png": PNG}, {"image/png": {"width": '1" onload="alert(2)'}, "isolated": True})
    sanitize_output(output)
    assert output.metadata == {"image/png": {}}


def test_markdown_html_is_escaped_and_script_urls_broken():
    text = escape_markdown_html('a <img src=x onerror="x()"> b </script> [c](javascript:go()) x < y, $a<b$')
    assert "<img" not in text and "&lt;img" in text and "&lt;/script>" in text
    assert "javascript:" not in text and "javascript-blocked:" in text
    assert "x < y" in text, "a lone less-than sign (maths, comparisons) is left alone"


def test_only_markdown_the_student_changed_is_escaped(tmp_path):
    nb = nbformat.read(release_path("01_fundamentals"), as_version=4)
    lesson = next(c for c in nb.cells if c.cell_type == "markdown")
    nb.cells.append(nbformat.v4.new_markdown_cell("<b>mine</b>"))
    nb.cells[-1].attachments = {"a.png": {"image/png": PNG}, "b.svg": {"image/svg+xml": "<svg onload='x()'/>"}}
    processed, _ = SanitizeOutputs().preprocess(nb, {"nbgrader": {"assignment": "01_fundamentals"}})
    assert processed.cells[-1].source == ("[the grader changed this cell: attachment 'b.svg' removed (not a valid "
                                          "PNG, JPEG or GIF image)]\n\n&lt;b>mine&lt;/b>")
    assert list(processed.cells[-1].attachments) == ["a.png"]
    assert lesson.source == next(c for c in processed.cells if c.cell_type == "markdown").source


@pytest.mark.parametrize("markdown", [
    "[fig](java&#x73;cript:fetch('/api/contents'))", "[a](javascript&colon;alert(1))", "[a](JAVASCRIPT:alert(1))",
    "[x][r]\n\n[r]: java&#x73;cript:alert(1)", "![i](data:text/html,hi)", "[a](vbscript:x)",
    "![i](attachment:missing.png)", "[a](&#106;avascript:alert(1))",
])
def test_links_to_anything_but_http_mailto_or_an_attachment_show_the_cell_as_text(markdown):
    from dlcourse.grading.sanitize import rendered_urls, sanitize_markdown

    cell = nbformat.v4.new_markdown_cell(markdown)
    notes = sanitize_markdown(cell)
    assert notes and notes[-1].startswith("shown as text"), notes
    assert rendered_urls(cell.source) == [], cell.source  # a code block: no link is rendered at all
    assert markdown in cell.source  # the student's text is all there, as text


@pytest.mark.parametrize("markdown", ["[course](https://example.org/a?b=c)", "[me](mailto:me@example.org)",
                                      "[up](#section)", "![plot](attachment:a.png)", "plain **bold** text"])
def test_ordinary_links_stay_links(markdown):
    from dlcourse.grading.sanitize import sanitize_markdown

    cell = nbformat.v4.new_markdown_cell(markdown)
    cell.attachments = {"a.png": {"image/png": PNG}}
    assert sanitize_markdown(cell) == [] and cell.source == markdown


def test_attachments_over_the_size_limit_are_removed():
    from dlcourse.grading.sanitize import MAX_ATTACHMENT_CHARS, sanitize_markdown

    big = "A" * (MAX_ATTACHMENT_CHARS + 4)
    cell = nbformat.v4.new_markdown_cell("![p](attachment:big.png)")
    cell.attachments = {"big.png": {"image/png": big}}
    notes = sanitize_markdown(cell)
    assert "big.png" not in cell.attachments and any("over the grader's limit" in n for n in notes), notes
    assert any("missing attachment" in n for n in notes), "its reference now points nowhere: shown as text"


def test_one_print_split_by_a_flush_is_counted_whole():
    """print('x' * N) may arrive as two stream outputs (the text, then the newline) when the kernel
    flushes between them; the cap's notice must count N + 1 characters either way."""
    for outputs in ([nbformat.v4.new_output("stream", name="stdout", text="x" * 300_000 + "\n")],
                    [nbformat.v4.new_output("stream", name="stdout", text="x" * 300_000),
                     nbformat.v4.new_output("stream", name="stdout", text="\n")]):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("print('x' * 300_000)", outputs=outputs)]
        processed, _ = SanitizeOutputs().preprocess(nb, {"nbgrader": {"assignment": "01_fundamentals"}})
        kept = processed.cells[0].outputs
        assert len(kept) == 1 and "[output cut by the grader: 300,001 characters" in kept[0].text, kept[0].text[-120:]
