"""The instructor's command-line tool, wrapping nbgrader.

    course collect SOURCE --assignment 03_mlp [--course grading] [--id-pattern REGEX]
    course grade --assignment 03_mlp [--course grading] [--submissions DIR] [--workers N | --dask ADDRESS|N] ...
    course feedback --assignment 03_mlp [--course grading]
    course report --assignment 03_mlp [--course grading]

``collect``
places submissions from nbgrader's ``submitted/`` layout, a folder of loose notebooks or an LMS
.zip export into ``<course>/submitted/<student>/<assignment>/`` (see dlcourse/grading/collect.py) and lists
every file it could not place. ``grade`` autogrades what ``collect`` placed (dlcourse/grading/grade.py:
parallel, isolated, limited), ``feedback`` regenerates the HTML feedback without hidden tests,
and ``report`` reads the gradebook and writes grades-<assignment>.csv, the per-exercise table and two plots.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from dlcourse.grading import grade as grade_tool
from dlcourse.grading import gradebook as gradebook_tool
from dlcourse.grading import report as report_tool
from dlcourse.authoring import release as release_tool
from dlcourse.grading.cluster import ClusterError
from dlcourse.grading.collect import DEFAULT_ID_PATTERN, collect
from dlcourse.grading.sandbox import Limits
from dlcourse.notebooks import ROOT, chapters


EXAMPLES = {
    "collect": "course collect ~/Downloads/lms-export.zip --assignment 03_mlp",
    "grade": "course grade --assignment 03_mlp --workers 2      # grading/submitted, after collect",
    "feedback": "course feedback --assignment 03_mlp",
    "report": "course report --assignment 03_mlp",
}


def _command(commands, name: str, text: str) -> argparse.ArgumentParser:
    return commands.add_parser(name, help=text, description=text, epilog=f"example:\n  {EXAMPLES[name]}",
                               formatter_class=argparse.RawDescriptionHelpFormatter)


def _positive(kind):
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value
    return parse


def _assignment(text: str) -> str:
    if text not in chapters():
        raise argparse.ArgumentTypeError(f"no assignment {text!r}; the assignments are: {', '.join(chapters())}")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    gather = _command(commands, "collect", "place submissions into nbgrader's submitted/ layout")
    gather.add_argument("source", type=Path, help="a folder (nbgrader layout or loose notebooks) or an LMS .zip")
    gather.add_argument("--id-pattern", default=DEFAULT_ID_PATTERN,
                        help="regex with a group 'student' matched against loose file names "
                             f"(default {DEFAULT_ID_PATTERN!r}: the text before the first '_')")
    grade = _command(commands, "grade", "autograde a class in parallel, each submission in a jail")
    grade.add_argument("--submissions", type=Path, default=None,
                       help="one folder per student (default: <course>/submitted, where collect puts them)")
    grade.add_argument("--workers", type=_positive(int), default=os.cpu_count() or 1,
                       help="submissions graded at once (default: the number of cores)")
    grade.add_argument("--dask", metavar="ADDRESS|N", default=None,
                       help="grade on a Dask cluster: a scheduler's address (tcp://host:8786) whose workers have the "
                            "course's environment and bubblewrap, or N to start N local worker processes; the "
                            "gradebook is written here (see dlcourse/grading/cluster.py)")
    grade.add_argument("--timeout", type=_positive(float), default=Limits.wall_seconds,
                       help=f"seconds per submission, kernel start included (default {Limits.wall_seconds:g})")
    grade.add_argument("--cell-timeout", type=_positive(int), default=None,
                       help="seconds per cell before it is interrupted (default: nbgrader_config.py's, 300)")
    grade.add_argument("--memory-gib", type=_positive(float), default=Limits.memory_bytes / 2**30,
                       help="address space per process in GiB (default %(default)g; torch alone maps about 4.6)")
    grade.add_argument("--disk-mib", type=_positive(int), default=Limits.disk_bytes // 2**20,
                       help="each writable folder of the sandbox, and any one file, in MiB (default %(default)d)")
    grade.add_argument("--max-processes", type=_positive(int), default=Limits.processes,
                       help="processes and threads per submission (default %(default)d)")
    grade.add_argument("--force", action="store_true",
                       help="grade again the submissions unchanged since their last grading")
    grade.add_argument("--no-feedback", action="store_true", help="skip the HTML feedback")
    grade.add_argument("--reference-calls", choices=["zero", "note"], default="zero",
                       help="an answer that calls the course's reference of its exercise: its test cell scores 0 "
                            "(zero, the default) or it is only noted in the summary (note)")
    feedback = _command(commands, "feedback", "HTML feedback without hidden tests for every graded student")
    report = _command(commands, "report", "grades-<assignment>.csv, per-exercise statistics and plots from the gradebook")
    for command in (gather, grade, feedback, report):
        command.add_argument("--assignment", required=True, type=_assignment, metavar="ASSIGNMENT",
                             help=f"one of: {', '.join(chapters())}")
        command.add_argument("--course", type=Path, default=ROOT / "grading", help="course folder (default: grading/)")
    args = parser.parse_args(argv)

    if args.command == "grade":
        return grade_class(args)
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
        if class_report.misconception_table():
            print("\n" + class_report.misconception_table())
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


def grade_class(args: argparse.Namespace) -> int:
    course = args.course.resolve()
    folder = (args.submissions or course / "submitted").resolve()
    try:
        submissions = grade_tool.find_submissions(folder, args.assignment)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not submissions:
        print(f"error: no student folders in {folder}; place them there with: course collect SOURCE "
              f"--assignment {args.assignment}", file=sys.stderr)
        return 2
    limits = Limits(wall_seconds=args.timeout, memory_bytes=int(args.memory_gib * 2**30),
                    disk_bytes=args.disk_mib * 2**20, processes=args.max_processes)
    try:
        report = grade_tool.grade_submissions(submissions, args.assignment, course, feedback=not args.no_feedback,
                                              workers=args.workers, limits=limits, cell_seconds=args.cell_timeout,
                                              notes=grade_tool.find_extras(folder, submissions),
                                              reference_calls=args.reference_calls, force=args.force,
                                              dask=args.dask)
    except (release_tool.ReleaseError, ClusterError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print()
    print(report.table())
    if report.misconception_table():
        print("\n" + report.misconception_table())
    grades, exported = report_tool.output_paths(args.course, args.assignment)
    report.write_csv(grades)
    gradebook_tool.export_grades(course, args.assignment, exported)
    print(f"\ngrades: {grades} | for a learning-management system (nbgrader's export): "
          f"{exported} | feedback (no hidden tests): {args.course / 'feedback'}")
    print("\n" + (report.attention() or f"all {len(report.students)} submissions graded; none needs attention"))
    return 0 if all(r.status == "graded" for r in report.students) else 1


if __name__ == "__main__":
    raise SystemExit(main())
