"""Chapter 07's speed figure: utils.metrics.roc_auc and average_precision (one sort, one
cumulative sum, in PyTorch) against sklearn.metrics.roc_auc_score and average_precision_score on
the same 10 million float64 scores with ties (3 decimals), one positive in 20; the values agree
to 1e-12 (checked here too).

    python -m dlcourse.bench.metrics [--samples 10000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics

import torch
from sklearn import metrics as sk

from dlcourse.bench.timing import timed
from utils import metrics


def data(samples: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = (torch.rand(samples, generator=g) < 0.05).long()
    scores = (torch.rand(samples, generator=g, dtype=torch.float64) + 0.5 * y).round(decimals=3)
    return y, scores


def bench_metrics(samples: int = 10_000_000, repeats: int = 3) -> list[dict]:
    y, scores = data(samples)
    y_np, scores_np = y.numpy(), scores.numpy()
    print(f"ranking metrics on {samples:,} float64 scores (3 decimals: ties), CPU ({torch.get_num_threads()} "
          f"torch threads), median of {repeats}:")
    rows = []
    for name, ours, theirs in (("roc_auc", metrics.roc_auc, sk.roc_auc_score),
                               ("average_precision", metrics.average_precision, sk.average_precision_score)):
        v_ours, v_sk = float(ours(y, scores)), float(theirs(y_np, scores_np))  # also the untimed first call
        t_ours = statistics.median(timed(lambda: ours(y, scores), repeats, warmup=False))
        t_sk = statistics.median(timed(lambda: theirs(y_np, scores_np), repeats, warmup=False))
        if abs(v_ours - v_sk) > 1e-12:
            raise AssertionError(f"{name}: utils.metrics gives {v_ours!r}, scikit-learn {v_sk!r}")
        print(f"  {name:<18} utils.metrics {t_ours:7.3f} s   sklearn.metrics {t_sk:7.3f} s   "
              f"sklearn / ours {t_sk / t_ours:4.1f}x   (value {v_ours:.6f}, same to 1e-12)", flush=True)
        rows.append({"name": f"{name} on {samples} scores", "seconds": {"utils": t_ours, "sklearn": t_sk},
                     "value": v_ours})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlcourse.bench.metrics", description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    bench_metrics(args.samples, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
