"""Benchmark of the balanced ``fraction: N`` designs (SPEC 5): imbalance and build time.

    python -m vae_core.bench design [--levels 6 6 5 3 2] [--n 36 60 90 180] [--seed 0]

For each N: worst pairwise imbalance (max over axis pairs and cells of |n_ab - E_ab|), whether
every cell is floor/ceil of its expectation, whether the design is an orthogonal array, and the
build time (first build, uncached).
"""

from __future__ import annotations

import argparse
import math
import time

from ..grid import design as D


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m vae_core.bench design")
    ap.add_argument("--levels", type=int, nargs="+", default=[6, 6, 5, 3, 2])
    ap.add_argument("--n", type=int, nargs="+", default=[36, 60, 90, 180])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    print(f"levels {args.levels} (full product {math.prod(args.levels)}), "
          f"seed {args.seed}")
    print(f"{'N':>6} {'worst pair imbalance':>21} {'pair-optimal':>12} {'orthogonal':>10} "
          f"{'level spread':>12} {'build s':>8}")
    for n in args.n:
        D._design_cached.cache_clear()
        t = time.perf_counter()
        _, rep = D.balanced_design(args.levels, n, args.seed)
        dt = time.perf_counter() - t
        print(f"{n:>6} {rep.worst_pair_imbalance:>21.3f} {rep.pair_optimal!s:>12} "
              f"{rep.orthogonal!s:>10} {rep.worst_level_spread:>12} {dt:>8.3f}")
    return 0
