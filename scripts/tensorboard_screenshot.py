"""Chapter 08's TensorBoard screenshot: log the chapter's three runs, open them in TensorBoard's
own dashboard (on 127.0.0.1, in Debian's Chromium through Playwright) and attach the picture to
the lesson's Markdown cell in solutions/08_scale_and_deploy (then run `course release`).

    .venv/bin/python scripts/tensorboard_screenshot.py

A maintainer's tool, run when the tracking section or TensorBoard changes; it writes nothing but
that cell's attachment, and fails if the dashboard asks for anything beyond this machine.
"""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "solutions" / "08_scale_and_deploy" / "08_scale_and_deploy.ipynb"
MARKER = "attachment:tensorboard.png"


def log_runs(folder: Path) -> None:
    """The three runs of the chapter's tracking section, full size."""
    from torch.utils.tensorboard import SummaryWriter

    sys.path.insert(0, str(ROOT))
    from utils import data
    from utils.layers import make_mlp
    from utils.training import accuracy

    images, labels = data.fashion_mnist_tensors(train=True)
    test_images, y_test = data.fashion_mnist_tensors(train=False)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[:20_000]
    x, y = images[order].flatten(1), labels[order]
    for lr in (1e-4, 1e-3, 1e-2):
        torch.manual_seed(0)
        model = make_mlp(784, [256], 10)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        with SummaryWriter(folder / f"lr={lr:g}") as writer:
            writer.add_text("settings", f"Adam, lr {lr:g}, batch 128, hidden 256")
            for step in range(150):
                index = torch.randint(0, len(x), (128,), generator=torch.Generator().manual_seed(step))
                loss = F.cross_entropy(model(x[index]), y[index])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                writer.add_scalar("loss/train", loss.item(), step)
            with torch.no_grad():
                writer.add_scalar("accuracy/test", float(accuracy(model(test_images.flatten(1)), y_test)), 150)


def screenshot(folder: Path, picture: Path) -> None:
    from playwright.sync_api import sync_playwright

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([str(Path(sys.executable).parent / "tensorboard"), "--logdir", str(folder),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import httpx

        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        outside = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1100, "height": 600})
            page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(
                (f"http://127.0.0.1:{port}", "data:", "blob:")) else None)
            page.goto(f"http://127.0.0.1:{port}/#timeseries", wait_until="networkidle")
            page.wait_for_timeout(2000)
            page.get_by_role("button", name="Settings").click()  # hide the settings pane
            page.get_by_role("combobox", name="Filter tags (regex)").fill("loss")
            page.keyboard.press("Escape")
            page.wait_for_timeout(3000)
            page.screenshot(path=str(picture))
            browser.close()
        if outside:
            raise SystemExit(f"TensorBoard's page asked for addresses beyond this machine: {outside}")
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        folder, picture = Path(scratch) / "runs", Path(scratch) / "tensorboard.png"
        log_runs(folder)
        screenshot(folder, picture)
        nb = nbformat.read(NOTEBOOK, as_version=4)
        cells = [cell for cell in nb.cells if cell.cell_type == "markdown" and MARKER in cell.source]
        if len(cells) != 1:
            raise SystemExit(f"{NOTEBOOK}: expected one Markdown cell showing {MARKER}, found {len(cells)}")
        cells[0]["attachments"] = {"tensorboard.png": {"image/png": base64.b64encode(picture.read_bytes()).decode()}}
        nbformat.write(nb, NOTEBOOK)
        print(f"attached {picture.stat().st_size / 1e3:.0f} kB to {NOTEBOOK.relative_to(ROOT)}; now run: course release")
    return 0


if __name__ == "__main__":
    sys.exit(main())
