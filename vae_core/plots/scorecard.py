"""The reproduction scorecard: each number and claim of the paper beside this run's value.

Each claim of the paper is a small registered function (``register_claim``) returning its rows;
``scorecard_rows`` runs them in order. Every row states the rule by which it "agrees", the paper's value, this run's value and the n
behind it. Rows that this run cannot evaluate (e.g. a learning rate not in its grid, a cohort
without survival data, no GTEx-side cohort) say ``n/a: <reason>``, never a guess.

The header states the design each cohort was run with (full product, half or ``fraction: N``:
configurations per model, levels, repeats, trainings; ``design_summary``). The "underperforms"
rows of Fig 4 also carry a bootstrap interval (column ``interval``): the claim's margin
``min over the other values of mean ARI - max over the underperforming values of mean ARI``
(> 0 when the claim holds) recomputed on ``N_BOOT`` stratified resamples of configurations
(repeats averaged per configuration first; resampled within each hyperparameter value; seeded),
with its 95% percentile interval, so a reader sees whether the run supports the claim (interval
above 0), leaves it open (interval across 0) or does not support it (interval below 0). With
several values on a side the margin (a min minus a max of noisy means) is biased low when the
values do not differ: the interval is conservative (it calls a claim supported less easily).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import registry, tables
from ..keys import STATUS_FAILED
from ..registry import PAPER_MODELS
from .io import NO_GTEX, na_reason, successful
from .paper_tables import PAPER_S2_VANILLA, PAPER_TABLE1, table1
from .stats import bootstrap_group_means, percentile_interval, spearman
from .style import model_label

#: Tolerance of the numeric rows: same sign and |this run - paper| <= TOLERANCE.
TOLERANCE = 0.2
YES, NO, NA = "yes", "no", "n/a"
#: The paper's value of a row about a model, latent size or metric it does not have.
NOT_IN_PAPER = "n/a: not in the paper"
#: Bootstrap of the "underperforms" rows: resamples, seed, interval level.
N_BOOT, BOOT_SEED, BOOT_LEVEL = 1000, 0, 0.95
#: Reason of the survival rows when the run table has no finite AIC and gives no reason.
NO_SURVIVAL = "no survival data in this cohort"
HYPERPARAMETER_AXES = ("latent_dim", "lr", "init", "optimizer", "activation")

SCORECARD_COLUMNS = ["section", "claim", "paper", "this_run", "n", "rule", "agrees",
                     "interval"]


def _row(section, claim, paper, this_run, n, rule, agrees, interval: str = "") -> dict:
    return dict(zip(SCORECARD_COLUMNS, (section, claim, paper, this_run, n, rule, agrees,
                                        interval), strict=True))


def _na_row(section, claim, paper, reason, rule) -> dict:
    return _row(section, claim, paper, f"n/a: {reason}", 0, rule, NA)


def _no_gtex(gtex: pd.DataFrame | None, gtex_source: str | None) -> bool:
    """No GTEx-side cohort: ``gtex_source`` "none" or an empty/missing GTEx run table."""
    return (str(gtex_source).strip().lower() == "none" if gtex_source is not None else False) \
        or gtex is None or not len(gtex)


def _survival_reason(runs: pd.DataFrame) -> str:
    """Why the survival rows are n/a ("" when some successful run has a finite AIC).

    Only when successful runs exist but none has a finite AIC: the table's ``aic_reason``
    (``io.na_reason``), else ``NO_SURVIVAL``.
    """
    ok = successful(runs)
    if not len(ok) or "aic" not in ok.columns:
        return ""
    if np.isfinite(pd.to_numeric(ok["aic"], errors="coerce")).any():
        return ""
    why = na_reason(runs, "aic")
    return NO_SURVIVAL if why in ("", "no data") else why


def design_summary(runs: pd.DataFrame) -> dict | None:
    """The design a run table was produced with (``docs/design.md``, "Designs"), from the
    table alone.

    Returns None for an empty table, else a dict: ``configs_per_model`` ({model: number of
    distinct hyperparameter configurations}), ``levels`` ({axis: number of values present}),
    ``product`` (their product: the full grid per model over those levels), ``design``
    ("full product", "half" or "fraction: N" — N the configurations per model; "unequal" when
    models differ), ``all_levels`` (every model has every level of every axis), ``repeats``
    (distinct repeat indices), ``trainings`` (rows), ``models``.
    """
    if runs is None or not len(runs):
        return None
    axes = [a for a in HYPERPARAMETER_AXES if a in runs.columns]
    if "hidden" in runs.columns and runs["hidden"].nunique(dropna=True) > 1:
        axes.append("hidden")
    levels = {a: int(runs[a].nunique(dropna=True)) for a in axes}
    product = int(np.prod(list(levels.values()))) if levels else 1
    per_model = {}
    all_levels = True
    for m, df in runs.groupby("model", sort=False):
        per_model[str(m)] = len(df[axes].drop_duplicates()) if axes else 1
        all_levels &= all(df[a].nunique(dropna=True) == levels[a] for a in axes)
    ns = set(per_model.values())
    if len(ns) != 1:
        design = "unequal"
    else:
        n = ns.pop()
        design = ("full product" if n == product else "half" if 2 * n == product
                  else f"fraction: {n}")
    rep = int(runs["repeat"].nunique(dropna=True)) if "repeat" in runs.columns else 1
    names = registry.model_names()
    order = [m for m in names if m in per_model] + sorted(m for m in per_model if m not in names)
    return {"configs_per_model": {m: per_model[m] for m in order}, "levels": levels,
            "product": product, "design": design, "all_levels": bool(all_levels),
            "repeats": max(rep, 1), "trainings": len(runs), "models": order}


def design_markdown(t: dict[str, pd.DataFrame]) -> list[str]:
    """Markdown lines (a table) stating the design of the TCGA-side and GTEx-side runs."""
    lines = [("| cohort | design | configurations per model | levels per axis (product) | "
             "every level in every model | repeats | trainings |"), "|" + "---|" * 7]
    any_row = False
    for label, name in (("TCGA side", tables.RUNS_TCGA), ("GTEx side", tables.RUNS_GTEX)):
        d = design_summary(t.get(name, pd.DataFrame()))
        if d is None:
            why = NO_GTEX if name == tables.RUNS_GTEX else "no trainings"
            lines.append(f"| {label} | n/a: {why} | | | | | |")
            continue
        any_row = True
        per = set(d["configs_per_model"].values())
        cfg = (f"{per.pop()} x {len(d['models'])} models" if len(per) == 1 else
               ", ".join(f"{model_label(m)} {n}" for m, n in d["configs_per_model"].items()))
        lv = " x ".join(f"{a} {n}" for a, n in d["levels"].items())
        lines.append(f"| {label} | {d['design']} | {cfg} | {lv} ({d['product']}) | "
                     f"{'yes' if d['all_levels'] else 'no'} | {d['repeats']} | "
                     f"{d['trainings']} |")
    return lines if any_row else []


def _num_row(section: str, claim: str, paper: float, value: float, n: int,
             absolute: bool = False) -> dict:
    """Numeric claim: agrees when same sign and |value - paper| <= TOLERANCE."""
    rule = f"same sign and |diff| <= {TOLERANCE}"
    if absolute:
        value = abs(value) if np.isfinite(value) else value
        rule = f"|diff| <= {TOLERANCE}"
    if not np.isfinite(value):
        return _row(section, claim, f"{paper:g}", "n/a", n, rule + " (needs n >= 3, spread)",
                    NA)
    ok = abs(value - paper) <= TOLERANCE and np.sign(value) == np.sign(paper)
    return _row(section, claim, f"{paper:g}", f"{value:.2f}", n, rule, YES if ok else NO)


def _mean_ari(ok: pd.DataFrame, mask) -> tuple[float, int]:
    v = ok.loc[mask, "ari"].astype(float)
    v = v[np.isfinite(v)]
    return (float(v.mean()) if len(v) else float("nan")), len(v)


def _isclose(series: pd.Series, value: float) -> pd.Series:
    return np.isclose(series.astype(float), value, rtol=1e-6, atol=0)


def _config_means(ok: pd.DataFrame) -> pd.DataFrame:
    """Mean ARI per configuration (model + hyperparameters), repeats averaged."""
    cols = [c for c in tables.CONFIG_COLUMNS if c in ok.columns]
    df = ok.assign(ari=pd.to_numeric(ok["ari"], errors="coerce"))
    df = df[np.isfinite(df["ari"])]
    return df.groupby(cols, dropna=False, sort=False)["ari"].mean().reset_index()


def _margin_interval(ok: pd.DataFrame, axis: str, bad: list, good: list, mask
                     ) -> tuple[str, int]:
    """Bootstrap text of an "underperforms" claim's margin (module doc) and configurations."""
    cfg = _config_means(ok)
    groups = [cfg.loc[mask(cfg, v), "ari"].to_numpy() for v in list(bad) + list(good)]
    nb = len(bad)
    if any(not len(g) for g in groups):
        return "", 0
    means = bootstrap_group_means(groups, N_BOOT, BOOT_SEED)
    margin = means[:, nb:].min(axis=1) - means[:, :nb].max(axis=1)
    point = min(g.mean() for g in groups[nb:]) - max(g.mean() for g in groups[:nb])
    lo, hi = percentile_interval(margin, BOOT_LEVEL)
    n_cfg = sum(len(g) for g in groups)
    verdict = ("supported (interval above 0)" if lo > 0 else
               "not supported (interval below 0)" if hi < 0 else
               "not resolved by this run (interval includes 0)")
    return (f"margin {point:+.3f}, {100 * BOOT_LEVEL:.0f}% CI [{lo:+.3f}, {hi:+.3f}] over "
            f"{n_cfg} configurations ({N_BOOT} resamples): {verdict}"), n_cfg


def _underperform_row(ok: pd.DataFrame, axis: str, bad: list, good: list, claim: str,
                      section: str = "Fig 4") -> dict:
    """Qualitative: mean ARI at every ``bad`` value < mean ARI at every ``good`` value, with a
    bootstrap interval of the margin over configurations (module doc)."""
    def mask(df, v):
        return _isclose(df[axis], v) if axis == "lr" else df[axis].astype(str) == str(v)

    bads = {v: _mean_ari(ok, mask(ok, v)) for v in bad}
    goods = {v: _mean_ari(ok, mask(ok, v)) for v in good}
    bads = {k: v for k, v in bads.items() if v[1] > 0}
    goods = {k: v for k, v in goods.items() if v[1] > 0}
    rule = ("max mean ARI over the underperforming values < min mean ARI over the others "
            "(successful runs, all models)")
    if not bads or not goods:
        return _row(section, claim, "holds", "n/a: values not in this grid", 0, rule, NA)

    def fmt(d):
        return ", ".join(f"{_vl(axis, k)}: {m:.3f} (n={n})" for k, (m, n) in d.items())

    holds = max(m for m, _ in bads.values()) < min(m for m, _ in goods.values())
    n = sum(n for _, n in bads.values()) + sum(n for _, n in goods.values())
    interval, _ = _margin_interval(ok, axis, list(bads), list(goods), mask)
    return _row(section, claim, "holds", f"{fmt(bads)} vs {fmt(goods)}", n, rule,
                YES if holds else NO, interval)


def _vl(axis, v):
    return f"{float(v):.0e}" if axis == "lr" else str(v)


# --------------------------------------------------------------------------- claims registry

@dataclass
class Context:
    """What every claim reads: the tidy tables and what is derived from them once."""

    t: Mapping[str, pd.DataFrame]
    runs: pd.DataFrame
    gtex: pd.DataFrame | None
    ok: pd.DataFrame
    no_gtex: bool
    no_surv: str

    @classmethod
    def of(cls, t: Mapping[str, pd.DataFrame], gtex_source: str | None = None) -> Context:
        runs = t.get(tables.RUNS_TCGA, pd.DataFrame())
        gtex = t.get(tables.RUNS_GTEX, pd.DataFrame())
        no_gtex = _no_gtex(gtex, gtex_source)
        return cls(t=t, runs=runs, gtex=None if no_gtex else gtex, ok=successful(runs),
                   no_gtex=no_gtex, no_surv=_survival_reason(runs) if runs is not None else "")

    def model_runs(self, model: str) -> pd.DataFrame:
        return self.ok[self.ok["model"] == model] if len(self.ok) else self.ok


Claim = Callable[[Context], list[dict]]
_CLAIMS: dict[str, Claim] = {}


def register_claim(name: str, fn: Claim | None = None):
    """Register a scorecard claim: ``fn(ctx: Context) -> list of rows`` (``_row``/``_na_row``).
    Claims run in registration order; re-registering a name replaces it. Usable as a
    decorator: ``@register_claim("my_claim")``."""
    def add(f: Claim) -> Claim:
        _CLAIMS[name] = f
        return f
    return add(fn) if fn is not None else add


def claims() -> tuple[str, ...]:
    """Names of the registered claims, in order."""
    return tuple(_CLAIMS)


@register_claim("fig2_loss_vs_downstream")
def _claim_fig2(c: Context) -> list[dict]:
    """Fig 2 / S2 Table / S6: loss vs downstream, ARI vs AIC (vanilla)."""
    van = c.model_runs("vanilla")
    rows = []
    r, n = spearman(van["val_loss"], van["ari"]) if len(van) else (np.nan, 0)
    rows.append(_num_row("Fig 2A, S2 Table", "vanilla VAE: |Spearman rho| validation loss vs ARI",
                         PAPER_S2_VANILLA["loss_vs_ari"], r, n, absolute=True))
    claim = "vanilla VAE: |Spearman rho| validation loss vs AIC"
    if c.no_surv:
        rows.append(_na_row("Fig 2B, S2 Table", claim, f"{PAPER_S2_VANILLA['loss_vs_aic']:g}",
                            c.no_surv, f"|diff| <= {TOLERANCE}"))
    else:
        r, n = spearman(van["val_loss"], van["aic"]) if len(van) else (np.nan, 0)
        rows.append(_num_row("Fig 2B, S2 Table", claim, PAPER_S2_VANILLA["loss_vs_aic"], r, n,
                             absolute=True))
    claim = "vanilla VAE: Spearman rho ARI vs AIC"
    if c.no_surv:
        rows.append(_na_row("S6 Fig", claim, "-0.82", c.no_surv,
                            f"same sign and |diff| <= {TOLERANCE}"))
    else:
        r, n = spearman(van["ari"], van["aic"]) if len(van) else (np.nan, 0)
        rows.append(_num_row("S6 Fig", claim, -0.82, r, n))
    return rows


@register_claim("fig2_pair")
def _claim_fig2_pair(c: Context) -> list[dict]:
    """Fig 2C/D: two vanilla configurations with equal loss and very different ARI."""
    pair = c.t.get(tables.FIG2_PAIR, pd.DataFrame())
    rule = "ARI(high) - ARI(low) >= 0.3 and |loss difference| <= 10% of the mean loss"
    claim = "two vanilla configurations, equal loss, very different ARI"
    paper = "ARI 0.72 vs 0.01 at loss ~1"
    lo = pair[pair["role"] == "low_ari"] if len(pair) else pair
    hi = pair[pair["role"] == "high_ari"] if len(pair) else pair
    if not (len(lo) and len(hi)):
        return [_row("Fig 2C/D", claim, paper, "n/a (no pair table)", 0, rule, NA)]
    a_lo, a_hi = float(lo["ari"].iloc[0]), float(hi["ari"].iloc[0])
    l_lo, l_hi = float(lo["val_loss"].iloc[0]), float(hi["val_loss"].iloc[0])
    rel = abs(l_hi - l_lo) / max(abs(l_hi + l_lo) / 2, 1e-12)
    ok_pair = (a_hi - a_lo >= 0.3) and rel <= 0.10
    return [_row("Fig 2C/D", claim, paper,
                 f"ARI {a_hi:.2f} vs {a_lo:.2f} at loss {l_hi:.3g} vs {l_lo:.3g} "
                 f"({100 * rel:.1f}% apart)", 2, rule, YES if ok_pair else NO)]


@register_claim("fig3_best_models")
def _claim_fig3(c: Context) -> list[dict]:
    """Fig 3: beta-TCVAE and DIP-VAE best on average, among the paper's six models."""
    rows = []
    for score, better, label in (("ari", "higher", "ARI"), ("aic", "lower", "AIC")):
        means = {m: c.model_runs(m)[score].astype(float).dropna() for m in PAPER_MODELS
                 if len(c.ok) and score in c.ok}
        means = {m: (float(v.mean()), len(v)) for m, v in means.items() if len(v)}
        rule = (f"mean {label} of beta-TCVAE and of DIP-VAE each {better} than every other "
                "paper model's mean (successful runs)")
        claim = f"beta-TCVAE and DIP-VAE best on average ({label})"
        if score == "aic" and c.no_surv:
            rows.append(_na_row("Fig 3", claim, "holds", c.no_surv, rule))
            continue
        if not {"betatc", "dip"} <= set(means) or len(means) < 3:
            rows.append(_row("Fig 3", claim, "holds", "n/a (models missing)",
                             sum(n for _, n in means.values()), rule, NA))
            continue
        sign = 1 if better == "higher" else -1
        others = [sign * means[m][0] for m in means if m not in ("betatc", "dip")]
        holds = min(sign * means["betatc"][0], sign * means["dip"][0]) > max(others)
        ranked = sorted(means, key=lambda m: -sign * means[m][0])
        fmt = ".3f" if score == "ari" else ".1f"
        txt = ", ".join(f"{model_label(m)} {means[m][0]:{fmt}}" for m in ranked)
        rows.append(_row("Fig 3", claim, "holds", f"ranking: {txt}",
                         sum(n for _, n in means.values()), rule, YES if holds else NO))
    return rows


@register_claim("fig3_other_models")
def _claim_other_models(c: Context) -> list[dict]:
    """Fig 3 for models the paper does not have: this run's means, "n/a: not in the paper"."""
    rows = []
    if not len(c.runs):
        return rows
    present = set(c.runs["model"].dropna().astype(str))
    names = registry.model_names()
    extra = [m for m in names if m in present and not registry.is_paper_model(m)]
    extra += sorted(m for m in present - set(names))
    for m in extra:
        df = c.model_runs(m)
        parts = []
        for score, label in (("ari", "ARI"), ("aic", "AIC")):
            v = pd.to_numeric(df[score], errors="coerce").dropna() if score in df else []
            parts.append(f"mean {label} {float(np.mean(v)):.3g}" if len(v) else
                         f"{label} n/a")
        rows.append(_row("Fig 3", f"{model_label(m)}: downstream performance", NOT_IN_PAPER,
                         ", ".join(parts), len(df), "no paper value to compare with", NA))
    return rows


@register_claim("registered_metrics")
def _claim_metrics(c: Context) -> list[dict]:
    """Downstream metrics the paper does not have (registered by a plugin): this run's mean per
    model, "n/a: not in the paper"."""
    from ..downstream import metric_registry as _metrics

    rows = []
    for m in _metrics.metrics():
        if m.builtin:
            continue
        col = m.score
        if not len(c.ok) or col not in c.ok.columns:
            rows.append(_row("Metrics", f"{m.label} ({m.name})", NOT_IN_PAPER,
                             "n/a: not computed in this run", 0, "no paper value", NA))
            continue
        v = pd.to_numeric(c.ok[col], errors="coerce")
        per = v.groupby(c.ok["model"].astype(str)).mean().dropna()
        names = registry.model_names()
        order = [x for x in names if x in per.index] + sorted(set(per.index) - set(names))
        txt = ", ".join(f"{model_label(x)} {per[x]:.3g}" for x in order)
        if not txt:
            why = na_reason(c.ok, col, m.reason_column)
            txt = f"n/a: {why}"
        rows.append(_row("Metrics", f"{m.label} ({m.name}): mean per model", NOT_IN_PAPER, txt,
                         int(v.notna().sum()), "no paper value to compare with", NA))
    return rows


@register_claim("fig4_hyperparameters")
def _claim_fig4(c: Context) -> list[dict]:
    """Fig 4: hyperparameter effects ("underperforms" claims with a bootstrap interval)."""
    specs = (("init", ["uniform"], ["normal", "xavier_normal", "xavier_uniform",
                                    "kaiming_uniform"],
              "U(0,1) initialisation underperforms the others"),
             ("optimizer", ["sgd"], ["adam", "rmsprop"],
              "SGD underperforms Adam and RMSprop on TCGA"),
             ("lr", [1e-1, 1e-6], [1e-3, 1e-4],
              "extreme learning rates (1e-1, 1e-6) underperform 1e-3, 1e-4"))
    if not len(c.ok):
        return [_row("Fig 4", claim, "holds", "n/a (no successful run)", 0, "", NA)
                for *_, claim in specs]
    return [_underperform_row(c.ok, axis, bad, good, claim) for axis, bad, good, claim in specs]


@register_claim("fig5_failures")
def _claim_fig5(c: Context) -> list[dict]:
    """Fig 5: beta-TCVAE fails at lr 1e-1; CAT-VAE never fails."""
    runs, rows = c.runs, []
    rule = "every beta-TCVAE training at lr 1e-1 failed"
    sel = runs[(runs["model"] == "betatc") & _isclose(runs["lr"], 1e-1)] if len(runs) else runs
    if len(sel):
        nf = int((sel["status"] == STATUS_FAILED).sum())
        rows.append(_row("Fig 5", "beta-TCVAE fails at learning rate 1e-1", "all fail",
                         f"{nf}/{len(sel)} failed", len(sel), rule,
                         YES if nf == len(sel) else NO))
    else:
        rows.append(_row("Fig 5", "beta-TCVAE fails at learning rate 1e-1", "all fail",
                         "n/a (beta-TCVAE at lr 1e-1 not in this grid)", 0, rule, NA))
    rule = ("no CAT-VAE training failed (TCGA only: " + NO_GTEX + ")" if c.no_gtex
            else "no CAT-VAE training failed (TCGA and GTEx)")
    cat = pd.concat([d[d["model"] == "cat"] for d in (runs, c.gtex) if d is not None and len(d)]
                    or [pd.DataFrame(columns=["status"])])
    if len(cat):
        nf = int((cat["status"] == STATUS_FAILED).sum())
        rows.append(_row("Fig 5", "CAT-VAE never fails", "0 failures",
                         f"{nf}/{len(cat)} failed", len(cat), rule, YES if nf == 0 else NO))
    else:
        rows.append(_row("Fig 5", "CAT-VAE never fails", "0 failures", "n/a (no CAT-VAE run)",
                         0, rule, NA))
    return rows


@register_claim("fig6_concordance")
def _claim_fig6(c: Context) -> list[dict]:
    """Fig 6B: Spearman rho of ARI, TCGA vs GTEx, per configuration."""
    conc = c.t.get(tables.CONCORDANCE, pd.DataFrame())
    claim = "Spearman rho of ARI, TCGA vs GTEx, per configuration"
    if c.no_gtex and (conc is None or not len(conc)):
        return [_na_row("Fig 6B", claim, "0.7", NO_GTEX, f"same sign and |diff| <= {TOLERANCE}")]
    r, n = spearman(conc["ari_tcga"], conc["ari_gtex"]) if len(conc) else (np.nan, 0)
    return [_num_row("Fig 6B", claim, 0.7, r, n)]


@register_claim("fig7_9_disentanglement_bounds")
def _claim_bounds(c: Context) -> list[dict]:
    """Fig 7, 9, S8: WSEPIN and normalised RMIG stay low."""
    sc = c.t.get(tables.DISENTANGLE_SCORES, pd.DataFrame())
    w = pd.to_numeric(sc["wsepin"], errors="coerce").dropna() if len(sc) else pd.Series([])
    rows = [_row("Fig 7", "WSEPIN low for every model (< 0.15)", "< 0.15",
                 f"max {w.max():.3f}" if len(w) else "n/a", len(w),
                 "largest WSEPIN of every model and latent size < 0.15",
                 (YES if w.max() < 0.15 else NO) if len(w) else NA)]
    rm = c.t.get(tables.RMIG, pd.DataFrame())
    v = pd.to_numeric(rm["rmig"], errors="coerce").dropna() if len(rm) else pd.Series([])
    rows.append(_row("Fig 9, S8", "normalised RMIG low for every feature (< 0.1)", "< 0.1",
                     f"max {v.max():.3f}" if len(v) else "n/a", len(v),
                     "largest normalised RMIG over models, latent sizes and features < 0.1",
                     (YES if v.max() < 0.1 else NO) if len(v) else NA))
    return rows


@register_claim("table1")
def _claim_table1(c: Context) -> list[dict]:
    """Table 1: disentangled features per model and latent size; a model or latent size the
    paper does not have is "n/a: not in the paper"."""
    sc = c.t.get(tables.DISENTANGLE_SCORES, pd.DataFrame())
    t1 = table1(sc, c.t.get(tables.DISENTANGLED_FEATURES))
    rule = "every latent size run that the paper has: |this run - paper| <= 1 feature"
    rows = []
    run_labels = set(t1.index)
    models = list(PAPER_MODELS) + [m for m in registry.model_names()
                                   if m not in PAPER_MODELS and model_label(m) in run_labels]
    for m in models:
        paper = PAPER_TABLE1.get(m)
        lab = model_label(m)
        ptxt = " ".join(f"{d}:{v}" for d, v in paper.items()) if paper else NOT_IN_PAPER
        if lab not in run_labels:
            rows.append(_row("Table 1", f"{lab}: disentangled features per latent size", ptxt,
                             "n/a (not run)", 0, rule, NA))
            continue
        got = {int(d): t1.loc[lab, d] for d in t1.columns if pd.notna(t1.loc[lab, d])}
        txt = " ".join(f"{d}:{int(got[d])}" for d in sorted(got))
        if paper is None:
            rows.append(_row("Table 1", f"{lab}: disentangled features per latent size", ptxt,
                             txt or "n/a", len(got), "no paper value to compare with", NA))
            continue
        diffs = [abs(int(got[d]) - paper[d]) for d in got if d in paper]
        extra = sorted(d for d in got if d not in paper)
        if extra:
            txt += f" (latent sizes {', '.join(map(str, extra))}: {NOT_IN_PAPER})"
        rows.append(_row("Table 1", f"{lab}: disentangled features per latent size", ptxt,
                         txt or "n/a", len(got), rule,
                         (YES if max(diffs) <= 1 else NO) if diffs else NA))
    return rows


def scorecard_rows(t: Mapping[str, pd.DataFrame], gtex_source: str | None = None
                   ) -> pd.DataFrame:
    """Every registered claim's rows (``claims()``), from the tidy tables (keys:
    ``vae_core.tables`` names).

    ``gtex_source``: notebook 04's cohort source; "none" (or an empty GTEx run table) makes the
    GTEx rows "n/a: no GTEx-side cohort". A TCGA table without any finite AIC (a cohort without
    survival data) makes the survival rows "n/a: <aic_reason>". A model or latent size the
    paper does not have gets "n/a: not in the paper".
    """
    ctx = Context.of(t, gtex_source)
    rows: list[dict] = []
    for fn in _CLAIMS.values():
        rows += fn(ctx)
    return pd.DataFrame(rows, columns=SCORECARD_COLUMNS)


def scorecard_markdown(rows: pd.DataFrame, source: str = "simulated", profile: str = "",
                       gtex_source: str | None = None, design: list[str] | None = None) -> str:
    """Render the scorecard as Markdown; the header names the cohort sources (``source``: the
    TCGA-side cohort of notebook 01, ``gtex_source``: the GTEx side), says plainly when a
    cohort is simulated, and states the design (``design``: Markdown lines from
    ``design_markdown``). The claims table has one row per scorecard row, its last column the
    bootstrap interval of the "underperforms" rows."""
    def is_sim(s) -> bool:
        return str(s).lower() in ("simulated", "sim", "synthetic")

    head = [f"# Reproduction scorecard{f' — profile `{profile}`' if profile else ''}", ""]
    sims = [name for name, src in (("TCGA-side", source), ("GTEx-side", gtex_source))
            if src is not None and is_sim(src)]
    if sims:
        which = "the TCGA-side and GTEx-side cohorts" if len(sims) == 2 else \
            f"the {sims[0]} cohort"
        head += [(f"> **This run is on SIMULATED cohorts** ({which}: `vae_core.data.simulate`), "
                  "not on TCGA or GTEx. Its numbers show that the pipeline works and how the "
                  "effects look on planted structure; agreement or disagreement with the paper "
                  "says nothing about the paper's findings on real data."), ""]
    head += [f"Cohort sources: TCGA side **{source}**"
             + (f", GTEx side **{gtex_source}**." if gtex_source is not None else "."), ""]
    if design:
        head += ["## Design", "", *design, "",
                 ("A design keeps every level of every axis when the column says yes, so the "
                  "per-value summaries (Fig 4, 5, S7) and the claims below are estimable; "
                  "with a fraction each value is averaged over fewer configurations."), ""]
    head += ["## Claims", ""]
    n_yes = int((rows["agrees"] == YES).sum())
    n_no = int((rows["agrees"] == NO).sum())
    n_na = int((rows["agrees"] == NA).sum())
    head += [(f"Agrees: **{n_yes}**, disagrees: **{n_no}**, not evaluable here: **{n_na}** "
             f"(of {len(rows)} rows)."), "",
             (f"Numeric rows agree when the sign matches and |this run - paper| <= {TOLERANCE}; "
             "qualitative rows when the stated inequality holds; `n` is the number of "
             "trainings, configurations or cells behind this run's value."), ""]
    if "interval" in rows.columns and (rows["interval"].astype(str) != "").any():
        head += [(f"`95% interval`: for the \"underperforms\" rows, the margin (lowest mean "
                  "ARI of the other values minus the highest of the underperforming values; "
                  f"> 0 when the claim holds) with its {100 * BOOT_LEVEL:.0f}% percentile "
                  f"interval over {N_BOOT} bootstrap resamples of configurations (seeded; "
                  "repeats averaged per configuration)."), ""]
    cols = ["section", "claim", "paper", "this run", "n", "agrees when", "agrees",
            "95% interval"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in rows.iterrows():
        cells = [r["section"], r["claim"], r["paper"], r["this_run"], r["n"], r["rule"],
                 f"**{r['agrees']}**", r.get("interval", "") or ""]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(head + lines) + "\n"


def write_scorecard(t: dict[str, pd.DataFrame], out_dir: str | os.PathLike,
                    source: str = "simulated", profile: str = "",
                    gtex_source: str | None = None) -> Path:
    """Compute the scorecard and write ``<out_dir>/scorecard.md``; returns its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "scorecard.md"
    path.write_text(scorecard_markdown(scorecard_rows(t, gtex_source=gtex_source),
                                       source=source, profile=profile, gtex_source=gtex_source,
                                       design=design_markdown(t)))
    return path
