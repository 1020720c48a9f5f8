"""environment.yml agrees with pyproject.toml; the README and `make help` name every target."""

import re
import subprocess
import tomllib

import yaml


def test_environment_yml_matches_pyproject(root):
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    pinned = set(project["dependencies"]) | set(project["optional-dependencies"]["test"])
    environment = yaml.safe_load((root / "environment.yml").read_text())
    pip = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    assert set(pip) - {"-e ."} == pinned
    assert "-e ." in pip
    python = [item for item in environment["dependencies"] if isinstance(item, str) and item.startswith("python")]
    assert python == ["python=3.11"] and project["requires-python"].startswith(">=3.11")
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", dep) for dep in pinned), "pin every dependency exactly"


def test_make_help_and_readme_name_every_target(root):
    out = subprocess.run(["make", "-s", "help"], cwd=root, capture_output=True, text=True, check=True).stdout
    readme = (root / "README.md").read_text()
    for target in ["lab", "test", "release", "book", "grade", "bench", "setup"]:
        assert f"make {target}" in out, f"`make help` does not list {target}"
        assert f"make {target}" in readme, f"README does not explain `make {target}`"
    assert "bash .ci/run" in readme or "make test" in (root / ".ci" / "run").read_text()
