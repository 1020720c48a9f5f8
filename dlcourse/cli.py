"""The course's one command line: ``course <command> ...`` (installed by ``pip install -e .``).

Each command is a module's own command line; ``course <command> --help`` shows its options.

Examples::

    course release                         # notebooks/ from solutions/ (all chapters)
    course collect ~/Downloads/lms.zip --assignment 03_mlp
    course grade --assignment 03_mlp --workers 2
    course feedback --assignment 03_mlp
    course report --assignment 03_mlp
    course mutation 07_metrics
    course misconceptions 03_mlp
    course book --mode smoke
    course student-edition --zip
    course bench --skip-grading
    sudo .venv/bin/course hub start          # JupyterHub for a demo class on this server
"""

from __future__ import annotations

import argparse
import importlib
import sys

# command -> (module, help, fixed leading arguments)
COMMANDS = {
    "release": ("dlcourse.authoring.release", "regenerate notebooks/ (the student release) from solutions/", []),
    "collect": ("dlcourse.grading.instructor", "place submissions (a folder or an LMS .zip) into nbgrader's layout",
                ["collect"]),
    "grade": ("dlcourse.grading.instructor", "autograde a class in parallel, each submission in a jail", ["grade"]),
    "feedback": ("dlcourse.grading.instructor", "HTML feedback without hidden tests for every graded student",
                 ["feedback"]),
    "report": ("dlcourse.grading.instructor", "grades-<assignment>.csv, per-exercise statistics and plots", ["report"]),
    "mutation": ("dlcourse.authoring.mutation", "mutation testing of the exercises' tests", []),
    "misconceptions": ("dlcourse.grading.misconceptions",
                       "does the grader recognise each exercise's known wrong answers, and only them?", []),
    "book": ("dlcourse.authoring.book", "build the Jupyter Book site offline", []),
    "student-edition": ("dlcourse.authoring.student_edition", "the repository as students receive it", []),
    "formgrader-template": ("dlcourse.authoring.mathjax", "nbconvert template with MathJax inlined", []),
    "hub": ("dlcourse.hub", "a JupyterHub for a class on this server (as root): demo accounts, nbgrader's exchange", []),
    "bench": ("dlcourse.bench.suite", "measure run times, speed and memory; print every figure", []),
}


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="course", description=__doc__.split("\n\n")[0],
                                   epilog=__doc__.split("Examples::", 1)[1],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = main.add_subparsers(dest="command", metavar="command", required=True)
    for name, (_, text, _) in COMMANDS.items():
        commands.add_parser(name, help=text, add_help=False)
    return main


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    known, rest = parser().parse_known_args(argv[:1])
    module, _, leading = COMMANDS[known.command]
    run = importlib.import_module(module).main
    return run(leading + argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
