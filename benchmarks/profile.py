"""Benchmark: projected cost of a whole profile on 2 cores (``docs/design.md``, "Profiles and
targets").

    python -m benchmarks profile [paper_lite|quick|paper] [--tcga 3] [--gtex 2] [--cores 2]
                                 [--genes-raw 6000] [--seed 0] [--save PATH]
                                 [--per-epoch EPOCHS] [--cohorts tcga,gtex]
                                 [--from PATH[,PATH...]] [--set KEY=VALUE]

The README's numbers: two processes, one per cohort (the profile's 2 workers), then joined:

    python -m benchmarks profile paper_lite --tcga 6 --gtex 0 --save tcga.json
    python -m benchmarks profile paper_lite --tcga 0 --gtex 4 --save gtex.json
    python -m benchmarks profile paper_lite --tcga 0 --gtex 0 --per-epoch 3 --cohorts tcga --save pe_tcga.json
    python -m benchmarks profile paper_lite --tcga 0 --gtex 0 --per-epoch 3 --cohorts gtex --save pe_gtex.json
    python -m benchmarks profile paper_lite --from tcga.json,gtex.json,pe_tcga.json,pe_gtex.json

``--per-epoch`` adds the worst case: every training running to ``max_epochs`` at the highest
cost per epoch measured for its model (``measure_per_epoch``, ``bound``).

``paper_lite`` (default): on simulated cohorts of the paper's sizes (TCGA-side 11,014 samples,
33 types; GTEx-side 17,382 samples, 30 tissues; ``--genes-raw`` simulated genes, then
``preprocess`` to the profile's ``n_top_genes`` = 5,000), expands the profile's TCGA and GTEx
grids (``params/<profile>.yaml``), trains a seeded sample of ``--tcga`` / ``--gtex`` of their
configurations with the profile's ``train`` fields (full early stopping) on one torch thread
each (as ``grid.run`` does), times each training and its downstream (``downstream.evaluate``:
Leiden ARI and, on TCGA, Cox AIC, as notebooks 03 and 04 call it), and prints the projection

    total = (trainings_tcga x mean_tcga + trainings_gtex x mean_gtex
             + trainings_nb05 x mean_tcga + downstream core-seconds) / cores + data

saying which numbers were measured and which projected. Times are CPU seconds of this process
(one torch / BLAS / numba thread, so CPU seconds = core-seconds; on a shared machine the wall
time is longer and printed beside them). Notebook 05's trainings (every model x
latent dim at the recommended lr 1e-3, adam; ``disentangle.study_spec``) are projected with the
TCGA sample's mean; its WSEPIN/RMIG scoring is bounded by ``WSEPIN_S_200`` per run. Data: the
simulation + preprocessing time, plus the loading of the real downloads (``LOAD_REAL_S``) for
profiles on real data. Those two, and ``DOWNSTREAM_S``, are earlier measurements of other
benchmarks, read from ``benchmarks/measured.json`` (with their command, date and machine).

``quick`` and ``paper``: projection only, from the same per-epoch times (measured here, or read
with ``--from`` from a ``--save``d run) scaled by training samples x genes, and capped at the
profile's ``max_epochs``; labelled as such. The machine may be shared: times measured under
load are longer than on an idle machine (the load average is printed).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ._util import REPO_ROOT, measured

#: The paper's sizes: TCGA-side samples after filtering, GTEx-side samples.
PAPER_N_TCGA = 11014
PAPER_N_GTEX = 17382
PROFILES = ("paper_lite", "quick", "paper")
#: WSEPIN of one run at 200 dims with 10,000 Monte-Carlo samples on one core (``python -m
#: benchmarks wsepin``). Notebook 05's scoring of a run is bounded by this (fewer dims are
#: faster; RMIG and Spearman are seconds), scaled by the profile's ``wsepin_samples``.
WSEPIN_S_200: float = float(measured("wsepin_seconds_200_dims"))
#: The slowest ARI + AIC of one configuration on structureless 200-dim embeddings at the TCGA and
#: GTEx sizes, one core (``python -m benchmarks downstream``); used when a benchmark run trained
#: nothing itself.
DOWNSTREAM_S: dict[str, float] = {k: float(v) for k, v in
                                  measured("downstream_seconds_structureless").items()}
#: Loading the real TCGA and GTEx downloads (``python -m benchmarks load_real``), per cohort;
#: their sum is added to the real-data profiles' wall time.
LOAD_REAL_BY_COHORT_S: dict[str, float] = {k: float(v) for k, v in
                                           measured("load_real_seconds").items()}
LOAD_REAL_S: float = sum(LOAD_REAL_BY_COHORT_S.values())


def load_profile(name: str, params_dir: Path) -> dict[str, Any]:
    """The parameters of ``params/<name>.yaml``; ``ValueError`` naming the valid profiles."""
    import yaml

    path = Path(params_dir) / f"{name}.yaml"
    if name not in PROFILES or not path.exists():
        raise ValueError(f"unknown profile {name!r} (looked for {path}); valid: {list(PROFILES)}.")
    with open(path) as fh:
        return yaml.safe_load(fh)


def _n_models(spec: dict) -> int:
    return len(spec.get("model", [None]))


def _expand(spec: dict, train: dict, seed: int) -> list:
    """The configurations of a grid spec (``grid.expand``, ``fraction: N`` designs included)."""
    from vae_core.grid import expand

    return expand(spec, train=train, base_seed=seed)


def _sample(configs: list, k: int, seed: int) -> list:
    """``k`` configurations drawn without replacement, in the drawn (random) order, so that the
    trainings finished by an interrupted ``--save`` run are still a random sample."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(configs), size=min(k, len(configs)), replace=False)
    return [configs[i] for i in idx]


def _cohort(kind: str, n: int, genes_raw: int, n_top: int, seed: int):
    from vae_core.data import preprocess, simulate

    c = time.process_time()
    raw = simulate(kind, n_samples=n, n_genes=genes_raw, seed=seed)
    t_sim = time.process_time() - c
    c = time.process_time()
    adata = preprocess(raw, n_top_genes=n_top)
    t_pre = time.process_time() - c
    print(f"  {kind}: simulate {n} x {genes_raw} in {t_sim:.1f} cpu-s, preprocess to "
          f"{adata.n_vars} genes in {t_pre:.1f} cpu-s", flush=True)
    return adata, t_sim + t_pre


def measure(params: dict, n_tcga: int, n_gtex: int, genes_raw: int, seed: int,
            sizes: tuple[int, int] = (PAPER_N_TCGA, PAPER_N_GTEX),
            save: str | None = None, sample_seed: int | None = None) -> dict:
    """Train and evaluate the sampled configurations; return the measurements (JSON-able).

    ``seed`` is the profile's (design, cohorts, configuration seeds); ``sample_seed`` (default
    ``seed``) draws which configurations of the design are trained, so further samples of the
    same design can be added with ``--from``.

    With ``save`` the measurements so far are written there after every training, so an
    interrupted run can still be projected with ``--from``.
    """
    import dataclasses

    import torch

    from vae_core.downstream import evaluate
    from vae_core.train import encode, fit, training_matrix

    torch.set_num_threads(1)
    train = dict(params.get("train") or {})
    n_top = int(params.get("n_top_genes") or 5000)
    out: dict[str, Any] = {"n_top_genes": n_top, "trainings": [], "data_s": 0.0}
    t, c = time.perf_counter(), time.process_time()
    rng = np.random.default_rng(seed)
    import pandas as pd

    evaluate(rng.normal(size=(300, 5)).astype(np.float32),
             pd.DataFrame({"label": rng.integers(0, 3, 300).astype(str)}), survival=False)
    out["warmup_s"] = time.process_time() - c
    print(f"one-time warm-up per worker process (scanpy import, numba JIT of the kNN weights): "
          f"{out['warmup_s']:.1f} cpu-s, wall {time.perf_counter() - t:.1f} s (measured; excluded "
          "from the per-configuration times)")
    print("data (measured):")
    for kind, n, spec_key, k in (("tcga", sizes[0], "grid_tcga", n_tcga),
                                 ("gtex", sizes[1], "grid_gtex", n_gtex)):
        if k <= 0:
            continue
        adata, t_data = _cohort(kind, n, genes_raw, n_top, seed)
        out["data_s"] += t_data
        configs = _expand(params[spec_key], train, seed)
        X = training_matrix(adata)
        for cfg in _sample(configs, k, seed if sample_seed is None else sample_seed):
            cfg = dataclasses.replace(cfg, n_threads=1, device="cpu")
            name = (f"{cfg.model}/d{cfg.latent_dim}/lr{cfg.lr:g}/{cfg.init}/{cfg.optimizer}/"
                    f"{cfg.activation}")
            t, c = time.perf_counter(), time.process_time()
            res = fit(cfg, adata)
            t_fit, c_fit = time.perf_counter() - t, time.process_time() - c
            t, c = time.perf_counter(), time.process_time()
            ds: dict[str, Any] = {"ari": math.nan, "aic": math.nan}
            if res.status == "ok":
                z = encode(res.model, X, mode=cfg.embedding, seed=cfg.seed)["z"]
                ds = evaluate(z, adata.obs, survival=(kind == "tcga"), seed=0)
            t_ds, c_ds = time.perf_counter() - t, time.process_time() - c
            row = {"cohort": kind, "config": name, "status": res.status, "epochs": res.epochs,
                   "train_s": c_fit, "downstream_s": c_ds, "train_wall_s": t_fit,
                   "downstream_wall_s": t_ds, "n_samples": adata.n_obs,
                   "n_train": len(res.train_idx), "n_genes": adata.n_vars,
                   "ari": float(ds["ari"]), "aic": float(ds["aic"])}
            out["trainings"].append(row)
            print(f"  {kind} {name}: {res.status}, {res.epochs} epochs, train {c_fit:.1f} cpu-s "
                  f"({c_fit / max(res.epochs, 1):.2f} s/epoch; wall {t_fit:.1f} s), downstream "
                  f"{c_ds:.1f} cpu-s (wall {t_ds:.1f} s) "
                  f"(ARI {row['ari']:.3f}, AIC {row['aic']:.0f})", flush=True)
            if save:
                Path(save).write_text(json.dumps(out, indent=1))
    return out


def measure_per_epoch(params: dict, cohorts: tuple[str, ...], genes_raw: int, seed: int,
                      epochs: int = 3, sizes: tuple[int, int] = (PAPER_N_TCGA, PAPER_N_GTEX),
                      save: str | None = None, meas: dict | None = None) -> dict:
    """CPU seconds per epoch of every model at its costliest grid setting, per cohort.

    Each model is trained for exactly ``epochs`` epochs (``min_epochs = max_epochs``) at the
    grid's largest latent dim with adam (the optimizer with the most state), one thread, the
    profile's other ``train`` fields; an epoch includes its validation pass. Times ``x`` the
    profile's ``max_epochs`` bound every training of that model: ``project`` turns them into
    the profile's worst case (every training running to ``max_epochs``). Added to ``meas``
    (``meas["per_epoch"][cohort][model]``) when given.
    """
    import dataclasses

    import torch

    from vae_core.train import fit

    torch.set_num_threads(1)
    train = dict(params.get("train") or {})
    n_top = int(params.get("n_top_genes") or 5000)
    out = meas if meas is not None else {"n_top_genes": n_top, "trainings": [], "data_s": 0.0}
    out.setdefault("per_epoch", {})
    print(f"per-epoch cost, {epochs} epochs per model at the largest latent dim, adam (measured):")
    for kind, n, spec_key in (("tcga", sizes[0], "grid_tcga"), ("gtex", sizes[1], "grid_gtex")):
        if kind not in cohorts:
            continue
        adata, t_data = _cohort(kind, n, genes_raw, n_top, seed)
        out["data_s"] = out.get("data_s", 0.0) + t_data
        configs = _expand(params[spec_key], train, seed)
        dim = max(c.latent_dim for c in configs)
        res_k = out["per_epoch"].setdefault(kind, {})
        # one untimed epoch first: torch's one-time set-up would otherwise land on the first model
        fit(dataclasses.replace(configs[0], min_epochs=1, max_epochs=1, n_threads=1,
                                device="cpu"), adata)
        for model in dict.fromkeys(c.model for c in configs):
            base = next(c for c in configs if c.model == model)
            cfg = dataclasses.replace(base, latent_dim=dim, optimizer="adam", lr=1e-3,
                                      min_epochs=epochs, max_epochs=epochs, n_threads=1,
                                      device="cpu")
            c = time.process_time()
            res = fit(cfg, adata)
            sec = (time.process_time() - c) / max(res.epochs, 1)
            res_k[model] = sec
            print(f"  {kind} {model}/d{dim}/adam: {res.epochs} epochs, {sec:.2f} cpu-s/epoch "
                  f"({res.status})", flush=True)
            if save:
                Path(save).write_text(json.dumps(out, indent=1))
    return out


def bound(params: dict, meas: dict, seed: int) -> dict | None:
    """Worst case of a profile: every training runs to ``max_epochs`` at its model's measured
    per-epoch cost (``meas["per_epoch"]``); None without those measurements."""
    from vae_core.disentangle import study_spec
    from vae_core.grid import expand

    per = {k: dict(v) for k, v in (meas.get("per_epoch") or {}).items()}
    if "tcga" not in per:
        return None
    # a sampled training's cost per epoch raises its model's figure where it is higher (other
    # optimizers and learning rates cost more per epoch than adam's first epochs; README)
    for r in meas.get("trainings", []):
        model = r["config"].split("/")[0]
        table = per.setdefault(r["cohort"], {})
        if model in table:
            table[model] = max(table[model], r["train_s"] / max(r["epochs"], 1))
    train = dict(params.get("train") or {})
    max_epochs = int(train.get("max_epochs", 1000))
    gtex = per.get("gtex") or {m: v * PAPER_N_GTEX / PAPER_N_TCGA for m, v in per["tcga"].items()}
    parts = {}
    for key, table in (("grid_tcga", per["tcga"]), ("grid_gtex", gtex)):
        configs = _expand(params[key], train, seed)
        parts[key] = sum(table[c.model] for c in configs) * max_epochs
    nb05 = expand(study_spec(params["disentangle_models"], params["disentangle_latent_dims"]),
                  train=train, base_seed=seed)
    parts["notebook 05"] = sum(per["tcga"][c.model] for c in nb05) * max_epochs
    core_s = sum(parts.values())
    return {"max_epochs": max_epochs, "parts_core_s": parts, "core_s": core_s,
            "per_epoch": per}


def _mean(rows: list[dict], key: str, cohort: str) -> float:
    vals = [r[key] for r in rows if r["cohort"] == cohort]
    return float(np.mean(vals)) if vals else math.nan


def _per_epoch_unit(rows: list[dict], cohort: str) -> float:
    """Seconds per epoch per (training sample x gene), mean over the cohort's measured runs."""
    vals = [r["train_s"] / max(r["epochs"], 1) / (r["n_train"] * r["n_genes"])
            for r in rows if r["cohort"] == cohort]
    return float(np.mean(vals)) if vals else math.nan


def project(params: dict, meas: dict, profile: str, cores: int, seed: int) -> dict:
    """Projected core-seconds and wall time of ``profile`` from measurements ``meas``."""
    from vae_core.disentangle import study_spec

    rows = meas["trainings"]
    train = dict(params.get("train") or {})
    max_epochs = int(train.get("max_epochs", 1000))
    counts = {key: len(_expand(params[key], train, seed)) for key in ("grid_tcga", "grid_gtex")}
    n05 = _n_models(study_spec(params["disentangle_models"], params["disentangle_latent_dims"]))
    n05 *= len(params["disentangle_latent_dims"])
    measured_size = profile == "paper_lite"
    if measured_size:
        t_tcga, t_gtex = _mean(rows, "train_s", "tcga"), _mean(rows, "train_s", "gtex")
        d_tcga, d_gtex = _mean(rows, "downstream_s", "tcga"), _mean(rows, "downstream_s", "gtex")
        label = "measured means of the sampled trainings"
    else:
        # scale the per-epoch cost by training samples x genes; epochs as measured, capped
        simulated = params.get("source") == "simulated"
        n_t = int(params.get("n_samples_tcga") or PAPER_N_TCGA) if simulated else PAPER_N_TCGA
        n_g = int(params.get("n_samples_gtex") or PAPER_N_GTEX) if simulated else PAPER_N_GTEX
        genes = int(params.get("n_top_genes") or 5000)
        frac = float(train.get("train_fraction", 0.7))
        ep = [min(r["epochs"], max_epochs) for r in rows]
        epochs = float(np.mean(ep)) if ep else math.nan
        unit_t, unit_g = _per_epoch_unit(rows, "tcga"), _per_epoch_unit(rows, "gtex")
        if math.isnan(unit_g):
            unit_g = unit_t
        t_tcga = unit_t * epochs * frac * n_t * genes
        t_gtex = unit_g * epochs * frac * n_g * genes
        # downstream: kNN + Leiden scale ~ linearly in samples at fixed dims
        d_tcga = _mean(rows, "downstream_s", "tcga") * n_t / PAPER_N_TCGA
        d_gtex = _mean(rows, "downstream_s", "gtex") * n_g / PAPER_N_GTEX
        label = (f"projected: measured s/epoch scaled to {n_t} / {n_g} samples x {genes} genes, "
                 f"{epochs:.0f} epochs (measured mean, capped at max_epochs {max_epochs})")
    if math.isnan(d_tcga):  # nothing trained here (a --per-epoch-only run)
        d_tcga = DOWNSTREAM_S["tcga"]
        d_gtex = d_gtex if not math.isnan(d_gtex) else DOWNSTREAM_S["gtex"]
    if math.isnan(t_gtex):
        t_gtex = t_tcga * PAPER_N_GTEX / PAPER_N_TCGA
    if math.isnan(d_gtex):
        d_gtex = d_tcga * PAPER_N_GTEX / PAPER_N_TCGA
    parts = {
        "TCGA grid trainings": counts["grid_tcga"] * t_tcga,
        "GTEx grid trainings": counts["grid_gtex"] * t_gtex,
        "notebook 05 trainings": n05 * t_tcga,
        "TCGA downstream (ARI + AIC)": counts["grid_tcga"] * d_tcga,
        "GTEx downstream (ARI)": counts["grid_gtex"] * d_gtex,
    }
    n_wsepin = float(params.get("wsepin_samples") or 10000)
    parts["notebook 05 scoring (bound)"] = n05 * WSEPIN_S_200 * n_wsepin / 10000.0
    core_s = sum(parts.values())
    real = params.get("source") != "simulated"
    load_s = LOAD_REAL_S if real else 0.0
    wall = core_s / cores + meas["data_s"] + load_s + meas.get("warmup_s", 0.0) * 3
    return {"profile": profile, "label": label, "counts": counts, "n05": n05,
            "per_training": {"tcga": t_tcga, "gtex": t_gtex},
            "per_downstream": {"tcga": d_tcga, "gtex": d_gtex}, "parts_core_s": parts,
            "core_s": core_s, "data_s": meas["data_s"], "load_s": load_s,
            "warmup_s": meas.get("warmup_s", 0.0) * 3, "wall_s": wall, "cores": cores}


def report_bound(b: dict, p: dict) -> None:
    """Print the worst case of ``bound`` with the rest of the projection ``p`` added."""
    other = (p["parts_core_s"]["TCGA downstream (ARI + AIC)"]
             + p["parts_core_s"]["GTEx downstream (ARI)"]
             + p["parts_core_s"]["notebook 05 scoring (bound)"])
    wall = (b["core_s"] + other) / p["cores"] + p["data_s"] + p.get("load_s", 0.0) + p["warmup_s"]
    print(f"\nworst case (every training runs to max_epochs {b['max_epochs']} at the highest "
          "cost per epoch measured for its model):")
    for kind, table in b["per_epoch"].items():
        print(f"  {kind} cpu-s per epoch: " + ", ".join(f"{m} {v:.2f}" for m, v in table.items()))
    for k, v in b["parts_core_s"].items():
        print(f"  {k:30s} {v / 3600:7.2f} core-h")
    print(f"  downstream + scoring + data as above -> WORST-CASE TOTAL {wall / 3600:.2f} h wall on "
          f"{p['cores']} cores")


def report(p: dict) -> None:
    """Print the projection of ``project``."""
    c = p["counts"]
    print(f"\nprojection for profile {p['profile']!r} on {p['cores']} cores "
          f"(per-training times: {p['label']}):")
    print(f"  trainings: TCGA grid {c['grid_tcga']}, GTEx grid {c['grid_gtex']}, notebook 05 "
          f"{p['n05']} (projected with the TCGA mean)")
    print(f"  per training: TCGA {p['per_training']['tcga']:.0f} s, GTEx "
          f"{p['per_training']['gtex']:.0f} s; per downstream: TCGA "
          f"{p['per_downstream']['tcga']:.1f} s, GTEx {p['per_downstream']['gtex']:.1f} s")
    for k, v in p["parts_core_s"].items():
        print(f"  {k:30s} {v / 3600:7.2f} core-h")
    print(f"  {'data (simulate + preprocess)':30s} {p['data_s'] / 3600:7.2f} h (stand-in for "
          "loading the real files; measured)")
    if p.get("load_s"):
        names = {"tcga": "TCGA", "gtex": "GTEx"}
        parts = " + ".join(f"{names.get(k, k)} {v:.0f} s" for k, v in LOAD_REAL_BY_COHORT_S.items())
        print(f"  {'loading the real downloads':30s} {p['load_s'] / 3600:7.2f} h (measured by "
              f"benchmarks load_real: {parts})")
    print(f"  {'downstream warm-up':30s} {p['warmup_s'] / 3600:7.2f} h (one per worker, notebooks "
          "03, 04, 05; measured once)")
    print(f"  PROJECTED TOTAL: {p['core_s'] / 3600:.2f} core-h -> {p['wall_s'] / 3600:.2f} h "
          f"wall on {p['cores']} cores (notebook 05 scoring: an upper bound from benchmarks "
          f"wsepin, {WSEPIN_S_200:.0f} s per run at 200 dims; not included: notebook 06's "
          f"figures, ~{measured('notebook_06_quick_seconds') / 60:.1f} min in the quick profile)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks profile",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("profile", nargs="?", default="paper_lite", choices=PROFILES)
    ap.add_argument("--tcga", type=int, default=3, help="TCGA-side configurations trained")
    ap.add_argument("--gtex", type=int, default=2, help="GTEx-side configurations trained")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--genes-raw", type=int, default=6000,
                    help="simulated genes before selecting n_top_genes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sample-seed", type=int, default=None,
                    help="which configurations are sampled (default --seed); the design stays")
    ap.add_argument("--n-samples", type=int, nargs=2, default=(PAPER_N_TCGA, PAPER_N_GTEX),
                    metavar=("TCGA", "GTEX"),
                    help="cohort sizes measured (default the paper's; smaller only to smoke-test "
                         "this script: the projection then no longer describes the profile)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a profile parameter for the projection (YAML value; dotted "
                         "keys for nested ones), e.g. --set n_samples_tcga=11014 --set "
                         "train.max_epochs=8")
    ap.add_argument("--params-dir", default=str(REPO_ROOT / "params"))
    ap.add_argument("--save", default=None, help="write the measurements (JSON) here")
    ap.add_argument("--per-epoch", type=int, default=0, metavar="EPOCHS",
                    help="also time every model for EPOCHS epochs at the largest latent dim and "
                         "print the worst case (every training to max_epochs)")
    ap.add_argument("--cohorts", default="tcga,gtex",
                    help="--per-epoch: the cohorts to time (e.g. tcga)")
    ap.add_argument("--from", dest="from_", default=None,
                    help="read measurements saved by --save instead of training")
    args = ap.parse_args(argv)

    from threadpoolctl import threadpool_limits

    params = load_profile(args.profile, Path(args.params_dir))
    for item in args.set:
        import yaml

        key, sep, value = item.partition("=")
        if not sep:
            ap.error(f"--set expects KEY=VALUE, got {item!r}")
        node = params
        *parents, leaf = key.split(".")
        for k in parents:
            node = node.setdefault(k, {})
        node[leaf] = yaml.safe_load(value)
        print(f"override: {key} = {node[leaf]!r}")
    lite = load_profile("paper_lite", Path(args.params_dir))
    t0 = time.perf_counter()
    if tuple(args.n_samples) != (PAPER_N_TCGA, PAPER_N_GTEX):
        print(f"WARNING: measuring at {args.n_samples}, not the paper's sizes: a smoke test, "
              "not a projection of the profile")
    print(f"profile benchmark: {args.profile}; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cpus (a shared machine measures longer times)")
    if args.from_:
        meas: dict = {"trainings": [], "data_s": 0.0}
        for path in args.from_.split(","):
            part = json.loads(Path(path).read_text())
            seen = {(r["cohort"], r["config"]) for r in meas["trainings"]}
            meas["trainings"] += [r for r in part.get("trainings", [])
                                  if (r["cohort"], r["config"]) not in seen]  # one per config
            meas["data_s"] += part.get("data_s", 0.0)
            meas["warmup_s"] = max(meas.get("warmup_s", 0.0), part.get("warmup_s", 0.0))
            for kind, table in (part.get("per_epoch") or {}).items():
                meas.setdefault("per_epoch", {}).setdefault(kind, {}).update(table)
        print(f"measurements read from {args.from_} ({len(meas['trainings'])} trainings)")
    else:
        with threadpool_limits(limits=1):
            meas = {"trainings": [], "data_s": 0.0}
            if args.tcga or args.gtex:
                meas = measure(lite, args.tcga, args.gtex, args.genes_raw, args.seed,
                               sizes=tuple(args.n_samples), save=args.save,
                               sample_seed=args.sample_seed)
            if args.per_epoch:
                meas = measure_per_epoch(lite, tuple(args.cohorts.split(",")), args.genes_raw,
                                         args.seed, epochs=args.per_epoch,
                                         sizes=tuple(args.n_samples), save=args.save, meas=meas)
        if args.save:
            Path(args.save).write_text(json.dumps(meas, indent=1))
            print(f"measurements saved to {args.save}")
    p = project(params, meas, args.profile, args.cores, args.seed)
    if meas["trainings"]:
        report(p)
    b = bound(params, meas, args.seed)
    if b is not None:
        report_bound(b, p)
    print(f"benchmark wall time {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
