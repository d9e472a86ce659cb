"""Quick-look figures for notebooks 03 and 04 (the publication figures are ``vae_core.plots``).

Each function takes the tables notebooks 03/04 write and returns a matplotlib Figure.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..keys import GRID_AXES, STATUS_OK


def _ok(runs: pd.DataFrame) -> pd.DataFrame:
    return runs.loc[runs["status"].eq(STATUS_OK)] if "status" in runs else runs


def _aic_missing(runs: pd.DataFrame) -> str:
    """"n/a: <aic_reason>" when no successful run has a finite AIC, else ""."""
    ok = _ok(runs)
    if not len(ok) or np.isfinite(pd.to_numeric(ok["aic"], errors="coerce")).any():
        return ""
    why = ok.get("aic_reason", pd.Series("", index=ok.index)).fillna("").astype(str)
    why = why[why.str.strip() != ""]
    return f"n/a: {why.value_counts().index[0]}" if len(why) else "n/a: no AIC"


def _na_panel(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=11,
            color="0.4", style="italic", wrap=True)


def _model_colours(models) -> dict:
    import matplotlib.pyplot as plt

    order = [m for m in GRID_AXES["model"] if m in set(models)] + sorted(
        set(models) - set(GRID_AXES["model"]))
    cmap = plt.get_cmap("tab10")
    return {m: cmap(i % 10) for i, m in enumerate(order)}


def loss_vs_metrics(runs: pd.DataFrame, baseline_aic: float = math.nan, quantile: float = 0.9,
                    model: str | None = "vanilla"):
    """Validation loss (up to its ``quantile`` per model, as Fig 2) vs ARI and vs AIC.

    ``runs``: a run table (``RUNS_COLUMNS``); ``baseline_aic``: the covariate-only AIC (dashed);
    ``model``: the model shown (Fig 2: vanilla; the losses of different models are on different
    scales), or None for all models.
    """
    import matplotlib.pyplot as plt

    ok = _ok(runs)
    if model is not None:
        ok = ok.loc[ok["model"] == model]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = _model_colours(ok["model"].unique()) if len(ok) else {}
    for name, sub in ok.groupby("model", sort=False):
        loss = sub["val_loss"].astype(float)
        sub = sub.loc[loss <= loss.quantile(quantile)] if loss.notna().sum() > 2 else sub
        for ax, metric in zip(axes, ("ari", "aic")):
            ax.scatter(sub[metric], sub["val_loss"], s=18, alpha=0.75, color=colours[name],
                       label=f"{name} ({len(sub)})")
    axes[0].set_xlabel("ARI (higher is better)")
    axes[1].set_xlabel("AIC (lower is better)")
    if np.isfinite(baseline_aic):
        axes[1].axvline(baseline_aic, color="crimson", ls="--", lw=1, label="covariates only")
    na = _aic_missing(ok)
    if na:
        _na_panel(axes[1], na)
    for ax in axes:
        ax.set_ylabel("validation loss")
        ax.grid(alpha=0.3)
    if len(ok) and not na:
        axes[1].legend(fontsize=7, loc="best")
    fig.suptitle(f"{model or 'all models'}: validation loss (<= {int(quantile * 100)}th "
                 "percentile) vs downstream metrics (cf. Fig 2A/B, S1-S5)", fontsize=10)
    fig.tight_layout()
    return fig


def pair_umaps(umap: pd.DataFrame, pair: pd.DataFrame):
    """UMAPs of the Fig 2C/D pair coloured by label (``FIG2_UMAP`` and ``FIG2_PAIR`` tables)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), squeeze=False)
    axes = axes[0]
    if pair.empty or umap.empty:
        for ax in axes:
            ax.axis("off")
        axes[0].text(0.5, 0.5, "no pair: fewer than two successful vanilla runs",
                     ha="center", va="center", transform=axes[0].transAxes)
        return fig
    labels = sorted(umap["label"].astype(str).unique())
    cmap = plt.get_cmap("tab20")
    colour = {lab: cmap(i % 20) for i, lab in enumerate(labels)}
    for ax, (_, row) in zip(axes, pair.iterrows()):
        sub = umap.loc[umap["key"] == row["key"]]
        ax.scatter(sub["umap1"], sub["umap2"], s=3, c=[colour[v] for v in sub["label"]],
                   rasterized=True)
        ax.set_title(f"{row['role']}: val loss {row['val_loss']:.4g}, ARI {row['ari']:.2f}\n"
                     f"latent {row['latent_dim']}, lr {row['lr']:g}, {row['init']}, "
                     f"{row['optimizer']}, {row['activation']}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("UMAP1")
        ax.set_ylabel("UMAP2")
    fig.tight_layout()
    return fig


def metric_by_model(runs: pd.DataFrame, metric: str = "ari", baseline: float = math.nan,
                    title: str = ""):
    """Box plot of ``metric`` per model over successful runs (cf. Fig 3 and Fig 6A)."""
    import matplotlib.pyplot as plt

    ok = _ok(runs)
    ok = ok.loc[np.isfinite(pd.to_numeric(ok[metric], errors="coerce"))]
    models = [m for m in GRID_AXES["model"] if m in set(ok["model"])]
    fig, ax = plt.subplots(figsize=(7, 4))
    data = [ok.loc[ok["model"] == m, metric].astype(float).to_numpy() for m in models]
    if models:
        ax.boxplot(data, showmeans=True, meanline=True)
        ax.set_xticks(range(1, len(models) + 1), models)
        for i, d in enumerate(data, 1):
            ax.scatter(np.full(len(d), i) + np.linspace(-0.1, 0.1, len(d)), d, s=8,
                       alpha=0.5, color="grey")
    if np.isfinite(baseline):
        ax.axhline(baseline, color="crimson", ls="--", lw=1, label="covariates only")
        ax.legend(fontsize=8)
    if not models:
        _na_panel(ax, (_aic_missing(runs) if metric == "aic" else "") or "no data")
    ax.set_ylabel(metric.upper())
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def concordance_scatter(table: pd.DataFrame, rho: float = math.nan):
    """Mean ARI per configuration, TCGA (x) vs GTEx (y), coloured by model (cf. Fig 6B)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5))
    colours = _model_colours(table["model"].unique()) if len(table) else {}
    for model, sub in table.groupby("model", sort=False):
        ax.scatter(sub["ari_tcga"], sub["ari_gtex"], s=20, alpha=0.8, color=colours[model],
                   label=model)
    ax.set_xlabel("ARI on TCGA (mean over repeats)")
    ax.set_ylabel("ARI on GTEx")
    ax.set_title(f"TCGA vs GTEx per configuration: Spearman rho = {rho:.2f} "
                 f"(n = {len(table)})", fontsize=10)
    ax.grid(alpha=0.3)
    if len(table):
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
