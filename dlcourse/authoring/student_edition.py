"""The student edition of the course: what students receive, without solutions or hidden tests.

    python -m dlcourse.authoring.student_edition [--output build/student-edition] [--zip]

This repository holds ``solutions/`` (every answer and hidden test) and the grading tools, so
students must not work in a clone of it. The student edition is a folder (and, with ``--zip``, an
archive next to it) with only what a student needs: the released notebooks, the ``utils``
package the lessons import, the pinned dependencies (``pyproject.toml``, ``environment.yml``),
the offline-data installer, a Makefile with ``make lab`` (and ``make setup``, ``make data``) and
a README for students. The instructor guide in README.md says how to publish it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import textwrap
from pathlib import Path

from dlcourse.notebooks import ROOT, chapters

OUTPUT = ROOT / "build" / "student-edition"
COPIED = ("notebooks", "utils", "environment.yml", "scripts/install_data.sh", "scripts/configure_lab.py", "LICENSE")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")

MAKEFILE = """\
# The course, student edition. `make lab` is all you need; `make help` lists the rest.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
KERNEL := dl-course
LAB_ARGS ?=# e.g. LAB_ARGS="--no-browser --port 8890"

.PHONY: help setup data lab

help: ## list the targets
\t@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-6s %s\\n", $$1, $$2}'

$(STAMP): pyproject.toml
\t@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run: make PYTHON=/path/to/python3.11 lab"; exit 1; }
\t@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "error: $(PYTHON) is not Python 3.11 (the pins are tested with 3.11 only)"; exit 1; }
\ttest -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
\t$(BIN)/python -m pip install --quiet --upgrade pip
\t$(BIN)/python -m pip install --quiet -e .
\t$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python 3 ($(KERNEL))"
\t$(BIN)/python scripts/configure_lab.py --student
\ttouch $(STAMP)

setup: $(STAMP) data ## create .venv with the pinned packages and the Jupyter kernel, install the offline data

data: ## install the offline datasets where the system allows it (Fashion-MNIST, from chapter 04 on)
\t@bash scripts/install_data.sh

lab: setup ## start JupyterLab on the chapters
\t$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(LAB_ARGS) $(if $(filter 0,$(shell id -u)),--allow-root)
"""

GUIDE = ROOT / "book" / "guides" / "student.md"  # the student guide is the edition's README


def students_readme(chapters: list[str]) -> str:
    """The book's student guide, with links that only resolve in the book made plain text, and
    the chapters this edition holds."""
    text = re.sub(r"\[([^\]]+)\]\((?!https?:)[^)]*\)", r"\1 (a page of the course's book)", GUIDE.read_text())
    title = "# Deep learning: from fundamentals to transformers (student edition)\n\n"
    return title + text.split("\n", 1)[1].lstrip("\n") + f"\n## Chapters\n\n{', '.join(chapters)}.\n"


def students_pyproject(text: str) -> str:
    """The repository's pyproject.toml without the instructors' package and its `course` command
    (neither is in the student edition): the same pinned dependencies, `utils` alone installed."""
    scripts = '[project.scripts]\ncourse = "dlcourse.cli:main"\n\n'
    packages = 'include = ["utils", "utils.*", "dlcourse", "dlcourse.*"]'
    if scripts not in text or packages not in text:
        raise ValueError("pyproject.toml no longer has the [project.scripts] and packages lines the student edition removes")
    return text.replace(scripts, "").replace(packages, 'include = ["utils", "utils.*"]')


def build(output: Path = OUTPUT, archive: bool = False) -> Path:
    """Write the student edition into ``output`` (replaced whole, staged first); with ``archive``
    also ``output``.zip. Returns the folder."""
    staged = output.with_name(output.name + ".partial")
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    for name in COPIED:
        source, target = ROOT / name, staged / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=IGNORED)
        else:
            shutil.copy2(source, target)
    (staged / "pyproject.toml").write_text(students_pyproject((ROOT / "pyproject.toml").read_text()))
    (staged / "Makefile").write_text(MAKEFILE)
    names = chapters()
    (staged / "README.md").write_text(students_readme(names))
    (staged / ".gitignore").write_text(".venv/\n__pycache__/\n*.egg-info/\n.ipynb_checkpoints/\n")
    shutil.rmtree(output, ignore_errors=True)
    staged.replace(output)
    if archive:
        shutil.make_archive(str(output), "zip", root_dir=output.parent, base_dir=output.name)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course student-edition", epilog="example:\n  course student-edition --zip   # build/student-edition.zip",
                                     formatter_class=argparse.RawDescriptionHelpFormatter, description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"folder to write (default: {OUTPUT})")
    parser.add_argument("--zip", action="store_true", help="also write <output>.zip")
    args = parser.parse_args(argv)
    folder = build(args.output.resolve(), archive=args.zip)
    print(f"student edition: {folder}" + (f" and {folder}.zip" if args.zip else ""))
    print(textwrap.dedent("""\
        publish it as its own repository (git init there, commit, push) or hand out the .zip;
        never publish this repository: it holds the solutions and the hidden tests"""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
