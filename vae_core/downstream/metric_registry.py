"""The downstream metric registry: what notebooks 03 and 04 compute for every embedding.

A metric is a function ``fn(embedding, obs, **params) -> dict[column, value]``, registered once:

    from vae_core.downstream import register_metric

    def nmi(embedding, obs, n_neighbors=15, seed=0):
        ...
        return {"nmi": value}

    register_metric("nmi", nmi, columns=("nmi",), needs=("label",), label="NMI (Leiden vs label)")

Everything else is derived from the registry: the metric's columns in ``runs_*.csv``
(``metric_columns``), its per-model figure ``metric_<name>.png``, its line on the results page.
The paper's two metrics, ARI (Leiden clusters vs the label) and the Cox AIC, are registered here
in the same way. ``needs`` names ``obs`` columns the metric requires: a cohort without one (or
with it all NaN) gets NaN and the reason in ``<name>_reason``, never an exception; an exception
raised by the metric itself is recorded the same way. See ``docs/design.md``, "Registries".
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import registry
from ..keys import OBS
from .clustering import LEIDEN_N_ITERATIONS

MetricFn = Callable[..., Mapping[str, Any]]


@dataclass(frozen=True)
class Metric:
    """A registered downstream metric.

    name             registry name (also the figure ``metric_<name>.png``)
    fn               ``fn(embedding, obs, **params) -> {column: value}``
    columns          the numeric columns ``fn`` returns; the first is the metric's score (what
                     its figure draws); other keys ``fn`` returns are kept as text columns
    needs            ``obs`` columns the metric requires (absent: NaN with the reason)
    label            axis label in figures
    higher_is_better True (ARI), False (AIC), None (no direction)
    text_columns     text columns ``fn`` may return besides ``columns`` (kept in the run tables)
    """

    name: str
    fn: MetricFn
    columns: tuple[str, ...]
    needs: tuple[str, ...] = ()
    label: str = ""
    higher_is_better: bool | None = True
    text_columns: tuple[str, ...] = ()
    builtin: bool = field(default=False, compare=False)

    @property
    def score(self) -> str:
        """The column the metric's figure draws (its first column)."""
        return self.columns[0]

    @property
    def reason_column(self) -> str:
        """Text column saying why the metric is NaN ("" where it was computed)."""
        return f"{self.name}_reason"

    def params_of(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The subset of ``params`` that ``fn`` accepts (all of them if it takes ``**kwargs``)."""
        sig = inspect.signature(self.fn)
        if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
            return dict(params)
        return {k: v for k, v in params.items() if k in sig.parameters}


_METRICS: dict[str, Metric] = {}


def register_metric(name: str, fn: MetricFn, *, columns: Sequence[str] | None = None,
                    needs: Sequence[str] = (), label: str | None = None,
                    higher_is_better: bool | None = True,
                    text_columns: Sequence[str] = ()) -> Metric:
    """Register downstream metric ``name`` (see the module doc); returns the :class:`Metric`.

    ``columns`` defaults to ``(name,)``. Re-registering a name replaces it (a plugin reloaded in
    a notebook). A column may not be claimed by two metrics.
    """
    registry.check_name(name, "metric")
    if not callable(fn):
        raise TypeError(f"register_metric({name!r}, ...): fn must be callable "
                        "fn(embedding, obs, **params) -> dict, got {fn!r}.")
    cols = tuple(columns) if columns else (name,)
    for c in cols:
        registry.check_name(c, "metric column")
        for other in _METRICS.values():
            if other.name != name and c in other.columns:
                raise ValueError(f"register_metric({name!r}): column {c!r} is already a column "
                                 f"of metric {other.name!r}; choose another column name.")
    m = Metric(name=name, fn=fn, columns=cols, needs=tuple(needs), label=label or name,
               higher_is_better=higher_is_better, text_columns=tuple(text_columns),
               builtin=name in _BUILTIN)
    _METRICS[name] = m
    return m


def metrics() -> tuple[Metric, ...]:
    """Every registered metric, the paper's (``ari``, ``aic``) first, in registration order."""
    return tuple(_METRICS.values())


def metric(name: str) -> Metric:
    """The metric registered as ``name`` (ValueError listing the registered ones)."""
    try:
        return _METRICS[name]
    except KeyError:
        raise ValueError(f"unknown metric {name!r}; registered metrics are {list(_METRICS)} "
                         "(register one with vae_core.downstream.register_metric in a plugin "
                         "file listed under 'plugins:').") from None


def metric_columns() -> tuple[str, ...]:
    """Numeric columns of every registered metric, in registration order."""
    return tuple(c for m in _METRICS.values() for c in m.columns)


def text_columns() -> tuple[str, ...]:
    """Text columns of every registered metric (reasons and declared text columns)."""
    out: list[str] = []
    for m in _METRICS.values():
        for c in (*m.text_columns, m.reason_column):
            if c not in out:
                out.append(c)
    return tuple(out)


def missing_needs(m: Metric, obs: pd.DataFrame) -> list[str]:
    """Columns of ``m.needs`` that ``obs`` lacks or holds no value in."""
    out = []
    for c in m.needs:
        if c not in obs.columns or not obs[c].notna().any():
            out.append(c)
    return out


def compute(m: Metric | str, embedding: np.ndarray, obs: pd.DataFrame,
            **params: Any) -> dict[str, Any]:
    """One metric on one embedding: its columns (NaN where it could not be computed) plus
    ``<name>_reason`` ("" when computed). Never raises for what the cohort or the embedding
    lacks; ``params`` that ``fn`` does not accept are ignored."""
    return compute_cell(m, embedding, obs, params)[0]


def compute_cell(m: Metric | str, embedding: np.ndarray, obs: pd.DataFrame,
                 params: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """``compute`` plus whether the result is a property of the inputs (True: the columns, or a
    NaN with the metric's own ``ValueError`` or a missing ``needs`` column) or an unexpected
    exception of the metric (False: a bug to fix, so a score cache must not keep it;
    ``docs/design.md``, "Scores")."""
    m = metric(m) if isinstance(m, str) else m
    out: dict[str, Any] = {c: math.nan for c in m.columns}
    out[m.reason_column] = ""
    absent = missing_needs(m, obs)
    if absent:
        out[m.reason_column] = f"needs obs column(s) {', '.join(absent)}, absent in this cohort"
        return out, True
    try:
        res = dict(m.fn(embedding, obs, **m.params_of(params)))
    except ValueError as exc:   # the metric's own "cannot compute this" (e.g. one cluster)
        out[m.reason_column] = str(exc)
        return out, True
    except Exception as exc:  # noqa: BLE001 - a metric's failure is a recorded NaN
        out[m.reason_column] = f"{type(exc).__name__}: {exc}"
        return out, False
    for c, v in res.items():
        if c in m.columns:
            try:
                out[c] = float(v)
            except (TypeError, ValueError):
                out[c] = math.nan
        else:
            out[c] = v
    if not out[m.reason_column] and not all(math.isfinite(out[c]) for c in m.columns):
        nan = [c for c in m.columns if not math.isfinite(out[c])]
        out[m.reason_column] = f"{', '.join(nan)} not finite"
    return out, True


def effective_params(m: Metric, params: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments ``fn`` runs with: its own defaults updated with the subset of
    ``params`` it accepts (what a score cache must key on: changing a default or passing another
    value is another result)."""
    sig = inspect.signature(m.fn)
    out = {name: p.default for name, p in sig.parameters.items()
           if p.default is not inspect.Parameter.empty
           and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    out.update(m.params_of(params))
    return out


# --------------------------------------------------------------------------- the paper's two

def ari_metric(embedding: np.ndarray, obs: pd.DataFrame, *, label_key: str = OBS.LABEL,
               n_neighbors: int = 15, resolution: float = 1.0, seed: int = 0,
               leiden_flavor: str = "leidenalg",
               n_iterations: int = LEIDEN_N_ITERATIONS) -> dict[str, float]:
    """Adjusted Rand index of Leiden clusters on the embedding's kNN graph vs ``obs[label_key]``
    (paper, Methods "Clustering"), and the number of clusters. ``n_iterations`` bounds Leiden
    (``clustering.LEIDEN_N_ITERATIONS``; -1: to convergence, the paper's setting)."""
    from .clustering import leiden_ari

    ari, n = leiden_ari(embedding, obs[label_key].to_numpy(), n_neighbors=n_neighbors,
                        resolution=resolution, seed=seed, flavor=leiden_flavor,
                        n_iterations=n_iterations)
    return {"ari": ari, "n_clusters": n}


def aic_metric(embedding: np.ndarray, obs: pd.DataFrame, *,
               covariates: Sequence[str] | None = None, cox_method: str = "numpy"
               ) -> dict[str, Any]:
    """Akaike information criterion of a Cox model of overall survival on the covariates plus
    the embedding (paper, Methods "Survival analysis"); ``aic_reason`` says why it is NaN and
    ``covariates`` which covariates were used. A cohort without survival gives NaN with the
    reason (``survival.NO_SURVIVAL``)."""
    from .survival import COVARIATES, available_covariates, covariates_note, cox_fit

    covariates = COVARIATES if covariates is None else covariates
    present, absent = available_covariates(obs, covariates)
    res = cox_fit(embedding, obs, covariates, method=cox_method)
    return {"aic": res.aic, "aic_reason": res.reason if not math.isfinite(res.aic) else "",
            "covariates": covariates_note(present, absent)}


_BUILTIN = ("ari", "aic")
register_metric("ari", ari_metric, columns=("ari", "n_clusters"), needs=(OBS.LABEL,),
                label="ARI (Leiden clusters vs label)", higher_is_better=True)
register_metric("aic", aic_metric, columns=("aic",), label="Cox AIC (overall survival)",
                higher_is_better=False, text_columns=("covariates",))
