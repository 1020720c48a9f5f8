"""Chapter 06's attention cost, measured: the naive attention (utils.attention, which keeps the
(T, T) weights) against F.scaled_dot_product_attention, one forward + backward of a causal
self-attention over (batch 2, 4 heads, T, 32 per head).

On the CPU: time and the bytes autograd keeps for the backward pass (utils.attention.
saved_tensor_bytes). Where a CUDA GPU is present: time and peak GPU memory of the naive version
and of each fused backend PyTorch has there (math, memory-efficient, flash; flash needs half
precision, so every GPU row is given in float32 and bfloat16), at longer sequences too. Needs
only torch and utils, so that it runs on a GPU machine without the course's Jupyter stack.

    python -m dlcourse.bench.attention [--repeats 5] [--lengths 128 512 2048]
"""

from __future__ import annotations

import argparse
import statistics
import warnings

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from utils import attention
from utils.device import Timer

BATCH, HEADS, HEAD_SIZE = 2, 4, 32
GPU_LENGTHS = (512, 2048, 8192)
BACKENDS = {"math": SDPBackend.MATH, "efficient": SDPBackend.EFFICIENT_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION}


def naive(q, k, v):
    return attention.scaled_dot_product_attention(q, k, v, attention.causal_mask(q.shape[-2], device=q.device))[0]


def fused(q, k, v):
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)


def inputs(length: int, device: str = "cpu", dtype=torch.float32):
    g = torch.Generator(device=device).manual_seed(0)
    return [torch.randn(BATCH, HEADS, length, HEAD_SIZE, generator=g, device=device, dtype=dtype).requires_grad_()
            for _ in range(3)]


def _step(attend, q, k, v):
    attend(q, k, v).float().sum().backward()


def _median_seconds(function, repeats: int, device: str) -> float:
    function()  # warm-up: kernels chosen and compiled, the allocator filled
    times = []
    for _ in range(repeats):
        with Timer(device) as timer:  # synchronises the GPU before and after
            function()
        times.append(timer.seconds)
    return statistics.median(times)


def cpu_rows(lengths, repeats: int) -> list[dict]:
    print(f"attention, forward + backward, CPU ({torch.get_num_threads()} threads), batch {BATCH} x {HEADS} heads x "
          f"T x {HEAD_SIZE}, median of {repeats}:")
    print(f"  {'T':>5} | {'naive ms':>9} {'fused ms':>9} {'ratio':>6} | {'naive MiB':>10} {'fused MiB':>10} {'ratio':>6}")
    rows = []
    for length in lengths:
        q, k, v = inputs(length)
        seconds = {name: _median_seconds(lambda f=f: _step(f, q, k, v), repeats, "cpu")
                   for name, f in (("naive", naive), ("fused", fused))}
        kept = {name: attention.saved_tensor_bytes(f, q, k, v)[1] for name, f in (("naive", naive), ("fused", fused))}
        print(f"  {length:>5} | {1e3 * seconds['naive']:>9.2f} {1e3 * seconds['fused']:>9.2f} "
              f"{seconds['naive'] / seconds['fused']:>6.1f} | {kept['naive'] / 2**20:>10.2f} "
              f"{kept['fused'] / 2**20:>10.2f} {kept['naive'] / kept['fused']:>6.1f}", flush=True)
        rows.append({"name": f"attention CPU T={length}", "seconds": seconds, "saved_bytes": kept})
    return rows


def gpu_rows(lengths, repeats: int) -> list[dict]:
    print(f"\nattention, forward + backward, {torch.cuda.get_device_name()}, batch {BATCH} x {HEADS} heads x T x "
          f"{HEAD_SIZE}, median of {repeats}; peak = GPU memory allocated during one step beyond its inputs:")
    print(f"  {'T':>5} {'dtype':>9} {'version':>10} | {'ms':>8} {'peak MiB':>9} | {'x flash time':>12} {'x flash mem':>11}")
    rows = []
    for length in lengths:
        for dtype in (torch.float32, torch.bfloat16):
            q, k, v = inputs(length, "cuda", dtype)
            found = {}
            for name in ("naive", *BACKENDS):
                def run(name=name, q=q, k=k, v=v):  # bound now: the loop deletes them
                    if name == "naive":
                        _step(naive, q, k, v)
                    else:
                        with sdpa_kernel(BACKENDS[name]):
                            _step(fused, q, k, v)
                try:
                    with warnings.catch_warnings():  # a backend that cannot run says why in warnings, then raises
                        warnings.simplefilter("ignore")
                        seconds = _median_seconds(run, repeats, "cuda")
                    torch.cuda.reset_peak_memory_stats()
                    base = torch.cuda.memory_allocated()
                    run()
                    torch.cuda.synchronize()
                    found[name] = (seconds, torch.cuda.max_memory_allocated() - base)
                except (RuntimeError, torch.OutOfMemoryError) as error:  # a backend that refuses this dtype
                    reason = str(error).strip().splitlines()[0][:60] if str(error).strip() else type(error).__name__
                    print(f"  {length:>5} {str(dtype)[6:]:>9} {name:>10} | not available: {reason}")
                for tensor in (q, k, v):
                    tensor.grad = None
            best = found.get("flash") or found.get("efficient")
            for name, (seconds, peak) in found.items():
                ratio = f"{seconds / best[0]:>12.1f} {peak / max(best[1], 1):>11.1f}" if best else ""
                print(f"  {length:>5} {str(dtype)[6:]:>9} {name:>10} | {1e3 * seconds:>8.3f} {peak / 2**20:>9.1f} | {ratio}",
                      flush=True)
                rows.append({"name": f"attention {name} {dtype} T={length}", "seconds": seconds, "peak_bytes": peak})
            del q, k, v
            torch.cuda.empty_cache()
    return rows


def bench_attention(repeats: int = 3, lengths=(128, 512, 2048), gpu_lengths=GPU_LENGTHS) -> list[dict]:
    rows = cpu_rows(lengths, repeats)
    if torch.cuda.is_available():
        rows += gpu_rows(gpu_lengths, repeats)
    else:
        print("  (no CUDA GPU here: the flash and memory-efficient kernels are measured where one is present)")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlcourse.bench.attention", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lengths", type=int, nargs="+", default=[128, 512, 2048], help="CPU sequence lengths")
    parser.add_argument("--gpu-lengths", type=int, nargs="+", default=list(GPU_LENGTHS))
    args = parser.parse_args(argv)
    bench_attention(args.repeats, args.lengths, args.gpu_lengths)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
