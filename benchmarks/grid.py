"""Grid throughput: trainings per minute, local sequential vs local processes vs Ray.

    python -m benchmarks grid [--n-trainings 12] [--n-samples N] [--n-genes G]
                              [--max-epochs E] [--modes sequential,processes,ray]
                              [--stack-size S]

(defaults: the quick profile's cohort size, genes and epoch cap, read from params/quick.yaml)

Trains the same slice of the quick profile's TCGA grid (``n_trainings`` configurations of
``params/quick.yaml``'s ``grid_tcga`` drawn with a fixed seed) on a simulated cohort of the quick
size with each executor into a fresh store, and prints trainings per minute (wall clock, start-up
of worker processes / Ray included). ``sequential`` = ``executor="local", n_workers=1`` with
``n_threads`` = number of CPUs (one process, torch using every core); ``processes`` = one
one-thread process per CPU; ``ray`` = a local Ray with one CPU (one thread) per task. Epochs per
minute are printed too: the thread count changes the numbers (and early-stopping epochs) of
chaotic runs, so the sequential mode may train a different number of epochs. ``--stack-size S``
(default 1) passes ``stack_size=S`` to ``grid.run`` in every mode: stacks of S compatible
configurations trained by ``train.fit_many`` (on CPU expect no gain).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time

import numpy as np
import yaml

from vae_core import grid
from vae_core.grid.runner import usable_cpus

from ._util import REPO_ROOT

MODES = ("sequential", "processes", "ray")


def _quick_params() -> dict:
    return yaml.safe_load((REPO_ROOT / "params" / "quick.yaml").read_text())


def _cohort(n_samples: int, n_genes: int, n_top_genes: int, seed: int = 0):
    """The quick cohort: ``simulate`` + ``preprocess`` exactly as notebook 01 builds it."""
    from vae_core.data import preprocess, simulate

    raw = simulate("tcga", n_samples=n_samples, n_genes=n_genes, seed=seed)
    return preprocess(raw, n_top_genes=n_top_genes), "simulated (vae_core.data.simulate)"


def quick_slice(n_trainings: int, max_epochs: int) -> list:
    """``n_trainings`` configurations of the quick profile's grid_tcga drawn at random (seed 0)."""
    params = _quick_params()
    train = {**(params.get("train") or {}), "max_epochs": max_epochs}
    configs = grid.expand(params["grid_tcga"], train=train, base_seed=params.get("seed", 0))
    pick = np.random.default_rng(0).choice(len(configs), min(n_trainings, len(configs)),
                                           replace=False)
    return [configs[i] for i in sorted(pick)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks grid", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    quick = _quick_params()
    ap.add_argument("--n-trainings", type=int, default=12)
    ap.add_argument("--n-samples", type=int, default=quick["n_samples_tcga"])
    ap.add_argument("--n-genes", type=int, default=quick["n_top_genes"],
                    help="genes kept by preprocess (simulated: n_genes of params/quick.yaml)")
    ap.add_argument("--max-epochs", type=int, default=quick["train"]["max_epochs"])
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--stack-size", type=int, default=1,
                    help="stack_size of grid.run (1: one training per task)")
    args = ap.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    bad = [m for m in modes if m not in MODES]
    if bad:
        ap.error(f"unknown mode(s) {bad}; choose from {list(MODES)}")

    adata, source = _cohort(args.n_samples, max(quick["n_genes"], args.n_genes), args.n_genes)
    configs = quick_slice(args.n_trainings, args.max_epochs)
    ncpu = usable_cpus()
    print(f"cohort: {adata.n_obs} x {adata.n_vars} ({source}); {len(configs)} trainings "
          f"(models {sorted({c.model for c in configs})}), max_epochs {args.max_epochs}; "
          f"stack_size {args.stack_size}; {ncpu} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    print(f"{'mode':<11} {'workers':>7} {'wall s':>8} {'train/min':>9} {'epochs/min':>10} "
          f"{'ok':>3} {'failed':>6} {'mean epochs':>11} {'s/training (in worker)':>22}")
    for mode in modes:
        with tempfile.TemporaryDirectory() as tmp:
            kwargs: dict = {"progress": False, "stack_size": args.stack_size}
            run_configs = configs
            if mode == "sequential":
                kwargs.update(executor="local", n_workers=1)
                run_configs = [dataclasses.replace(c, n_threads=ncpu) for c in configs]
                workers = 1
            elif mode == "processes":
                kwargs.update(executor="local", n_workers=ncpu)
                workers = ncpu
            else:
                kwargs.update(executor="ray", n_workers=ncpu)
                workers = ncpu
            t0 = time.perf_counter()
            df = grid.run(run_configs, adata, tmp, **kwargs)
            wall = time.perf_counter() - t0
        ok = int((df["status"] == "ok").sum())
        print(f"{mode:<11} {workers:>7} {wall:>8.1f} {60 * len(df) / wall:>9.2f} "
              f"{60 * df['epochs'].sum() / wall:>10.1f} {ok:>3} "
              f"{len(df) - ok:>6} {df['epochs'].mean():>11.1f} {df['wall_time'].mean():>22.2f}",
              flush=True)
    print(f"load average at end {os.getloadavg()[0]:.1f} (machine shared: compare modes, "
          "not absolute numbers)")
    return 0
