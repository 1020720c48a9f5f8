"""The one command line, `course`: every command has --help with an example, and a bad argument
gets an error that names it and what would be right (a misspelt assignment lists the real ones)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from dlcourse.cli import COMMANDS, main
from dlcourse.notebooks import chapters


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: course {command}"), text[:200]
    assert f"example:\n  course {command}" in text, text


def test_the_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert all(command in text for command in COMMANDS)


@pytest.mark.parametrize("argv", [["grade", "--assignment", "3_mlp"], ["report", "--assignment", "3_mlp"],
                                  ["feedback", "--assignment", "3_mlp"], ["collect", ".", "--assignment", "3_mlp"],
                                  ["mutation", "3_mlp"]])
def test_a_misspelt_assignment_lists_the_real_ones(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert "'3_mlp'" in error and all(chapter in error for chapter in chapters()), error


def test_release_of_a_misspelt_chapter_lists_the_real_ones(capsys):
    assert main(["release", "3_mlp", "--check"]) != 0
    text = capsys.readouterr()
    assert "'3_mlp'" in text.err + text.out and "03_mlp" in text.err + text.out


@pytest.mark.parametrize("option", ["--workers", "--timeout", "--disk-mib", "--memory-gib"])
def test_grade_refuses_a_limit_that_is_not_positive(option, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["grade", "--assignment", "03_mlp", option, "0"])
    assert exit_.value.code == 2
    assert f"argument {option}: must be > 0, got 0" in capsys.readouterr().err


def test_grade_with_no_submissions_says_how_to_collect_them(tmp_path, capsys):
    (tmp_path / "submitted").mkdir()
    assert main(["grade", "--assignment", "03_mlp", "--course", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "no student folders" in error and "course collect" in error
    assert main(["grade", "--assignment", "03_mlp", "--submissions", str(tmp_path / "nowhere"),
                 "--course", str(tmp_path)]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_the_console_script_is_installed():
    script = shutil.which("course", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert script, "pip install -e . installs the `course` console script next to python"
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "usage: course" in result.stdout
