"""Synthetic tidy tables (``vae_core.tables`` schema) with planted effects: a test fixture.

Planted, so the figures and the scorecard have known answers:
- ARI: beta-TCVAE and DIP-VAE best on average; U(0,1) init, SGD and the extreme learning rates
  (1e-1, 1e-6) lower; small latent dims lower.
- AIC falls as ARI rises (rho(ARI, AIC) strongly negative); validation loss rises as ARI falls.
- Failures: every beta-TCVAE run at lr 1e-1; some DIP-VAE runs at lr 1e-1; CAT-VAE never.
- GTEx ARI follows TCGA ARI (positive concordance); disentanglement scores small.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from vae_core import tables
from vae_core.keys import DISENTANGLE_FEATURES, GRID_AXES, RECORD_COLUMNS, STATUS_FAILED, STATUS_OK
from vae_core.registry import PAPER_MODELS

_MODEL_BASE = {"vanilla": 0.35, "beta": 0.33, "betatc": 0.50, "dip": 0.48, "iwae": 0.36,
               "cat": 0.30}
_LR_EFFECT = {1e-1: -0.2, 1e-2: 0.0, 1e-3: 0.1, 1e-4: 0.1, 1e-5: 0.0, 1e-6: -0.2}
_LATENT_EFFECT = {10: -0.1, 20: -0.05, 30: 0.0, 50: 0.05, 100: 0.05, 200: 0.0}


def synthetic_runs(cohort: str = "tcga", *, latent_dims=(10, 50, 200), lrs=None, inits=None,
                   optimizers=None, activations=None, models=None, repeats: int = 1,
                   seed: int = 0, noise: float = 0.05) -> pd.DataFrame:
    """A runs table (``tables.RUNS_COLUMNS``) over a grid, with the planted effects above."""
    rng = np.random.default_rng(seed)
    axes = {
        "model": list(models or PAPER_MODELS), "latent_dim": list(latent_dims),
        "lr": list(lrs or GRID_AXES["lr"]), "init": list(inits or GRID_AXES["init"]),
        "optimizer": list(optimizers or GRID_AXES["optimizer"]),
        "activation": list(activations or GRID_AXES["activation"])}
    rows = []
    for m, d, lr, init, opt, act in itertools.product(*axes.values()):
        for rep in range(repeats):
            ari = (_MODEL_BASE[m] + _LR_EFFECT.get(lr, 0.0) + _LATENT_EFFECT.get(d, 0.0)
                   - 0.2 * (init == "uniform") - 0.12 * (opt == "sgd" and cohort == "tcga")
                   + 0.02 * (act == "tanh") + rng.normal(0, noise))
            ari = float(np.clip(ari, 0.0, 0.95))
            failed = (m == "betatc" and lr == 1e-1) or (m == "dip" and lr == 1e-1
                                                        and init == "uniform")
            val_loss = 1.0 + 0.8 * (0.9 - ari) + rng.normal(0, 0.08)
            aic = 60000.0 - 2000.0 * ari + rng.normal(0, 150)
            rows.append({
                "model": m, "latent_dim": d, "lr": lr, "init": init, "optimizer": opt,
                "activation": act,
                "key": f"{cohort}-{m}-{d}-{lr:g}-{init}-{opt}-{act}-{rep}", "cohort": cohort,
                "repeat": rep, "seed": int(rng.integers(1 << 30)),
                "status": STATUS_FAILED if failed else STATUS_OK,
                "epochs": int(rng.integers(5, 60)),
                "val_loss": np.nan if failed else val_loss,
                "best_val_loss": np.nan if failed else val_loss - 0.01,
                "wall_time": float(rng.uniform(1, 10)),
                "reason": "loss became nan at epoch 2" if failed else "",
                "ari": np.nan if failed else ari, "n_clusters": np.nan if failed else 30,
                "aic": np.nan if failed else aic,
                "active_units": np.nan if failed else min(d, 20)})
    df = pd.DataFrame(rows)
    return df[list(tables.CONFIG_COLUMNS) + [c for c in RECORD_COLUMNS
                                             if c not in tables.CONFIG_COLUMNS]]


def concordance(runs_tcga: pd.DataFrame, runs_gtex: pd.DataFrame) -> pd.DataFrame:
    """CONCORDANCE table: per configuration, mean ARI of successful runs on TCGA and GTEx."""
    cfg = list(tables.CONFIG_COLUMNS)
    a = runs_tcga[runs_tcga.status == STATUS_OK].groupby(cfg)["ari"].mean().rename("ari_tcga")
    b = runs_gtex[runs_gtex.status == STATUS_OK].groupby(cfg)["ari"].mean().rename("ari_gtex")
    return pd.concat([a, b], axis=1, join="inner").reset_index()


def make_synthetic_tables(seed: int = 0, *, latent_dims=(10, 50, 200), repeats: int = 1,
                          disentangle_dims=(10, 20, 30, 50, 100, 200), **grid
                          ) -> dict[str, pd.DataFrame]:
    """Every table notebook 06 reads, keyed by its ``vae_core.tables`` file name.

    ``grid`` (lrs, inits, optimizers, activations, models) narrows the grid of
    :func:`synthetic_runs` (default: the paper's six models, ``registry.PAPER_MODELS``, and every
    other value of ``keys.GRID_AXES``).
    """
    rng = np.random.default_rng(seed)
    tcga = synthetic_runs("tcga", latent_dims=latent_dims, repeats=repeats, seed=seed, **grid)
    gtex = synthetic_runs("gtex", latent_dims=latent_dims, repeats=1, seed=seed + 1, **grid)
    # GTEx ARI follows TCGA ARI of the same configuration
    first = tcga[tcga.repeat == 0].reset_index(drop=True)
    ok = gtex.status == STATUS_OK
    gtex.loc[ok, "ari"] = np.clip(0.8 * first.loc[ok, "ari"].to_numpy() + 0.1
                                  + rng.normal(0, 0.05, ok.sum()), 0, 1)
    conc = concordance(tcga, gtex)

    van = tcga[(tcga.model == "vanilla") & (tcga.status == STATUS_OK)]
    lo = van.loc[van.ari.idxmin()]
    hi = van.loc[(van.ari - 0.8).abs().idxmin()]
    pair = pd.DataFrame([lo, hi])
    pair.insert(0, "role", ["low_ari", "high_ari"])
    pair.loc[:, "val_loss"] = [1.0, 1.01]
    pair.loc[:, "ari"] = [0.01, 0.72]
    umap_rows = []
    labels = [f"T{i:02d}" for i in range(33)]
    for role, key, spread in (("low_ari", lo.key, 6.0), ("high_ari", hi.key, 0.6)):
        centres = rng.normal(0, 5, (33, 2))
        lab = rng.integers(0, 33, 600)
        xy = centres[lab] * (0.1 if role == "low_ari" else 1.0) + rng.normal(0, spread / 6,
                                                                           (600, 2))
        umap_rows.append(pd.DataFrame({"key": key, "role": role, "umap1": xy[:, 0],
                                       "umap2": xy[:, 1], "label": [labels[i] for i in lab]}))
    umap = pd.concat(umap_rows, ignore_index=True)

    corr_rows, score_rows, rmig_rows, dis_rows = [], [], [], []
    for m in PAPER_MODELS:
        for d in disentangle_dims:
            rho = rng.normal(0, 0.08, (d, len(DISENTANGLE_FEATURES)))
            n_dis = 0
            if m == "beta" and d == 10:  # planted: metastasis on factor 7, sbs_40 on 1 and 5
                rho[:, 1] = 0.02
                rho[7, 1] = 0.4
                rho[:, 8] = 0.02
                rho[[1, 5], 8] = [0.3, -0.25]
                dis_rows += [{"model": m, "latent_dim": d, "feature": "metastasis_days",
                              "factors": "7"},
                             {"model": m, "latent_dim": d, "feature": "sbs_40", "factors": "1;5"}]
                n_dis = 2
            for f in range(d):
                for j, feat in enumerate(DISENTANGLE_FEATURES):
                    corr_rows.append({"model": m, "latent_dim": d, "factor": f, "feature": feat,
                                          "rho": float(rho[f, j])})
            wsepin = float(max(0.0, 0.12 - 0.002 * d + rng.normal(0, 0.01)))
            score_rows.append({"model": m, "latent_dim": d, "wsepin": wsepin,
                               "n_disentangled": n_dis, "status": STATUS_OK})
            for feat in DISENTANGLE_FEATURES:
                rmig_rows.append({"model": m, "latent_dim": d, "feature": feat,
                                      "rmig": float(abs(rng.normal(0.03, 0.02)))})
    return {
        tables.RUNS_TCGA: tcga,
        tables.RUNS_GTEX: gtex,
        tables.BASELINE_AIC: pd.DataFrame({"cohort": ["tcga"], "aic": [59500.0]}),
        tables.FIG2_PAIR: pair.reset_index(drop=True),
        tables.FIG2_UMAP: umap,
        tables.CONCORDANCE: conc,
        tables.CORRELATIONS: pd.DataFrame(corr_rows),
        tables.DISENTANGLE_SCORES: pd.DataFrame(score_rows),
        tables.RMIG: pd.DataFrame(rmig_rows),
        tables.DISENTANGLED_FEATURES: pd.DataFrame(
            dis_rows, columns=["model", "latent_dim", "feature", "factors"]),
    }


def public_export_tables(t: dict[str, pd.DataFrame], *, survival: bool = False,
                         gtex: bool = False,
                         absent_features=("age", "metastasis_days", "immune", "sbs_1", "sbs_2",
                                          "sbs_5", "sbs_13", "sbs_15", "sbs_40", "gender"),
                         ) -> dict[str, pd.DataFrame]:
    """The tables of a cohort shaped like a public export (``docs/design.md``, "Bring your own
    cohort"), from complete ones ``t``.

    ``survival=False``: every AIC NaN with ``aic_reason`` "no survival data in this cohort" (runs
    and baseline); ``gtex=False``: empty GTEx run and concordance tables (``gtex_source: none``);
    ``absent_features``: NaN correlations/RMIG and ``features_absent`` in the scores. What the
    notebooks write for such a cohort, so figures and the scorecard can be tested for "n/a".
    """
    out = {k: v.copy() for k, v in t.items()}
    why = "no survival data in this cohort"
    for name in (tables.RUNS_TCGA, tables.FIG2_PAIR):
        df = out[name]
        if not survival:
            df["aic"] = np.nan
            df[tables.AIC_REASON] = np.where(df["status"] == STATUS_OK, why, "training failed")
        else:
            df[tables.AIC_REASON] = np.where(df["status"] == STATUS_OK, "", "training failed")
    if not survival:
        out[tables.BASELINE_AIC] = pd.DataFrame({"cohort": ["tcga"], "aic": [np.nan],
                                                 "reason": [why], tables.AIC_REASON: [why]})
    if not gtex:
        out[tables.RUNS_GTEX] = out[tables.RUNS_GTEX].iloc[0:0]
        out[tables.CONCORDANCE] = out[tables.CONCORDANCE].iloc[0:0]
    absent = [f for f in absent_features if f in DISENTANGLE_FEATURES]
    if absent:
        c = out[tables.CORRELATIONS]
        c.loc[c["feature"].isin(absent), "rho"] = np.nan
        r = out[tables.RMIG]
        r.loc[r["feature"].isin(absent), "rmig"] = np.nan
        d = out[tables.DISENTANGLED_FEATURES]
        out[tables.DISENTANGLED_FEATURES] = d[~d["feature"].isin(absent)].reset_index(drop=True)
        sc = out[tables.DISENTANGLE_SCORES]
        sc["features_absent"] = ";".join(absent)
        kept = out[tables.DISENTANGLED_FEATURES].groupby(["model", "latent_dim"]).size()
        sc["n_disentangled"] = [int(kept.get((m, dd), 0))
                                for m, dd in zip(sc["model"], sc["latent_dim"], strict=True)]
    return out


def write_synthetic_tables(tables_dir, seed: int = 0, **kwargs) -> dict[str, pd.DataFrame]:
    """Write :func:`make_synthetic_tables` as CSV into ``tables_dir`` (a run's tables folder)."""
    from pathlib import Path

    out = Path(tables_dir)
    out.mkdir(parents=True, exist_ok=True)
    t = make_synthetic_tables(seed, **kwargs)
    for name, df in t.items():
        df.to_csv(out / name, index=False)
    return t
