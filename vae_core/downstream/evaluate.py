"""Downstream evaluation of one or many stored embeddings (notebooks 03 and 04 share this).

``evaluate`` scores one embedding (ARI, clusters, AIC, with the reason when a metric is NaN);
``evaluate_many`` does it for every key through a loader callable (e.g.
``functools.partial(vae_core.grid.load_embedding, store)``), in worker processes when asked;
``runs_table`` merges the metrics into the grid records in ``tables.RUNS_COLUMNS`` order.
Arrays and tables only: the loader is passed in, so this module imports neither grid nor train.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import plugins, tables
from ..keys import OBS, OPTIONAL_AXES, STATUS_OK
from ..tables import RUNS_COLUMNS
from . import metric_registry as _M
from .clustering import umap_coordinates
from .survival import COVARIATES, covariates_note, cox_fit
from .units import active_units

#: Prefix of a records table's provenance columns (``grid.store.PROVENANCE_COLUMNS``).
PROVENANCE_PREFIX = "prov_"

log = logging.getLogger(__name__)

#: Extra column of the run tables: why a downstream metric is NaN for an ok run ("" otherwise).
REASON_COLUMN = "downstream_reason"
#: Extra column of the run and baseline tables (contract with notebook 06 and the scorecard):
#: "" where the AIC was computed, otherwise why it is NaN (e.g. ``survival.NO_SURVIVAL``,
#: :data:`SURVIVAL_OFF`, :data:`TRAINING_FAILED`). Figures draw "n/a: <reason>".
AIC_REASON_COLUMN = tables.AIC_REASON
#: Extra column of the run and baseline tables: the Cox covariates used (``covariates_note``:
#: "age;gender;label", or "label (absent: age, gender)" when the cohort lacks some).
COVARIATES_COLUMN = tables.COVARIATES
#: ``aic_reason`` of a cohort evaluated with ``survival=False`` (notebook 04, GTEx side).
SURVIVAL_OFF = "survival not evaluated for this cohort"
#: ``aic_reason`` of a run whose training failed (no embedding, no AIC).
TRAINING_FAILED = "training failed"
#: Worker processes are used only with at least this many keys per worker (see evaluate_many).
MIN_KEYS_PER_JOB = 12
#: Columns of ``evaluate_many``'s table with only the paper's metrics registered (kept for
#: earlier callers; ``metric_table_columns()`` includes every registered metric).
METRIC_COLUMNS: tuple[str, ...] = ("key", "ari", "n_clusters", "aic", "active_units",
                                   REASON_COLUMN, AIC_REASON_COLUMN, COVARIATES_COLUMN)


def metric_table_columns() -> tuple[str, ...]:
    """Columns of ``evaluate_many``'s table: key, every registered metric's columns,
    ``active_units``, then the reason and text columns."""
    cols = ["key", *_M.metric_columns(), "active_units", REASON_COLUMN, *_M.text_columns()]
    return tuple(dict.fromkeys(cols))


def run_table_columns() -> tuple[str, ...]:
    """Columns of a run table (``runs_table``): ``tables.RUNS_COLUMNS``, every registered
    metric's numeric columns not already there, then the reason and text columns."""
    cols = [*RUNS_COLUMNS, *_M.metric_columns(), REASON_COLUMN, *_M.text_columns()]
    return tuple(dict.fromkeys(cols))


def evaluate(
    embedding: np.ndarray,
    obs: pd.DataFrame,
    *,
    label_key: str = OBS.LABEL,
    survival: bool = True,
    covariates: Sequence[str] = COVARIATES,
    n_neighbors: int = 15,
    resolution: float = 1.0,
    seed: int = 0,
    leiden_flavor: str = "leidenalg",
    cox_method: str = "numpy",
    metrics: Sequence[str] | None = None,
    metric_params: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Every registered downstream metric of one embedding (``metrics.metrics()``; the paper's
    ARI and Cox AIC and any registered by a plugin), or only those named in ``metrics``.

    ``embedding`` float [n_samples, n_dims] in ``obs`` row order. The keyword arguments go to
    every metric that accepts them (``metric_params[name]`` adds or overrides per metric).
    ``survival=False`` (GTEx: no survival) leaves ``aic`` NaN. Never raises for a bad embedding
    or a cohort that lacks something: a metric that cannot be computed is NaN,
    ``<name>_reason`` says why, and ``reason`` joins them ("ari: ...; aic: ..."; "" when all is
    fine). ``aic_reason`` is ``survival.NO_SURVIVAL`` for a cohort without survival and
    ``covariates`` names the Cox covariates used (``covariates_note``).
    """
    chosen = chosen_metrics(metrics)
    common = common_params(label_key=label_key, survival=survival, covariates=covariates,
                           n_neighbors=n_neighbors, resolution=resolution, seed=seed,
                           leiden_flavor=leiden_flavor, cox_method=cox_method)
    cells = {m.name: score_metric(m, embedding, obs, metric_call_params(m, common, metric_params),
                                  survival=survival)[0]
             for m in chosen}
    return assemble_row(chosen, cells, survival=survival)


def chosen_metrics(metrics: Sequence[str] | None = None) -> tuple[_M.Metric, ...]:
    """The registered metrics ``evaluate`` computes: all (``metrics=None``) or those named."""
    return _M.metrics() if metrics is None else tuple(_M.metric(n) for n in metrics)


def common_params(*, label_key: str = OBS.LABEL, survival: bool = True,
                  covariates: Sequence[str] = COVARIATES, n_neighbors: int = 15,
                  resolution: float = 1.0, seed: int = 0, leiden_flavor: str = "leidenalg",
                  cox_method: str = "numpy") -> dict[str, Any]:
    """The keyword arguments ``evaluate`` offers every metric (``survival`` is not passed to
    metrics: ``score_metric`` applies it to ``aic``)."""
    del survival
    return {"label_key": label_key, "covariates": tuple(covariates),
            "n_neighbors": n_neighbors, "resolution": resolution, "seed": seed,
            "leiden_flavor": leiden_flavor, "cox_method": cox_method}


def metric_call_params(m: _M.Metric, common: Mapping[str, Any],
                       metric_params: Mapping[str, Mapping[str, Any]] | None = None
                       ) -> dict[str, Any]:
    """``common`` with ``metric_params[m.name]`` added or overriding (what ``m`` is called with;
    ``m.params_of`` keeps those its function accepts)."""
    return {**common, **dict((metric_params or {}).get(m.name, {}))}


def score_metric(m: _M.Metric, embedding: np.ndarray, obs: pd.DataFrame,
                 params: Mapping[str, Any], *, survival: bool = True
                 ) -> tuple[dict[str, Any], bool]:
    """One metric's columns and ``<name>_reason`` for one embedding (``evaluate``'s cell), and
    whether the result may be kept (``metric_registry.compute_cell``: False after an unexpected
    exception of the metric). ``aic`` with ``survival=False`` is NaN with :data:`SURVIVAL_OFF`."""
    if m.name == "aic" and not survival:
        return {"aic": math.nan, AIC_REASON_COLUMN: SURVIVAL_OFF, COVARIATES_COLUMN: ""}, True
    return _M.compute_cell(m, embedding, obs, params)


def assemble_row(chosen: Sequence[_M.Metric], cells: Mapping[str, Mapping[str, Any]], *,
                 survival: bool = True) -> dict[str, Any]:
    """``evaluate``'s result from the cells of ``chosen`` (``score_metric`` outputs by metric
    name): every cell's columns, then ``reason`` joining "<name>: <reason>" of the metrics that
    have one (the ``aic`` of a ``survival=False`` cohort says so in ``aic_reason`` only)."""
    out: dict[str, Any] = {}
    reasons = []
    for m in chosen:
        res = cells[m.name]
        out.update(res)
        if m.name == "aic" and not survival:
            continue
        if res.get(m.reason_column):
            reasons.append(f"{m.name}: {res[m.reason_column]}")
    out["reason"] = "; ".join(reasons)
    return out


def unloadable_row(key: str, exc: BaseException) -> dict[str, Any]:
    """``evaluate_many``'s row for a key whose embedding cannot be loaded: every metric NaN with
    "embedding not loadable: <error>" as its reason."""
    return failed_row(key, f"embedding not loadable: {exc}")


def failed_row(key: str, why: str) -> dict[str, Any]:
    """A row of ``evaluate_many``'s table for a key that could not be scored: every metric NaN,
    ``why`` as every reason."""
    row: dict[str, Any] = {"key": key, "active_units": math.nan}
    row.update({c: math.nan for c in _M.metric_columns()})
    row.update({m.reason_column: why for m in _M.metrics()})
    row.update(reason=why, **{COVARIATES_COLUMN: ""})
    return row


def metrics_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """``evaluate_many``'s table from its rows (``key``, ``active_units``, ``evaluate``'s
    output): ``metric_table_columns()``, ``reason`` renamed to ``downstream_reason``."""
    df = pd.DataFrame.from_records(list(rows)).rename(columns={"reason": REASON_COLUMN})
    return df.reindex(columns=list(metric_table_columns()))


def _evaluate_key(key: str, load: Callable, load_mu: Callable | None, obs: pd.DataFrame,
                  kwargs: dict[str, Any], plugin_list: Sequence[str] = ()) -> dict[str, Any]:
    plugins.load(plugin_list)   # a worker process registers the plugins' metrics first
    row: dict[str, Any] = {"key": key, "active_units": math.nan}
    try:
        emb = load(key)
    except (KeyError, OSError, ValueError) as exc:
        return unloadable_row(key, exc)
    row.update(evaluate(emb, obs, **kwargs))
    if load_mu is not None:
        try:
            row["active_units"] = active_units(load_mu(key))
        except (KeyError, OSError, ValueError):
            pass  # mu not kept by the grid: the record's value (set at training) stands
    return row


def evaluate_many(
    keys: Sequence[str],
    load: Callable[[str], np.ndarray],
    obs: pd.DataFrame,
    *,
    load_mu: Callable[[str], np.ndarray] | None = None,
    n_jobs: int = 1,
    progress: bool = True,
    **kwargs: Any,
) -> pd.DataFrame:
    """``evaluate`` for every key; one row per key with ``metric_table_columns()``.

    ``load(key)`` returns the embedding (float [n, d], ``obs`` row order); ``load_mu(key)``
    optionally the posterior means for ``active_units``. With ``n_jobs > 1`` the keys are spread
    over that many worker processes (joblib/loky). Each worker pays scanpy's import and the
    numba compilation of its kNN weighting once, which costs more than scoring a few small
    embeddings, so at most one worker per ``MIN_KEYS_PER_JOB`` keys is started (fewer than
    ``2 * MIN_KEYS_PER_JOB`` keys: this process).
    Worker processes load this process's plugins first. ``kwargs`` go to ``evaluate``.
    Loaders must be picklable for processes (e.g. a ``functools.partial`` of a module function).
    """
    keys = list(keys)
    t0 = time.perf_counter()
    n_jobs = max(1, min(int(n_jobs or 1), len(keys) // MIN_KEYS_PER_JOB))
    if n_jobs > 1:
        from joblib import Parallel, delayed

        rows = Parallel(n_jobs=n_jobs, backend="loky", batch_size=1)(
            delayed(_evaluate_key)(k, load, load_mu, obs, kwargs, plugins.loaded())
            for k in keys)
    else:
        rows = []
        for i, k in enumerate(keys, 1):
            rows.append(_evaluate_key(k, load, load_mu, obs, kwargs))
            if progress and (i % 25 == 0 or i == len(keys)):
                log.info("downstream: %d/%d evaluated (%.0f s)", i, len(keys),
                         time.perf_counter() - t0)
    if progress:
        print(f"downstream: {len(keys)} embeddings evaluated in {time.perf_counter() - t0:.1f} s "
              f"(n_jobs={n_jobs})")
    return metrics_frame(rows)


def runs_table(records: pd.DataFrame, metrics: pd.DataFrame) -> pd.DataFrame:
    """Grid records with the downstream metrics filled in: ``run_table_columns()`` (the
    ``RUNS_COLUMNS``, every registered metric's columns, the reason and text columns).

    Metric columns come from ``metrics`` (NaN for failed runs); ``active_units`` from the record
    (set at training) unless missing there and present in ``metrics``. ``aic_reason`` (and
    every ``<metric>_reason``) is "" where the metric was computed, the reason otherwise (failed
    training: :data:`TRAINING_FAILED`).
    """
    rec = records.copy()
    if metrics is None or metrics.empty:
        metrics = pd.DataFrame(columns=list(metric_table_columns()))
    m = metrics.set_index("key")
    idx = rec["key"]
    failed = rec["status"].ne(STATUS_OK) if "status" in rec else pd.Series(False, index=rec.index)

    def col(c):
        return idx.map(m[c]) if c in m.columns else pd.Series(np.nan, index=rec.index)

    for c in _M.metric_columns():
        rec[c] = pd.to_numeric(col(c), errors="coerce").astype(float)
    au_rec = pd.to_numeric(rec.get("active_units", pd.Series(np.nan, index=rec.index)),
                           errors="coerce")
    au_new = pd.to_numeric(col("active_units"), errors="coerce")
    rec["active_units"] = au_rec.where(np.isfinite(au_rec), au_new).astype(float)
    rec[REASON_COLUMN] = col(REASON_COLUMN).fillna("").astype(str)
    reasons = {mm.reason_column for mm in _M.metrics()}
    for c in _M.text_columns():
        why = col(c)
        if c in reasons:
            why = why.where(why.notna(), np.where(failed, TRAINING_FAILED, ""))
        rec[c] = why.fillna("").astype(str)
    # optional axes (``hidden``) and provenance (``prov_*``) ride along when the records have them
    extra = [c for c in rec.columns
             if (c in OPTIONAL_AXES or c.startswith(PROVENANCE_PREFIX)) and c not in RUNS_COLUMNS]
    return rec.reindex(columns=[*run_table_columns(), *extra])


def evaluate_runs(
    records: pd.DataFrame,
    load: Callable[[str], np.ndarray],
    obs: pd.DataFrame,
    *,
    load_mu: Callable[[str], np.ndarray] | None = None,
    n_jobs: int = 1,
    **kwargs: Any,
) -> pd.DataFrame:
    """Downstream metrics of every successful run in ``records``, as a run table (``runs_table``).

    The one call notebooks 03 (TCGA: ARI vs cancer type + AIC + registered metrics) and 04
    (GTEx: ARI vs tissue, ``survival=False``) make.
    """
    ok = records.loc[records["status"].eq(STATUS_OK), "key"].tolist() if len(records) else []
    metrics = evaluate_many(ok, load, obs, load_mu=load_mu, n_jobs=n_jobs, **kwargs)
    return runs_table(records, metrics)


def baseline_table(obs: pd.DataFrame, cohort: str = "tcga",
                   covariates: Sequence[str] = COVARIATES) -> pd.DataFrame:
    """Covariate-only Cox fit (Fig 3B dashed line): one row ``cohort, aic, n_params, n_samples,
    n_events, reason, aic_reason, covariates`` (``tables.BASELINE_AIC``).

    Never raises for what a cohort lacks: without survival ``aic`` is NaN and ``aic_reason``
    (= ``reason``) is ``survival.NO_SURVIVAL``; ``covariates`` names those used and absent.
    """
    res = cox_fit(None, obs, covariates)
    return pd.DataFrame([{"cohort": cohort, "aic": res.aic, "n_params": res.n_params,
                          "n_samples": res.n_samples, "n_events": res.n_events,
                          "reason": res.reason,
                          AIC_REASON_COLUMN: res.reason if not math.isfinite(res.aic) else "",
                          COVARIATES_COLUMN: covariates_note(res.covariates,
                                                             res.covariates_absent)}])


def pair_umap(
    pair: pd.DataFrame,
    load: Callable[[str], np.ndarray],
    labels: np.ndarray | pd.Series,
    *,
    n_neighbors: int = 15,
    seed: int = 0,
) -> pd.DataFrame:
    """UMAP coordinates of the Fig 2C/D pair: ``key, role, umap1, umap2, label`` per sample
    (``tables.FIG2_UMAP``). ``pair`` is ``pick_fig2_pair``'s output; empty in, empty out."""
    cols = ["key", "role", "umap1", "umap2", "label"]
    frames = []
    lab = np.asarray(pd.Series(labels).astype(str))
    for _, row in pair.iterrows():
        xy = umap_coordinates(load(row["key"]), n_neighbors=n_neighbors, seed=seed)
        frames.append(pd.DataFrame({"key": row["key"], "role": row["role"], "umap1": xy[:, 0],
                                        "umap2": xy[:, 1], "label": lab}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
