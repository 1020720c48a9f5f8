"""Build the course's Jupyter Book (student edition) offline.

    python -m dlcourse.authoring.book [--mode full|smoke] [--output build/book]

Stages book/ into the output folder, executes every release notebook there with its exercise
and test cells skipped (they are shown, not run), removes widget state (which would load
scripts from a CDN), copies MathJax 3 from the npm package into a static folder, and runs
`jupyter-book build` with warnings as errors. The site is <output>/_build/html/index.html.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import nbformat

from dlcourse.notebooks import ROOT, chapters, execute, release_path, tool_environment

BOOK = ROOT / "book"
MATHJAX_VERSION = "3.2.2"
MATHJAX_CACHE = ROOT / "build" / "vendor" / f"mathjax-{MATHJAX_VERSION}.tgz"
MATHJAX_PARTS = ("tex-chtml.js", "output", "input", "ui", "a11y", "adaptors")  # not the 4 MB speech engine
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class BookError(RuntimeError):
    pass


def mathjax_archive() -> Path:
    """The npm tarball of MathJax, fetched once with `npm pack` into build/vendor/."""
    if MATHJAX_CACHE.exists():
        return MATHJAX_CACHE
    npm = shutil.which("npm")
    if npm is None:
        raise BookError(
            f"MathJax {MATHJAX_VERSION} is needed to render math offline and is fetched once from the npm "
            f"registry, but npm is not installed. Install Node.js/npm (e.g. `apt-get install npm`), or put "
            f"mathjax-{MATHJAX_VERSION}.tgz (from `npm pack mathjax@{MATHJAX_VERSION}`) into {MATHJAX_CACHE.parent}"
        )
    MATHJAX_CACHE.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([npm, "pack", f"mathjax@{MATHJAX_VERSION}", "--silent"], cwd=MATHJAX_CACHE.parent,
                            capture_output=True, text=True)
    if result.returncode != 0 or not MATHJAX_CACHE.exists():
        raise BookError(f"`npm pack mathjax@{MATHJAX_VERSION}` failed:\n{result.stderr}")
    return MATHJAX_CACHE


def vendor_mathjax(target: Path) -> None:
    """Unpack MathJax's es5 build (the parts a page loads) into ``target``."""
    with tarfile.open(mathjax_archive()) as archive, tempfile.TemporaryDirectory() as scratch:
        members = [m for m in archive.getmembers()
                   if m.name.startswith("package/es5/") and m.name.split("/")[2] in MATHJAX_PARTS]
        archive.extractall(scratch, members=members, filter="data")
        shutil.copytree(Path(scratch) / "package" / "es5", target, dirs_exist_ok=True)


def widget_text(model_id: str, state: dict) -> str | None:
    """The text a widget showed when the notebook finished, from the saved widget state: a tqdm
    bar (an HBox of a label, a progress bar and a label) reads "epoch 3: 100% 1720/1720 [...]"."""
    model = state.get(model_id, {}).get("state", {})
    if "children" in model:
        parts = [widget_text(child.removeprefix("IPY_MODEL_"), state) for child in model["children"]]
        return " ".join(part for part in parts if part) or None
    value = model.get("value")
    if isinstance(value, str):
        return html.unescape(re.sub(r"<[^>]+>", "", value)).replace("\u2007", " ").strip() or None
    return None  # the bar itself: its labels carry the numbers


def without_widgets(nb):
    """Drop widget views and widget state; where a widget's final text is known (a progress bar
    at 100 %), it replaces the text/plain fallback, which shows the widget as it was created (0 %)."""
    state = nb.metadata.pop("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).pop(WIDGET_VIEW, None)
            final = widget_text(view.get("model_id", ""), state) if isinstance(view, dict) else None
            if final:
                output["data"]["text/plain"] = final
    return nb


def attachments_as_files(nb, folder: Path, prefix: str):
    """Markdown attachments (a picture pasted into a cell: chapter 08's TensorBoard dashboard)
    written as files beside the chapter, ``<prefix>_<name>``, and the cells pointed at them: the
    book's Markdown parser reads images from files, not from ``attachment:`` links."""
    import base64

    for cell in nb.cells:
        for name, bundle in (cell.pop("attachments", None) or {}).items():
            kind = next((k for k in bundle if k.startswith("image/")), None)
            if kind is None:
                continue
            (folder / f"{prefix}_{name}").write_bytes(base64.b64decode(bundle[kind]))
            cell.source = cell.source.replace(f"attachment:{name}", f"{prefix}_{name}")
    return nb


GUIDES = ("student", "instructor", "hub", "maintainer", "measured")  # book/guides/<name>.md


def table_of_contents() -> str:
    """The book's _toc.yml: the intro page, every chapter found in solutions/, in order (adding a
    chapter is adding its folder; no list to keep by hand), then the guides."""
    return ("format: jb-book\nroot: intro\nparts:\n  - caption: Chapters\n    chapters:\n"
            + "".join(f"      - file: chapters/{c}\n" for c in chapters())
            + "  - caption: Guides\n    chapters:\n" + "".join(f"      - file: guides/{g}\n" for g in GUIDES))


def stage(output: Path, smoke: bool) -> Path:
    shutil.rmtree(output / "_build", ignore_errors=True)
    output.mkdir(parents=True, exist_ok=True)
    for item in BOOK.iterdir():
        destination = output / item.name
        if item.is_dir():
            shutil.copytree(item, destination, dirs_exist_ok=True)
        else:
            shutil.copy(item, destination)
    (output / "_toc.yml").write_text(table_of_contents())
    for chapter in chapters():
        executed = output / "chapters" / f"{chapter}.ipynb"
        print(f"executing {chapter} ({'smoke' if smoke else 'full'} mode, exercises skipped) ...", end=" ", flush=True)
        start = time.perf_counter()
        execute(release_path(chapter), executed, smoke=smoke, skip_exercises=True)
        print(f"{time.perf_counter() - start:.0f} s", flush=True)
        nb = attachments_as_files(without_widgets(nbformat.read(executed, as_version=4)), executed.parent, chapter)
        nbformat.write(nb, executed)
    vendor_mathjax(output / "vendor" / "mathjax")
    return output


def build(output: Path, smoke: bool) -> Path:
    """Stage and build the book; return the path of its index.html."""
    stage(output, smoke)
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(output), "--warningiserror",
               "--builder", "html"]
    result = subprocess.run(command, capture_output=True, text=True, env=tool_environment())
    index = output / "_build" / "html" / "index.html"
    if result.returncode != 0 or not index.exists():
        raise BookError(f"jupyter-book build failed:\n{result.stdout[-6000:]}\n{result.stderr[-4000:]}")
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course book", epilog="example:\n  course book --mode smoke      # lessons in smoke mode, about 3 minutes",
                                     formatter_class=argparse.RawDescriptionHelpFormatter, description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["full", "smoke"], default="full", help="run the lessons in full or smoke mode")
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "book")
    args = parser.parse_args(argv)
    try:
        index = build(args.output.resolve(), smoke=args.mode == "smoke")
    except BookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"book built: {index}\nopen it in a browser (file://{index}); it needs no network.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
