"""Simulator speed: the quick-profile cohorts (target: <= 30 s in total; ``docs/design.md``,
"Simulated cohorts").

    python -m benchmarks simulate [--n-tcga 3000] [--n-gtex 2000] [--n-genes 2000]
"""

from __future__ import annotations

import argparse
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks simulate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-tcga", type=int, default=3000)
    ap.add_argument("--n-gtex", type=int, default=2000)
    ap.add_argument("--n-genes", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from vae_core.data import simulate

    total = 0.0
    for kind, n in (("tcga", args.n_tcga), ("gtex", args.n_gtex)):
        t0 = time.perf_counter()
        a = simulate(kind, n_samples=n, n_genes=args.n_genes, seed=args.seed)
        dt = time.perf_counter() - t0
        total += dt
        print(f"simulate({kind!r}, {n} x {args.n_genes}): {dt:.2f} s "
              f"({a.obs['label'].nunique()} labels)")
    print(f"total {total:.2f} s (target <= 30 s): {'met' if total <= 30 else 'NOT met'}")
    return 0 if total <= 30 else 1
