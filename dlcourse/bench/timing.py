"""Timing helpers shared by the benchmarks (dlcourse.bench.suite and the modules it runs):
a function timed over repeats after one untimed warm-up call, and one printed result line."""

from __future__ import annotations

import statistics
import time


def timed(function, repeats: int, warmup: bool = True) -> list[float]:
    if warmup:
        function()  # first call pays for lazy initialisation (thread pools, allocator): not timed
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def line(name: str, times: list[float], unit: str = "s", scale: float = 1.0) -> dict:
    median = statistics.median(times) * scale
    spread = (max(times) - min(times)) * scale
    print(f"  {name:<52} {median:>10.3f} {unit}  (median of {len(times)}, range {spread:.3f} {unit})", flush=True)
    return {"name": name, "median": median, "unit": unit, "runs": len(times), "times": [t * scale for t in times]}
