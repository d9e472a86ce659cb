"""Statistical equivalence of ``precision`` bf16 (or tf32) against fp32 on a quick-like grid.

    python -m benchmarks precision [--n-configs 16] [--max-epochs 10] [--precision bf16]
                                   [--device auto] [--threads 1]

The configurations are an evenly spaced subset of the quick profile's TCGA grid
(``params/quick.yaml`` ``grid_tcga`` expanded, every model), trained with ``fit`` at fp32 and at
the chosen precision on a simulated TCGA-like cohort of 2,500 samples x 2,000 genes preprocessed
to 500 (the quick profile's sizes), ``max_epochs`` 10 (early stopping on as in the protocol).
Reported per configuration: status at each precision, epochs, final validation loss, the
relative difference |v_p - v_32| / |v_32|; then the summary (median and max relative difference,
the share within 1 %, whether the failure sets are equal) and the wall-time ratio. The target:
every configuration within 1 %, the same failures.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time

import numpy as np

from ._util import REPO_ROOT


def quick_configs(n: int, max_epochs: int, device: str):
    """``n`` evenly spaced configurations of the quick profile's TCGA grid (its train fields)."""
    import yaml

    from vae_core.grid import expand

    params = yaml.safe_load((REPO_ROOT / "params" / "quick.yaml").read_text())
    cfgs = expand(params["grid_tcga"], train={**(params.get("train") or {}),
                                              "max_epochs": max_epochs})
    idx = np.unique(np.linspace(0, len(cfgs) - 1, min(n, len(cfgs))).round().astype(int))
    return [dataclasses.replace(cfgs[i], device=device) for i in idx]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks precision", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-configs", type=int, default=16)
    ap.add_argument("--max-epochs", type=int, default=10)
    ap.add_argument("--precision", default="bf16", choices=("tf32", "bf16"))
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--n-samples", type=int, default=2500)
    ap.add_argument("--n-genes", type=int, default=2000)
    ap.add_argument("--n-top-genes", type=int, default=500)
    args = ap.parse_args(argv)

    import torch

    from vae_core.data import preprocess, simulate
    from vae_core.train import fit, resolve_device

    device = resolve_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    adata = preprocess(simulate("tcga", n_samples=args.n_samples, n_genes=args.n_genes, seed=0),
                       n_top_genes=args.n_top_genes)
    cfgs = quick_configs(args.n_configs, args.max_epochs, str(device))
    p = args.precision
    print(f"device {device}; cohort {adata.n_obs} x {adata.n_vars}; {len(cfgs)} configurations "
          f"of the quick grid, max_epochs {args.max_epochs}; fp32 vs {p}\n")
    hdr = (f"{'model':8} {'d':>3} {'lr':>6} {'init':15} {'opt':5} {'act':5} "
           f"{'st32':6} {'st_' + p:7} {'ep32':>4} {'ep_' + p:>6} {'val32':>11} "
           f"{'val_' + p:>11} {'rel diff':>9}")
    print(hdr)
    print("-" * len(hdr))
    rels, fail32, failp, t32, tp = [], set(), set(), 0.0, 0.0
    for i, c in enumerate(cfgs):
        t0 = time.perf_counter()
        a = fit(c, adata)
        t1 = time.perf_counter()
        b = fit(dataclasses.replace(c, precision=p), adata)
        t32, tp = t32 + t1 - t0, tp + time.perf_counter() - t1
        if a.status != "ok":
            fail32.add(i)
        if b.status != "ok":
            failp.add(i)
        rel = (abs(b.val_loss - a.val_loss) / abs(a.val_loss)
               if a.status == b.status == "ok" else math.nan)
        if math.isfinite(rel):
            rels.append(rel)
        print(f"{c.model:8} {c.latent_dim:>3} {c.lr:>6.0e} {c.init:15} {c.optimizer:5} "
              f"{c.activation:5} {a.status:6} {b.status:7} {a.epochs:>4} {b.epochs:>6} "
              f"{a.val_loss:>11.5g} {b.val_loss:>11.5g} {rel:>9.2e}")
    r = np.array(rels)
    print(f"\nrelative val-loss difference ({len(r)} configurations ok at both): median "
          f"{np.median(r) if r.size else math.nan:.2e}, max {r.max() if r.size else math.nan:.2e}, "
          f"within 1 %: {int((r <= 0.01).sum())}/{len(r)}")
    print(f"failures fp32 {sorted(fail32)}, {p} {sorted(failp)}: "
          f"{'same' if fail32 == failp else 'DIFFERENT'}")
    print(f"wall time fp32 {t32:.1f} s, {p} {tp:.1f} s ({t32 / tp:.2f}x)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
