"""Preprocessing at paper scale: time and peak memory (targets: <= 30 s, <= 4 GB;
``docs/design.md``, "Preprocessing").

    python -m benchmarks preprocess [--n-samples 11000] [--n-genes 20000]
                                    [--n-top-genes 5000] [--deviation mean] [--na 0.001]

Builds an 11,000 x 20,000 float32 log-expression matrix (gene-specific means and sds, 1 % constant
genes, a fraction ``--na`` of missing cells, all samples labelled) and times
``vae_core.data.preprocess`` on it. Peak memory is the process RSS (sampled) including the input
matrix; ``delta`` is the increase during preprocessing alone.
"""

from __future__ import annotations

import argparse
import os
import time

import anndata as ad
import numpy as np
import pandas as pd

from ._util import PeakMemory, _rss_bytes


def build_matrix(n_samples: int, n_genes: int, na: float, seed: int = 0) -> ad.AnnData:
    """A labelled raw cohort of the given size (float32, ~n*g*4 bytes)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_genes), dtype=np.float32)
    X *= rng.uniform(0.2, 2.0, n_genes).astype(np.float32)
    X += rng.uniform(0.0, 12.0, n_genes).astype(np.float32)
    X[:, rng.choice(n_genes, n_genes // 100, replace=False)] = 0.0
    if na > 0:
        n_na = int(na * X.size)
        flat = X.reshape(-1)
        flat[rng.integers(0, X.size, n_na)] = np.nan
    labels = pd.Categorical(np.repeat(np.arange(33), -(-n_samples // 33))[:n_samples].astype(str))
    obs = pd.DataFrame({"label": labels}, index=[f"S{i:05d}" for i in range(n_samples)])
    return ad.AnnData(X=X, obs=obs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks preprocess", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-samples", type=int, default=11000)
    ap.add_argument("--n-genes", type=int, default=20000)
    ap.add_argument("--n-top-genes", type=int, default=5000)
    ap.add_argument("--deviation", default="mean", choices=("mean", "median"))
    ap.add_argument("--na", type=float, default=0.001, help="fraction of missing cells")
    args = ap.parse_args(argv)

    from vae_core.data import preprocess

    t0 = time.perf_counter()
    adata = build_matrix(args.n_samples, args.n_genes, args.na)
    build_s = time.perf_counter() - t0
    print(f"input: {adata.n_obs} x {adata.n_vars} float32 ({adata.X.nbytes / 2**30:.2f} GiB), "
          f"{int(np.isnan(adata.X).sum())} missing cells, built in {build_s:.1f} s; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    rss0 = _rss_bytes()
    with PeakMemory() as pm:
        out = preprocess(adata, n_top_genes=args.n_top_genes, deviation=args.deviation)
    prov = out.uns["provenance"]["preprocess"]
    print(f"preprocess(n_top_genes={args.n_top_genes}, deviation={args.deviation!r}) -> "
          f"{out.n_obs} x {out.n_vars}: {pm.seconds:.1f} s, peak RSS {pm.peak / 2**30:.2f} GiB "
          f"(input matrix + process at start {rss0 / 2**30:.2f} GiB, delta "
          f"{pm.delta / 2**30:.2f} GiB); {prov['n_constant_genes']} constant genes excluded, "
          f"{prov['n_missing_cells_selected']} missing cells set to 0")
    ok = pm.seconds <= 30 and pm.peak <= 4 * 2**30
    print(f"targets (<= 30 s, <= 4 GB peak): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1
