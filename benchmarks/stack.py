"""Trainings per hour of ``fit`` and ``fit_many`` against stack size, and profile projections.

    python -m benchmarks stack [--device auto|cpu|cuda] [--quick] [--sizes 1,2,4,8]
                               [--epochs 1] [--epochs-per-training E] [--stack-epochs E]
                               [--model vanilla] [--shapes tcga,quick]
                               [--precision fp32|tf32|bf16]

Throughput as ``docs/design.md``, "Profiles and targets" asks for it. For each shape (``tcga``:
G 5000, hidden 512, batch 64, 11,014 samples -> 7,710 training; ``quick``: G 500, the quick
profile's 2,500 samples -> 1,750 training) it times
a fixed number of whole epochs (training steps + validation, not to convergence; early stopping
is switched off by ``min_epochs = max_epochs``) of ``fit`` on one configuration and of
``fit_many`` on stacks of M configurations (different lr/init/seed, same model). Data are random
z-scored numbers of the right shape (speed does not depend on their content). After a one-epoch
warm-up per shape, each timing is one run; on CUDA ``torch.cuda.synchronize`` brackets it.

MEASURED: seconds per epoch of a training (fit) or of a whole stack (fit_many); member-steps per
second = M x steps per epoch / seconds per epoch.
PROJECTED: trainings per hour = 3600 / (seconds per epoch x epochs per training) for ``fit``
(``--epochs-per-training``, default the middle of the measured range of epochs until early
stopping at TCGA size, ``tcga_epochs_to_early_stop`` in ``benchmarks/measured.json``) and
3600 M / (seconds per stack-epoch x stack epochs) for ``fit_many``, where a stack runs until its
slowest member (``--stack-epochs``, default the top of that range; conservative, the stack
shrinks as members stop);
profile wall time = its number of trainings (``grid.expand`` of ``params/<profile>.yaml``,
TCGA + GTEx grids; paper_lite skipped where the file is absent) / trainings per hour at the best
measured setting, at TCGA size for paper/paper_lite and at quick size for quick (GTEx's larger
cohort is not modelled separately: the paper figure is a lower bound). The paper grid's 71,280
trainings are used when ``params/paper.yaml`` expands to another count.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import numpy as np

from ._util import REPO_ROOT, measured

PAPER_TRAININGS = 71_280
SHAPES = {  # name: (n_samples, n_genes, hidden)
    "tcga": (11_014, 5000, 512),
    "quick": (2_500, 500, 512),
}


def _cohort(n_samples: int, n_genes: int, seed: int = 0):
    """Random z-scored float32 AnnData with 10 balanced labels (timing only)."""
    import anndata as ad
    import pandas as pd

    r = np.random.default_rng(seed)
    X = r.standard_normal((n_samples, n_genes), dtype=np.float32)
    lab = np.arange(n_samples) % 10
    return ad.AnnData(X=X, obs=pd.DataFrame({"label": pd.Categorical(lab.astype(str))},
                                            index=[f"S{i}" for i in range(n_samples)]))


def _configs(m: int, model: str, hidden: int, epochs: int, precision: str, device: str):
    from vae_core.train import TrainConfig

    lrs, inits = (1e-3, 3e-4, 1e-4), ("kaiming_uniform", "xavier_uniform", "xavier_normal")
    return [TrainConfig(model=model, latent_dim=50, lr=lrs[i % 3], init=inits[i % 3], seed=i,
                        hidden=hidden, max_epochs=epochs, min_epochs=epochs,
                        precision=precision, device=device) for i in range(m)]


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def _timed(sync_device, fn, *args, **kwargs):
    """(seconds, fn(*args, **kwargs)), synchronising CUDA before and after."""
    _sync(sync_device)
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    _sync(sync_device)
    return time.perf_counter() - t0, out


def profile_trainings(profile: str, root: Path) -> int | None:
    """Number of trainings of ``params/<profile>.yaml`` (its grid_tcga + grid_gtex), None if absent."""
    import yaml

    from vae_core.grid import expand

    path = root / "params" / f"{profile}.yaml"
    if not path.is_file():
        return None
    params = yaml.safe_load(path.read_text())
    train = params.get("train") or {}
    return sum(len(expand(params[key], train=train))
               for key in ("grid_tcga", "grid_gtex") if params.get(key))


def _fmt_hours(h: float) -> str:
    return f"{h:8.2f} h" if h >= 0.1 else f"{h * 60:7.1f} min"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks stack", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda (default auto)")
    ap.add_argument("--quick", action="store_true",
                    help="small run: stack sizes 1,2 at TCGA size, 1,2,4 at quick size")
    ap.add_argument("--sizes", default=None,
                    help="comma-separated stack sizes (default: CPU 1,2,4; CUDA 1,2,4,...,128 "
                         "until out of memory)")
    ap.add_argument("--shapes", default="tcga,quick", help="comma-separated: tcga, quick")
    ap.add_argument("--epochs", type=int, default=None,
                    help="epochs timed per run (default CPU 1, CUDA 3)")
    stop = measured("tcga_epochs_to_early_stop")
    ap.add_argument("--epochs-per-training", type=float, default=(stop["min"] + stop["max"]) / 2,
                    help="epochs of one fit training in the projection (default %(default)g: the middle of "
                         "the measured range, benchmarks/measured.json)")
    ap.add_argument("--stack-epochs", type=float, default=float(stop["max"]),
                    help="epochs of one fit_many stack in the projection (default %(default)g: the top of "
                         "the measured range, benchmarks/measured.json)")
    ap.add_argument("--model", default="vanilla")
    ap.add_argument("--precision", default="fp32", choices=("fp32", "tf32", "bf16"))
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads on CPU (default 1: one training per worker, as the grid "
                         "runs on CPU; several threads on a shared machine thrash)")
    args = ap.parse_args(argv)

    import torch

    from vae_core.train import fit, fit_many, resolve_device

    device = resolve_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads or 1)
    cuda = device.type == "cuda"
    epochs = args.epochs or (3 if cuda else 1)
    if args.sizes:
        sizes = {s: [int(v) for v in args.sizes.split(",")] for s in SHAPES}
    elif cuda:
        sizes = {s: [1, 2, 4, 8, 16, 32, 64, 128] for s in SHAPES}
    elif args.quick:
        sizes = {"tcga": [1, 2], "quick": [1, 2, 4]}
    else:
        sizes = {"tcga": [1, 2, 4], "quick": [1, 2, 4, 8]}
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    for s in shapes:
        if s not in SHAPES:
            raise SystemExit(f"unknown shape {s!r}; choose from {list(SHAPES)}.")
    name = torch.cuda.get_device_name(device) if cuda else f"cpu ({torch.get_num_threads()} threads)"
    print(f"device: {device} = {name}; model {args.model}, latent 50, batch 64, precision "
          f"{args.precision}; {epochs} timed epoch(s) per run (steps + validation)")
    print(f"projection: fit {args.epochs_per_training:g} epochs/training; fit_many "
          f"{args.stack_epochs:g} epochs/stack (slowest member)\n")

    best: dict[str, float] = {}
    fit_rate: dict[str, float] = {}
    header = (f"{'shape':6} {'trainer':9} {'M':>4} {'steps/ep':>8} {'s/epoch':>9} "
              f"{'member-steps/s':>15} {'trainings/h':>12} {'vs fit':>7}")
    print("MEASURED: s/epoch, member-steps/s;  PROJECTED: trainings/h")
    print(header)
    print("-" * len(header))
    for shape in shapes:
        n_samples, n_genes, hidden = SHAPES[shape]
        adata = _cohort(n_samples, n_genes)
        dev = str(device)
        warm = _configs(1, args.model, hidden, 1, args.precision, dev)
        fit(warm[0], adata)
        fit_many(_configs(2, args.model, hidden, 1, args.precision, dev), adata)
        cfg = _configs(1, args.model, hidden, epochs, args.precision, dev)[0]
        sec, res = _timed(device, fit, cfg, adata)
        sec /= epochs
        spe = res.extra["steps_per_epoch"]
        fit_tph = 3600.0 / (sec * args.epochs_per_training)
        best[shape] = fit_tph
        fit_rate[shape] = fit_tph
        print(f"{shape:6} {'fit':9} {1:>4} {spe:>8} {sec:>9.3f} {spe / sec:>15.1f} "
              f"{fit_tph:>12.1f} {1.0:>7.2f}")
        for m in sizes.get(shape, []):
            cfgs = _configs(m, args.model, hidden, epochs, args.precision, dev)
            try:
                sec_m = _timed(device, fit_many, cfgs, adata, device=dev)[0] / epochs
            except torch.OutOfMemoryError:
                print(f"{shape:6} {'fit_many':9} {m:>4}  out of device memory: larger stacks skipped")
                torch.cuda.empty_cache()
                break
            tph = 3600.0 * m / (sec_m * args.stack_epochs)
            best[shape] = max(best[shape], tph)
            print(f"{shape:6} {'fit_many':9} {m:>4} {spe:>8} {sec_m:>9.3f} "
                  f"{m * spe / sec_m:>15.1f} {tph:>12.1f} {tph / fit_tph:>7.2f}")
        del adata

    root = Path(os.environ.get("VAE_BENCH_ROOT", REPO_ROOT))
    print("\nPROJECTED wall time per profile on this device, one process (fit, and the best "
          "measured setting above)")
    for profile, shape in (("paper", "tcga"), ("paper_lite", "tcga"), ("quick", "quick")):
        n = profile_trainings(profile, root)
        note = ""
        if profile == "paper" and n != PAPER_TRAININGS:
            note = f" (params/paper.yaml expands to {n}; using the paper's {PAPER_TRAININGS})"
            n = PAPER_TRAININGS
        if n is None:
            print(f"  {profile:10}: params/{profile}.yaml absent, skipped")
            continue
        if shape not in best:
            print(f"  {profile:10}: shape {shape!r} not measured, skipped")
            continue
        print(f"  {profile:10}: {n:>6} trainings at {shape} size -> fit one at a time "
              f"{_fmt_hours(n / fit_rate[shape])}, best {_fmt_hours(n / best[shape])}{note}")
    if not math.isfinite(sum(best.values())):  # pragma: no cover
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
