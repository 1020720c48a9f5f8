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


def test_make_help_and_the_maintainer_guide_name_every_target(root):
    out = subprocess.run(["make", "-s", "help"], cwd=root, capture_output=True, text=True, check=True).stdout
    targets = re.findall(r"^  make (\w+)", out, flags=re.MULTILINE)
    guide = (root / "book" / "guides" / "maintainer.md").read_text()
    assert {"lab", "test", "release", "book", "grade", "bench", "setup", "mutation", "formgrader"} <= set(targets)
    missing = [t for t in targets if f"`make {t}`" not in guide]
    assert not missing, f"book/guides/maintainer.md does not explain {missing}"
    readme = (root / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    assert "make test" in (root / ".ci" / "run").read_text()


def test_the_readme_is_short_and_its_links_resolve(root):
    """What the course is, the chapter table, the two commands, a paragraph per reader with a link
    to their guide (pages of the book)."""
    readme = (root / "README.md").read_text()
    assert len(readme.splitlines()) < 150
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    local = [link for link in links if not link.startswith("http")]
    assert {"book/guides/student.md", "book/guides/instructor.md", "book/guides/maintainer.md"} <= set(local)
    assert all((root / link).exists() for link in local), [link for link in local if not (root / link).exists()]


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
    assert server["ServerApp"]["jpserver_extensions"] == {"utils.lab": True}
    assert server["MappingKernelManager"]["default_kernel_name"] == "dl-course"
    disabled = json.loads((tmp_path / "etc/jupyter/labconfig/page_config.json").read_text())["disabledExtensions"]
    shipped = "".join(p.read_text(errors="ignore") for p in
                      Path(sys.prefix, "share/jupyter/labextensions/@jupyter/nbgrader/static").glob("*.js"))
    assert disabled and all(f'"{name}"' in shipped for name in disabled), disabled
    assert '"@jupyter/nbgrader:validate-assignment"' not in json.dumps(disabled)
    # this environment (make setup ran it): the news setting is in place
    assert json.loads(Path(sys.prefix, "share/jupyter/lab/settings/overrides.json").read_text()) == overrides


def test_reading_a_notebook_does_not_build_rfc3987_syntax_parsers():
    """nbformat validates with jsonschema, whose format checks import rfc3987 when it is installed
    and otherwise rfc3987-syntax, which builds its Earley parsers on import (2.6 s per process
    here; every nbgrader, papermill and nbval process reads notebooks): the pinned rfc3987 wins."""
    import sys

    probe = "import sys, nbformat, jsonschema._format; print('rfc3987_syntax' in sys.modules, 'rfc3987' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "True"], result.stdout + result.stderr
