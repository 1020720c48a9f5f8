"""Measure and print: chapter run times (smoke and full) with the targets the chapters report,
`import utils` time, the overhead of `utils.training.fit`, the speed and memory of reference
implementations against the PyTorch built-ins, chapter 03's batching and optimiser, chapter 04's
convolutions (loops, unfold, F.conv2d; channels_last and bfloat16), chapter 06's attention against
the fused kernels (dlcourse/bench/attention.py; flash attention where a GPU is present), chapter 07's
ROC AUC and average precision on 10 million scores against scikit-learn (dlcourse/bench/metrics.py), Validate on
every chapter with one exercise blank (dlcourse/authoring/validate.py), and grading a class of 60 (dlcourse/bench/grading.py: sequential vs parallel, overhead against papermill). Every
figure states its hardware, versions and number of runs.

    python -m dlcourse.bench [--chapters 01_fundamentals] [--repeats 3] [--skip-notebooks] [--skip-grading]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from dlcourse.notebooks import ROOT, chapters, execute, solution_path, tool_environment
from dlcourse.bench.timing import line, timed
from utils import fundamentals, memory_report
from utils.device import Timer, get_device
from utils.training import fit


def hardware() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for entry in Path("/proc/cpuinfo").read_text().splitlines():
            if entry.startswith("model name"):
                cpu = entry.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    device = get_device()
    gpu = f", GPU {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
    return (f"{cpu}, {os.cpu_count()} cores{gpu}; Python {platform.python_version()}, torch {torch.__version__}, "
            f"{torch.get_num_threads()} torch threads")


def bench_notebooks(names: list[str], repeats: int) -> list[dict]:
    results = []
    print("chapter notebooks, top to bottom (papermill, solutions, new kernel each run):")
    for chapter in names:
        for mode in ("smoke", "full"):
            with tempfile.TemporaryDirectory() as scratch:
                output = Path(scratch) / f"{chapter}.ipynb"
                times = timed(lambda: execute(solution_path(chapter), output, smoke=mode == "smoke"), repeats, warmup=False)
                targets = stated_targets(output) if mode == "full" else []
            results.append(line(f"{chapter} ({mode})", times))
            for target in targets:  # what the chapter measured against its own target (last run)
                print(f"    {target}")
    return results


def stated_targets(executed: Path) -> list[str]:
    """Lines of printed output that report a chapter's target (e.g. chapter 03's test accuracy)."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    return [text_line.strip() for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs
            if output.output_type == "stream" for text_line in output.text.splitlines()
            if text_line.startswith(("target", "training:"))]


def bench_import(repeats: int) -> dict:
    code = "import time; t = time.perf_counter(); import utils; print(time.perf_counter() - t)"
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  env=tool_environment(), check=True).stdout) for _ in range(repeats)]
    print("package:")
    return line("import utils (includes importing torch)", times)


def bench_fit(repeats: int) -> list[dict]:
    torch.manual_seed(0)
    X, y = torch.randn(8192, 64), torch.randint(0, 10, (8192,))
    loader = DataLoader(TensorDataset(X, y), batch_size=128)

    def model():
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10))

    def with_fit():
        net = model()
        fit(net, loader, nn.CrossEntropyLoss(), torch.optim.SGD(net.parameters(), lr=0.1), epochs=2, device="cpu",
            progress=False)

    def plain_loop():
        net = model()
        optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
        for _ in range(2):
            for inputs, targets in loader:
                optimizer.zero_grad()
                loss = nn.functional.cross_entropy(net(inputs), targets)
                loss.backward()
                optimizer.step()

    print("training loop, MLP 64-256-10, 2 epochs of 64 batches of 128 on the CPU:")
    steps = 2 * len(loader)
    a = line("utils.training.fit, per step", [t / steps for t in timed(with_fit, repeats)], "ms", 1e3)
    b = line("plain PyTorch loop, per step", [t / steps for t in timed(plain_loop, repeats)], "ms", 1e3)
    print(f"  fit overhead: {100 * (a['median'] / b['median'] - 1):+.1f} % per step")
    return [a, b]


def bench_references(repeats: int) -> list[dict]:
    a, b = torch.randn(2000, 64), torch.randn(2000, 64)
    print("reference implementation vs built-in, pairwise squared distances (2000 x 64) x (2000 x 64), CPU:")
    results = []
    for name, function in (("utils.fundamentals.pairwise_squared_distances", fundamentals.pairwise_squared_distances),
                           ("torch.cdist(a, b) ** 2", lambda p, q: torch.cdist(p, q) ** 2)):
        def run():
            with Timer("cpu"):
                function(a, b)
        results.append(line(name, timed(run, repeats), "ms", 1e3))
    before = memory_report("cpu")["peak_rss_mib"]
    fundamentals.pairwise_squared_distances(torch.randn(3000, 64), torch.randn(3000, 64))
    after = memory_report("cpu")["peak_rss_mib"]
    print(f"  peak RSS growth for (3000 x 64) x (3000 x 64) by broadcasting: {after - before:.0f} MiB "
          f"(the (N, M, D) float32 intermediate is {3000 * 3000 * 64 * 4 / 2**20:.0f} MiB)")
    return results


def bench_mlp(repeats: int) -> list[dict]:
    """Chapter 03's building blocks: batching in-memory tensors, and Adam written out vs torch's."""
    from utils import data, layers, optim

    X, y = torch.randn(55_000, 1, 28, 28), torch.randint(0, 10, (55_000,))
    print("one epoch of batches (55,000 Fashion-MNIST-sized images, batch 256, shuffled), CPU:")
    results = [
        line("utils.data.tensor_loader (one slice per batch)",
             timed(lambda: sum(1 for _ in data.tensor_loader(X, y, batch_size=256, shuffle=True)), repeats)),
        line("DataLoader(TensorDataset) (one index per sample)",
             timed(lambda: sum(1 for _ in DataLoader(TensorDataset(X, y), batch_size=256, shuffle=True)), repeats)),
    ]
    model = layers.make_mlp(784, [512, 256], 10, dropout=0.2, batch_norm=True)
    loss = nn.functional.cross_entropy(model(X[:256]), y[:256])
    loss.backward()
    print(f"optimizer.step() on the chapter 03 MLP ({sum(p.numel() for p in model.parameters()):,} parameters), CPU:")
    for name, make in (("utils.optim.Adam (decoupled, written out)", lambda ps: optim.Adam(ps, lr=1e-3, weight_decay=0.05, decoupled=True)),
                       ("torch.optim.AdamW (foreach)", lambda ps: torch.optim.AdamW(ps, lr=1e-3, weight_decay=0.05))):
        optimizer = make(model.parameters())
        results.append(line(name, [t / 20 for t in timed(lambda: [optimizer.step() for _ in range(20)], repeats)],
                            "ms", 1e3))
    return results


def bench_conv(repeats: int) -> list[dict]:
    """Chapter 04's speed figures: the convolution by loops, by unfold and by F.conv2d; one
    training step of the chapter's ResNet in float32 (contiguous and channels_last) and with
    bfloat16 autocast on the CPU."""
    import torch.nn.functional as F

    from utils import conv

    x, w = torch.randn(8, 16, 28, 28), torch.randn(32, 16, 3, 3)
    print("a 3x3 convolution, 8 images of 16 channels, 28x28 -> 32 channels, CPU:")
    results = [line(name, timed(function, repeats), "ms", 1e3) for name, function in (
        ("loops over output pixels (utils.conv.conv2d_naive)", lambda: conv.conv2d_naive(x, w, padding=1)),
        ("unfold + one matrix product (utils.conv.conv2d)", lambda: conv.conv2d(x, w, padding=1)),
        ("F.conv2d", lambda: F.conv2d(x, w, padding=1)))]
    print("one training step of chapter 04's ResNet (widths 32, 64, 128 after a pooled stem), batch 256, CPU:")
    images, labels = torch.randn(256, 1, 28, 28), torch.randint(0, 10, (256,))
    for name, layout, bf16 in (("float32, contiguous", torch.contiguous_format, False),
                               ("float32, channels_last", torch.channels_last, False),
                               ("bfloat16 autocast, channels_last", torch.channels_last, True)):
        model = conv.small_resnet(stem_pool=True).to(memory_format=layout)
        inputs = images.contiguous(memory_format=layout)

        def step():
            model.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(model(inputs), labels)
            loss.backward()
        results.append(line(name, timed(step, repeats), "ms", 1e3))
    return results


def bench_recurrent(repeats: int) -> list[dict]:
    """Chapter 05's speed figure: the written-out LSTM (utils.recurrent.LSTM) against nn.LSTM,
    forward and backward over the language model's batch (128 steps x 64 sequences, 64 -> 384)."""
    from utils import recurrent

    inputs = torch.randn(128, 64, 64)
    written, fused = recurrent.LSTM(64, 384), nn.LSTM(64, 384)
    fused.load_state_dict(written.state_dict())

    def step(module):
        module.zero_grad()
        module(inputs)[0].sum().backward()
    print("one forward + backward of chapter 05's LSTM (128 steps x 64 sequences, 64 -> 384), CPU:")
    results = [line(name, timed(lambda: step(module), repeats), "ms", 1e3)
               for name, module in (("utils.recurrent.LSTM (written out)", written), ("nn.LSTM (fused)", fused))]
    print(f"  written out / fused: {results[0]['median'] / results[1]['median']:.1f}x")
    return results


def bench_validate(names: list[str], repeats: int) -> list[dict]:
    """Validate pressed as JupyterLab does, on each chapter with one exercise blank and SMOKE left
    False (dlcourse.authoring.validate): nbgrader runs the lessons in smoke mode (target: under 15 s for
    chapters 01-03, under 20 s for later ones)."""
    from dlcourse.authoring.validate import hinted_wrong_answer, validate_with_one_blank

    print("\nValidate (JupyterLab's button, one exercise blank, SMOKE left False; then also one known wrong answer, "
          "which Validate fingerprints for its hint):")
    results = []
    for name in names:
        exercise, _, source = hinted_wrong_answer(name)
        with tempfile.TemporaryDirectory(prefix="bench-validate-") as folder:
            times = [validate_with_one_blank(name, Path(folder))[1] for _ in range(repeats)]
            hinted = [validate_with_one_blank(name, Path(folder), wrong=(exercise, source))[1] for _ in range(repeats)]
        results.append(line(f"Validate {name}", times))
        results.append(line(f"Validate {name} with a known wrong answer (hint)", hinted))
    return results


def markdown_table(report: dict) -> str:
    """The figures as a Markdown table in the form of book/guides/measured.md."""
    rows = [f"| {r['name']} | {r['median']:.3f} {r['unit']} | {r['runs']} |" for r in report["results"]]
    return (f"Measured by `make bench` on {report['hardware']}.\n\n| what | median | runs |\n|---|---|---|\n"
            + "\n".join(rows) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course bench", epilog="example:\n  course bench --skip-grading   # chapters, utils and attention; no class",
                                     formatter_class=argparse.RawDescriptionHelpFormatter, description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapters", nargs="*", default=None, help="default: all")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-notebooks", action="store_true")
    parser.add_argument("--skip-grading", action="store_true", help="skip grading a class (about 20 min on 2 cores)")
    parser.add_argument("--students", type=int, default=60, help="class size of the grading benchmark")
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "bench.json")
    args = parser.parse_args(argv)
    report = {"hardware": hardware(), "results": []}
    print(f"hardware: {report['hardware']}\n")
    if not args.skip_notebooks:
        report["results"] += bench_notebooks(args.chapters or chapters(), args.repeats)
    report["results"] += bench_validate(args.chapters or chapters(), args.repeats)
    report["results"].append(bench_import(args.repeats))
    report["results"] += bench_fit(args.repeats)
    report["results"] += bench_references(args.repeats)
    report["results"] += bench_mlp(args.repeats)
    report["results"] += bench_conv(args.repeats)
    report["results"] += bench_recurrent(args.repeats)
    from dlcourse.bench.attention import bench_attention

    print()
    report["results"] += bench_attention(args.repeats)
    from dlcourse.bench.metrics import bench_metrics

    print()
    report["results"] += bench_metrics(repeats=args.repeats)
    if not args.skip_grading:
        from dlcourse.bench.grading import bench_grading

        print("\ngrading (dlcourse.grading.grade, chapter 01, smoke mode):")
        report["results"] += bench_grading(args.students, args.repeats)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    table = args.output.with_suffix(".md")
    table.write_text(markdown_table(report))
    print(f"\nwritten to {args.output} and, as the table of book/guides/measured.md, {table}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
