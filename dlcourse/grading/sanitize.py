"""No active content from a submission reaches the instructor's or the student's browser.

A graded notebook is opened by the instructor in nbgrader's formgrader (served by the Jupyter
server, with the instructor's session) and returned to the student as HTML feedback. Anything a
student's code displayed as HTML, JavaScript, SVG, Markdown, LaTeX or a widget, or wrote as raw
HTML into a Markdown cell, would run there as script. :class:`SanitizeOutputs` (in dlcourse.grading.grade's
autograde pipeline, before anything is stored in the class course) keeps of every output only
text and raster images (PNG, JPEG, GIF with valid base64 data and numeric sizes); other formats
are shown as escaped text. Markdown cells the student changed get their raw HTML tags escaped and
script URLs broken. nbgrader_config.py also turns on nbconvert's own ``sanitize_html``.
"""

from __future__ import annotations

import base64
import binascii
import re

from nbconvert.preprocessors import CoalesceStreamsPreprocessor
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


ALLOWED_SCHEMES = ("http", "https", "mailto", "attachment")
URL_ATTRIBUTES = ("href", "src", "srcset", "action", "formaction", "poster", "background", "data", "xlink:href")
CHANGED = "[the grader changed this cell: {notes}]"
CHANGED_NOTICE = re.compile(r"^\[the grader changed this cell: (.+)\]$", re.MULTILINE)
MAX_ATTACHMENT_CHARS = 2_000_000  # base64 characters of all of one cell's attachments (1.5 MB of images)


def rendered_urls(source: str) -> list[str]:
    """Every URL of the HTML that Markdown ``source`` renders to (links, images; entities decoded),
    as the formgrader and the feedback render it (nbconvert's Markdown renderer, with attachments
    left as references: a missing one stops nbconvert's renderer, see :func:`unsafe_url`)."""
    from html.parser import HTMLParser

    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    class References(IPythonRenderer):
        def image(self, text, url, title=None):
            return f'<img src="{url}">'

    def markdown2html(text):
        return MarkdownWithMath(renderer=References(escape=False)).render(text)

    found = []

    class Links(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.extend(value or "" for name, value in attrs if name.lower() in URL_ATTRIBUTES)

    Links(convert_charrefs=True).feed(markdown2html(source))
    return found


def unsafe_url(url: str, attachments) -> str | None:
    """Why ``url`` must not be a link in the instructor's or the student's browser, or None: only
    http(s), mailto, a fragment (#...) and an attachment of the cell itself are allowed. Browsers
    ignore whitespace and control characters inside a scheme (``java\tscript:``): so does this."""
    bare = "".join(c for c in url if c.isprintable() and not c.isspace())
    if bare.startswith("#"):
        return None
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", bare)
    if not scheme or scheme.group(1).lower() not in ALLOWED_SCHEMES:
        return f"a link to {(scheme.group(1).lower() + ':') if scheme else 'a relative address'} {bare[:60]!r}"
    if scheme.group(1).lower() == "attachment" and bare[len("attachment:"):] not in (attachments or {}):
        return f"a reference to a missing attachment {bare[len('attachment:'):][:60]!r}"
    return None


def as_text(source: str) -> str:
    """Markdown that shows ``source`` verbatim (a code fence longer than any backtick run in it)."""
    longest = max((len(run) for run in re.findall(r"`+", source)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{source}\n{fence}\n"


def sanitize_markdown(cell) -> list[str]:
    """Make a Markdown cell the student wrote inert, in place; returns what the instructor should
    know. Raw HTML is escaped, attachments that are not valid raster images or are too large are
    removed, and a cell whose rendered HTML links anywhere but http(s), mailto, a fragment or an
    attachment of its own (``java&#x73;cript:``, ``javascript&colon;``, ``data:``) is shown as text."""
    notes = []
    original = cell.source
    cell.source = escape_markdown_html(cell.source)
    attachments = cell.get("attachments") or {}
    size = 0
    for name, bundle in list(attachments.items()):
        valid = isinstance(bundle, dict) and all(mime in SAFE_MIME[1:] and _valid_base64(value)
                                                 for mime, value in bundle.items())
        size += sum(len(v) for v in bundle.values() if isinstance(v, str)) if isinstance(bundle, dict) else 0
        if not valid or size > MAX_ATTACHMENT_CHARS:
            del attachments[name]
            notes.append(f"attachment {str(name)[:60]!r} removed ("
                         + ("not a valid PNG, JPEG or GIF image" if not valid else
                            f"over the grader's limit of {MAX_ATTACHMENT_CHARS:,} characters per cell") + ")")
    problems = [why for url in rendered_urls(cell.source) if (why := unsafe_url(url, attachments))]
    if problems:
        cell.source = as_text(original)  # in a code block nothing renders: not even raw HTML
        notes.append(f"shown as text: it held {problems[0]}")
    return notes


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


def sanitize_output(output: dict, announce: bool = True) -> list[str]:
    """Keep only inert content in one output, in place; returns the formats it removed. With
    ``announce`` a removal is said in the output's text even when a text alternative remains (the
    summary notes it); without, only where nothing else is left (the course's own lesson cells,
    e.g. a table shown as HTML and as text)."""
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
    elif removed and announce and not NOTICE.match(str(data.get("text/plain", ""))):  # the output's own text stays, after a notice
        plain = data["text/plain"]
        data["text/plain"] = f"[{', '.join(removed)} output removed by the grader]\n" + (
            "".join(plain) if isinstance(plain, list) else str(plain))
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
        from dlcourse.notebooks import release_path

        assignment = resources.get("nbgrader", {}).get("assignment")
        try:
            import nbformat

            self._released = {c.source for c in nbformat.read(release_path(assignment), as_version=4).cells
                              if not c.get("metadata", {}).get("nbgrader", {}).get("solution")}
        except (OSError, TypeError, ValueError):
            self._released = set()
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown" and cell.source not in self._released:  # the course's own HTML is trusted
            notes = sanitize_markdown(cell)
            if notes:  # dlcourse.grading.grade reads the notes from this first line
                cell.source = CHANGED.format(notes="; ".join(notes)).replace("\n", " ") + "\n\n" + cell.source
        lesson = cell.cell_type == "code" and cell.source in self._released
        # one print may reach the notebook as several stream outputs, split wherever the kernel flushed
        # (print('x' * 50_000_000) as 50,000,000 characters, then the newline): merge them first, so that
        # the cap and its notice count what the cell printed, the same on every run
        cell, resources = CoalesceStreamsPreprocessor().preprocess_cell(cell, resources, index)
        for output in cell.get("outputs", []):
            sanitize_output(output, announce=not lesson)
        if cell.get("outputs"):
            cell.outputs, used = cap_outputs(cell.outputs, self.max_cell_chars, max(self._left, 0), self.max_image_chars)
            self._left -= used
        return cell, resources
