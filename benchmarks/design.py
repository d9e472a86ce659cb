"""Benchmark of the balanced ``fraction: N`` designs (``docs/design.md``, "Grid"): imbalance and
build time.

    python -m benchmarks design [--levels 6 6 5 3 2] [--n 36 60 90 180] [--seed 0]

For each N: worst pairwise imbalance (max over axis pairs and cells of |n_ab - E_ab|), whether
every cell is floor/ceil of its expectation, whether the design is an orthogonal array, and the
build time (``DesignReport.build_seconds``: the first, uncached construction).
"""

from __future__ import annotations

import argparse
import math

from vae_core.grid.design import balanced_design


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks design")
    ap.add_argument("--levels", type=int, nargs="+", default=[6, 6, 5, 3, 2])
    ap.add_argument("--n", type=int, nargs="+", default=[36, 60, 90, 180])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    print(f"levels {args.levels} (full product {math.prod(args.levels)}), "
          f"seed {args.seed}")
    print(f"{'N':>6} {'worst pair imbalance':>21} {'pair-optimal':>12} {'orthogonal':>10} "
          f"{'level spread':>12} {'build s':>8}")
    for n in args.n:
        _, rep = balanced_design(args.levels, n, args.seed)
        print(f"{n:>6} {rep.worst_pair_imbalance:>21.3f} {rep.pair_optimal!s:>12} "
              f"{rep.orthogonal!s:>10} {rep.worst_level_spread:>12} {rep.build_seconds:>8.3f}")
    return 0
