"""Benchmark: WSEPIN at the paper's size (target: <= 2 min on one core; ``docs/design.md``,
"Disentanglement").

    python -m benchmarks wsepin [--n 11000] [--dims 200] [--samples 10000] [--threads 1]
                                [--components 0] [--rmig]

A VAE-like posterior: 20 informative factors (mu spread, small posterior variance) and the rest
collapsed (mu ~ 0, variance ~ 1), as trained VAEs show. Times the exact estimator (mixture over
all N components) and, with ``--components K``, the subsampled one; ``--rmig`` also times the
RMIG table for 10 features. Prints wall time, peak memory and the estimates.
"""

from __future__ import annotations

import argparse
import os


def _posterior(n: int, d: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    k = min(20, d)
    mu = np.zeros((n, d))
    logvar = np.zeros((n, d))
    mu[:, :k] = rng.normal(size=(n, k)) * rng.uniform(0.5, 2.0, k)
    logvar[:, :k] = rng.uniform(-4.0, -1.0, (n, k))
    mu[:, k:] = rng.normal(scale=0.05, size=(n, d - k))
    logvar[:, k:] = rng.normal(scale=0.05, size=(n, d - k))
    return mu, logvar


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks wsepin",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=11000)
    ap.add_argument("--dims", type=int, default=200)
    ap.add_argument("--samples", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--components", type=int, default=0,
                    help="also time the estimator with K subsampled components (0: skip)")
    ap.add_argument("--skip-exact", action="store_true")
    ap.add_argument("--rmig", action="store_true")
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    from vae_core.disentangle import rmig_table, sepin_table

    from ._util import PeakMemory

    torch.set_num_threads(args.threads)
    mu, logvar = _posterior(args.n, args.dims)
    print(f"wsepin benchmark: {args.n} samples x {args.dims} dims, {args.samples} Monte-Carlo "
          f"samples; torch threads={args.threads} (cpus here: {os.cpu_count()}, load average "
          f"{os.getloadavg()[0]:.1f})")
    runs = [] if args.skip_exact else [("exact (all N components)", None)]
    if args.components:
        runs.append((f"subsampled ({args.components} components)", args.components))
    for name, k in runs:
        with PeakMemory() as pm:
            t = sepin_table(mu, logvar, args.samples, seed=0, n_components=k)
        print(f"{name}: {pm.seconds:.1f} s, peak RSS +{pm.delta / 2**20:.0f} MiB; "
              f"WSEPIN {t.attrs['wsepin']:.4f} nats, I(x,z) {t.attrs['i_xz']:.3f} "
              f"(log N = {np.log(args.n):.3f}), sum I(x,z_i) {t['info'].sum():.3f}")
    if args.rmig:
        rng = np.random.default_rng(1)
        feats = {f"f{j}": mu[:, j] + rng.normal(size=args.n) for j in range(10)}
        with PeakMemory() as pm:
            r = rmig_table(mu, logvar, feats, args.samples, seed=0)
        print(f"rmig_table (10 features, 10 bins): {pm.seconds:.1f} s, peak RSS "
              f"+{pm.delta / 2**20:.0f} MiB; mean normalised RMIG {r['rmig'].mean():.3f}")
    return 0
