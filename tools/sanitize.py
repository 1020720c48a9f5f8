"""No active content from a submission reaches the instructor's or the student's browser.

A graded notebook is opened by the instructor in nbgrader's formgrader (served by the Jupyter
server, with the instructor's session) and returned to the student as HTML feedback. Anything a
student's code displayed as HTML, JavaScript, SVG, Markdown, LaTeX or a widget, or wrote as raw
HTML into a Markdown cell, would run there as script. :class:`SanitizeOutputs` (in tools.grade's
autograde pipeline, before anything is stored in the class course) keeps of every output only
text and raster images (PNG, JPEG, GIF with valid base64 data and numeric sizes); other formats
are shown as escaped text. Markdown cells the student changed get their raw HTML tags escaped and
script URLs broken. nbgrader_config.py also turns on nbconvert's own ``sanitize_html``.
"""

from __future__ import annotations

import base64
import binascii
import re

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer

SAFE_MIME = ("text/plain", "image/png", "image/jpeg", "image/gif")
TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
SCRIPT_URL = re.compile(r"(?i)\b(java|vb)script\s*:")
SAFE_SIZE = re.compile(r"^\d{1,5}(\.\d+)?$")
NOTICE = re.compile(r"^\[(.+ output (?:shown as text|removed) by the grader)\]")


def escape_markdown_html(source: str) -> str:
    """Markdown with raw HTML tags shown as text (``<b>`` becomes ``&lt;b>``) and script URLs broken."""
    return SCRIPT_URL.sub(lambda m: f"{m.group(1)}script-blocked:", TAG_START.sub("&lt;", source))


def notice(output) -> str | None:
    """What :func:`sanitize_output` did to ``output`` (e.g. "text/html output shown as text by the
    grader"), or None if it left the output as it was."""
    match = NOTICE.match(str(output.get("data", {}).get("text/plain", "")))
    return match.group(1) if match else None


def _valid_base64(data) -> bool:
    text = "".join(data) if isinstance(data, list) else data
    if not isinstance(text, str):
        return False
    try:
        base64.b64decode("".join(text.split()), validate=True)
        return True
    except (binascii.Error, ValueError):
        return False


def sanitize_output(output: dict) -> list[str]:
    """Keep only inert content in one output, in place; returns the formats it removed."""
    if output.get("output_type") not in ("display_data", "execute_result"):
        return []
    data = output.get("data", {})
    removed = [mime for mime in data if mime not in SAFE_MIME
               or (mime.startswith("image/") and not _valid_base64(data[mime]))]
    for mime in removed:
        value = data.pop(mime)
        if "text/plain" not in data and isinstance(value, (str, list)):
            text = "".join(value) if isinstance(value, list) else value
            data["text/plain"] = f"[{mime} output shown as text by the grader]\n{text[:10_000]}"
    if removed and not data:
        data["text/plain"] = f"[{', '.join(removed)} output removed by the grader]"
    metadata = output.get("metadata", {})
    for key in list(metadata):
        value = metadata[key]
        if key in SAFE_MIME and isinstance(value, dict):
            metadata[key] = {k: v for k, v in value.items()
                             if k in ("width", "height") and SAFE_SIZE.match(str(v))}
        else:
            del metadata[key]
    return removed


CUT = "[output cut by the grader: {total:,} characters, the first {kept:,} kept]"
CUT_NOTICE = re.compile(r"\[output cut by the grader: ([\d,]+) characters")


def _size(output) -> int:
    return sum(len(value) if isinstance(value, str) else sum(map(len, value)) if isinstance(value, list) else 0
               for value in (output.get("text", ""), *output.get("data", {}).values(), output.get("traceback", [])))


def _cut(text, keep: int) -> str:
    text = "".join(text) if isinstance(text, list) else str(text)
    return text[:keep] + "\n" + CUT.format(total=len(text), kept=keep) + "\n"


def _is_image(output) -> bool:
    return any(mime.startswith("image/") for mime in output.get("data", {}))


def cap_outputs(outputs: list, text_budget: int, notebook_budget: int, image_limit: int) -> tuple[list, int]:
    """Cut one cell's ``outputs``: text (streams, text/plain, tracebacks) to ``text_budget``
    characters in all, with a notice (a single line of any length too, which nbgrader's
    LimitOutput leaves whole); an image larger than ``image_limit`` characters (base64) is
    replaced by a notice; nothing beyond ``notebook_budget``. Returns the kept outputs and the
    characters used."""
    kept, used = [], 0
    for output in outputs:
        size = _size(output)
        image = _is_image(output)
        allowed = min(image_limit if image else text_budget, notebook_budget - used)
        if size <= allowed:
            kept.append(output)
            used += size
            text_budget -= 0 if image else size
            continue
        keep = max(0 if image else allowed, 0)
        if output.get("output_type") == "stream":
            output["text"] = _cut(output["text"], keep)
        elif output.get("output_type") == "error":
            output["traceback"] = [_cut(output.get("traceback", []), keep)]
        else:  # an image cannot be cut in half
            output["data"] = {"text/plain": CUT.format(total=size, kept=keep)}
            output["metadata"] = {}
        kept.append(output)
        used += _size(output)
        text_budget = max(0, text_budget - keep) if not image else text_budget
    return kept, used


class SanitizeOutputs(NbGraderPreprocessor):
    """Inert outputs and Markdown (module docstring), and a cap on their size: the text one cell
    shows is cut at ``max_cell_chars`` characters, an image over ``max_image_chars`` is replaced
    by a notice, the whole notebook stops at ``max_notebook_chars`` (a cell that prints 200 MB
    in one line would otherwise be stored whole, in the graded notebook and in the feedback). Lesson Markdown cells that match the release
    exactly are kept as written: the course's own HTML is trusted."""

    max_cell_chars = Integer(200_000, help="characters of text output kept per cell").tag(config=True)
    max_image_chars = Integer(3_000_000, help="base64 characters of one image output, at most").tag(config=True)
    max_notebook_chars = Integer(12_000_000, help="characters of output kept per notebook").tag(config=True)

    def preprocess(self, nb, resources):
        self._left = self.max_notebook_chars
        from tools.notebooks import release_path

        assignment = resources.get("nbgrader", {}).get("assignment")
        try:
            import nbformat

            self._released = {c.source for c in nbformat.read(release_path(assignment), as_version=4).cells
                              if c.cell_type == "markdown"}
        except (OSError, TypeError, ValueError):
            self._released = set()
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown" and cell.source not in self._released:
            cell.source = escape_markdown_html(cell.source)
            for name, bundle in list(cell.get("attachments", {}).items()):
                if not all(mime in SAFE_MIME[1:] and _valid_base64(value) for mime, value in bundle.items()):
                    del cell["attachments"][name]
        for output in cell.get("outputs", []):
            sanitize_output(output)
        if cell.get("outputs"):
            cell.outputs, used = cap_outputs(cell.outputs, self.max_cell_chars, max(self._left, 0), self.max_image_chars)
            self._left -= used
        return cell, resources
