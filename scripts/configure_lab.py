"""Configure JupyterLab inside a virtual environment (its own settings, never the user's home).

    python scripts/configure_lab.py [--student] [--prefix PREFIX]

- no news pop-up and no update check on first start (both would contact a website);
- the Launcher offers the course's kernel only (`dl-course`), not also the bare `python3`;
- Validate's answer starts with how many tests fail and which (the server extension utils.lab);
- with --student (the student edition): nbgrader's instructor parts (Create Assignment, the
  formgrader, the course and assignment lists, the Nbgrader menu) are hidden; Validate stays.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

KERNEL = "dl-course"
LAB_SETTINGS = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}
INSTRUCTOR_PLUGINS = ["@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:formgrader",
                      "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:menu"]


def write(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2) + "\n")
    print(f"  wrote {path}")


def configure(prefix: Path, student: bool) -> None:
    write(prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json", LAB_SETTINGS)
    server_config = prefix / "etc" / "jupyter" / "jupyter_server_config.json"
    config = json.loads(server_config.read_text()) if server_config.exists() else {}
    config.setdefault("KernelSpecManager", {})["allowed_kernelspecs"] = [KERNEL]
    config.setdefault("MappingKernelManager", {})["default_kernel_name"] = KERNEL
    config.setdefault("ServerApp", {}).setdefault("jpserver_extensions", {})["utils.lab"] = True
    write(server_config, config)
    page_config = prefix / "etc" / "jupyter" / "labconfig" / "page_config.json"
    if student:
        write(page_config, {"disabledExtensions": {name: True for name in INSTRUCTOR_PLUGINS}})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--student", action="store_true", help="hide nbgrader's instructor parts")
    parser.add_argument("--prefix", type=Path, default=Path(sys.prefix), help="the environment (default: this Python's)")
    args = parser.parse_args(argv)
    if args.prefix == Path(sys.base_prefix) and args.prefix == Path(sys.prefix):
        parser.error(f"{sys.prefix} is not a virtual environment: run this with .venv/bin/python")
    configure(args.prefix, args.student)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
