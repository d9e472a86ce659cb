"""One function per figure of Eltager et al. (PLoS ONE 2023), drawn from the tidy tables only.

Each function takes DataFrames in the ``vae_core.tables`` schema (see ``plots.io``) and returns
a matplotlib Figure. A panel without data says "no data" instead of failing, so the smoke
profile (few configurations, perhaps no GTEx) still yields every file.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.patches as mpatches
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from statsmodels.nonparametric.smoothers_lowess import lowess

from .. import registry
from ..keys import DISENTANGLE_FEATURES, GRID_AXES
from .io import NO_GTEX, na_reason, successful
from .stats import below_percentile, spearman
from .style import (
    FAILED_COLOR,
    HYPERPARAMETER_LABELS,
    MODEL_COLORS,
    OK_COLOR,
    REGRESSION_COLOR,
    latent_colors,
    model_label,
    new_figure,
    no_data,
    panel_letter,
    value_label,
)

HYPERPARAMETERS: tuple[str, ...] = ("latent_dim", "lr", "init", "optimizer", "activation")

FEATURE_LABELS: dict[str, str] = {
    "age": "Age", "metastasis_days": "Days to metastasis", "immune": "Immune infiltration",
    "sbs_1": "SBS1", "sbs_2": "SBS2", "sbs_5": "SBS5", "sbs_13": "SBS13", "sbs_15": "SBS15",
    "sbs_40": "SBS40", "gender": "Gender",
}


def _models_in(df: pd.DataFrame) -> list[str]:
    """Models present in ``df``, in registry order (the paper's six first), then any other."""
    if df is None or not len(df):
        return []
    present = set(df["model"].dropna().astype(str))
    names = registry.model_names()
    return [m for m in names if m in present] + sorted(present - set(names))


def _values_in(df: pd.DataFrame, axis: str) -> list:
    """Values of hyperparameter ``axis`` present in ``df``, in grid order."""
    present = list(pd.unique(df[axis].dropna()))
    grid = list(GRID_AXES.get(axis, ()))
    ordered = [v for v in grid if any(_same(v, p) for p in present)]
    return ordered + [p for p in present if not any(_same(p, g) for g in grid)]


def _same(a, b) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int):
        return bool(np.isclose(float(a), float(b), rtol=1e-9, atol=0))
    return str(a) == str(b)


def _fmt_rho(rho: float, n: int) -> str:
    return f"ρ = {rho:.2f}, n = {n}" if np.isfinite(rho) else f"ρ n/a, n = {n}"


#: Panel text of the GTEx-side panels (Fig 6, S7) when notebook 04 had no cohort.
_NO_GTEX_TEXT = f"n/a: {NO_GTEX}\n(no data in the GTEx run table)"


def _missing_text(runs: pd.DataFrame, score: str, what: str) -> str:
    """Panel text when no run has a finite ``score``: "n/a: <reason>" when the tables say why
    (e.g. "n/a: no survival data in this cohort"), else "no data\n(<what>)"."""
    why = na_reason(runs, score) if score == "aic" else ""
    if why and why != "no data":
        return f"n/a: {why}"
    return f"no data\n({what})"


def _color_model_ticks(ax: Axes, axis: str = "y") -> None:
    labels = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    inv = {model_label(m): m for m in registry.model_names()}
    for t in labels:
        m = inv.get(t.get_text())
        if m is not None:
            t.set_color(MODEL_COLORS[m])
            t.set_fontweight("bold")


# --------------------------------------------------------------------------- Fig 2, S1-S5
def loss_vs_score(ax: Axes, runs: pd.DataFrame, model: str, score: str,
                  percentile: float = 90, regression: bool = True) -> Axes:
    """Scatter of validation loss (y) vs ``score`` ("ari" or "aic", x) for one model's runs.

    Successful runs with validation loss up to its ``percentile``-th percentile; dots coloured
    by latent dimension; least-squares line with its 95% confidence band (Fig 2A/B, S1-S5).
    """
    if score not in ("ari", "aic"):
        raise ValueError(f"score must be 'ari' or 'aic', got {score!r}")
    ok = successful(runs)
    df = ok[ok["model"] == model] if len(ok) else ok
    df = below_percentile(df, "val_loss", percentile) if len(df) else df
    df = df[np.isfinite(df[score].astype(float))] if len(df) else df
    xlabel = "ARI (higher is better)" if score == "ari" else "AIC (lower is better)"
    if not len(df):
        mine = ok[ok["model"] == model] if len(ok) else ok
        no_data(ax, _missing_text(mine, score, f"{model_label(model)}: no successful run with "
                                  f"{score.upper()}"))
        ax.set_xlabel(xlabel)
        ax.set_ylabel("Validation loss")
        return ax
    palette = latent_colors(df["latent_dim"].astype(int))
    dims = list(palette)
    plot = df.assign(latent_dim=df["latent_dim"].astype(int))
    sns.scatterplot(data=plot, x=score, y="val_loss", hue="latent_dim", hue_order=dims,
                    palette=palette, s=18, alpha=0.75, edgecolor="none", ax=ax, legend=True)
    if regression and len(df) >= 3 and np.ptp(df[score].astype(float)) > 0:
        sns.regplot(data=df, x=score, y="val_loss", scatter=False, ci=95, color=REGRESSION_COLOR,
                    line_kws={"lw": 2}, ax=ax, truncate=True)
    rho, n = spearman(df[score], df["val_loss"])
    ax.set_title(f"{model_label(model)}: loss vs {score.upper()} ({_fmt_rho(rho, n)})",
                 fontsize=11)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"Validation loss (≤ {percentile:g}th percentile)")
    leg = ax.get_legend()
    if leg is not None:
        leg.set_title("Latent dims")
    return ax


def fig_loss_vs_downstream(runs: pd.DataFrame, model: str, percentile: float = 90) -> Figure:
    """Fig 2A/B for any model (S1 beta, S2 betatc, S3 dip at the 85th percentile, S4 iwae,
    S5 cat): validation loss vs ARI (A) and vs AIC (B), coloured by latent dimension."""
    fig, axes = new_figure(1, 2, figsize=(12, 4.8))
    for ax, score, letter in zip(axes, ("ari", "aic"), "AB", strict=True):
        loss_vs_score(ax, runs, model, score, percentile)
        panel_letter(ax, letter)
    fig.suptitle(f"{model_label(model)}: validation loss vs downstream performance "
                 f"(runs up to the {percentile:g}th loss percentile)", fontsize=13)
    return fig


def umap_panel(ax: Axes, umap: pd.DataFrame, pair: pd.DataFrame, role: str) -> Axes:
    """UMAP of the TCGA samples in one configuration's latent space, coloured by cancer type;
    the title carries that configuration's ARI and validation loss (Fig 2C/D)."""
    pts = umap[umap["role"] == role] if len(umap) else umap
    row = pair[pair["role"] == role] if len(pair) else pair
    what = "low-ARI" if role == "low_ari" else "high-ARI"
    if not len(pts):
        no_data(ax, f"no data\n({what} configuration of the Fig 2 pair)")
        return ax
    labels = sorted(pts["label"].astype(str).unique())
    pal = dict(zip(labels, sns.color_palette("husl", len(labels)), strict=True))
    ax.scatter(pts["umap1"], pts["umap2"], c=[pal[v] for v in pts["label"].astype(str)],
               s=4, alpha=0.8, linewidths=0, rasterized=True)
    ax.set_xlabel("UMAP1")
    ax.set_ylabel("UMAP2")
    ax.set_xticks([])
    ax.set_yticks([])
    if len(row):
        r = row.iloc[0]
        cfg = (f"{model_label(r['model'])}, dim {int(r['latent_dim'])}, lr {r['lr']:.0e}, "
               f"{r['init']}, {r['optimizer']}, {r['activation']}"
               if pd.notna(r.get("latent_dim")) else "")
        loss = float(r["val_loss"])
        loss_txt = f"{loss:.3f}" if abs(loss) < 10 else f"{loss:.1f}"
        ax.set_title(f"ARI = {r['ari']:.2f}, val. loss = {loss_txt}\n{cfg}",
                     fontsize=10)
    else:
        ax.set_title(f"{what} configuration", fontsize=10)
    ax.text(0.99, 0.01, f"colour: {len(labels)} labels (cancer type)", transform=ax.transAxes,
            ha="right", va="bottom", fontsize=8, color="0.35")
    return ax


def fig2(runs: pd.DataFrame, pair: pd.DataFrame, umap: pd.DataFrame,
         percentile: float = 90) -> Figure:
    """Fig 2: vanilla VAE validation loss (≤ 90th percentile) vs ARI (A) and AIC (B), coloured
    by latent dimension with a regression line and 95% band; UMAPs of two configurations with
    near-equal loss and low (C) vs high (D) ARI."""
    fig, axes = new_figure(2, 2, figsize=(12, 10))
    loss_vs_score(axes[0, 0], runs, "vanilla", "ari", percentile)
    loss_vs_score(axes[0, 1], runs, "vanilla", "aic", percentile)
    umap_panel(axes[1, 0], umap, pair, "low_ari")
    umap_panel(axes[1, 1], umap, pair, "high_ari")
    for ax, letter in zip(axes.flat, "ABCD", strict=True):
        panel_letter(ax, letter)
    fig.suptitle("Validation loss does not reflect downstream performance (vanilla VAE)",
                 fontsize=13)
    return fig


# --------------------------------------------------------------------------- Fig 3, 6
def model_boxplot(ax: Axes, runs: pd.DataFrame, score: str, cohort: str = "TCGA",
                  ylabel: str | None = None, reason_column: str | None = None) -> Axes:
    """Box per model of ``score`` (a metric column: "ari", "aic" or a registered metric's)
    over all successful configurations (Fig 3, 6A, ``metric_<name>``).

    Box: quartiles; line: median; white diamond: mean (the paper's caption calls the middle
    line the mean); whiskers 1.5 IQR. Without any finite value the panel says why ("n/a:
    <reason>" from ``reason_column``, default ``<score>_reason``/``aic_reason``).
    """
    ok = successful(runs)
    has = ok is not None and len(ok) and score in ok.columns
    df = ok[np.isfinite(pd.to_numeric(ok[score], errors="coerce"))] if has else ok.iloc[0:0]
    if ylabel is None:
        ylabel = ("ARI (higher is better)" if score == "ari" else
                  "AIC (lower is better)" if score == "aic" else score)
    if not len(df):
        if cohort == "GTEx" and (runs is None or not len(runs)):
            no_data(ax, _NO_GTEX_TEXT)
        else:
            why = na_reason(ok, score, reason_column) if score != "aic" or reason_column \
                else ""
            text = (f"n/a: {why}" if why and why != "no data" else
                    _missing_text(ok, score, f"no successful {cohort} run with {score}"))
            no_data(ax, text)
        ax.set_ylabel(ylabel)
        return ax
    models = _models_in(df)
    plot = df.assign(model_label=df["model"].map(model_label))
    order = [model_label(m) for m in models]
    pal = {model_label(m): MODEL_COLORS.get(m, (0.5, 0.5, 0.5)) for m in models}
    sns.boxplot(data=plot, x="model_label", y=score, hue="model_label", order=order,
                hue_order=order, palette=pal, showmeans=True, legend=False,
                meanprops={"marker": "D", "markerfacecolor": "white",
                           "markeredgecolor": "black", "markersize": 5},
                fliersize=2, ax=ax)
    if len(plot) <= 300:
        small = len(plot) <= 60
        sns.stripplot(data=plot, x="model_label", y=score, order=order, hue="model_label",
                      hue_order=order, palette=pal, legend=False, size=7 if small else 3,
                      alpha=0.9 if small else 0.5, edgecolor="0.15", linewidth=0.6, ax=ax,
                      jitter=0.15)
    counts = plot.groupby("model_label").size()
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels([f"{o}\n(n={counts.get(o, 0)})" for o in order])
    _color_model_ticks_prefix(ax, models)
    ax.set_xlabel("")
    ax.set_ylabel(ylabel)
    return ax


def _color_model_ticks_prefix(ax: Axes, models: Sequence[str]) -> None:
    for t, m in zip(ax.get_xticklabels(), models, strict=False):
        t.set_color(MODEL_COLORS.get(m, "black"))
        t.set_fontweight("bold")


def fig3(runs: pd.DataFrame, baseline: pd.DataFrame | None = None) -> Figure:
    """Fig 3: ARI (A) and Cox AIC (B) per model on TCGA over all successful configurations;
    the dashed red line in B is the covariates-only baseline AIC (age, gender, cancer type)."""
    fig, axes = new_figure(1, 2, figsize=(13, 5))
    model_boxplot(axes[0], runs, "ari")
    axes[0].set_title("Clustering vs cancer type (Leiden ARI)", fontsize=11)
    model_boxplot(axes[1], runs, "aic")
    axes[1].set_title("Overall survival (Cox AIC)", fontsize=11)
    if baseline is not None and len(baseline):
        b = baseline
        if "cohort" in b.columns and (b["cohort"] == "tcga").any():
            b = b[b["cohort"] == "tcga"]
        val = pd.to_numeric(b["aic"], errors="coerce").dropna()
        if len(val):
            axes[1].axhline(float(val.iloc[0]), ls="--", color=FAILED_COLOR, lw=2,
                            label=f"baseline: covariates only (AIC {float(val.iloc[0]):.5g})")
            axes[1].legend(loc="best", fontsize=9)
    for ax, letter in zip(axes, "AB", strict=True):
        panel_letter(ax, letter)
    fig.suptitle("Performance of VAE models in downstream tasks (TCGA)", fontsize=13)
    return fig


def fig_metric(runs: pd.DataFrame, score: str, label: str = "", *,
               runs_gtex: pd.DataFrame | None = None, reason_column: str | None = None,
               higher_is_better: bool | None = None) -> Figure:
    """``metric_<name>``: one registered downstream metric per model (box + points over the
    successful configurations), TCGA (A) and, when a GTEx-side run table has the column,
    GTEx (B). ``score`` is the metric's score column, ``label`` its display name."""
    label = label or score
    hint = {True: " (higher is better)", False: " (lower is better)"}.get(higher_is_better, "")
    gtex = runs_gtex is not None and len(runs_gtex) and score in runs_gtex.columns and \
        np.isfinite(pd.to_numeric(runs_gtex[score], errors="coerce")).any()
    fig, axes = new_figure(1, 2 if gtex else 1, figsize=(13 if gtex else 8, 5), squeeze=False)
    model_boxplot(axes[0, 0], runs, score, ylabel=label + hint, reason_column=reason_column)
    axes[0, 0].set_title(f"{label}: TCGA side", fontsize=11)
    if gtex:
        model_boxplot(axes[0, 1], runs_gtex, score, cohort="GTEx", ylabel=label + hint,
                      reason_column=reason_column)
        axes[0, 1].set_title(f"{label}: GTEx side", fontsize=11)
        for ax, letter in zip(axes[0], "AB", strict=True):
            panel_letter(ax, letter)
    fig.suptitle(f"{label} per model", fontsize=13)
    return fig


# --------------------------------------------------------------------------- Fig 4, S7
def hyperparameter_panel(ax: Axes, runs: pd.DataFrame, axis: str, cohort: str = "TCGA"
                         ) -> Axes:
    """Horizontal boxes of ARI (x) per model (y), one box per value of hyperparameter ``axis``
    (Fig 4 / S7 panels A-E). An empty GTEx table (no GTEx-side cohort) says so."""
    if axis not in HYPERPARAMETERS:
        raise ValueError(f"axis must be one of {HYPERPARAMETERS}, got {axis!r}")
    ok = successful(runs)
    df = ok[np.isfinite(ok["ari"].astype(float))] if len(ok) else ok
    title = f"Effect of {HYPERPARAMETER_LABELS[axis].lower()}"
    ax.set_title(title, fontsize=11)
    if not len(df):
        no_gtex = cohort == "GTEx" and (runs is None or not len(runs))
        no_data(ax, _NO_GTEX_TEXT if no_gtex else "no data\n(no successful run with ARI)")
        ax.set_xlabel("ARI")
        return ax
    values = _values_in(df, axis)
    labels = [value_label(axis, v) for v in values]
    lab_of = {value_label(axis, v): value_label(axis, v) for v in values}
    plot = df.assign(model_label=df["model"].map(model_label),
                     value=df[axis].map(lambda v: lab_of.get(value_label(axis, v))))
    models = _models_in(df)
    order = [model_label(m) for m in models]
    pal = dict(zip(labels, sns.color_palette("viridis" if axis in ("latent_dim", "lr")
                                             else "Set2", len(labels)), strict=True))
    sns.boxplot(data=plot, x="ari", y="model_label", hue="value", order=order,
                hue_order=labels, palette=pal, orient="h", fliersize=1.5, linewidth=0.8, ax=ax)
    if len(plot) <= 300:   # few runs (smoke/quick profiles): show every run as a dot too
        sns.stripplot(data=plot, x="ari", y="model_label", hue="value", order=order,
                      hue_order=labels, palette=pal, orient="h", dodge=True, legend=False,
                      size=4, edgecolor="0.15", linewidth=0.5, ax=ax)
    ax.set_xlabel("ARI (higher is better)")
    ax.set_ylabel("")
    _color_model_ticks(ax, "y")
    ax.legend(title=HYPERPARAMETER_LABELS[axis], fontsize=8, title_fontsize=9,
              loc="center left", bbox_to_anchor=(1.01, 0.5), ncol=1)
    return ax


def fig4(runs: pd.DataFrame, cohort: str = "TCGA") -> Figure:
    """Fig 4 (TCGA) / S7 (GTEx): ARI per model for each value of each hyperparameter, five
    panels: A latent dims, B learning rate, C initialization, D optimizer, E activation."""
    fig, axes = new_figure(2, 3, figsize=(20, 12))
    for ax, axis, letter in zip(axes.flat, HYPERPARAMETERS, "ABCDE", strict=False):
        hyperparameter_panel(ax, runs, axis, cohort)
        panel_letter(ax, letter)
    axes.flat[-1].remove()
    fig.suptitle(f"Effect of hyperparameters on VAE performance ({cohort}; ARI over all other "
                 "settings)", fontsize=14)
    return fig


# --------------------------------------------------------------------------- Fig 5
def fig5(runs: pd.DataFrame) -> Figure:
    """Fig 5: successful (blue) vs failed (red) trainings per value of each hyperparameter
    (columns), one row per model: which configurations diverged (status "failed")."""
    models = _models_in(runs) or list(registry.PAPER_MODELS)
    fig, axes = new_figure(len(models), len(HYPERPARAMETERS), figsize=(17, 2.3 * len(models) + 1),
                           sharey="row", squeeze=False)
    for i, m in enumerate(models):
        df = runs[runs["model"] == m] if len(runs) else runs
        for j, axis in enumerate(HYPERPARAMETERS):
            ax = axes[i, j]
            if not len(df):
                no_data(ax)
            else:
                values = _values_in(df, axis)
                labels = [value_label(axis, v) for v in values]
                ok = [int(((df[axis].map(lambda x, v=v: _same(x, v))) & (df["status"] == "ok"))
                          .sum()) for v in values]
                bad = [int(((df[axis].map(lambda x, v=v: _same(x, v))) & (df["status"] != "ok"))
                           .sum()) for v in values]
                x = np.arange(len(values))
                ax.bar(x, ok, color=OK_COLOR, label="successful")
                ax.bar(x, bad, bottom=ok, color=FAILED_COLOR, label="failed")
                for xi, b, o in zip(x, bad, ok, strict=True):
                    if b:
                        ax.text(xi, o + b, str(b), ha="center", va="bottom", fontsize=7,
                                color=FAILED_COLOR)
                ax.set_xticks(x)
                ax.set_xticklabels(labels, rotation=45 if axis in ("lr", "init") else 0,
                                   ha="right" if axis in ("lr", "init") else "center",
                                   fontsize=8)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            if i == 0:
                ax.set_title(HYPERPARAMETER_LABELS[axis], fontsize=11)
            if j == len(HYPERPARAMETERS) - 1 and len(df):
                top = max(df.groupby(a).size().max() for a in HYPERPARAMETERS)
                ax.set_ylim(0, 1.18 * max(top, 1))
            if j == 0:
                ax.set_ylabel(f"{model_label(m)}\ntrainings", color=MODEL_COLORS.get(m, "k"),
                              fontweight="bold")
    handles = [mpatches.Patch(color=OK_COLOR, label="successful"),
               mpatches.Patch(color=FAILED_COLOR, label="failed (loss or weights NaN/inf)")]
    fig.legend(handles=handles, loc="outside upper right", ncol=2)
    n_fail = int((runs["status"] != "ok").sum()) if len(runs) else 0
    fig.suptitle(f"Viability of hyperparameter settings ({len(runs)} trainings, {n_fail} failed)",
                 fontsize=14)
    return fig


# --------------------------------------------------------------------------- Fig 6
def fig6(runs_gtex: pd.DataFrame, concordance: pd.DataFrame) -> Figure:
    """Fig 6: GTEx ARI per model (A); TCGA (x) vs GTEx (y) ARI per configuration coloured by
    model, with Spearman rho (B)."""
    fig, axes = new_figure(1, 2, figsize=(13, 5.2))
    model_boxplot(axes[0], runs_gtex, "ari", cohort="GTEx")
    axes[0].set_title("Clustering vs tissue type on GTEx (ARI)", fontsize=11)
    ax = axes[1]
    df = concordance
    if df is not None and len(df):
        df = df[np.isfinite(df["ari_tcga"].astype(float)) & np.isfinite(df["ari_gtex"]
                                                                         .astype(float))]
    if runs_gtex is None or not len(runs_gtex):
        no_data(ax, _NO_GTEX_TEXT)
        ax.set_xlabel("ARI on TCGA")
        ax.set_ylabel("ARI on GTEx")
    elif df is None or not len(df):
        no_data(ax, "no data\n(no configuration with ARI on both TCGA and GTEx)")
        ax.set_xlabel("ARI on TCGA")
        ax.set_ylabel("ARI on GTEx")
    else:
        models = _models_in(df)
        plot = df.assign(Model=df["model"].map(model_label))
        sns.scatterplot(data=plot, x="ari_tcga", y="ari_gtex", hue="Model",
                        hue_order=[model_label(m) for m in models],
                        palette={model_label(m): MODEL_COLORS.get(m, "grey") for m in models},
                        s=22, alpha=0.75, edgecolor="none", ax=ax)
        lo = float(min(df["ari_tcga"].min(), df["ari_gtex"].min(), 0))
        hi = float(max(df["ari_tcga"].max(), df["ari_gtex"].max(), 0.05))
        ax.plot([lo, hi], [lo, hi], ls=":", color="0.5", lw=1, label="y = x")
        rho, n = spearman(df["ari_tcga"], df["ari_gtex"])
        ax.set_title(f"TCGA vs GTEx per configuration (Spearman {_fmt_rho(rho, n)})",
                     fontsize=11)
        ax.set_xlabel("ARI on TCGA")
        ax.set_ylabel("ARI on GTEx")
        ax.legend(fontsize=8, title="Model", loc="best")
    for a, letter in zip(axes, "AB", strict=True):
        panel_letter(a, letter)
    fig.suptitle("Clustering performance in the GTEx dataset", fontsize=13)
    return fig


# --------------------------------------------------------------------------- Fig 7
def fig7(scores: pd.DataFrame) -> Figure:
    """Fig 7: WSEPIN (nats) per model, one bar per latent dimension, value over each bar."""
    fig, ax = new_figure(1, 1, figsize=(13, 5))
    df = scores[np.isfinite(scores["wsepin"].astype(float))] if len(scores) else scores
    if not len(df):
        no_data(ax, "no data\n(no WSEPIN score)")
        ax.set_ylabel("WSEPIN")
        return fig
    models = _models_in(df)
    palette = latent_colors(df["latent_dim"].astype(int))
    dims = list(palette)
    plot = df.assign(Model=df["model"].map(model_label), latent_dim=df["latent_dim"].astype(int))
    sns.barplot(data=plot, x="Model", y="wsepin", hue="latent_dim",
                order=[model_label(m) for m in models], hue_order=dims,
                palette=palette, errorbar=None, ax=ax)
    for c in ax.containers:
        ax.bar_label(c, fmt="%.2f", fontsize=7, rotation=90, padding=2)
    ymax = float(df["wsepin"].max())
    ax.set_ylim(0, max(ymax * 1.25, 0.05))
    ax.set_ylabel("WSEPIN (nats; higher = more separable & informative)")
    ax.set_xlabel("")
    _color_model_ticks(ax, "x")
    ax.legend(title="Latent dims", ncol=len(dims), fontsize=9, loc="upper right")
    ax.set_title("WSEPIN of the recommended configuration per model and latent size",
                 fontsize=12)
    return fig


# --------------------------------------------------------------------------- Fig 8
def _factor_list(s) -> list[int]:
    if s is None or (isinstance(s, float) and np.isnan(s)):
        return []
    return [int(float(f)) for f in str(s).replace(",", ";").split(";") if f.strip() != ""]


def correlation_heatmap(ax: Axes, correlations: pd.DataFrame, disentangled: pd.DataFrame,
                        model: str, latent_dim: int = 10, vmax: float | None = None,
                        cbar: bool = True) -> Axes:
    """Spearman rho of each latent factor (rows) with each feature (columns) for one model and
    latent size; cells of disentangled features (1-2 encoding factors) boxed in red (Fig 8)."""
    c = correlations
    sel = c[(c["model"] == model) & (c["latent_dim"] == latent_dim)] if len(c) else c
    ax.set_title(f"{model_label(model)}, {latent_dim} latent dims", fontsize=11)
    if not len(sel):
        no_data(ax, f"no data\n({model_label(model)} at latent dim {latent_dim})")
        return ax
    feats = [f for f in DISENTANGLE_FEATURES if f in set(sel["feature"])]
    feats += sorted(set(sel["feature"]) - set(feats))
    mat = sel.pivot_table(index="factor", columns="feature", values="rho").reindex(columns=feats)
    mat.index = mat.index.astype(int)
    finite = np.abs(mat.to_numpy(dtype=float))
    finite = finite[np.isfinite(finite)]
    vmax = vmax or max(0.1, float(finite.max()) if finite.size else 0.1)
    sns.heatmap(mat, ax=ax, cmap="vlag", center=0, vmin=-vmax, vmax=vmax, annot=len(mat) <= 20,
                fmt=".2f", annot_kws={"fontsize": 7}, linewidths=0.4, linecolor="white",
                cbar=cbar, cbar_kws={"label": "Spearman ρ"})
    empty = set(mat.columns[mat.isna().all(axis=0)])
    ax.set_xticklabels([FEATURE_LABELS.get(f, f) + (" (n/a)" if f in empty else "")
                        for f in feats], rotation=45, ha="right")
    ax.set_xlabel("")
    ax.set_ylabel("Latent factor")
    ax.tick_params(axis="y", rotation=0)
    d = disentangled
    dsel = d[(d["model"] == model) & (d["latent_dim"] == latent_dim)] if len(d) else d
    rows = list(mat.index)
    for _, r in dsel.iterrows():
        if r["feature"] not in feats:
            continue
        j = feats.index(r["feature"])
        for f in _factor_list(r["factors"]):
            if f in rows:
                i = rows.index(f)
                ax.add_patch(mpatches.Rectangle((j, i), 1, 1, fill=False, edgecolor="red",
                                                lw=2.5, clip_on=False))
    n = dsel["feature"].nunique() if len(dsel) else 0
    ax.set_title(f"{model_label(model)}, {latent_dim} latent dims: {n} disentangled "
                 "feature(s)", fontsize=11)
    return ax


def fig8(correlations: pd.DataFrame, disentangled: pd.DataFrame,
         models: Sequence[str] = ("vanilla", "beta"), latent_dim: int = 10) -> Figure:
    """Fig 8: Spearman heatmaps (factor x feature) for vanilla VAE (A) and β-VAE (B) at 10
    latent dims; red boxes mark the factors of each disentangled feature (|rho| >= 0.1 on
    exactly one or two factors). When the run has no ``latent_dim`` (other levels), the
    smallest latent size it has is drawn."""
    fig, axes = new_figure(1, len(models), figsize=(7 * len(models), 6), squeeze=False)
    if len(correlations):
        present = sorted(set(pd.to_numeric(correlations["latent_dim"], errors="coerce")
                             .dropna().astype(int)))
        if present and latent_dim not in present:
            latent_dim = present[0]
    sel = correlations[correlations["latent_dim"] == latent_dim] if len(correlations) else None
    vmax = float(sel["rho"].abs().max()) if sel is not None and len(sel) else None
    vmax = vmax if vmax is not None and np.isfinite(vmax) else None
    for ax, m, letter in zip(axes[0], models, "ABCDEF", strict=False):
        correlation_heatmap(ax, correlations, disentangled, m, latent_dim,
                            vmax=max(vmax, 0.1) if vmax else None)
        panel_letter(ax, letter)
    fig.suptitle(f"Spearman correlation of latent factors with data features ({latent_dim} "
                 "latent dims; red boxes: disentangled features)", fontsize=13)
    if sel is not None and len(sel):
        has = pd.to_numeric(sel["rho"], errors="coerce").notna().groupby(sel["feature"]).any()
        absent = [f for f in DISENTANGLE_FEATURES if f in has.index and not has[f]]
        absent += sorted(f for f in has.index if not has[f] and f not in absent)
        if absent:
            fig.supxlabel("n/a: feature absent (no data in this cohort): " + ", ".join(
                FEATURE_LABELS.get(f, f) for f in absent), fontsize=10, color="0.35")
    return fig


# --------------------------------------------------------------------------- Fig 9, S8
def rmig_heatmap(ax: Axes, rmig: pd.DataFrame, latent_dim: int, vmax: float = 0.1,
                 cbar: bool = True) -> Axes:
    """Normalised RMIG (model rows x feature columns) at one latent size (Fig 9 / S8 panel)."""
    sel = rmig[rmig["latent_dim"] == latent_dim] if len(rmig) else rmig
    ax.set_title(f"{latent_dim} latent dims", fontsize=11)
    if not len(sel) or not np.isfinite(sel["rmig"].astype(float)).any():
        no_data(ax, f"no data\n(latent dim {latent_dim} not run)")
        return ax
    models = _models_in(sel)
    feats = [f for f in DISENTANGLE_FEATURES if f in set(sel["feature"])]
    feats += sorted(set(sel["feature"]) - set(feats))
    mat = (sel.pivot_table(index="model", columns="feature", values="rmig")
           .reindex(index=models, columns=feats))
    mat.index = [model_label(m) for m in models]
    sns.heatmap(mat, ax=ax, cmap="rocket_r", vmin=0, vmax=vmax, annot=True, fmt=".3f",
                annot_kws={"fontsize": 7}, linewidths=0.4, linecolor="white", cbar=cbar,
                cbar_kws={"label": "normalised RMIG"})
    ax.set_xticklabels([FEATURE_LABELS.get(f, f) for f in feats], rotation=45, ha="right")
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.tick_params(axis="y", rotation=0)
    _color_model_ticks(ax, "y")
    return ax


def fig_rmig(rmig: pd.DataFrame, latent_dims: Sequence[int] = (10, 20),
             title: str = "Normalised RMIG of VAE models on data features") -> Figure:
    """Fig 9 (latent dims 10, 20) and S8 (30, 50, 100, 200): normalised RMIG heatmaps, one per
    latent size, on a shared colour scale (0 to max(0.1, largest value))."""
    n = len(latent_dims)
    ncols = 2 if n > 1 else 1
    nrows = int(np.ceil(n / ncols))
    fig, axes = new_figure(nrows, ncols, figsize=(8 * ncols, 4.6 * nrows), squeeze=False)
    vals = pd.to_numeric(rmig["rmig"], errors="coerce") if len(rmig) else pd.Series(dtype=float)
    vmax = max(0.1, float(vals.max())) if vals.notna().any() else 0.1
    for k, d in enumerate(latent_dims):
        ax = axes.flat[k]
        rmig_heatmap(ax, rmig, int(d), vmax=vmax)
        panel_letter(ax, "ABCDEFGH"[k])
    for ax in list(axes.flat)[n:]:
        ax.remove()
    fig.suptitle(title, fontsize=13)
    return fig


def fig9(rmig: pd.DataFrame) -> Figure:
    """Fig 9: normalised RMIG heatmaps at 10 (A) and 20 (B) latent dims."""
    return fig_rmig(rmig, (10, 20), "Normalised RMIG of VAE models on data features "
                    "(Fig 9: 10 and 20 latent dims)")


def figS8(rmig: pd.DataFrame) -> Figure:
    """S8 Fig: normalised RMIG heatmaps at 30, 50, 100 and 200 latent dims (A-D); a run with
    other latent sizes gets a panel for each size it has besides Fig 9's 10 and 20."""
    dims: tuple[int, ...] = (30, 50, 100, 200)
    if len(rmig):
        present = sorted(set(pd.to_numeric(rmig["latent_dim"], errors="coerce").dropna()
                             .astype(int)) - {10, 20})
        if present and not set(present) <= set(dims):
            dims = tuple(present)
    label = "-".join(str(d) for d in (dims[0], dims[-1])) if len(dims) > 1 else str(dims[0])
    return fig_rmig(rmig, dims, "Normalised RMIG of VAE models on data features "
                    f"(S8 Fig: {label} latent dims)")


# --------------------------------------------------------------------------- S6
def figS6(runs: pd.DataFrame, model: str = "vanilla", frac: float = 2 / 3) -> Figure:
    """S6 Fig: ARI (y) vs AIC (x) of one model's successful configurations with a LOWESS
    smoother (statsmodels, ``frac``) and Spearman rho (paper: -0.82 for vanilla VAE)."""
    fig, ax = new_figure(1, 1, figsize=(7, 5.5))
    ok = successful(runs)
    df = ok[ok["model"] == model] if len(ok) else ok
    if len(df):
        df = df[np.isfinite(df["ari"].astype(float)) & np.isfinite(df["aic"].astype(float))]
    ax.set_xlabel("AIC (lower is better)")
    ax.set_ylabel("ARI (higher is better)")
    if not len(df):
        mine = ok[ok["model"] == model] if len(ok) else ok
        no_data(ax, _missing_text(mine, "aic", f"{model_label(model)}: no run with both ARI "
                                  "and AIC"))
        return fig
    ax.scatter(df["aic"], df["ari"], s=14, alpha=0.45, color=MODEL_COLORS.get(model, "grey"),
               edgecolor="none", label="configuration")
    if len(df) >= 4 and np.ptp(df["aic"].astype(float)) > 0:
        sm = lowess(df["ari"].astype(float), df["aic"].astype(float), frac=frac)
        ax.plot(sm[:, 0], sm[:, 1], color=REGRESSION_COLOR, lw=2.2, label="LOWESS")
    rho, n = spearman(df["aic"], df["ari"])
    ax.set_title(f"{model_label(model)}: ARI vs AIC (Spearman {_fmt_rho(rho, n)})", fontsize=11)
    ax.legend(loc="best", fontsize=9)
    return fig
