"""dlcourse.grading.collect / `course collect`: submissions from nbgrader's layout, loose
folders and LMS zips into <course>/submitted/<student>/<assignment>/<assignment>.ipynb."""

import zipfile

import pytest

from dlcourse.grading.collect import collect
from dlcourse.grading.instructor import main as instructor

NB = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def placed(course, student, assignment="03_mlp"):
    return course / "submitted" / student / assignment / f"{assignment}.ipynb"


def test_nbgrader_layout_and_flat_student_folders(tmp_path):
    source = tmp_path / "in"
    (source / "ann" / "03_mlp").mkdir(parents=True)
    (source / "ann" / "03_mlp" / "03_mlp.ipynb").write_bytes(NB)
    (source / "ben").mkdir()
    (source / "ben" / "03_mlp.ipynb").write_bytes(NB + b" ")
    (source / "cat").mkdir()  # a student folder without the notebook
    result = collect(source, "03_mlp", tmp_path / "course")
    assert result.placed == {"ann": "new", "ben": "new"}
    assert placed(tmp_path / "course", "ben").read_bytes() == NB + b" "
    assert [name for name, _ in result.problems] == ["cat"] and "no 03_mlp notebook" in result.problems[0][1]


def test_lms_zip_with_ids_in_file_names_and_every_problem_reported(tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("ann_03_mlp.ipynb", NB)
        bundle.writestr("sub/ben_attempt2_03_mlp.ipynb", NB)  # nested folders are fine
        bundle.writestr("cat_first.ipynb", NB)
        bundle.writestr("cat_second.ipynb", NB)  # two candidates: none placed
        bundle.writestr("dan_report.pdf", b"%PDF")
        bundle.writestr("nounderscore.ipynb", NB)
        bundle.writestr("../evil_03_mlp.ipynb", NB)  # zip slip
        bundle.writestr("__MACOSX/._ann_03_mlp.ipynb", b"junk")
    course = tmp_path / "course"
    result = collect(archive, "03_mlp", course)
    assert result.placed == {"ann": "new", "ben": "new"}
    reasons = dict(result.problems)
    assert "none placed" in reasons["cat"]
    assert "not a .ipynb" in reasons["dan_report.pdf"]
    assert "no student id" in reasons["nounderscore.ipynb"]
    assert "unsafe path" in reasons["../evil_03_mlp.ipynb"]
    assert not (tmp_path / "evil_03_mlp.ipynb").exists()
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["ann", "ben"]
    # collecting again changes nothing; a resubmission replaces the old notebook
    assert collect(archive, "03_mlp", course).placed == {"ann": "unchanged", "ben": "unchanged"}
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("ann_03_mlp.ipynb", NB + b"\n")
    assert collect(archive, "03_mlp", course).placed == {"ann": "updated"}
    assert placed(course, "ann").read_bytes() == NB + b"\n"
    assert not list(course.rglob("*.partial"))


def test_id_pattern_for_canvas_and_unsafe_ids(tmp_path):
    source = tmp_path / "loose"
    source.mkdir()
    (source / "doejane_12345_678_03_mlp.ipynb").write_bytes(NB)
    result = collect(source, "03_mlp", tmp_path / "course", id_pattern=r"^[^_]+_(?P<student>\d+)_")
    assert result.placed == {"12345": "new"} and not result.problems
    (source / "bad id!_03_mlp.ipynb").write_bytes(NB)
    default = collect(source, "03_mlp", tmp_path / "other")
    assert "student id must be letters" in dict(default.problems)["bad id!"]
    with pytest.raises(ValueError, match="group named 'student'"):
        collect(source, "03_mlp", tmp_path / "course", id_pattern=r"^(\w+)_")


def test_instructor_cli_collect_exit_codes(tmp_path, capsys):
    source = tmp_path / "loose"
    source.mkdir()
    (source / "ann_03_mlp.ipynb").write_bytes(NB)
    course = tmp_path / "course"
    assert instructor(["collect", str(source), "--assignment", "03_mlp", "--course", str(course)]) == 0
    assert "placed 1 submissions (1 new" in capsys.readouterr().out
    (source / "notes.txt").write_text("hi")
    assert instructor(["collect", str(source), "--assignment", "03_mlp", "--course", str(course)]) == 1
    assert "notes.txt: not a .ipynb" in capsys.readouterr().out
    assert instructor(["collect", str(tmp_path / "missing"), "--assignment", "03_mlp", "--course", str(course)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_ids_with_a_final_newline_or_escape_sequences_are_refused_and_shown_escaped(tmp_path, monkeypatch):
    """`$` matches before a final newline: "alice\n" must not be placed beside "alice"; a file name
    with a terminal escape sequence is reported with the sequence shown as text."""
    source = tmp_path / "in"
    for student in ("alice", "alice\n", "eve\x1b]0;pwned\x07"):
        (source / student).mkdir(parents=True)
        (source / student / "03_mlp.ipynb").write_bytes(NB)
    result = collect(source, "03_mlp", tmp_path / "course")
    assert result.placed == {"alice": "new"}
    assert sorted(p.name for p in (tmp_path / "course" / "submitted").iterdir()) == ["alice"]
    summary = result.summary()
    assert "\x1b" not in summary and "\x07" not in summary and "\n" not in "".join(
        line for line in summary.splitlines()[2:] if line.startswith("  alice"))
    assert "eve\\x1b]0;pwned\\x07" in summary and "alice\\n" in summary


def test_zip_bomb_and_other_files_are_not_extracted(tmp_path, monkeypatch):
    """Only notebooks are extracted, and no more than the archive limit in all: a 1 MiB zip of
    zeros declared as 200 MiB files stops at the limit instead of filling the disk."""
    import dlcourse.grading.collect as collect_module

    monkeypatch.setattr(collect_module, "MAX_ARCHIVE_BYTES", 3 * 2**20)
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("ann_03_mlp.ipynb", NB)
        bundle.writestr("video.bin", bytes(40 * 2**20))  # not a notebook: never written
        for student in ("ben", "cat", "dan", "eve"):
            bundle.writestr(f"{student}_03_mlp.ipynb", NB + b" " * (2**20))
    seen = []
    original = collect_module._safe_extract

    def spy(archive, target, problems):
        original(archive, target, problems)
        seen.append(sum(p.stat().st_size for p in target.rglob("*") if p.is_file()))

    monkeypatch.setattr(collect_module, "_safe_extract", spy)
    result = collect(archive, "03_mlp", tmp_path / "course")
    reasons = dict(result.problems)
    assert "not extracted" in reasons["video.bin"]
    assert seen[0] <= 3 * 2**20, seen
    assert any("more than" in reason for reason in reasons.values()), reasons
    assert "ann" in result.placed and len(result.placed) < 5
