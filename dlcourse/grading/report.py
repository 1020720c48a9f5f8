"""A class's grading report: per student the scores, written answers, notes and status
(:class:`StudentResult`), and for the class the table, grades-<assignment>.csv and the plots
(:class:`Report`)."""

from __future__ import annotations

import csv
import statistics
import textwrap
from dataclasses import dataclass, field
from pathlib import Path



NONE = "(none of the known ones)"  # failing answers that behave like no known wrong answer


@dataclass
class StudentResult:
    student: str
    status: str  # "graded", or why not
    scores: dict[str, float] = field(default_factory=dict)  # grade_id -> score of auto-graded cells
    feedback: Path | None = None
    notes: list[str] = field(default_factory=list)  # what needs the instructor's attention, graded or not
    written: dict[str, float | None] = field(default_factory=dict)  # written answer -> manual score (None: not yet)
    extra_credit: float = 0.0
    needs_manual: list[str] = field(default_factory=list)  # cells that still need grading by hand
    misconceptions: dict[str, list[str]] = field(default_factory=dict)  # exercise -> known wrong answers it behaves like

    @property
    def automatic(self) -> float:
        """Points of the auto-graded cells (an instructor's manual override of one counts)."""
        return sum(self.scores.values())

    @property
    def manual(self) -> float:
        return sum(score for score in self.written.values() if score is not None)

    @property
    def total(self) -> float:
        return self.automatic + self.manual + self.extra_credit


@dataclass
class Report:
    assignment: str
    max_scores: dict[str, float]  # auto-graded test cells
    students: list[StudentResult]
    written_max: dict[str, float] = field(default_factory=dict)  # written answers, graded by hand
    skipped: list[str] = field(default_factory=list)  # students not graded again: nothing changed

    @property
    def max_total(self) -> float:
        return sum(self.max_scores.values()) + sum(self.written_max.values())

    def table(self) -> str:
        """Two narrow tables (an 80-column terminal holds them whatever the number of exercises).
        Per student: the total out of the assignment's full total (written answers included;
        ``*``: some are not graded by hand yet) and the cells below full marks with their points
        (``-``: not graded yet). Per cell: its points, the mean and the share of full marks."""
        ids, written = list(self.max_scores), list(self.written_max)
        full_points = {**self.max_scores, **self.written_max}
        width = max([len("student")] + [len(s.student) for s in self.students])
        lines = [f"{'student':<{width}}  {'total':>12}  cells below full marks", "-" * 78]
        for result in self.students:
            if result.status != "graded":
                lines.append(f"{result.student:<{width}}  {'-':>12}  NOT GRADED: {result.status}")
                continue
            points = {**{i: result.scores.get(i, 0.0) for i in ids}, **{i: result.written.get(i) for i in written}}
            below = [f"{i} {'-' if v is None else f'{v:g}'}/{full_points[i]:g}" for i, v in points.items()
                     if v is None or v < full_points[i]]
            total = f"{result.total:.1f}/{self.max_total:.1f}" + ("*" if result.needs_manual else " ")
            lead = f"{result.student:<{width}}  {total:>12}  "
            lines += textwrap.wrap(", ".join(below) or "none", 78, initial_indent=lead, subsequent_indent=" " * len(lead),
                                   break_long_words=False, break_on_hyphens=False)
        graded = [r for r in self.students if r.status == "graded"]
        if not graded:
            return "\n".join(lines)
        name = max(len(i) for i in ids + written) + len(" (written)")
        lines += ["", f"{'cell':<{name}}  {'points':>6}  {'mean':>6}  {'full marks %':>12}", "-" * (name + 32)]
        for i in ids + written:
            values = [r.scores.get(i, 0.0) for r in graded] if i in self.max_scores else \
                [r.written[i] for r in graded if r.written.get(i) is not None]
            mean = f"{statistics.fmean(values):.2f}" if values else "-"
            full = f"{100 * sum(v == full_points[i] for v in values) / len(values):.1f}" if values else "-"
            label = i + (" (written)" if i in self.written_max else "")
            lines.append(f"{label:<{name}}  {full_points[i]:>6g}  {mean:>6}  {full:>12}")
        lines.append(f"{'total':<{name}}  {self.max_total:>6g}  {statistics.fmean(r.total for r in graded):>6.2f}")
        pending = [r.student for r in graded if r.needs_manual]
        if pending:
            lines.append(f"* {len(pending)} of {len(graded)} graded students have cells that still need grading by "
                         "hand: their totals, and the mean total, count those cells as 0 so far; the written "
                         "answers' statistics use the answers graded so far")
        return "\n".join(lines)

    def misconception_counts(self) -> dict[str, dict[str, int]]:
        """Per auto-graded exercise (test id) that some graded student failed: how many failing
        students' answers behave like each known wrong answer (dlcourse.grading.diagnosis; an
        answer that behaves like two counts for both), and under ``NONE`` how many behave like
        none of them (or were not diagnosed: a blank answer, a cell that did not run)."""
        counts: dict[str, dict[str, int]] = {}
        for test_id, points in self.max_scores.items():
            exercise = test_id.removeprefix("test_")
            failing = [r for r in self.students if r.status == "graded" and r.scores.get(test_id, 0.0) < points]
            if not failing:
                continue
            row: dict[str, int] = {}
            for result in failing:
                keys = result.misconceptions.get(exercise, [])
                for key in keys:
                    row[key] = row.get(key, 0) + 1
                if not keys:
                    row[NONE] = row.get(NONE, 0) + 1
            counts[test_id] = dict(sorted(row.items(), key=lambda item: (item[0] == NONE, -item[1], item[0])))
        return counts

    def misconception_table(self) -> str:
        """Per exercise that students failed: the known wrong answers their answers behave like,
        and how many students each ("" when no graded student failed any)."""
        counts = self.misconception_counts()
        if not counts:
            return ""
        lines = ["failed exercises: which known wrong answer each failing answer behaves like",
                 f"{'exercise':<28}  {'failed':>6}  {'behaves like':<30}  {'students':>8}", "-" * 80]
        for test_id, row in counts.items():
            exercise = test_id.removeprefix("test_")
            failed = sum(1 for r in self.students if r.status == "graded" and r.scores.get(test_id, 0.0) <
                         self.max_scores[test_id])
            for position, (key, count) in enumerate(row.items()):
                name = key.removeprefix(f"{exercise}__") if key != NONE else key
                lead = f"{exercise[:28]:<28}  {failed:>6}" if position == 0 else " " * 36
                lines.append(f"{lead}  {name[:30]:<30}  {count:>8}")
        return "\n".join(lines)

    def attention(self) -> str:
        """Every submission that was not graded or that needs a look, and why ("" if none)."""
        lines = []
        for r in self.students:
            reasons = ([f"NOT GRADED: {r.status}"] if r.status != "graded" else []) + r.notes
            if reasons:
                lines.append(f"{r.student}:" + "".join(f"\n  - {reason}" for reason in reasons))
        skipped = (f"{len(self.skipped)} submissions were not graded again: their notebook and the release are "
                   f"unchanged since their last grading (--force grades them again): {', '.join(self.skipped)}"
                   if self.skipped else "")
        if not lines:
            return skipped
        return "\n".join(filter(None, [skipped, f"{len(lines)} of {len(self.students)} submissions need attention:"])) \
            + "\n" + "\n".join(lines)

    def write_csv(self, path: Path) -> None:
        """grades.csv: per student the automatic and manual points, extra credit, the total out of
        the assignment's full total, whether cells still need grading by hand, every cell's
        points (empty: not graded yet) and the notes."""
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["student", "status", "automatic", "manual", "extra_credit", "total", "max_total",
                             "needs_manual_grading", *self.max_scores, *self.written_max, "misconceptions",
                             "notes"])
            for r in self.students:
                graded = r.status == "graded"
                writer.writerow([r.student, r.status, r.automatic if graded else "", r.manual if graded else "",
                                 r.extra_credit if graded else "", r.total if graded else "", self.max_total,
                                 ", ".join(r.needs_manual) if graded else "",
                                 *(r.scores.get(i, "") for i in self.max_scores),
                                 *("" if r.written.get(i) is None else r.written[i] for i in self.written_max),
                                 " | ".join(f"{exercise}: {', '.join(keys)}" for exercise, keys in
                                            sorted(r.misconceptions.items()) if keys),
                                 " | ".join(r.notes)])


    def plot(self, folder: Path) -> list[Path]:
        """Write totals.png (distribution of totals), exercises.png (mean score and share of
        full marks per test cell, and per written answer over those graded by hand so far) and,
        when a graded student failed an exercise, misconceptions.png (misconception_counts) into
        ``folder``; returns the paths."""
        import matplotlib

        matplotlib.use("Agg")  # files only, no display needed
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator

        folder.mkdir(parents=True, exist_ok=True)
        graded = [r for r in self.students if r.status == "graded"]
        ids = list(self.max_scores)
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.hist([r.total for r in graded], bins=min(20, max(5, len(graded))), range=(0, self.max_total))
        ax.set_xlabel(f"total points (of {self.max_total:g}; written answers as graded so far)")
        ax.set_ylabel("students")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # whole students, never 0.5
        ax.set_title(f"{self.assignment}: {len(graded)} graded, {len(self.students) - len(graded)} not graded")
        fig.tight_layout()
        totals = folder / "totals.png"
        fig.savefig(totals, dpi=100)
        plt.close(fig)
        written = list(self.written_max)
        fig, ax = plt.subplots(figsize=(max(6, 0.8 * (len(ids) + len(written))), 3.8))
        positions = range(len(ids) + len(written))
        mean = [100 * sum(r.scores.get(i, 0.0) for r in graded) / (len(graded) * self.max_scores[i]) if graded else 0
                for i in ids]
        full = [100 * sum(r.scores.get(i, 0.0) == self.max_scores[i] for r in graded) / len(graded) if graded else 0
                for i in ids]
        for i in written:  # written answers: over the students whose answer was graded by hand so far
            marked = [r.written[i] for r in graded if r.written.get(i) is not None]
            mean.append(100 * sum(marked) / (len(marked) * self.written_max[i]) if marked and self.written_max[i] else 0)
            full.append(100 * sum(v == self.written_max[i] for v in marked) / len(marked) if marked else 0)
        labels = [i.removeprefix("test_") for i in ids] + [
            f"{i} ({sum(r.written.get(i) is not None for r in graded)} graded by hand)" for i in written]
        ax.bar([x - 0.2 for x in positions], mean, width=0.4, label="mean score, % of the points")
        ax.bar([x + 0.2 for x in positions], full, width=0.4, label="test cell passed (full marks), % of students")
        ax.set_xticks(list(positions), labels, rotation=30, ha="right")
        ax.set_ylim(0, 100)
        ax.legend(fontsize=8)
        ax.set_title(f"{self.assignment}: per exercise")
        fig.tight_layout()
        exercises = folder / "exercises.png"
        fig.savefig(exercises, dpi=100)
        plt.close(fig)
        counts = self.misconception_counts()
        if not counts:
            return [totals, exercises]
        bars = [(test_id.removeprefix("test_"), key, count) for test_id, row in counts.items()
                for key, count in row.items()]
        fig, ax = plt.subplots(figsize=(8, max(2.5, 0.32 * len(bars) + 1.2)))
        colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        order = list(counts)
        for position, (exercise, key, count) in enumerate(bars):
            colour = "lightgrey" if key == NONE else colours[order.index(f"test_{exercise}") % len(colours)]
            ax.barh(position, count, color=colour)
        ax.set_yticks(range(len(bars)), [f"{exercise}: {key.removeprefix(exercise + '__')}" for exercise, key, _ in bars],
                      fontsize=8)
        ax.invert_yaxis()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("failing students whose answer behaves like it")
        ax.set_title(f"{self.assignment}: failing answers by the known wrong answer they behave like", fontsize=10)
        fig.tight_layout()
        misconceptions = folder / "misconceptions.png"
        fig.savefig(misconceptions, dpi=100)
        plt.close(fig)
        return [totals, exercises, misconceptions]


def output_paths(course: Path, assignment: str) -> tuple[Path, Path]:
    """The class's grades and nbgrader's export for one assignment (one file each per assignment,
    so that grading another chapter does not overwrite them)."""
    return course / f"grades-{assignment}.csv", course / f"export-{assignment}.csv"
