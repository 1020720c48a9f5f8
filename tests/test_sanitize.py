"""tools.sanitize keeps only inert content: text and raster images, escaped Markdown HTML."""

import base64

import nbformat

from tools.notebooks import release_path
from tools.sanitize import SanitizeOutputs, escape_markdown_html, sanitize_output

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
    assert sanitize_output(output) == ["text/html"]
    assert output.data == {"text/plain": "<Figure>", "image/png": PNG}
    assert output.metadata == {"image/png": {"width": 640, "height": "480"}}


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
    assert processed.cells[-1].source == "&lt;b>mine&lt;/b>"
    assert list(processed.cells[-1].attachments) == ["a.png"]
    assert lesson.source == next(c for c in processed.cells if c.cell_type == "markdown").source
