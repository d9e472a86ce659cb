"""Quick-look figures for notebooks 03 and 04, drawn while the grid is evaluated.

The publication figures are :mod:`vae_core.plots.figures`; these are their quick previews from
the tables notebooks 03/04 write, in the same look: one colour and display name per model
(:func:`~vae_core.plots.style.model_color`, :func:`~vae_core.plots.style.model_label`), models
in registry order (``registry.model_names()``; a model present in a table but not registered
comes after, sorted), the Fig 2 UMAP panels of :func:`~vae_core.plots.figures.umap_panel`, and
``"n/a: <reason>"`` panels (:func:`~vae_core.plots.style.no_data`). Each function returns a
matplotlib Figure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import registry
from .figures import umap_panel
from .io import na_reason, successful
from .style import FAILED_COLOR, model_colors, model_label, no_data


def model_order(models: Iterable[object]) -> list[str]:
    """The models present, registered ones in registry order, then any other name, sorted."""
    present = {str(m) for m in models}
    names = registry.model_names()
    return [m for m in names if m in present] + sorted(present - set(names))


def _aic_missing(runs: pd.DataFrame) -> str:
    """"n/a: <reason>" when no successful run has a finite AIC, else ""."""
    ok = successful(runs)
    if not len(ok):
        return ""
    why = na_reason(ok, "aic")
    return f"n/a: {why}" if why else ""


def loss_vs_metrics(runs: pd.DataFrame, baseline_aic: float = math.nan, quantile: float = 0.9,
                    model: str | None = "vanilla"):
    """Validation loss (up to its ``quantile`` per model, as Fig 2) vs ARI and vs AIC.

    ``runs``: a run table (``RUNS_COLUMNS``); ``baseline_aic``: the covariate-only AIC (dashed);
    ``model``: the model shown (Fig 2: vanilla; the losses of different models are on different
    scales), or None for all models.
    """
    ok = successful(runs)
    if model is not None:
        ok = ok.loc[ok["model"] == model]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    order = model_order(ok["model"].unique()) if len(ok) else []
    colours = model_colors(order)
    for name in order:
        sub = ok.loc[ok["model"].astype(str) == name]
        loss = sub["val_loss"].astype(float)
        sub = sub.loc[loss <= loss.quantile(quantile)] if loss.notna().sum() > 2 else sub
        for ax, metric in zip(axes, ("ari", "aic"), strict=True):
            ax.scatter(sub[metric], sub["val_loss"], s=18, alpha=0.75, color=colours[name],
                       label=f"{model_label(name)} ({len(sub)})")
    axes[0].set_xlabel("ARI (higher is better)")
    axes[1].set_xlabel("AIC (lower is better)")
    if np.isfinite(baseline_aic):
        axes[1].axvline(baseline_aic, color=FAILED_COLOR, ls="--", lw=1, label="covariates only")
    for ax in axes:
        ax.set_ylabel("validation loss")
        ax.grid(alpha=0.3)
    na = _aic_missing(ok)
    if na:
        no_data(axes[1], na)
    elif len(ok):
        axes[1].legend(fontsize=7, loc="best")
    shown = model_label(model) if model is not None else "all models"
    fig.suptitle(f"{shown}: validation loss (<= {int(quantile * 100)}th percentile) vs "
                 "downstream metrics (cf. Fig 2A/B, S1-S5)", fontsize=10)
    fig.tight_layout()
    return fig


def pair_umaps(umap: pd.DataFrame, pair: pd.DataFrame):
    """UMAPs of the Fig 2C/D pair coloured by label (``FIG2_UMAP`` and ``FIG2_PAIR`` tables)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), squeeze=False)
    axes = axes[0]
    if pair.empty or umap.empty:
        for ax in axes:
            ax.axis("off")
        axes[0].text(0.5, 0.5, "no pair: fewer than two successful vanilla runs",
                     ha="center", va="center", transform=axes[0].transAxes)
        return fig
    for ax, role in zip(axes, pair["role"], strict=False):
        umap_panel(ax, umap, pair, role)
    fig.tight_layout()
    return fig


def metric_by_model(runs: pd.DataFrame, metric: str = "ari", baseline: float = math.nan,
                    title: str = ""):
    """Box plot of ``metric`` per model over successful runs (cf. Fig 3 and Fig 6A)."""
    ok = successful(runs)
    ok = ok.loc[np.isfinite(pd.to_numeric(ok[metric], errors="coerce"))]
    models = model_order(ok["model"].unique())
    colours = model_colors(models)
    fig, ax = plt.subplots(figsize=(7, 4))
    data = [ok.loc[ok["model"].astype(str) == m, metric].astype(float).to_numpy()
            for m in models]
    if models:
        ax.boxplot(data, showmeans=True, meanline=True)
        ax.set_xticks(range(1, len(models) + 1), [model_label(m) for m in models])
        for i, (m, d) in enumerate(zip(models, data, strict=True), 1):
            ax.scatter(np.full(len(d), i) + np.linspace(-0.1, 0.1, len(d)), d, s=8,
                       alpha=0.6, color=colours[m])
    if np.isfinite(baseline):
        ax.axhline(baseline, color=FAILED_COLOR, ls="--", lw=1, label="covariates only")
        ax.legend(fontsize=8)
    ax.set_ylabel(metric.upper())
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    if not models:
        no_data(ax, (_aic_missing(runs) if metric == "aic" else "") or "no data")
    fig.tight_layout()
    return fig


def concordance_scatter(table: pd.DataFrame, rho: float = math.nan):
    """Mean ARI per configuration, TCGA (x) vs GTEx (y), coloured by model (cf. Fig 6B)."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    order = model_order(table["model"].unique()) if len(table) else []
    colours = model_colors(order)
    for model in order:
        sub = table.loc[table["model"].astype(str) == model]
        ax.scatter(sub["ari_tcga"], sub["ari_gtex"], s=20, alpha=0.8, color=colours[model],
                   label=model_label(model))
    ax.set_xlabel("ARI on TCGA (mean over repeats)")
    ax.set_ylabel("ARI on GTEx")
    ax.set_title(f"TCGA vs GTEx per configuration: Spearman rho = {rho:.2f} "
                 f"(n = {len(table)})", fontsize=10)
    ax.grid(alpha=0.3)
    if len(table):
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
