"""environment.yml agrees with pyproject.toml; the README and `make help` name every target."""

import re
import subprocess
import tomllib
from pathlib import Path

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


def test_jupyterlab_is_configured_in_the_environment_not_the_home(tmp_path):
    """scripts/configure_lab.py (run by make setup): no news pop-up or update check, the course's
    kernel only in the Launcher, and for students nbgrader's instructor parts hidden. The settings
    and plugin names it uses exist in the installed JupyterLab and nbgrader."""
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, str(root / "scripts" / "configure_lab.py"), "--student", "--prefix", str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    overrides = json.loads((tmp_path / "share/jupyter/lab/settings/overrides.json").read_text())
    notification = overrides["@jupyterlab/apputils-extension:notification"]
    assert notification == {"fetchNews": "false", "checkForUpdates": False}
    schema = json.loads(next(Path(sys.prefix, "share/jupyter/lab/schemas/@jupyterlab/apputils-extension").glob(
        "notification.json")).read_text())
    assert "false" in [choice["const"] for choice in schema["properties"]["fetchNews"]["oneOf"]]
    assert "checkForUpdates" in schema["properties"]
    server = json.loads((tmp_path / "etc/jupyter/jupyter_server_config.json").read_text())
    assert server["KernelSpecManager"]["allowed_kernelspecs"] == ["dl-course"]
    disabled = json.loads((tmp_path / "etc/jupyter/labconfig/page_config.json").read_text())["disabledExtensions"]
    shipped = "".join(p.read_text(errors="ignore") for p in
                      Path(sys.prefix, "share/jupyter/labextensions/@jupyter/nbgrader/static").glob("*.js"))
    assert disabled and all(f'"{name}"' in shipped for name in disabled), disabled
    assert '"@jupyter/nbgrader:validate-assignment"' not in json.dumps(disabled)
    # this environment (make setup ran it): the news setting is in place
    assert json.loads(Path(sys.prefix, "share/jupyter/lab/settings/overrides.json").read_text()) == overrides
