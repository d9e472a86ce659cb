"""Build every figure and table of the catalog (``plots.catalog``) from a run's tidy tables.

The paper's figures and tables are registered here (name, caption, builder, tables read,
Results section). ``draw(name, t, out_dir)`` makes one figure, saves it as PNG + PDF and returns
it; ``show`` does the same and displays the caption above it (notebook 06); ``build_all`` writes
every output of the catalog (registered metrics and extra models included) and the scorecard.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from .. import paths, registry
from .. import tables as T
from . import catalog
from . import figures as F
from . import paper_tables as P
from .io import load_tables, save_figure, save_table
from .scorecard import write_scorecard

Tables = dict[str, pd.DataFrame]

#: Table 1 note for a feature the cohort lacks (same words as ``disentangle.FEATURE_ABSENT``).
FEATURE_ABSENT = "feature absent"

S = catalog.SECTIONS


def _fig(name, caption, builder, reads, section, function):
    catalog.register_figure(name, caption, builder, reads=reads, section=section,
                            function=function, paper=True)


_fig("fig2_vanilla_loss_vs_downstream",
     "Fig 2: vanilla VAE validation loss (up to its 90th percentile) against ARI (A) and AIC (B), "
     "coloured by latent size with a regression line and 95% band, and UMAPs of two "
     "configurations with near-equal loss but low (C) and high (D) ARI.",
     lambda t: F.fig2(t[T.RUNS_TCGA], t[T.FIG2_PAIR], t[T.FIG2_UMAP], percentile=90),
     (T.RUNS_TCGA, T.FIG2_PAIR, T.FIG2_UMAP), S[0], "plots.figures.fig2")
for _i, (_m, _pct) in enumerate((("beta", 90), ("betatc", 90), ("dip", 85), ("iwae", 90),
                                 ("cat", 90)), 1):
    _fig(f"figS{_i}_{_m}_loss_vs_downstream",
         f"S{_i} Fig: Fig 2A/B for {registry.model_label(_m)}"
         + (", at the 85th loss percentile as in the paper." if _pct == 85 else "."),
         lambda t, m=_m, p=_pct: F.fig_loss_vs_downstream(t[T.RUNS_TCGA], m, percentile=p),
         (T.RUNS_TCGA,), S[0], "plots.figures.fig_loss_vs_downstream")
_fig("figS6_vanilla_ari_vs_aic",
     "S6 Fig: ARI against AIC of the vanilla VAE configurations with a LOWESS smoother.",
     lambda t: F.figS6(t[T.RUNS_TCGA], "vanilla"), (T.RUNS_TCGA,), S[0], "plots.figures.figS6")
_fig("fig3_models_ari_aic",
     "Fig 3: ARI (A) and Cox AIC (B) of every successful configuration per model on TCGA; the "
     "dashed red line is the covariates-only baseline AIC.",
     lambda t: F.fig3(t[T.RUNS_TCGA], t[T.BASELINE_AIC]), (T.RUNS_TCGA, T.BASELINE_AIC), S[1],
     "plots.figures.fig3")
_fig("fig4_hyperparameters_tcga",
     "Fig 4: ARI per model for each value of each hyperparameter (A latent size, B learning "
     "rate, C initialisation, D optimizer, E activation) on TCGA.",
     lambda t: F.fig4(t[T.RUNS_TCGA], cohort="TCGA"), (T.RUNS_TCGA,), S[2], "plots.figures.fig4")
_fig("fig5_failures",
     "Fig 5: successful (blue) vs failed (red) trainings per hyperparameter value, one row per "
     "model.", lambda t: F.fig5(t[T.RUNS_TCGA]), (T.RUNS_TCGA,), S[3], "plots.figures.fig5")
_fig("fig6_gtex",
     "Fig 6: GTEx ARI per model (A) and TCGA vs GTEx ARI per configuration with Spearman rho (B).",
     lambda t: F.fig6(t[T.RUNS_GTEX], t[T.CONCORDANCE]), (T.RUNS_GTEX, T.CONCORDANCE), S[4],
     "plots.figures.fig6")
_fig("figS7_hyperparameters_gtex", "S7 Fig: Fig 4 on GTEx.",
     lambda t: F.fig4(t[T.RUNS_GTEX], cohort="GTEx"), (T.RUNS_GTEX,), S[4], "plots.figures.fig4")
_fig("fig7_wsepin", "Fig 7: WSEPIN per model and latent size, value over each bar.",
     lambda t: F.fig7(t[T.DISENTANGLE_SCORES]), (T.DISENTANGLE_SCORES,), S[5],
     "plots.figures.fig7")
_fig("fig8_spearman_heatmaps",
     "Fig 8: Spearman correlation of each latent factor with each data feature for vanilla VAE "
     "(A) and β-VAE (B) at 10 latent dims; red boxes mark disentangled features.",
     lambda t: F.fig8(t[T.CORRELATIONS], t[T.DISENTANGLED_FEATURES], ("vanilla", "beta"), 10),
     (T.CORRELATIONS, T.DISENTANGLED_FEATURES), S[5], "plots.figures.fig8")
_fig("fig9_rmig_10_20",
     "Fig 9: normalised RMIG per model and feature at 10 (A) and 20 (B) latent dims.",
     lambda t: F.fig9(t[T.RMIG]), (T.RMIG,), S[5], "plots.figures.fig9")
_fig("figS8_rmig_30_200", "S8 Fig: normalised RMIG at 30, 50, 100 and 200 latent dims.",
     lambda t: F.figS8(t[T.RMIG]), (T.RMIG,), S[5], "plots.figures.figS8")
catalog.register_table(
    "table1_disentangled_features",
    "Table 1: number of disentangled data features (|Spearman rho| >= 0.1 on one or two "
    "factors) per model and latent size.",
    lambda t: P.table1(t[T.DISENTANGLE_SCORES], t[T.DISENTANGLED_FEATURES]),
    title="Table 1. Number of disentangled data features per model and latent size",
    reads=(T.DISENTANGLE_SCORES, T.DISENTANGLED_FEATURES), section=S[5],
    function="plots.paper_tables.table1", paper=True)
catalog.register_table(
    "tableS1_constants", "S1 Table: the constants held fixed for each model (published loss "
    "scale).", lambda t: P.tableS1(), title="S1 Table. Constants held fixed per model",
    section=S[6], function="plots.paper_tables.tableS1", paper=True)
catalog.register_table(
    "tableS2_loss_spearman",
    "S2 Table: |Spearman rho| of validation loss vs ARI and vs AIC per model, with n.",
    lambda t: P.tableS2(t[T.RUNS_TCGA]),
    title="S2 Table. |Spearman rho| of validation loss vs ARI and vs AIC per model",
    reads=(T.RUNS_TCGA,), section=S[0], function="plots.paper_tables.tableS2", paper=True)


class _Builders(dict):
    """``FIGURE_BUILDERS`` / ``TABLE_BUILDERS`` of earlier versions: views of the catalog."""

    def __init__(self, kind: str):
        super().__init__()
        self._kind = kind

    def _items(self) -> dict:
        outs = catalog.outputs(kind=self._kind)
        if self._kind == "figure":
            return {o.name: o.builder for o in outs}
        return {o.name: (o.builder, o.title) for o in outs}

    def __getitem__(self, name):
        return self._items()[name]

    def __contains__(self, name):
        return name in self._items()

    def __iter__(self):
        return iter(self._items())

    def __len__(self):
        return len(self._items())

    def keys(self):
        return self._items().keys()

    def items(self):
        return self._items().items()

    def values(self):
        return self._items().values()

    def get(self, name, default=None):
        return self._items().get(name, default)


#: figure basename -> function of the tables dict returning the Figure (from the catalog)
FIGURE_BUILDERS: dict[str, Callable[[Tables], Figure]] = _Builders("figure")
#: table basename -> (function of the tables dict, Markdown title) (from the catalog)
TABLE_BUILDERS: dict[str, tuple[Callable[[Tables], pd.DataFrame], str]] = _Builders("table")

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
    """Features notebook 05 could not score because the cohort lacks them.

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


def _get(name: str, kind: str, t: Tables) -> catalog.Output:
    o = catalog.output(name, t)
    if o.kind != kind:
        raise KeyError(f"{name!r} is a {o.kind}, not a {kind}; use "
                       f"{'make_table' if o.kind == 'table' else 'draw'}.")
    return o


def draw(name: str, t: Tables, out_dir: str | os.PathLike | None = None) -> Figure:
    """Make figure ``name`` (a figure of ``plots.catalog``) from tables ``t``; when
    ``out_dir`` is given, also save it there as ``<name>.png`` (300 dpi) and ``<name>.pdf``."""
    fig = _get(name, "figure", t).builder(t)
    if out_dir is not None:
        save_figure(fig, name, out_dir)
    return fig


def make_table(name: str, t: Tables, out_dir: str | os.PathLike | None = None
               ) -> pd.DataFrame:
    """Make table ``name`` (a table of ``plots.catalog``); when ``out_dir`` is given, also save
    it as ``<name>.csv`` and ``<name>.md``."""
    o = _get(name, "table", t)
    df = o.builder(t)
    if out_dir is not None:
        save_table(df, name, out_dir, title=o.title, note=_note(name, t))
    return df


def show(name: str, t: Tables, out_dir: str | os.PathLike | None = None):
    """Notebook 06: display the caption of output ``name`` (from the catalog), then make it
    (``draw`` or ``make_table``, saved in ``out_dir``) and return it for display.

    First displays an empty HTML anchor ``<a id="<name>"></a>``, which the executed notebook's
    HTML keeps: the results page links each output to ``06_figures.html#<name>``."""
    from IPython.display import HTML, Markdown, display

    o = catalog.output(name, t)
    display(HTML(f'<a id="{html.escape(o.name)}"></a>'))
    display(Markdown(f"**{o.caption}** *(drawn by `vae_core.{o.function}`)*"
                     if o.function else f"**{o.caption}**"))
    if o.kind == "figure":
        fig = draw(name, t, out_dir)
        display(fig)
        plt.close(fig)
        return None
    return make_table(name, t, out_dir)


def expected_files(t: Tables | None = None) -> tuple[str, ...]:
    """Every file ``build_all`` writes for tables ``t``: each catalog output's files (registered
    metrics and extra models included) and the scorecard."""
    return tuple(f for o in catalog.outputs(t) for f in catalog.files_of(o)) + ("scorecard.md",)


def missing_outputs(out_dir: str | os.PathLike, min_bytes: int = 1,
                    t: Tables | None = None) -> list[str]:
    """Files of ``expected_files(t)`` absent from ``out_dir`` or smaller than ``min_bytes``."""
    out = Path(out_dir)
    return [f for f in expected_files(t)
            if not (out / f).is_file() or (out / f).stat().st_size < min_bytes]


def build_all(profile: str, base_dir: str | os.PathLike | None = None,
              source: str = "simulated", t: Tables | None = None,
              gtex_source: str | None = None) -> list[Path]:
    """Write every output of the catalog and the scorecard of a run into ``figures/<profile>/``.

    ``t`` defaults to the run's tables (``io.load_tables``). Returns the written paths;
    raises ``RuntimeError`` naming any file of ``expected_files(t)`` that is still missing.
    """
    t = load_tables(profile, base_dir) if t is None else t
    out = paths.figures_dir(profile, base_dir)
    for o in catalog.outputs(t):
        if o.kind == "figure":
            plt.close(draw(o.name, t, out))
        else:
            make_table(o.name, t, out)
    write_scorecard(t, out, source=source, profile=profile, gtex_source=gtex_source)
    missing = missing_outputs(out, t=t)
    if missing:
        raise RuntimeError(f"notebook 06 outputs missing in {out}: {missing}")
    return [out / f for f in expected_files(t)]
