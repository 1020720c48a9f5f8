"""dlcourse.authoring.student_edition: what students receive holds the notebooks and utils, and no solution,
hidden test or grading tool."""

import subprocess
import sys

import pytest

from dlcourse.grading.feedback import secret_lines
from dlcourse.notebooks import RELEASE, ROOT, chapters
from dlcourse.authoring.student_edition import build


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    return build(tmp_path_factory.mktemp("edition") / "student-edition", archive=True)


def test_the_edition_holds_what_a_student_needs_and_nothing_of_the_instructors(edition):
    files = {str(p.relative_to(edition)) for p in edition.rglob("*") if p.is_file()}
    assert {"Makefile", "README.md", "pyproject.toml", "environment.yml", "scripts/install_data.sh",
            "utils/__init__.py"} <= files
    for chapter in chapters():
        name = f"notebooks/{chapter}/{chapter}.ipynb"
        assert (edition / name).read_bytes() == (RELEASE / chapter / f"{chapter}.ipynb").read_bytes()
    assert not [f for f in files if f.startswith(("solutions/", "tests/", "mutants/", "grading/", ".git/"))
                or f in ("nbgrader_config.py",) or (f.startswith(("dlcourse/", "scripts/")) and f not in ("scripts/install_data.sh", "scripts/configure_lab.py"))]
    assert (edition.parent / "student-edition.zip").exists()
    assert "LICENSE" in files and "dlcourse" not in (edition / "pyproject.toml").read_text()
    assert "scripts/configure_lab.py --student" in (edition / "Makefile").read_text()
    readme = (edition / "README.md").read_text()  # the book's student guide
    assert all(f"## {part}" in readme for part in ("Start", "Validate, then submit", "Updates", "Chapters"))
    assert "](" not in readme.replace("](http", ""), "links to book pages do not resolve in the edition"


def test_no_solution_or_hidden_test_is_in_the_edition(edition):
    """No line of a hidden test or a solution block that students are not shown anyway (in a
    release notebook, or in utils/, whose reference implementations they may read)."""
    import nbformat

    from dlcourse.notebooks import release_path

    shown = {line.strip() for chapter in chapters()
             for cell in nbformat.read(release_path(chapter), as_version=4).cells for line in cell.source.split("\n")}
    shown |= {line.strip() for path in (ROOT / "utils").rglob("*.py") for line in path.read_text().split("\n")}
    secret = set().union(*(secret_lines(chapter) for chapter in chapters())) - shown
    assert len(secret) > 200

    def leaks(folder):
        found = []
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix != ".zip":
                text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells) \
                    if path.suffix == ".ipynb" else path.read_text(errors="replace")
                found += [f"{path.relative_to(folder)}: {line}" for line in secret & {x.strip() for x in text.split("\n")}]
        return found

    assert len(leaks(ROOT / "solutions")) > 200, "the check finds the solutions' own lines"
    assert not leaks(edition), leaks(edition)[:10]


def test_the_edition_installs_as_a_package_and_its_makefile_runs(edition, tmp_path):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                            "-w", str(tmp_path), str(edition)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-2000:]
    assert list(tmp_path.glob("dl_course_utils-*.whl"))
    targets = subprocess.run(["make", "-C", str(edition), "help"], capture_output=True, text=True)
    assert "make lab" in targets.stdout and "make setup" in targets.stdout, targets.stdout + targets.stderr
    dry = subprocess.run(["make", "-C", str(edition), "-n", "lab"], capture_output=True, text=True)
    assert "jupyter lab --ServerApp.root_dir=notebooks" in dry.stdout, dry.stdout + dry.stderr
