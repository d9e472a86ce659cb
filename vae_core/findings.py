"""What a run shows, notebook by notebook, next to what the paper reports.

Each notebook (01-06) ends with a "What this run shows" cell that calls :func:`show`; it prints
short Markdown sentences computed from this run's outputs (the cohort files of notebook 01, the
grid store of notebook 02, the tidy tables of notebooks 03-05 in ``results/<profile>/tables/``),
never hard-coded results. Each sentence puts this run's number beside the paper's (Eltager et
al., PLoS ONE 2023; section names and figure numbers as the paper prints them) and says why a
difference is expected: simulated cohorts (the cohort's provenance), fewer epochs (the grid
records' ``max_epochs``), a fraction of the grid (the run table's design). What a run lacks
gives a "not computed because ..." sentence, never an exception.

The paper's numbers come from where the scorecard keeps them (``plots.scorecard`` rows,
``plots.paper_tables``); the few this module adds are the paper's cohort sizes (Methods,
"Datasets"), its repeats, and its qualitative WSEPIN statements (Results, "Latent space
disentanglement ..."), which the scorecard does not hold. The grid's paper levels come from
``keys.GRID_AXES`` and the protocol's from ``train.config.TrainConfig`` defaults.

    >>> from vae_core import findings
    >>> findings.show("03", "quick")                # in a notebook: displays Markdown
    >>> text = findings.report("03", t=my_tables)   # the same text from tables in memory

Torch-free: it reads tables, records and h5ad metadata only.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from . import paths, registry, tables
from .keys import DISENTANGLE_FEATURES, GRID_AXES, STATUS_FAILED, UNS_PROVENANCE
from .plots.io import NO_GTEX, TABLE_COLUMNS, na_reason, normalise, successful
from .plots.paper_tables import PAPER_S2_VANILLA, PAPER_TABLE1
from .plots.scorecard import NA, NO, YES, design_summary, scorecard_rows
from .plots.stats import spearman
from .train.config import TrainConfig

#: The words every missing-input sentence uses (tests look for them).
NOT_COMPUTED = "not computed because"
STEPS: tuple[str, ...] = ("01", "02", "03", "04", "05", "06")

#: The paper's cohorts (Methods, "Datasets"): samples, labels, genes kept (and genes in).
PAPER_COHORTS: dict[str, dict[str, object]] = {
    "tcga": {"samples": 11014, "labels": 33, "genes_kept": 5000, "genes_in": None,
             "label_kind": "cancer types", "name": "TCGA"},
    "gtex": {"samples": 17382, "labels": 30, "genes_kept": 5000, "genes_in": 56200,
             "label_kind": "tissues", "name": "GTEx"},
}
#: Trainings per configuration (Methods, "Evaluation of the effect of hyperparameters").
PAPER_REPEATS: dict[str, int] = {"tcga": 10, "gtex": 1}
#: Fig 7 (Results, "Latent space disentanglement is not trivial ..."): the best WSEPIN is
#: beta-VAE's at 10 latent dims; every model has zero WSEPIN from 50 dims on; DIP-VAE and
#: CAT-VAE are the lowest.
PAPER_WSEPIN_BEST: tuple[str, int] = ("beta", 10)
PAPER_WSEPIN_ZERO_FROM = 50
PAPER_WSEPIN_LOWEST: tuple[str, ...] = ("dip", "cat")
#: Monte-Carlo pairs of the WSEPIN/RMIG estimators at paper size (docs/design.md,
#: "Disentanglement").
PAPER_MC_SAMPLES = 10000

_PAPER_PROTOCOL = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
#: Configurations per model in the paper's grid: the product of the paper's levels.
PAPER_CONFIGS_PER_MODEL = int(np.prod([len(v) for k, v in GRID_AXES.items() if k != "model"]))

_R_LOSS = "Results, \"The validation loss does not always reflect downstream performance\""
_R_MODELS = "Results, \"β-TCVAE and DIP-VAE are the best performing models\""
_R_HYPER = "Results, \"Choice of hyperparameters affects the VAE performance\""
_R_GTEX = "Results, \"Selection of hyperparameters generalizes to GTEx dataset\""
_R_DIS = "Results, \"Latent space disentanglement is not trivial to achieve\""
_PRODUCER = {tables.RUNS_TCGA: "03", tables.BASELINE_AIC: "03", tables.FIG2_PAIR: "03",
             tables.FIG2_UMAP: "03", tables.RUNS_GTEX: "04", tables.CONCORDANCE: "04",
             tables.CORRELATIONS: "05", tables.DISENTANGLE_SCORES: "05", tables.RMIG: "05",
             tables.DISENTANGLED_FEATURES: "05"}


# --------------------------------------------------------------------------- small helpers

def _label(m) -> str:
    return registry.model_label(m)


def _bullet(topic: str, text: str) -> str:
    return f"- **{topic}.** {text}"


def _missing(topic: str, why: str) -> str:
    return _bullet(topic, f"{NOT_COMPUTED[0].upper()}{NOT_COMPUTED[1:]} {why}.")


def _verdict(agrees: str) -> str:
    return {YES: "agrees with the paper", NO: "differs from the paper",
            NA: "not comparable with the paper"}.get(agrees, str(agrees))


def _num(series) -> pd.Series:
    v = pd.to_numeric(pd.Series(series), errors="coerce")
    return v[np.isfinite(v)]


def _model_order(models) -> list[str]:
    names = registry.model_names()
    present = [str(m) for m in pd.unique(pd.Series(list(models)).dropna())]
    return [m for m in names if m in present] + sorted(set(present) - set(names))


def _empty(t: Mapping[str, pd.DataFrame], name: str) -> bool:
    df = t.get(name)
    return df is None or not len(df)


def _absent(name: str, where: str) -> str:
    nb = _PRODUCER.get(name)
    who = f" (notebook {nb} writes it)" if nb else ""
    return f"`{name}` has no rows {where}{who}"


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _fmt_lr(v) -> str:
    return f"{float(v):.0e}"


def _per_model_means(ok: pd.DataFrame, col: str) -> dict[str, tuple[float, int]]:
    """Mean of ``col`` per model over the finite values of successful runs (registry order)."""
    if not len(ok) or col not in ok.columns:
        return {}
    out = {}
    for m in _model_order(ok["model"]):
        v = _num(ok.loc[ok["model"].astype(str) == m, col])
        if len(v):
            out[m] = (float(v.mean()), len(v))
    return out


def _ranking_text(means: Mapping[str, tuple[float, int]], higher: bool, fmt: str) -> str:
    order = sorted(means, key=lambda m: -means[m][0] if higher else means[m][0])
    return ", ".join(f"{_label(m)} {means[m][0]:{fmt}} (n={means[m][1]})" for m in order)


def _best_two_hold(means: Mapping[str, tuple[float, int]], higher: bool = True) -> str:
    """The paper's Fig 3 rule: beta-TCVAE and DIP-VAE each better than every other paper
    model's mean. YES/NO, or NA when either is missing or fewer than three models."""
    paper = {m: v for m, v in means.items() if registry.is_paper_model(m)}
    if not {"betatc", "dip"} <= set(paper) or len(paper) < 3:
        return NA
    sign = 1 if higher else -1
    others = [sign * v[0] for m, v in paper.items() if m not in ("betatc", "dip")]
    return YES if min(sign * paper["betatc"][0], sign * paper["dip"][0]) > max(others) else NO


def _card_agrees(card, section: str, words: str, default: str) -> str:
    r = card.row(section, words)
    return r["agrees"] if r is not None else default


class _Card:
    """The scorecard rows of tables ``t`` computed once; rows found by section and words."""

    def __init__(self, t: Mapping[str, pd.DataFrame], gtex_source: str | None = None):
        self._t, self._gtex_source, self._rows = t, gtex_source, None

    @property
    def rows(self) -> pd.DataFrame:
        if self._rows is None:
            self._rows = scorecard_rows(self._t, gtex_source=self._gtex_source)
        return self._rows

    def row(self, section: str, *words: str) -> dict | None:
        r = self.rows
        hit = r[r["section"].astype(str).str.startswith(section)]
        for w in words:
            hit = hit[hit["claim"].astype(str).str.contains(w, regex=False)]
        return hit.iloc[0].to_dict() if len(hit) else None

    def verdict(self, section: str, *words: str) -> str:
        """``Scorecard: <verdict> (rule: ...).`` of the first matching row, or ""."""
        r = self.row(section, *words)
        return "" if r is None else f"Scorecard: {_verdict(r['agrees'])} (rule: {r['rule']})."

    def sentence(self, section: str, *words: str, this_run: bool = False) -> str:
        """``Paper (<section>): <value>; <verdict> (rule: ...).`` ("" when no row); with
        ``this_run`` the scorecard row's value for this run first."""
        r = self.row(section, *words)
        if r is None:
            return ""
        here = f"Scorecard row \"{r['claim']}\": this run {r['this_run']}; " if this_run else ""
        return (f"{here}{'p' if here else 'P'}aper ({r['section']}): {r['paper']}; "
                f"{_verdict(r['agrees'])} (rule: {r['rule']}).")


# --------------------------------------------------------------------------- inputs of a run

def _decode(val):
    if isinstance(val, str):
        s = val.split(":", 1)[1] if val.startswith("json:") else val
        try:
            return json.loads(s)
        except ValueError:
            return {}
    return dict(val) if isinstance(val, Mapping) else {}


def cohort_summary(adata) -> dict:
    """Sizes, labels, source and preprocessing of a preprocessed cohort (an AnnData, backed or
    not): what notebook 01's findings report."""
    obs = adata.obs
    prov = _decode(adata.uns.get(UNS_PROVENANCE, {}))
    pre = prov.get("preprocess", {}) if isinstance(prov, Mapping) else {}
    surv = 0
    if {"os_time", "os_event"} <= set(obs.columns):
        t = pd.to_numeric(obs["os_time"], errors="coerce")
        e = pd.to_numeric(obs["os_event"], errors="coerce")
        surv = int((t.notna() & e.notna()).sum())
        events = int(e[t.notna() & e.notna()].sum())
    else:
        events = 0
    present = [f for f in DISENTANGLE_FEATURES
               if f in obs.columns and obs[f].notna().any()]
    return {"samples": int(adata.n_obs), "genes_kept": int(adata.n_vars),
            "labels": int(obs["label"].nunique()) if "label" in obs.columns else 0,
            "source": str(prov.get("source", "unknown")),
            "genes_in": pre.get("n_genes_in"), "deviation": pre.get("deviation"),
            "dropped_no_label": pre.get("n_samples_dropped_no_label"),
            "survival_samples": surv, "events": events, "features": present}


def read_cohort(profile: str, cohort: str, base_dir=None) -> dict | None:
    """:func:`cohort_summary` of ``results/<profile>/data/<cohort>.h5ad`` (metadata only, the
    matrix stays on disk), or None when the file is absent or unreadable."""
    path = paths.data_path(profile, cohort, base_dir)
    if not path.is_file():
        return None
    import anndata as ad

    try:
        a = ad.read_h5ad(path, backed="r")
    except Exception:  # noqa: BLE001 - a broken file is reported as absent, not raised
        return None
    try:
        return cohort_summary(a)
    finally:
        if getattr(a, "file", None) is not None:
            a.file.close()


def read_records(profile: str, store: str, base_dir=None) -> pd.DataFrame:
    """The grid records of store ``results/<profile>/grid/<store>/`` (empty when absent)."""
    from .grid import load_records

    d = paths.store_dir(profile, store, base_dir)
    if not d.exists():
        return pd.DataFrame()
    return load_records(d)


def _sources(profile, base_dir, cohorts=("tcga", "gtex")) -> dict[str, str]:
    out = {}
    for c in cohorts:
        s = read_cohort(profile, c, base_dir)
        if s is not None:
            out[c] = s["source"]
    return out


# --------------------------------------------------------------------------- why it differs

def _why_differ(sources: Mapping[str, str] | None = None, runs: pd.DataFrame | None = None,
                records: pd.DataFrame | None = None, cohort: str = "tcga",
                extra: list[str] | None = None, grid: bool = True) -> str:
    """One bullet: the reasons this run's numbers are expected to differ from the paper's."""
    reasons = []
    sim = [c for c, s in (sources or {}).items() if str(s).lower().startswith("simulated")]
    if sim:
        names = " and ".join(f"{PAPER_COHORTS.get(c, {}).get('name', c)}-side" for c in sim)
        reasons.append(
            f"the {names} cohort{'s are' if len(sim) > 1 else ' is'} simulated "
            "(`vae_core.data.simulate`, as the cohort's provenance records), so agreement or "
            "disagreement shows how the pipeline behaves on planted structure, not what TCGA "
            "or GTEx show (docs/design.md, \"Simulated cohorts\")")
    paper_max = int(_PAPER_PROTOCOL["max_epochs"])
    rec = records if records is not None and len(records) else None
    if rec is not None and "max_epochs" in rec.columns:
        cap = _num(rec["max_epochs"])
        ep = _num(rec["epochs"]) if "epochs" in rec.columns else pd.Series([], dtype=float)
        if len(cap) and cap.max() < paper_max:
            reasons.append(
                f"trainings were capped at {int(cap.max())} epochs (median {ep.median():.0f} "
                f"epochs) where the paper trains up to {paper_max:,} with early stopping after "
                f"{int(_PAPER_PROTOCOL['patience'])} epochs without improvement (Methods, "
                "\"Evaluation of the effect of hyperparameters\"), so "
                + ("slow configurations (low learning rates, SGD) stop before they converge"
                   if grid else "the trainings stop before they converge"))
    elif runs is not None and len(runs) and "epochs" in runs.columns:
        ep = _num(runs["epochs"])
        if len(ep) and ep.max() < paper_max:
            reasons.append(f"trainings ran at most {int(ep.max())} epochs (median "
                           f"{ep.median():.0f}) where the paper trains up to {paper_max:,} "
                           "with early stopping")
    d = design_summary(runs) if runs is not None and len(runs) else None
    if d is not None:
        per = sorted(set(d["configs_per_model"].values()))
        per_txt = str(per[0]) if len(per) == 1 else f"{per[0]}-{per[-1]}"
        rep = PAPER_REPEATS.get(cohort, 1)
        if per[-1] < PAPER_CONFIGS_PER_MODEL or d["repeats"] < rep:
            lv = " x ".join(str(n) for n in d["levels"].values())
            reasons.append(
                f"the grid has {per_txt} configuration{'s' if per[-1] > 1 else ''} per model "
                f"({d['design']} of the {lv} levels present per axis: "
                f"{', '.join(d['levels'])}) and {d['repeats']} "
                f"repeat{'s' if d['repeats'] > 1 else ''}, where the paper trains all {PAPER_CONFIGS_PER_MODEL:,} per model "
                f"{_times(rep)}, so each mean rests on fewer configurations (docs/design.md, "
                "\"Designs\")")
    reasons += extra or []
    known = bool(sources) and (rec is not None or (runs is not None and len(runs)))
    if not reasons and not known:
        return _missing("Why this run can differ from the paper",
                        "neither the cohorts' provenance nor the grid records or run table are "
                        "available")
    if not reasons:
        return _bullet("Why this run can differ from the paper",
                       "No reason recorded: real cohorts, the paper's epochs and its full grid; "
                       "differences are then findings.")
    text = "; ".join(reasons) + "."
    return _bullet("Why this run can differ from the paper", text[0].upper() + text[1:])


# --------------------------------------------------------------------------- 01

def _findings_01(*, profile="quick", base_dir=None, cohorts=None, **_) -> list[str]:
    if cohorts is None:
        cohorts = {c: read_cohort(profile, c, base_dir) for c in ("tcga", "gtex")}
    else:
        cohorts = {c: (cohort_summary(a) if not isinstance(a, Mapping) else a)
                   for c, a in cohorts.items()}
    lines = []
    for c in ("tcga", "gtex"):
        p = PAPER_COHORTS[c]
        topic = f"{p['name']}-side cohort"
        s = cohorts.get(c)
        if s is None:
            why = (NO_GTEX + " (`gtex_source: none`, so notebook 04 and Fig 6 / S7 say n/a)"
                   if c == "gtex" and cohorts.get("tcga") is not None else
                   f"results/{profile}/data/{c}.h5ad is absent (notebook 01 did not write it)")
            lines.append(_missing(topic, why))
            continue
        gin = f" of {s['genes_in']:,}" if s.get("genes_in") else ""
        pin = f" of {p['genes_in']:,}" if p.get("genes_in") else ""
        dev = s.get("deviation") or "mean"
        txt = (f"This run: {s['samples']:,} samples, {s['labels']} {p['label_kind']}, "
               f"{s['genes_kept']:,}{gin} genes kept (top by {dev} absolute deviation, "
               f"z-scored), source {s['source']}. Paper (Methods, \"Datasets\"): "
               f"{p['samples']:,} samples, {p['labels']} {p['label_kind']}, "
               f"{p['genes_kept']:,}{pin} genes.")
        diffs = [k for k in ("samples", "labels", "genes_kept") if s[k] != p[k]]
        txt += (" Same sizes as the paper." if not diffs else
                f" Differs in {', '.join(k.replace('_', ' ') for k in diffs)}"
                + (": expected, the cohort is simulated at the profile's size"
                   if s["source"].lower().startswith("simulated") else
                   ": check the download and the profile's `n_top_genes`") + ".")
        if s.get("dropped_no_label"):
            txt += f" {s['dropped_no_label']:,} samples without a label were dropped."
        lines.append(_bullet(topic, txt))
    s = cohorts.get("tcga")
    if s is not None:
        if s["survival_samples"]:
            lines.append(_bullet(
                "Survival and features (TCGA side)",
                f"{s['survival_samples']:,} samples have overall survival ({s['events']:,} "
                "events), so notebook 03 can fit the Cox models (Eq 8); features for notebook "
                f"05: {', '.join(s['features']) or 'none'} (paper: age, days to metastasis, "
                "immune infiltration, SBS 1/2/5/13/15/40 and gender; Methods, \"Evaluation of "
                "disentanglement\")."))
        else:
            lines.append(_missing("Survival (TCGA side)",
                                  "the cohort has no overall survival (`os_time`, `os_event`), "
                                  "so every AIC of notebook 03 will be n/a"))
    return lines


# --------------------------------------------------------------------------- 02

def _rates(df: pd.DataFrame, axis: str) -> pd.DataFrame:
    """Failed / total per value of ``axis`` (value order: lr descending, else as given)."""
    g = df.assign(_f=(df["status"] == STATUS_FAILED).astype(int)).groupby(axis, sort=True)
    out = pd.DataFrame({"failed": g["_f"].sum(), "n": g["_f"].size()})
    out["rate"] = out["failed"] / out["n"]
    if axis == "lr":
        out = out.sort_index(ascending=False)
    return out


def _findings_02(*, profile="quick", base_dir=None, records=None, sources=None, **_
                 ) -> list[str]:
    if records is None:
        records = read_records(profile, "tcga", base_dir)
    if records is None or not len(records) or "status" not in records.columns:
        return [_missing("Trainings", f"the grid store results/{profile}/grid/tcga/ has no "
                                      "records (notebook 02 trains them)")]
    if sources is None:
        sources = _sources(profile, base_dir, ("tcga",))
    runs = records
    n = len(runs)
    failed = runs[runs["status"] == STATUS_FAILED]
    lines = []
    per_model = _rates(runs, "model")
    pm = ", ".join(f"{_label(m)} {int(r.failed)}/{int(r.n)}"
                   for m, r in per_model.loc[_model_order(per_model.index)].iterrows())
    lines.append(_bullet(
        "Trainings", f"{n} trainings, {len(failed)} failed ({100 * len(failed) / n:.0f} %); "
        f"failed per model: {pm}. Paper ({_R_HYPER}, Fig 5): most failures come from β-TCVAE "
        "and DIP-VAE, CAT-VAE never failed."))
    card = _Card({tables.RUNS_TCGA: normalise(runs, tables.RUNS_TCGA)})
    if "lr" in runs.columns and runs["lr"].nunique() > 0:
        r = _rates(runs, "lr")
        txt = ", ".join(f"lr {_fmt_lr(v)}: {int(x.failed)}/{int(x.n)}" for v, x in r.iterrows())
        if not len(failed):
            verdict = "no training failed, so this run cannot show which learning rates fail"
        elif len(r) < 2:
            verdict = "one learning rate only, so the trend cannot be read"
        else:
            mono = bool(np.all(np.diff(r["rate"].to_numpy()) <= 0))
            top = r["rate"].iloc[0] > r["rate"].iloc[-1]
            verdict = ("consistent with the paper: failures fall as the learning rate falls"
                       if mono and top else
                       "the failures do not fall with the learning rate here, unlike the "
                       "paper")
        lines.append(_bullet(
            "Failures by learning rate",
            f"{txt}. Paper ({_R_HYPER}, Fig 5): the learning rate is one of the main causes of "
            "failure, the smaller it is the less likely a training fails, and β-TCVAE fails "
            f"at the largest learning rate whatever the other hyperparameters: {verdict}. "
            + card.sentence("Fig 5", "beta-TCVAE fails", this_run=True)))
    axes = [a for a in GRID_AXES if a != "model" and a in runs.columns
            and runs[a].nunique() > 1]
    if len(failed) and axes:
        spread = {a: float(_rates(runs, a)["rate"].pipe(lambda s: s.max() - s.min()))
                  for a in axes}
        order = sorted(spread, key=lambda a: -spread[a])
        txt = ", ".join(f"{a} {spread[a]:.2f}" for a in order)
        lines.append(_bullet(
            "Which hyperparameters decide failure",
            f"Spread of the failure rate over each axis's values (largest minus smallest): "
            f"{txt}; here {order[0]} matters most. Paper ({_R_HYPER}): the learning rate "
            "first, optimizer and initialisation less, latent size and activation minimally."))
    elif axes:
        lines.append(_missing("Which hyperparameters decide failure",
                              "no training failed in this run"))
    cat = card.sentence("Fig 5", "CAT-VAE never fails", this_run=True)
    if cat:
        lines.append(_bullet("CAT-VAE", cat))
    lines.append(_why_differ(sources, runs, records))
    return lines


# --------------------------------------------------------------------------- 03

def _findings_03(*, profile="quick", base_dir=None, t=None, sources=None, records=None, **_
                 ) -> list[str]:
    t = _tables(t, profile, base_dir)
    where = _where(profile, t)
    runs = t.get(tables.RUNS_TCGA, pd.DataFrame())
    if not len(runs):
        return [_missing("Downstream scores", _absent(tables.RUNS_TCGA, where))]
    if sources is None:
        sources = _sources(profile, base_dir, ("tcga",))
    if records is None:
        records = read_records(profile, "tcga", base_dir)
    ok = successful(runs)
    card = _Card(t)
    lines = []
    ari = _per_model_means(ok, "ari")
    if ari:
        best = max(ari, key=lambda m: ari[m][0])
        lines.append(_bullet(
            "Mean ARI per model (Leiden clusters vs cancer type)",
            f"{_ranking_text(ari, True, '.3f')}; best on average: {_label(best)}. "
            f"Paper ({_R_MODELS}, Fig 3A): β-TCVAE and DIP-VAE best on average; scorecard: "
            f"{_verdict(_card_agrees(card, 'Fig 3', '(ARI)', _best_two_hold(ari)))}."))
    else:
        lines.append(_missing("Mean ARI per model", "no successful run has a finite ARI ("
                              + (na_reason(runs, "ari") or "no data") + ")"))
    no_surv = na_reason(ok if len(ok) else runs, "aic")
    aic = _per_model_means(ok, "aic")
    if aic:
        lines.append(_bullet(
            "Mean AIC per model (Cox model, lower is better)",
            f"{_ranking_text(aic, False, '.1f')}. Paper ({_R_MODELS}, Fig 3B): β-TCVAE and "
            "DIP-VAE best on average here too; scorecard: "
            f"{_verdict(_card_agrees(card, 'Fig 3', '(AIC)', _best_two_hold(aic, False)))}."))
    else:
        lines.append(_missing("Mean AIC per model", no_surv or "no successful run"))
    # loss vs downstream (vanilla), Fig 2 / S2 Table / S6
    van = ok[ok["model"].astype(str) == "vanilla"] if len(ok) else ok
    r, n = spearman(van["val_loss"], van["ari"]) if len(van) else (np.nan, len(van))
    paper = PAPER_S2_VANILLA["loss_vs_ari"]
    if np.isfinite(r):
        others = []
        for m in _model_order(ok["model"]):
            if m == "vanilla":
                continue
            sub = ok[ok["model"].astype(str) == m]
            rm, nm = spearman(sub["val_loss"], sub["ari"])
            if np.isfinite(rm):
                others.append(f"{_label(m)} {rm:+.2f} (n={nm})")
        lines.append(_bullet(
            "Validation loss vs ARI (vanilla VAE)",
            f"Spearman rho = {r:+.2f} over {n} configurations (|rho| = {abs(r):.2f}"
            + (f"; other models: {', '.join(others)}" if others else "") + "). "
            f"Paper ({_R_LOSS}, Fig 2A, S2 Table): |rho| = {paper:g}, a correlation, yet "
            "configurations with the same loss reach very different ARI, so the loss does not "
            "always reflect downstream performance. "
            + card.verdict("Fig 2A", "validation loss vs ARI")))
    else:
        lines.append(_missing("Validation loss vs ARI (vanilla VAE)",
                              f"fewer than 3 successful vanilla configurations with a loss and "
                              f"an ARI, or no spread in them (n = {n})"))
    if no_surv:
        lines.append(_missing("Validation loss vs AIC and ARI vs AIC (vanilla VAE)", no_surv))
    else:
        r2, n2 = spearman(van["val_loss"], van["aic"]) if len(van) else (np.nan, 0)
        r3, n3 = spearman(van["ari"], van["aic"]) if len(van) else (np.nan, 0)
        if np.isfinite(r2) or np.isfinite(r3):
            lines.append(_bullet(
                "Validation loss vs AIC, ARI vs AIC (vanilla VAE)",
                f"Loss vs AIC: rho = {r2:+.2f} (n={n2}); ARI vs AIC: rho = {r3:+.2f} (n={n3}). "
                f"Paper ({_R_LOSS}, Fig 2B, S6 Fig): |rho| = "
                f"{PAPER_S2_VANILLA['loss_vs_aic']:g} for loss vs AIC (scorecard: "
                f"{_verdict(_card_agrees(card, 'Fig 2B', 'validation loss vs AIC', NA))}); ARI "
                "and AIC highly concordant. " + card.sentence("S6", "ARI vs AIC")))
        else:
            lines.append(_missing("Validation loss vs AIC (vanilla VAE)",
                                  f"fewer than 3 vanilla configurations with an AIC (n = {n2})"))
    pair = card.row("Fig 2C/D")
    if pair is not None and pair["agrees"] != NA:
        lines.append(_bullet("Equal loss, different ARI (Fig 2C/D)",
                             f"this run: {pair['this_run']}. Paper ({_R_LOSS}): "
                             f"{pair['paper']}; scorecard: {_verdict(pair['agrees'])}."))
    else:
        lines.append(_missing("Equal loss, different ARI (Fig 2C/D)",
                              _absent(tables.FIG2_PAIR, where)))
    lines.append(_baseline_line(t, ok, where, no_surv))
    lines.append(_why_differ(sources, runs, records))
    return lines


def _baseline_line(t, ok: pd.DataFrame, where: str, no_surv: str) -> str:
    topic = "Embedding vs covariates-only Cox model"
    base = t.get(tables.BASELINE_AIC, pd.DataFrame())
    if no_surv:
        return _missing(topic, no_surv)
    if base is None or not len(base):
        return _missing(topic, _absent(tables.BASELINE_AIC, where))
    b = _num(base["aic"])
    if not len(b):
        return _missing(topic, "the covariates-only model has no AIC ("
                        + (na_reason(base, "aic") or "no data") + ")")
    b = float(b.iloc[0])
    a = pd.to_numeric(ok["aic"], errors="coerce")
    fin = ok[np.isfinite(a)]
    a = a[np.isfinite(a)]
    if not len(a):
        return _missing(topic, "no successful run has a finite AIC")
    k = int((a < b).sum())
    per = []
    for m in _model_order(fin["model"]):
        am = a[fin["model"].astype(str) == m]
        per.append(f"{_label(m)} {int((am < b).sum())}/{len(am)}")
    cov = ""
    if tables.COVARIATES in base.columns and str(base[tables.COVARIATES].iloc[0]) not in ("",
                                                                                       "nan"):
        names = [("cancer type" if c == "label" else c)
                 for c in str(base[tables.COVARIATES].iloc[0]).split(";")]
        cov = f" (covariates: {', '.join(names)})"
    return _bullet(topic, (
        f"{k} of {len(a)} successful configurations ({100 * k / len(a):.0f} %) have a lower "
        f"AIC (Eq 8) than the covariates-only model's {b:.1f}{cov}, i.e. their embedding adds "
        f"information on survival beyond the covariates; per model: {', '.join(per)}. Paper "
        f"({_R_MODELS}, Fig 3B): the covariates-only model is the dashed baseline (age, gender, "
        "cancer type); the paper gives no count."))


# --------------------------------------------------------------------------- 04

def _findings_04(*, profile="quick", base_dir=None, t=None, sources=None, records=None,
                 gtex_source=None, n_gtex=None, **_) -> list[str]:
    t = _tables(t, profile, base_dir)
    where = _where(profile, t)
    gtex = t.get(tables.RUNS_GTEX, pd.DataFrame())
    off = gtex_source is not None and str(gtex_source).strip().lower() == "none"
    if off or not len(gtex):
        why = (NO_GTEX + " (`gtex_source: none`)" if off
               else f"{NO_GTEX}: " + _absent(tables.RUNS_GTEX, where))
        return [_missing("TCGA-GTEx comparison", why)]
    if sources is None:
        sources = _sources(profile, base_dir)
    if records is None:
        records = read_records(profile, "gtex", base_dir)
    ok = successful(gtex)
    lines = []
    nf = int((gtex["status"] == STATUS_FAILED).sum())
    ari = _per_model_means(ok, "ari")
    if ari:
        lines.append(_bullet(
            "Mean ARI per model on GTEx (Leiden clusters vs tissue)",
            f"{len(gtex)} trainings, {nf} failed; {_ranking_text(ari, True, '.3f')}. Paper "
            f"({_R_GTEX}, Fig 6A): β-TCVAE and DIP-VAE again best on average; this run: "
            f"{_verdict(_best_two_hold(ari))} by the rule of Fig 3 (each better than every "
            "other paper model's mean)."))
    else:
        lines.append(_missing("Mean ARI per model on GTEx", "no successful GTEx-side run has "
                              "a finite ARI"))
    conc = t.get(tables.CONCORDANCE, pd.DataFrame())
    card = _Card(t, gtex_source)
    if conc is None or not len(conc):
        lines.append(_missing("TCGA-GTEx concordance", _absent(tables.CONCORDANCE, where)))
    else:
        r, n = spearman(conc["ari_tcga"], conc["ari_gtex"])
        if np.isfinite(r):
            lines.append(_bullet(
                "TCGA-GTEx concordance (Fig 6B)",
                f"Spearman rho of the configuration-wise ARI, TCGA vs GTEx = {r:+.2f} over {n} "
                f"configurations. {card.sentence('Fig 6B')} The paper ({_R_GTEX}) reads its "
                "rho as the hyperparameter effects carrying over from TCGA to GTEx."))
        else:
            lines.append(_missing("TCGA-GTEx concordance",
                                  f"fewer than 3 configurations with an ARI on both cohorts, or "
                                  f"no spread in them (n = {n})"))
    lines.append(_sgd_line(successful(t.get(tables.RUNS_TCGA, pd.DataFrame())), ok))
    extra = []
    size = n_gtex if n_gtex is not None else (read_cohort(profile, "gtex", base_dir) or {}).get(
        "samples")
    paper_n = int(PAPER_COHORTS["gtex"]["samples"])
    if size is not None and int(size) < paper_n:
        extra.append(f"the GTEx-side cohort has {int(size):,} samples where the paper's has "
                     f"{paper_n:,} (Methods, \"Datasets\"), so its KL weight B/N is larger")
    lines.append(_why_differ(sources, gtex, records, cohort="gtex", extra=extra))
    return lines


def _sgd_line(ok_tcga: pd.DataFrame, ok_gtex: pd.DataFrame) -> str:
    topic = "SGD on TCGA and on GTEx (Fig 4D, S7 Fig)"
    parts, diff = [], {}
    for name, ok in (("TCGA", ok_tcga), ("GTEx", ok_gtex)):
        if not len(ok) or "optimizer" not in ok.columns:
            continue
        a = pd.to_numeric(ok["ari"], errors="coerce")
        sgd = a[(ok["optimizer"].astype(str) == "sgd") & np.isfinite(a)]
        rest = a[(ok["optimizer"].astype(str) != "sgd") & np.isfinite(a)]
        if len(sgd) and len(rest):
            diff[name] = float(sgd.mean() - rest.mean())
            parts.append(f"{name}: SGD {sgd.mean():.3f} (n={len(sgd)}) vs the others "
                         f"{rest.mean():.3f} (n={len(rest)}), difference "
                         f"{sgd.mean() - rest.mean():+.3f}")
    if not parts:
        return _missing(topic, "SGD and another optimizer are not both in this grid with "
                               "successful runs")
    here = ""
    if len(diff) == 2:
        tc, gt = diff["TCGA"] < 0, diff["GTEx"] < 0
        verdict = ("as in the paper" if tc and not gt else
                   "unlike the paper on GTEx" if tc else
                   "unlike the paper on TCGA" if not gt else "unlike the paper on both")
        here = (f" Here SGD is {'below' if tc else 'not below'} the others on TCGA and "
                f"{'below' if gt else 'not below'} them on GTEx: {verdict}.")
    return _bullet(topic, "Mean ARI on " + "; ".join(parts) + f". Paper ({_R_GTEX}, S7 Fig): SGD "
                   "lowers the average ARI on TCGA (Fig 4D) but not on GTEx; the other "
                   "effects carry over." + here)


# --------------------------------------------------------------------------- 05

def _findings_05(*, profile="quick", base_dir=None, t=None, sources=None, records=None,
                 wsepin_samples=None, **_) -> list[str]:
    t = _tables(t, profile, base_dir)
    where = _where(profile, t)
    sc = t.get(tables.DISENTANGLE_SCORES, pd.DataFrame())
    if sources is None:
        sources = _sources(profile, base_dir, ("tcga",))
    if records is None:
        records = read_records(profile, "disentangle", base_dir)
    card = _Card(t)
    lines = []
    w = sc.assign(wsepin=pd.to_numeric(sc["wsepin"], errors="coerce")) if len(sc) else sc
    w = w[np.isfinite(w["wsepin"])] if len(w) else w
    if not len(w):
        lines.append(_missing("WSEPIN (Fig 7)", _absent(tables.DISENTANGLE_SCORES, where)
                              if not len(sc) else "no configuration has a finite WSEPIN"))
    else:
        per = []
        for d, g in w.groupby("latent_dim", sort=True):
            b = g.loc[g["wsepin"].idxmax()]
            per.append(f"{int(d)}: {_label(b['model'])} {b['wsepin']:.3f}")
        top = w.loc[w["wsepin"].idxmax()]
        pm, pd_ = PAPER_WSEPIN_BEST
        same = [str(top["model"]) == pm, int(top["latent_dim"]) == pd_]
        best_txt = ("the same model and size" if all(same) else
                    "the same model, another size" if same[0] else
                    "another model, the same size" if same[1] else
                    "another model and size")
        high = w[w["latent_dim"] >= PAPER_WSEPIN_ZERO_FROM]
        mean_m = w.groupby("model")["wsepin"].mean().sort_values()
        low2 = [str(m) for m in mean_m.index[:len(PAPER_WSEPIN_LOWEST)]]
        txt = (f"Highest WSEPIN per latent size: {'; '.join(per)}. Overall best: "
               f"{_label(top['model'])} at {int(top['latent_dim'])} dims ({top['wsepin']:.3f}); "
               f"paper ({_R_DIS}, Fig 7): {_label(pm)} at {pd_} dims — "
               f"{best_txt}.")
        if len(high):
            txt += (f" From {PAPER_WSEPIN_ZERO_FROM} dims on the largest WSEPIN is "
                    f"{high['wsepin'].max():.3f} (paper: zero for every model).")
        if len(mean_m) > len(PAPER_WSEPIN_LOWEST):
            txt += (f" Lowest mean WSEPIN: {', '.join(_label(m) for m in low2)} (paper: "
                    f"{', '.join(_label(m) for m in PAPER_WSEPIN_LOWEST)}).")
        bound = card.sentence("Fig 7", "WSEPIN low")
        lines.append(_bullet("WSEPIN (Fig 7, Eq 9-10)", f"{txt} {bound}".strip()))
    lines.append(_table1_line(t, where, card))
    lines.append(_rmig_line(t, where, card))
    absent = _absent_features(sc)
    if absent:
        lines.append(_missing(f"Features {', '.join(absent)}",
                              "this cohort has no values for them (their correlations and RMIG "
                              "are n/a and they never count as disentangled)"))
    extra = []
    if wsepin_samples is not None and int(wsepin_samples) < PAPER_MC_SAMPLES:
        extra.append(f"WSEPIN and RMIG used {int(wsepin_samples):,} Monte-Carlo pairs instead "
                     f"of {PAPER_MC_SAMPLES:,} (docs/design.md, \"Disentanglement\"), so small "
                     "values are noisy")
    lines.append(_why_differ(sources, None, records, extra=extra, grid=False))
    return lines


def _absent_features(sc: pd.DataFrame) -> list[str]:
    if not len(sc) or "features_absent" not in sc.columns:
        return []
    out: list[str] = []
    for v in sc["features_absent"].dropna().astype(str):
        out += [f for f in v.split(";") if f and f != "nan" and f not in out]
    return out


def _table1_line(t, where: str, card: _Card) -> str:
    topic = "Disentangled features (Table 1, Eq 11)"
    sc = t.get(tables.DISENTANGLE_SCORES, pd.DataFrame())
    if not len(sc):
        return _missing(topic, _absent(tables.DISENTANGLE_SCORES, where))
    v = sc.assign(n=pd.to_numeric(sc["n_disentangled"], errors="coerce")).dropna(subset=["n"])
    if not len(v):
        return _missing(topic, "no configuration has a count of disentangled features")
    parts, totals = [], []
    for d, g in v.groupby("latent_dim", sort=True):
        d = int(d)
        here = int(g["n"].sum())
        totals.append(here)
        models = [str(m) for m in g["model"]]
        pap = [PAPER_TABLE1[m][d] for m in models if m in PAPER_TABLE1 and d in PAPER_TABLE1[m]]
        ptxt = f"paper {sum(pap)}" if pap else "paper: n/a"
        parts.append(f"{d} dims: {here} over {len(g)} models ({ptxt})")
    top = max(v for row in PAPER_TABLE1.values() for v in row.values())
    trend = ""
    if len(totals) > 1:
        falls = bool(np.all(np.diff(totals) <= 0)) and totals[0] > totals[-1]
        trend = ("Here too the total falls as the latent size grows. " if falls else
                 "Here the total does not fall steadily with the latent size. ")
    rows = card.rows
    t1 = rows[rows["section"] == "Table 1"]
    counts = {k: int((t1["agrees"] == k).sum()) for k in (YES, NO, NA)}
    return _bullet(topic, (
        "Features encoded by exactly one or two factors with |rho| >= 0.1, summed over models: "
        + "; ".join(parts) + f". Paper ({_R_DIS}, Table 1): the smaller the latent size, the "
        f"more features are disentangled, at most {top} per model. " + trend
        + f"Scorecard (within 1 feature of the paper per model): {counts[YES]} models agree, "
        f"{counts[NO]} differ, {counts[NA]} n/a."))


def _rmig_line(t, where: str, card: _Card) -> str:
    topic = "Normalised RMIG (Fig 9, S8, Eq 12)"
    rm = t.get(tables.RMIG, pd.DataFrame())
    v = rm.assign(rmig=pd.to_numeric(rm["rmig"], errors="coerce")) if len(rm) else rm
    v = v[np.isfinite(v["rmig"])] if len(v) else v
    if not len(v):
        return _missing(topic, _absent(tables.RMIG, where) if not len(rm)
                        else "no feature has a finite RMIG")
    top = v.loc[v["rmig"].idxmax()]
    per = v.groupby("feature")["rmig"].max().sort_values(ascending=False)
    txt = ", ".join(f"{f} {x:.3f}" for f, x in per.items())
    return _bullet(topic, (
        f"Largest: {top['rmig']:.3f} ({_label(top['model'])}, {int(top['latent_dim'])} dims, "
        f"{top['feature']}); largest per feature: {txt}. "
        + card.sentence("Fig 9", "RMIG low")))


# --------------------------------------------------------------------------- 06

def _findings_06(*, profile="quick", base_dir=None, t=None, sources=None, gtex_source=None,
                 source=None, out_dir=None, **_) -> list[str]:
    from_disk = t is None
    t = _tables(t, profile, base_dir)
    if all(_empty(t, n) for n in t):
        return [_missing("Scorecard", f"no table of results/{profile}/tables/ has rows "
                                      "(notebooks 03-05 write them)")]
    rows = scorecard_rows(t, gtex_source=gtex_source)
    n_yes, n_no = int((rows["agrees"] == YES).sum()), int((rows["agrees"] == NO).sum())
    n_na = int((rows["agrees"] == NA).sum())
    lines = [_bullet("Scorecard", f"Of {len(rows)} claims and numbers of the paper, {n_yes} "
                                  f"agree, {n_no} disagree and {n_na} are not evaluable here "
                                  "(figures/<profile>/scorecard.md has each row and its rule).")]
    no = rows[rows["agrees"] == NO]
    if len(no):
        lines.append(_bullet("Disagreeing rows", "; ".join(
            f"{r.section}: {r.claim} (paper {r.paper}, this run {r.this_run})"
            for r in no.itertuples()) + "."))
    na = rows[rows["agrees"] == NA]
    if len(na):
        counts = pd.Series([_na_why(r) for r in na.itertuples()]).value_counts()
        lines.append(_bullet("Not evaluable", "; ".join(f"{k} ({v} row{'s' if v > 1 else ''})"
                                                        for k, v in counts.items()) + "."))
    if out_dir is None and from_disk:
        out_dir = paths.figures_dir(profile, base_dir)
    if out_dir is not None and Path(out_dir).is_dir():
        from .plots.build import expected_files, missing_outputs

        exp = expected_files(t)
        miss = missing_outputs(out_dir, t=t)
        lines.append(_bullet("Outputs", f"{len(exp) - len(miss)} of {len(exp)} catalog files "
                                        f"written to {out_dir}"
                                        + (f"; missing: {', '.join(miss)}" if miss else "")
                                        + "."))
    if sources is None:
        sources = {}
        if source is not None:
            sources["tcga"] = str(source)
        if gtex_source is not None and str(gtex_source).lower() != "none":
            sources["gtex"] = str(gtex_source)
        if not sources:
            sources = _sources(profile, base_dir)
    lines.append(_why_differ(sources, t.get(tables.RUNS_TCGA), None))
    return lines


def _na_why(r) -> str:
    """Why a scorecard row is n/a, in a few words."""
    txt = str(r.this_run) if str(r.this_run).startswith("n/a") else str(r.paper)
    txt = re.sub(r"^n/a:?\s*", "", txt).strip()
    txt = re.sub(r"^\((.*)\)$", r"\1", txt).strip()
    if not txt:
        return ("too few values (n < 3) or no spread" if "needs n" in str(r.rule)
                else f"no value for \"{r.claim}\"")
    return txt


# --------------------------------------------------------------------------- public API

def _tables(t, profile, base_dir) -> dict[str, pd.DataFrame]:
    if t is None:
        from .plots.io import load_tables

        return load_tables(profile, base_dir)
    return {name: normalise(t[name], name) if name in t and t[name] is not None
            else normalise(pd.DataFrame(columns=list(cols)), name)
            for name, cols in TABLE_COLUMNS.items()}


def _where(profile, t) -> str:
    return f"in results/{profile}/tables/ (absent or empty)"


_STEPS: dict[str, Callable[..., list[str]]] = {
    "01": _findings_01, "02": _findings_02, "03": _findings_03, "04": _findings_04,
    "05": _findings_05, "06": _findings_06}


def sentences(step: str, profile: str = "quick", base_dir: str | os.PathLike | None = None,
              **inputs) -> list[str]:
    """The Markdown bullets of notebook ``step`` ("01".."06").

    Inputs are read from the run (``profile``, ``base_dir``) unless given: ``t`` (the tables
    dict, ``vae_core.tables`` names; 03-06), ``cohorts`` ({"tcga": AnnData or summary dict};
    01), ``records`` (grid records; 02, and 03-05 for the epoch cap), ``sources`` ({cohort:
    provenance source}), ``gtex_source`` (04, 06), ``source`` (06), ``wsepin_samples`` (05),
    ``out_dir`` (06), ``n_gtex`` (04: the GTEx-side cohort's size, else read from its file). A
    topic whose input is missing gives a "not computed because ..." bullet;
    an unexpected error in one step is reported the same way, never raised.
    """
    step = f"{int(step):02d}" if str(step).isdigit() else str(step)
    if step not in _STEPS:
        raise ValueError(f"unknown step {step!r}; steps: {', '.join(STEPS)}")
    try:
        return _STEPS[step](profile=profile, base_dir=base_dir, **inputs)
    except Exception as e:  # noqa: BLE001 - a summary cell must not stop the pipeline
        return [_missing("Findings", f"computing them raised {type(e).__name__}: {e}")]


def report(step: str, profile: str = "quick", base_dir: str | os.PathLike | None = None,
           **inputs) -> str:
    """:func:`sentences` joined as Markdown."""
    return "\n".join(sentences(step, profile, base_dir, **inputs)) + "\n"


def show(step: str, profile: str = "quick", base_dir: str | os.PathLike | None = None,
         **inputs) -> None:
    """Display :func:`report` as Markdown in a notebook (print it elsewhere)."""
    text = report(step, profile, base_dir, **inputs)
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display

        if get_ipython() is None:
            raise ImportError
        display(Markdown(text))
    except ImportError:
        print(text)
