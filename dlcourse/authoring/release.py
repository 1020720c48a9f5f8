"""Generate the student release (notebooks/) from the instructor source (solutions/).

`python -m dlcourse.authoring.release [CHAPTER ...]` runs the real `nbgrader generate_assignment` in a
scratch course folder and, only when it succeeded, swaps the result into notebooks/. The
committed release is never deleted before a new one exists (nbgrader's own `--force` would).
`--check` compares instead of writing and exits 1 when notebooks/ is out of date.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from dlcourse.notebooks import RELEASE, ROOT, SOLUTIONS, chapters, tool_environment


class ReleaseError(RuntimeError):
    pass


def scratch_course(folder: Path) -> Path:
    """A course folder whose nbgrader_config.py loads the repository's, with its own gradebook."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nbgrader_config.py").write_text(
        f"c = get_config()\nload_subconfig({str(ROOT / 'nbgrader_config.py')!r})\n"
        f"c.CourseDirectory.root = {str(folder)!r}\n"
        f"c.CourseDirectory.source_directory = {str(SOLUTIONS)!r}\n"
        f"c.CourseDirectory.release_directory = 'release'\n"
        f"c.CourseDirectory.db_url = {'sqlite:///' + str(folder / 'gradebook.db')!r}\n"
    )
    return folder


def nbgrader(course: Path, *args: str, **environment: str) -> subprocess.CompletedProcess:
    """Run the nbgrader command line in ``course`` (extra environment variables as keywords)."""
    command = [sys.executable, "-m", "nbgrader", *args]
    return subprocess.run(command, cwd=course, capture_output=True, text=True, env=tool_environment(**environment))


def generate(chapter: str, course: Path) -> Path:
    """Run `nbgrader generate_assignment` for ``chapter`` in ``course``; return the release folder."""
    if not (SOLUTIONS / chapter).is_dir():
        raise ReleaseError(f"no chapter {chapter!r} in {SOLUTIONS}; chapters: {', '.join(chapters())}")
    result = nbgrader(course, "generate_assignment", chapter, "--force")
    target = course / "release" / chapter
    if result.returncode != 0 or not target.is_dir():
        raise ReleaseError(f"nbgrader generate_assignment {chapter} failed:\n{result.stdout}\n{result.stderr}")
    return target


def differences(generated: Path, committed: Path) -> list[str]:
    """Files that differ between two release folders (relative names)."""
    if not committed.is_dir():
        return [f"{committed} is missing"]
    comparison = filecmp.dircmp(generated, committed, ignore=[".ipynb_checkpoints", "__pycache__"])
    found: list[str] = []

    def walk(cmp, prefix=""):
        found.extend(f"{prefix}{name} (only in the new release)" for name in cmp.left_only)
        found.extend(f"{prefix}{name} (only in notebooks/)" for name in cmp.right_only)
        for name in cmp.common_files:
            if not filecmp.cmp(Path(cmp.left) / name, Path(cmp.right) / name, shallow=False):
                found.append(f"{prefix}{name} differs")
        for name, sub in cmp.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(comparison)
    return found


def release(chapter: str, write: bool = True) -> list[str]:
    """Regenerate notebooks/<chapter>; return what changed (empty: already up to date).

    With ``write=False`` only compare: notebooks/ is left as it is.
    """
    with tempfile.TemporaryDirectory(prefix="release-") as scratch:
        generated = generate(chapter, scratch_course(Path(scratch)))
        changes = differences(generated, RELEASE / chapter)
        if changes and write:
            target = RELEASE / chapter
            staged = RELEASE / f".{chapter}.new"
            backup = RELEASE / f".{chapter}.old"
            shutil.rmtree(staged, ignore_errors=True)
            shutil.copytree(generated, staged)
            if target.exists():
                target.rename(backup)
            staged.rename(target)  # the old release is removed only once the new one is in place
            shutil.rmtree(backup, ignore_errors=True)
        return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course release", epilog="example:\n  course release 03_mlp --check   # exit 1 if notebooks/03_mlp is stale",
                                     formatter_class=argparse.RawDescriptionHelpFormatter, description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", help="default: every chapter in solutions/")
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if notebooks/ is stale")
    args = parser.parse_args(argv)
    stale = False
    for chapter in args.chapters or chapters():
        try:
            changes = release(chapter, write=not args.check)
        except ReleaseError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        stale |= bool(changes)
        verb = "is stale" if args.check else "updated"
        print(f"{chapter}: " + (f"{verb}: " + "; ".join(changes) if changes else "up to date"))
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    raise SystemExit(main())
