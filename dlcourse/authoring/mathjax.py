"""MathJax for the pages nbconvert renders: the formgrader and the students' feedback, offline.

nbgrader's feedback and formgrader templates call nbconvert's ``mathjax()`` macro, which loads
MathJax 2.7.7 from a CDN: offline every formula shows as raw LaTeX, and online every feedback
page a student opens contacts a third party. nbconvert looks the macro up in
``nbconvert/templates/base/mathjax.html.j2`` under every Jupyter data folder, the folders of
``JUPYTER_PATH`` first. :func:`install` writes such a folder, ``build/jupyter``, whose macro
carries MathJax 3 itself (``tex-svg.js``, from the same npm package the book uses, inlined: a
feedback page is one self-contained file, as nbgrader releases it, and SVG output needs no font
files). dlcourse.grading.grade renders feedback with it, and `make lab` / the README's formgrader command
start Jupyter with it on ``JUPYTER_PATH``. Where the npm package cannot be had (no npm, no cache),
the macro loads nothing, so formulas show as LaTeX but no page contacts anyone.

    python -m dlcourse.authoring.mathjax    # writes build/jupyter/nbconvert/templates/base/mathjax.html.j2
"""

from __future__ import annotations

import argparse
import os
import sys
import tarfile
from pathlib import Path

from dlcourse.notebooks import ROOT

DATA = ROOT / "build" / "jupyter"  # a Jupyter data folder: put it first on JUPYTER_PATH
TEMPLATE = DATA / "nbconvert" / "templates" / "base" / "mathjax.html.j2"
SCRIPT = "package/es5/tex-svg.js"
CONFIG = """window.MathJax = {
  tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']],
        processEscapes: true, processEnvironments: true, tags: 'ams'},
  options: {ignoreHtmlClass: 'tex2jax_ignore', processHtmlClass: 'tex2jax_process'},
  svg: {fontCache: 'global'}
};"""
NONE = "<!-- MathJax is not installed (python -m dlcourse.authoring.mathjax): formulas show as LaTeX; nothing is loaded -->"


def script() -> str | None:
    """MathJax 3's tex-svg.js from the npm package (dlcourse.authoring.book fetches it once), or None."""
    from dlcourse.authoring.book import BookError, mathjax_archive

    try:
        with tarfile.open(mathjax_archive()) as archive:
            return archive.extractfile(SCRIPT).read().decode()
    except (BookError, OSError, KeyError, tarfile.TarError):
        return None


def template(code: str | None) -> str:
    """The Jinja macro ``mathjax(url)`` that nbconvert's templates call; ``url`` is ignored."""
    if code is None:
        body = NONE
    else:  # inline: nothing a browser parses as the end of the script, nothing Jinja reads
        code = code.replace("</script", "<\\/script")
        if "{% endraw %}" in code:
            raise ValueError("MathJax's code contains Jinja's endraw tag; it cannot be inlined as it is")
        body = f"{{% raw %}}<script>{CONFIG}</script>\n<script>{code}</script>{{% endraw %}}"
    return f"{{%- macro mathjax(url=None) -%}}\n{body}\n{{%- endmacro %}}\n"


def install() -> Path:
    """Write the macro (again only if MathJax became available since); returns the data folder."""
    if TEMPLATE.exists() and NONE not in TEMPLATE.read_text()[:300]:
        return DATA
    text = template(script())
    TEMPLATE.parent.mkdir(parents=True, exist_ok=True)
    staged = TEMPLATE.with_suffix(".tmp")
    staged.write_text(text)
    staged.replace(TEMPLATE)
    return DATA


def available() -> bool:
    return TEMPLATE.exists() and NONE not in TEMPLATE.read_text()[:300]


def environment() -> dict[str, str]:
    """JUPYTER_PATH with the course's data folder first (for a process that renders pages)."""
    paths = [str(DATA), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
    return {"JUPYTER_PATH": os.pathsep.join(dict.fromkeys(paths))}


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="course formgrader-template", epilog="example:\n  course formgrader-template   # then: make formgrader",
                                     formatter_class=argparse.RawDescriptionHelpFormatter, description=__doc__.split("\n\n")[0]).parse_args(argv)
    install()
    if not available():
        print("MathJax could not be installed (npm and the npm registry are needed once): feedback and the "
              "formgrader show formulas as LaTeX", file=sys.stderr)
        return 1
    print(f"MathJax for feedback and the formgrader: {TEMPLATE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
