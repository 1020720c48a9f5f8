"""The instructor's command-line tool, wrapping nbgrader.

    course release [CHAPTER ...] [--check]
    course collect SOURCE --assignment 03_mlp [--course grading] [--id-pattern REGEX]
    course grade --assignment 03_mlp [--course grading] [--workers N] [--timeout S]
    course feedback --assignment 03_mlp [--course grading]
    course report --assignment 03_mlp [--course grading]

``release`` regenerates notebooks/ from solutions/ (atomic: see dlcourse/authoring/release.py). ``collect``
places submissions from nbgrader's ``submitted/`` layout, a folder of loose notebooks or an LMS
.zip export into ``<course>/submitted/<student>/<assignment>/`` (see dlcourse/grading/collect.py) and lists
every file it could not place. ``grade`` autogrades what ``collect`` placed (dlcourse/grading/grade.py:
parallel, isolated, limited), ``feedback`` regenerates the HTML feedback without hidden tests,
and ``report`` reads the gradebook and writes grades-<assignment>.csv, the per-exercise table and two plots.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dlcourse.grading import grade as grade_tool
from dlcourse.grading import gradebook as gradebook_tool
from dlcourse.grading import report as report_tool
from dlcourse.authoring import release as release_tool
from dlcourse.grading.collect import DEFAULT_ID_PATTERN, collect
from dlcourse.notebooks import ROOT, chapters


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course", description=__doc__.split("\n\n")[0])
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
    grade = commands.add_parser("grade", help="autograde <course>/submitted in parallel, each submission isolated")
    grade.add_argument("--workers", type=int, default=None, help="default: the number of cores")
    grade.add_argument("--timeout", type=float, default=None, help="seconds per submission (default 600)")
    grade.add_argument("--cell-timeout", type=int, default=None, help="seconds per cell (default 300)")
    grade.add_argument("--disk-mib", type=int, default=None, help="disk per writable folder of the sandbox (default 512)")
    grade.add_argument("--max-processes", type=int, default=None, help="processes and threads per submission (default 256)")
    grade.add_argument("--force", action="store_true", help="grade again submissions unchanged since their last grading")
    grade.add_argument("--reference-calls", choices=["zero", "note"], default="zero",
                       help="an answer calling the course's reference of its exercise scores 0 (default) or is noted")
    feedback = commands.add_parser("feedback", help="HTML feedback without hidden tests for every graded student")
    report = commands.add_parser("report", help="grades-<assignment>.csv, per-exercise statistics and plots from the gradebook")
    for command in (grade, feedback, report):
        command.add_argument("--assignment", required=True, choices=chapters())
        command.add_argument("--course", type=Path, default=ROOT / "grading", help="course folder (default: grading/)")
    args = parser.parse_args(argv)

    if args.command == "release":
        return release_tool.main([*args.chapters, *(["--check"] if args.check else [])])
    if args.command == "grade":
        options = [str(args.course / "submitted"), "--assignment", args.assignment, "--course", str(args.course)]
        options += ["--workers", str(args.workers)] if args.workers else []
        options += ["--timeout", str(args.timeout)] if args.timeout else []
        options += ["--cell-timeout", str(args.cell_timeout)] if args.cell_timeout else []
        options += ["--disk-mib", str(args.disk_mib)] if args.disk_mib else []
        options += ["--max-processes", str(args.max_processes)] if args.max_processes else []
        options += ["--reference-calls", args.reference_calls] + (["--force"] if args.force else [])
        return grade_tool.main(options)
    if args.command in ("feedback", "report"):
        try:
            class_report = gradebook_tool.report_from_gradebook(args.course.resolve(), args.assignment)
        except FileNotFoundError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        if args.command == "feedback":
            students = [r.student for r in class_report.students if r.status == "graded"]
            pages = grade_tool.generate_feedback(args.course.resolve(), args.assignment, students)
            missing = sorted(student for student, page in pages.items() if page is None)
            print(f"feedback for {len(pages) - len(missing)} students in {args.course / 'feedback'}"
                  + (f"; FAILED for: {', '.join(missing)}" if missing else ""))
            return 1 if missing else 0
        print(class_report.table())
        grades, exported = report_tool.output_paths(args.course, args.assignment)
        class_report.write_csv(grades)
        export = gradebook_tool.export_grades(args.course.resolve(), args.assignment, exported)
        plots = class_report.plot(args.course / "plots" / args.assignment)
        print(f"\ngrades: {grades} | nbgrader's export: {export} | "
              f"plots: {', '.join(str(p) for p in plots)}")
        print("\n" + (class_report.attention() or "no submission needs attention"))
        return 0
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
