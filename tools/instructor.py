"""The instructor's command-line tool, wrapping nbgrader.

    python -m tools.instructor release [CHAPTER ...] [--check]
    python -m tools.instructor collect SOURCE --assignment 03_mlp [--course grading] [--id-pattern REGEX]

``release`` regenerates notebooks/ from solutions/ (atomic: see tools/release.py). ``collect``
places submissions from nbgrader's ``submitted/`` layout, a folder of loose notebooks or an LMS
.zip export into ``<course>/submitted/<student>/<assignment>/`` (see tools/collect.py) and lists
every file it could not place. Grading a class is ``make grade`` (tools/grade.py) for now.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools import release as release_tool
from tools.collect import DEFAULT_ID_PATTERN, collect
from tools.notebooks import ROOT, chapters


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.instructor", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    release = commands.add_parser("release", help="regenerate notebooks/ from solutions/")
    release.add_argument("chapters", nargs="*")
    release.add_argument("--check", action="store_true", help="compare only; exit 1 if notebooks/ is stale")
    gather = commands.add_parser("collect", help="place submissions into nbgrader's submitted/ layout")
    gather.add_argument("source", type=Path, help="a folder (nbgrader layout or loose notebooks) or an LMS .zip")
    gather.add_argument("--assignment", required=True, choices=chapters())
    gather.add_argument("--course", type=Path, default=ROOT / "grading", help="course folder (default: grading/)")
    gather.add_argument("--id-pattern", default=DEFAULT_ID_PATTERN,
                        help="regex with a group 'student' matched against loose file names "
                             f"(default {DEFAULT_ID_PATTERN!r}: the text before the first '_')")
    args = parser.parse_args(argv)

    if args.command == "release":
        return release_tool.main([*args.chapters, *(["--check"] if args.check else [])])
    try:
        result = collect(args.source, args.assignment, args.course.resolve(), args.id_pattern)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(result.summary())
    print(f"into {args.course / 'submitted'}")
    return 1 if result.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
