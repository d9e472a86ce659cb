"""Build every figure and table of ``expected.EXPECTED_FILES`` from a run's tidy tables.

``draw(name, t, out_dir)`` makes one figure (by its basename in ``expected.FIGURES``), saves it
as PNG + PDF and returns it, so notebook 06 stays one call per figure; ``build_all`` does all.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from .. import paths
from .. import tables as T
from . import figures as F
from . import paper_tables as P
from .expected import EXPECTED_FILES, FIGURES, TABLES
from .io import load_tables, save_figure, save_table
from .scorecard import write_scorecard

Tables = dict[str, pd.DataFrame]

#: Table 1 note for a feature the cohort lacks (same words as ``disentangle.FEATURE_ABSENT``).
FEATURE_ABSENT = "feature absent"

#: figure basename -> function of the tables dict returning the Figure
FIGURE_BUILDERS: dict[str, Callable[[Tables], Figure]] = {
    "fig2_vanilla_loss_vs_downstream":
        lambda t: F.fig2(t[T.RUNS_TCGA], t[T.FIG2_PAIR], t[T.FIG2_UMAP], percentile=90),
    "fig3_models_ari_aic": lambda t: F.fig3(t[T.RUNS_TCGA], t[T.BASELINE_AIC]),
    "fig4_hyperparameters_tcga": lambda t: F.fig4(t[T.RUNS_TCGA], cohort="TCGA"),
    "fig5_failures": lambda t: F.fig5(t[T.RUNS_TCGA]),
    "fig6_gtex": lambda t: F.fig6(t[T.RUNS_GTEX], t[T.CONCORDANCE]),
    "fig7_wsepin": lambda t: F.fig7(t[T.DISENTANGLE_SCORES]),
    "fig8_spearman_heatmaps":
        lambda t: F.fig8(t[T.CORRELATIONS], t[T.DISENTANGLED_FEATURES], ("vanilla", "beta"), 10),
    "fig9_rmig_10_20": lambda t: F.fig9(t[T.RMIG]),
    "figS1_beta_loss_vs_downstream": lambda t: F.fig_loss_vs_downstream(t[T.RUNS_TCGA], "beta"),
    "figS2_betatc_loss_vs_downstream":
        lambda t: F.fig_loss_vs_downstream(t[T.RUNS_TCGA], "betatc"),
    "figS3_dip_loss_vs_downstream":
        lambda t: F.fig_loss_vs_downstream(t[T.RUNS_TCGA], "dip", percentile=85),
    "figS4_iwae_loss_vs_downstream": lambda t: F.fig_loss_vs_downstream(t[T.RUNS_TCGA], "iwae"),
    "figS5_cat_loss_vs_downstream": lambda t: F.fig_loss_vs_downstream(t[T.RUNS_TCGA], "cat"),
    "figS6_vanilla_ari_vs_aic": lambda t: F.figS6(t[T.RUNS_TCGA], "vanilla"),
    "figS7_hyperparameters_gtex": lambda t: F.fig4(t[T.RUNS_GTEX], cohort="GTEx"),
    "figS8_rmig_30_200": lambda t: F.figS8(t[T.RMIG]),
}

#: table basename -> (function of the tables dict, Markdown title)
TABLE_BUILDERS: dict[str, tuple[Callable[[Tables], pd.DataFrame], str]] = {
    "table1_disentangled_features": (
        lambda t: P.table1(t[T.DISENTANGLE_SCORES], t[T.DISENTANGLED_FEATURES]),
        "Table 1. Number of disentangled data features per model and latent size"),
    "tableS1_constants": (lambda t: P.tableS1(), "S1 Table. Constants held fixed per model"),
    "tableS2_loss_spearman": (
        lambda t: P.tableS2(t[T.RUNS_TCGA]),
        "S2 Table. |Spearman rho| of validation loss vs ARI and vs AIC per model"),
}

_TABLE_NOTES = {
    "table1_disentangled_features": (
        "A feature is disentangled when |Spearman rho| >= 0.1 on exactly one or two latent "
        "factors. Paper's values: " + "; ".join(
            f"{m}: " + " ".join(f"{d}:{v}" for d, v in row.items())
            for m, row in P.PAPER_TABLE1.items())),
    "tableS2_loss_spearman": (
        "Over every successful training (no percentile cut); n = trainings. Paper (vanilla "
        "VAE): 0.53 (ARI), 0.48 (AIC)."),
}


def absent_features(t: Tables) -> list[str]:
    """Features notebook 05 could not score because the cohort lacks them (SPEC 2.5).

    From DISENTANGLE_SCORES ``features_absent`` (";"-joined) when present, else the features
    whose Spearman rho is NaN for every factor of every run in CORRELATIONS.
    """
    scores = t.get(T.DISENTANGLE_SCORES)
    if scores is not None and "features_absent" in scores.columns and len(scores):
        vals = scores["features_absent"].dropna().astype(str)
        out: list[str] = []
        for v in vals:
            out += [f for f in v.split(";") if f and f not in out]
        return out
    corr = t.get(T.CORRELATIONS)
    if corr is None or not len(corr):
        return []
    rho = pd.to_numeric(corr["rho"], errors="coerce")
    has = rho.notna().groupby(corr["feature"], sort=False).any()
    return [str(f) for f, ok in has.items() if not ok]


def _note(name: str, t: Tables) -> str | None:
    note = _TABLE_NOTES.get(name)
    if name == "table1_disentangled_features":
        absent = absent_features(t)
        if absent:
            note = (f"n/a: {FEATURE_ABSENT}: {', '.join(absent)} (no data in this cohort: "
                    "not scored, never counted as disentangled). " + (note or ""))
    return note


def _check(name: str, registry: dict) -> None:
    if name not in registry:
        raise KeyError(f"unknown output {name!r}; valid names: {sorted(registry)}")


def draw(name: str, t: Tables, out_dir: str | os.PathLike | None = None) -> Figure:
    """Make figure ``name`` (a key of ``expected.FIGURES``) from tables ``t``; when
    ``out_dir`` is given, also save it there as ``<name>.png`` (300 dpi) and ``<name>.pdf``."""
    _check(name, FIGURE_BUILDERS)
    fig = FIGURE_BUILDERS[name](t)
    if out_dir is not None:
        save_figure(fig, name, out_dir)
    return fig


def make_table(name: str, t: Tables, out_dir: str | os.PathLike | None = None
               ) -> pd.DataFrame:
    """Make table ``name`` (a key of ``expected.TABLES``); when ``out_dir`` is given, also save
    it as ``<name>.csv`` and ``<name>.md``."""
    _check(name, TABLE_BUILDERS)
    fn, title = TABLE_BUILDERS[name]
    df = fn(t)
    if out_dir is not None:
        save_table(df, name, out_dir, title=title, note=_note(name, t))
    return df


def missing_outputs(out_dir: str | os.PathLike, min_bytes: int = 1) -> list[str]:
    """Files of ``EXPECTED_FILES`` absent from ``out_dir`` or smaller than ``min_bytes``."""
    out = Path(out_dir)
    return [f for f in EXPECTED_FILES
            if not (out / f).is_file() or (out / f).stat().st_size < min_bytes]


def build_all(profile: str, base_dir: str | os.PathLike | None = None,
              source: str = "simulated", t: Tables | None = None,
              gtex_source: str | None = None) -> list[Path]:
    """Write every figure, table and the scorecard of a run into ``figures/<profile>/``.

    ``t`` defaults to the run's tables (``io.load_tables``). Returns the written paths;
    raises ``RuntimeError`` naming any file of ``EXPECTED_FILES`` that is still missing.
    """
    t = load_tables(profile, base_dir) if t is None else t
    out = paths.figures_dir(profile, base_dir)
    for name in FIGURES:
        fig = draw(name, t, out)
        plt.close(fig)
    for name in TABLES:
        make_table(name, t, out)
    write_scorecard(t, out, source=source, profile=profile, gtex_source=gtex_source)
    missing = missing_outputs(out)
    if missing:
        raise RuntimeError(f"notebook 06 outputs missing in {out}: {missing}")
    return [out / f for f in EXPECTED_FILES]
