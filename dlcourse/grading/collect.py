"""Place a class's submissions into nbgrader's layout: ``<course>/submitted/<student>/<assignment>/<assignment>.ipynb``.

Sources, as instructors get them:

- nbgrader's own ``submitted/`` layout (``<student>/<assignment>/*.ipynb``) or one folder per
  student (``<student>/<assignment>.ipynb``);
- a folder or a .zip of loose notebooks as a learning-management system exports them, with
  the student id in the file name. ``id_pattern`` is a regular expression with a group named
  ``student`` matched against the file name; the default takes everything before the first
  ``_`` (``ann_03_mlp.ipynb`` -> ``ann``). Canvas exports ``name_12345_678_file.ipynb`` (use
  ``^[^_]+_(?P<student>\\d+)_``), Moodle ``Full Name_123_assignsubmission_file_...``.

Every file that cannot be placed is reported with the reason; nothing is placed for a student
with two candidate notebooks (the instructor decides). Collecting again is idempotent: an
identical notebook is left alone, a changed one replaced atomically.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

# safe as a folder name and an nbgrader id; \Z, not $: "$" also matches before a final newline ("alice\n")
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\Z")
DEFAULT_ID_PATTERN = r"^(?P<student>[^_]+)_"
MAX_NOTEBOOK_BYTES = 50 * 2**20  # a notebook larger than this is reported, not placed (zip bombs, huge outputs)
MAX_ARCHIVE_BYTES = 2 * 2**30  # what one .zip may expand to, all its notebooks together


def valid_student_id(student: str) -> bool:
    return isinstance(student, str) and STUDENT_ID.match(student) is not None


def printable(name: str) -> str:
    """``name`` with control characters (a terminal's escape sequences, newlines) shown as escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(name))


@dataclass
class Collected:
    placed: dict[str, str] = field(default_factory=dict)  # student -> "new", "updated" or "unchanged"
    problems: list[tuple[str, str]] = field(default_factory=list)  # (file or student, reason)

    def summary(self) -> str:
        counts = {state: sum(v == state for v in self.placed.values()) for state in ("new", "updated", "unchanged")}
        lines = [f"placed {len(self.placed)} submissions ({', '.join(f'{n} {s}' for s, n in counts.items())})"]
        if self.problems:
            lines.append(f"{len(self.problems)} files need attention:")
            lines += [f"  {printable(name)}: {printable(reason)}" for name, reason in self.problems]
        return "\n".join(lines)


def _candidates_from_layout(folder: Path, assignment: str) -> dict[str, list[Path]] | None:
    """student -> notebooks when ``folder`` has one sub-folder per student, else None."""
    students = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))]
    if not students:
        return None
    found: dict[str, list[Path]] = {}
    for student_dir in students:
        inner = student_dir / assignment
        notebooks = sorted(inner.glob("*.ipynb")) if inner.is_dir() else sorted(student_dir.glob(f"{assignment}.ipynb"))
        found[student_dir.name] = [p for p in notebooks if not p.name.startswith(".")]
    return found


def _candidates_from_names(files: list[Path], root: Path, id_pattern: re.Pattern,
                           problems: list[tuple[str, str]]) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for path in files:
        shown = str(path.relative_to(root))
        if path.suffix != ".ipynb":
            problems.append((shown, "not a .ipynb notebook; skipped"))
            continue
        match = id_pattern.search(path.name)
        if not match or not match.groupdict().get("student"):
            problems.append((shown, f"no student id in the file name (pattern {id_pattern.pattern!r}); "
                                    "rename it or pass --id-pattern"))
            continue
        found.setdefault(match.group("student"), []).append(path)
    return found


def _safe_extract(archive: Path, target: Path, problems: list[tuple[str, str]]) -> None:
    """Extract the notebooks of ``archive`` into ``target``: nothing else (other files are
    reported, never written), no unsafe path, no notebook over MAX_NOTEBOOK_BYTES, and no more
    than MAX_ARCHIVE_BYTES in all (counted while writing, not taken from the archive's word)."""
    left = MAX_ARCHIVE_BYTES
    with zipfile.ZipFile(archive) as bundle:
        for member in bundle.infolist():
            name = PurePosixPath(member.filename)
            if member.is_dir() or name.name.startswith(".") or "__MACOSX" in name.parts:
                continue
            if name.is_absolute() or ".." in name.parts:
                problems.append((member.filename, "unsafe path in the zip (absolute or '..'); skipped"))
                continue
            if name.suffix != ".ipynb":
                problems.append((member.filename, "not a .ipynb notebook; skipped (not extracted)"))
                continue
            if member.file_size > MAX_NOTEBOOK_BYTES:
                problems.append((member.filename, f"{member.file_size / 2**20:.0f} MiB, over the "
                                                  f"{MAX_NOTEBOOK_BYTES // 2**20} MiB limit; skipped"))
                continue
            if member.file_size > left:
                problems.append((member.filename, f"the archive expands to more than {MAX_ARCHIVE_BYTES // 2**30} GiB "
                                                  "of notebooks; this one and the rest skipped"))
                break
            destination = target.joinpath(*name.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            with bundle.open(member) as source, open(destination, "wb") as out:
                while chunk := source.read(2**20):
                    written += len(chunk)
                    if written > min(left, MAX_NOTEBOOK_BYTES):
                        break
                    out.write(chunk)
            if written > min(left, MAX_NOTEBOOK_BYTES):
                destination.unlink()
                problems.append((member.filename, "expands beyond its stated size or the limits; skipped"))
                continue
            left -= written


def _place(source: Path, destination: Path) -> str:
    data = source.read_bytes()
    if destination.exists():
        if destination.read_bytes() == data:
            return "unchanged"
        state = "updated"
    else:
        state = "new"
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.write_bytes(data)
    partial.replace(destination)  # atomic: an interrupted collect never leaves half a notebook
    return state


def collect(source: Path, assignment: str, course: Path, id_pattern: str = DEFAULT_ID_PATTERN) -> Collected:
    """Place every submission found in ``source`` (folder or .zip) under ``course/submitted``."""
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"{source} does not exist; pass a folder of submissions or an LMS .zip export")
    pattern = re.compile(id_pattern)
    if "student" not in pattern.groupindex:
        raise ValueError(f"--id-pattern needs a group named 'student', e.g. {DEFAULT_ID_PATTERN!r}; got {id_pattern!r}")
    result = Collected()
    with tempfile.TemporaryDirectory() as scratch:
        if source.is_file():
            if not zipfile.is_zipfile(source):
                raise ValueError(f"{source} is neither a folder nor a .zip archive")
            root = Path(scratch)
            _safe_extract(source, root, result.problems)
        else:
            root = source
        files = sorted(p for p in root.rglob("*") if p.is_file() and not any(
            part.startswith(".") or part == "__MACOSX" for part in p.relative_to(root).parts))
        top_files = [p for p in files if p.parent == root]
        candidates = None if top_files else _candidates_from_layout(root, assignment)
        if candidates is None:
            candidates = _candidates_from_names(files, root, pattern, result.problems)
        for student, notebooks in sorted(candidates.items()):
            if not valid_student_id(student):
                result.problems.append((student, "student id must be letters, digits, '_', '.' or '-'; not placed"))
            elif not notebooks:
                result.problems.append((student, f"no {assignment} notebook found; nothing placed"))
            elif len(notebooks) > 1:
                names = ", ".join(str(p.relative_to(root)) for p in notebooks)
                result.problems.append((student, f"{len(notebooks)} candidate notebooks ({names}); none placed, keep one"))
            elif notebooks[0].stat().st_size > MAX_NOTEBOOK_BYTES:
                result.problems.append((student, f"notebook over {MAX_NOTEBOOK_BYTES // 2**20} MiB; not placed"))
            else:
                target = course / "submitted" / student / assignment / f"{assignment}.ipynb"
                result.placed[student] = _place(notebooks[0], target)
    return result
