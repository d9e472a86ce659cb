"""Downstream scores kept per training in the grid store (``docs/design.md``, "Scores").

``score(store, adata)`` returns the run table of ``downstream.evaluate_runs`` (same columns, same
values) but computes only the (training, metric, parameters) cells the store does not hold yet,
and writes each result beside the record as soon as it is computed::

    scores/<k[:2]>/<key>/<metric>-<params hash>.json

one atomic file per cell (``store.atomic_write_bytes``: temporary name, fsync, ``os.replace``),
so several writers are safe, a killed run loses at most the cells in flight, and an unchanged
store re-scores nothing. The params hash covers everything that changes a result: the metric's
name and effective keyword arguments (its function's defaults updated with what is passed, e.g.
Leiden ``n_iterations``, ``n_neighbors``, ``resolution``, ``seed``, ``label_key``, the Cox
``covariates``), the ``survival`` flag (``aic``), the embedding kind scored, the cohort
fingerprint (``cohort.json``), and a fingerprint of the ``obs`` columns the metric reads (the
paper's two: the label, survival and covariate columns; a plugin metric: every column). A cell
also names the training it scored (key, status, epochs, best validation loss, finish time): a
key trained again is scored again. A damaged cell file is moved aside
(``store.quarantine``) with a warning naming it, and recomputed.

Cells are computed by ``executor="local"`` (this process, or joblib's loky worker processes
with ``n_jobs > 1``, the cohort's ``obs`` sent once per worker, plugins loaded first) or
``"ray"`` (one task per training, plugins loaded in each task); only this process writes the
store. ``grid.run(..., score=...)`` scores each configuration in the task that trained it
(:class:`ScorePlan`, ``score_payload``, ``write_payload``).

``to_anndata(store, adata, key="best", metric="ari")`` hands a configuration's embedding back
as a copy of the cohort (``obsm["X_vae"]``, ``uns["vae"]``) for scanpy.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import math
import os
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import plugins as _plugins
from .. import provenance as _provenance
from ..downstream import metric_registry as _M
from ..downstream.evaluate import (
    MIN_KEYS_PER_JOB,
    assemble_row,
    chosen_metrics,
    common_params,
    failed_row,
    metric_call_params,
    metrics_frame,
    runs_table,
    score_metric,
)
from ..downstream.survival import COVARIATES
from ..downstream.units import active_units
from ..keys import OBS, STATUS_OK
from . import store as _store

__all__ = [
    "FORMAT", "SCORES", "ScorePlan", "cell_path", "make_plan", "score", "score_payload",
    "stored_view", "to_anndata", "training_id", "write_payload",
]

log = logging.getLogger(__name__)

#: Folder of the score cells inside a store.
SCORES = "scores"
#: Version of the cell format; part of every params hash (a new format is a cache miss).
FORMAT = 1
#: Executors of ``score`` (those of ``grid.run``).
EXECUTORS: tuple[str, ...] = ("local", "ray")

# the obs columns each of the paper's metrics reads (a plugin metric: every column)
_SURVIVAL_COLUMNS = (OBS.OS_TIME, OBS.OS_EVENT)


# --------------------------------------------------------------------------- cells and hashes

def cell_path(store: str | os.PathLike, key: str, metric: str, params_hash: str) -> Path:
    """``<store>/scores/<key[:2]>/<key>/<metric>-<params_hash>.json``."""
    return Path(store) / SCORES / key[:2] / key / f"{metric}-{params_hash}.json"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)


def _jsonable_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as stored in a cell (tuples become lists, other objects their repr)."""
    return json.loads(_canonical(dict(params)))


def obs_fingerprint(obs: pd.DataFrame, columns: Sequence[str] | None = None) -> str:
    """SHA-1 (16 hex) of the sample names and the values of ``columns`` of ``obs`` (None: every
    column), as text; an absent column counts as absent."""
    h = hashlib.sha1()
    h.update("\x1f".join(map(str, obs.index)).encode())
    cols = sorted(obs.columns.astype(str)) if columns is None else sorted(set(columns))
    for c in cols:
        h.update(f"\x1e{c}\x1d".encode())
        if c in obs.columns:
            h.update("\x1f".join(obs[c].astype(str).tolist()).encode())
        else:
            h.update(b"<absent>")
    return h.hexdigest()[:16]


def _obs_columns(m: _M.Metric, params: Mapping[str, Any], survival: bool) -> list[str] | None:
    """The ``obs`` columns metric ``m`` reads (None: unknown, i.e. every column)."""
    if not m.builtin:
        return None
    if m.name == "ari":
        return sorted({OBS.LABEL, str(params.get("label_key", OBS.LABEL)), *m.needs})
    if m.name == "aic":
        if not survival:
            return []
        covs = params.get("covariates") or COVARIATES
        return sorted({*map(str, covs), *_SURVIVAL_COLUMNS, *m.needs})
    return None  # pragma: no cover - a builtin without a rule reads everything


@dataclasses.dataclass(frozen=True)
class CellSpec:
    """One metric as a plan scores it: ``call`` (what its function gets), ``params`` (what
    the hash covers, JSON) and the 16-hex ``hash`` naming its cell files."""

    metric: str
    call: dict[str, Any]
    params: dict[str, Any]
    hash: str


@dataclasses.dataclass(frozen=True)
class ScorePlan:
    """What a task needs to score one embedding: the cohort's ``obs``, the embedding ``kind``,
    the ``survival`` flag and one :class:`CellSpec` per metric (``make_plan``). Picklable: it
    travels to loky workers (once per worker) and Ray tasks (once, in the object store)."""

    obs: pd.DataFrame
    kind: str
    survival: bool
    cells: tuple[CellSpec, ...]
    cohort: dict[str, Any]
    plugins: tuple[str, ...] = ()

    def spec(self, metric: str) -> CellSpec:
        for c in self.cells:
            if c.metric == metric:
                return c
        raise KeyError(metric)

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(c.metric for c in self.cells)


def _read_cohort(store: str | os.PathLike) -> dict[str, Any]:
    path = Path(store) / _store.COHORT_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"grid store {store} has no {_store.COHORT_FILE}: nothing was trained "
                         "into it. Train first (grid.run or notebook 02), or check the store "
                         "path.") from None


def make_plan(
    store: str | os.PathLike,
    obs: pd.DataFrame,
    *,
    kind: str = "z",
    metrics: Sequence[str] | None = None,
    metric_params: Mapping[str, Mapping[str, Any]] | None = None,
    survival: bool = True,
    label_key: str = OBS.LABEL,
    covariates: Sequence[str] = COVARIATES,
    n_neighbors: int = 15,
    resolution: float = 1.0,
    seed: int = 0,
    leiden_flavor: str = "leidenalg",
    cox_method: str = "numpy",
) -> ScorePlan:
    """The :class:`ScorePlan` of ``score``'s arguments (same meaning as ``downstream.evaluate``'s)
    for the cohort of ``store`` (its ``cohort.json``)."""
    if kind not in _store.EMBEDDING_KINDS:
        raise ValueError(f"unknown embedding kind {kind!r}; valid kinds are "
                         f"{list(_store.EMBEDDING_KINDS)}.")
    cohort = _read_cohort(store)
    chosen = chosen_metrics(metrics)
    common = common_params(label_key=label_key, covariates=covariates,
                              n_neighbors=n_neighbors, resolution=resolution, seed=seed,
                              leiden_flavor=leiden_flavor, cox_method=cox_method)
    unknown = sorted(set(metric_params or {}) - {m.name for m in chosen})
    if unknown:
        raise ValueError(f"metric_params names metric(s) {unknown} that are not scored; scored "
                         f"metrics are {[m.name for m in chosen]}.")
    fingerprints: dict[Any, str] = {}
    cells = []
    for m in chosen:
        call = metric_call_params(m, common, metric_params)
        params = _jsonable_params(_M.effective_params(m, call))
        if m.name == "aic":
            params["survival"] = bool(survival)
        cols = _obs_columns(m, params, survival)
        fp_key = None if cols is None else tuple(cols)
        if fp_key not in fingerprints:
            fingerprints[fp_key] = obs_fingerprint(obs, cols)
        ident = {"format": FORMAT, "metric": m.name, "params": params, "embedding": kind,
                 "cohort": {k: cohort.get(k) for k in ("n_samples", "n_genes", "sha1")},
                 "obs": fingerprints[fp_key]}
        cells.append(CellSpec(m.name, call, {**params, "embedding": kind,
                                              "obs_sha1": fingerprints[fp_key]},
                              hashlib.sha1(_canonical(ident).encode()).hexdigest()[:16]))
    return ScorePlan(obs=obs, kind=kind, survival=bool(survival), cells=tuple(cells),
                     cohort=cohort, plugins=tuple(_plugins.loaded()))


def _norm_float(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def training_id(record: Mapping[str, Any]) -> str:
    """Identity of one training (a record dict, or a row of ``load_records``): key, status,
    epochs, best validation loss and finish time (``provenance.time_utc``). A key trained again
    gets another id, so its scores are computed again."""
    prov = record.get(_store.PROVENANCE)
    t = prov.get("time_utc") if isinstance(prov, Mapping) else record.get("prov_time_utc")
    if not isinstance(t, str):
        t = None
    epochs = _norm_float(record.get("epochs"))
    ident = {"key": str(record.get("key")), "status": str(record.get("status")),
             "epochs": None if epochs is None else int(epochs),
             "best_val_loss": _norm_float(record.get("best_val_loss")), "time_utc": t}
    return hashlib.sha1(_canonical(ident).encode()).hexdigest()[:16]


def _encode(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    if v is None or isinstance(v, (str, int, bool)):
        return v
    return str(v)


def _decode(m: _M.Metric, values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c, v in values.items():
        if c in m.columns:
            out[c] = math.nan if v is None else float(v)
        else:
            out[c] = "" if v is None and c == m.reason_column else v
    return out


def _valid(data: Any, key: str, spec: CellSpec, m: _M.Metric) -> str:
    """"" for a well-formed cell of (key, spec), else what is wrong with it."""
    if not isinstance(data, dict):
        return "not a JSON object"
    for field, want in (("format", FORMAT), ("key", key), ("metric", spec.metric),
                        ("params_hash", spec.hash)):
        if data.get(field) != want:
            return f"{field} is {data.get(field)!r}, expected {want!r}"
    values = data.get("values")
    if not isinstance(values, dict):
        return "no values"
    lacking = [c for c in (*m.columns, m.reason_column) if c not in values]
    if lacking:
        return f"values lack {lacking}"
    try:
        _decode(m, values)
    except (TypeError, ValueError) as exc:
        return f"values not numbers: {exc}"
    if not isinstance(data.get("training"), str):
        return "no training id"
    return ""


def read_cell(store: str | os.PathLike, key: str, spec: CellSpec,
              training: str | None = None) -> dict[str, Any] | None:
    """The values of a persisted cell, or None when it is missing, was computed for another
    training of ``key`` (``training`` given and different), or is damaged (warned, moved aside
    with ``store.quarantine``)."""
    path = cell_path(store, key, spec.metric, spec.hash)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    m = _M.metric(spec.metric)
    try:
        data = json.loads(raw)
        why = _valid(data, key, spec, m)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        why = f"unreadable JSON ({exc})"
    if why:
        warnings.warn(f"score store: damaged score file {path} ({why}); moving it aside and "
                      "computing the score again.", _store.DamagedStoreWarning, stacklevel=3)
        try:
            _store.quarantine(store, path, f"damaged score cell: {why}")
        except FileNotFoundError:
            pass  # another process moved it first
        return None
    if training is not None and data["training"] != training:
        log.info("score %s of %s was computed for an earlier training of that key: "
                 "computing it again", spec.metric, key)
        return None
    return _decode(m, data["values"])


def write_cell(store: str | os.PathLike, key: str, spec: CellSpec, values: Mapping[str, Any],
               training: str, seconds: float = math.nan) -> dict[str, Any]:
    """Write one cell atomically; return its values as a reader will see them."""
    encoded = {c: _encode(v) for c, v in values.items()}
    data = {"format": FORMAT, "key": key, "metric": spec.metric, "params_hash": spec.hash,
            "params": spec.params, "training": training, "values": encoded,
            "seconds": _encode(float(seconds)),
            "provenance": _cell_provenance()}
    _store.atomic_write_bytes(cell_path(store, key, spec.metric, spec.hash),
                              json.dumps(data, sort_keys=True, allow_nan=False).encode())
    return _decode(_M.metric(spec.metric), encoded)


@functools.lru_cache(maxsize=1)
def _scorer_environment() -> tuple[tuple[str, Any], ...]:
    return tuple(_provenance.record_provenance("cpu").items())


def _cell_provenance() -> dict[str, Any]:
    """``provenance.record_provenance("cpu")`` of this process, the time now (the rest is
    collected once per process: it does not change and costs milliseconds)."""
    return {**dict(_scorer_environment()), "time_utc": _provenance.utc_now()}


def _roundtrip(m: _M.Metric, values: Mapping[str, Any]) -> dict[str, Any]:
    """Values as a cell stores and reads them back (a fresh result equals a cached one)."""
    return _decode(m, {c: _encode(v) for c, v in values.items()})


def clean_stale_tmp(store: str | os.PathLike) -> int:
    """Remove temporary cell files left by dead writers on this host; return how many."""
    base = Path(store) / SCORES
    return _store.remove_dead_tmp(base.glob("*/*/.*.tmp")) if base.is_dir() else 0


# --------------------------------------------------------------------------- computing

def stored_view(embedding: np.ndarray) -> np.ndarray:
    """``embedding`` as ``load_embedding`` returns it once stored (float16 unless a value
    overflows, read back as float32): what a score computed in a training task must see."""
    return np.asarray(_store._compact(embedding), dtype=np.float32)


def score_payload(plan: ScorePlan, key: str, embedding: np.ndarray,
                  metrics: Sequence[str] | None = None,
                  on_cell: Callable[[str, dict[str, Any], bool, float], None] | None = None
                  ) -> list[dict[str, Any]]:
    """Compute the cells of ``metrics`` (default: every metric of ``plan``) for one embedding.

    Returns ``[{"metric", "values", "keep", "seconds"}]``; ``keep`` is False after an
    unexpected exception of the metric (not persisted: ``docs/design.md``, "Scores").
    ``on_cell(metric, values, keep, seconds)`` is called as each cell is done."""
    out = []
    for name in metrics or plan.metrics:
        spec = plan.spec(name)
        t0 = time.perf_counter()
        values, keep = score_metric(_M.metric(name), embedding, plan.obs, spec.call,
                                       survival=plan.survival)
        cell = {"metric": name, "values": values, "keep": keep,
                "seconds": time.perf_counter() - t0}
        if on_cell is not None:
            on_cell(name, values, keep, cell["seconds"])
        out.append(cell)
    return out


def write_payload(store: str | os.PathLike, plan: ScorePlan, key: str,
                  cells: Sequence[Mapping[str, Any]], training: str) -> dict[str, dict]:
    """Persist the ``keep`` cells of ``score_payload``; return every cell's values by metric
    (as read back)."""
    out = {}
    for cell in cells:
        spec, m = plan.spec(cell["metric"]), _M.metric(cell["metric"])
        if cell.get("keep", True):
            out[spec.metric] = write_cell(store, key, spec, cell["values"], training,
                                          cell.get("seconds", math.nan))
        else:
            out[spec.metric] = _roundtrip(m, cell["values"])
    return out


def _score_key(plan: ScorePlan, store: str, key: str, names: Sequence[str],
               embedding: np.ndarray | None = None) -> dict[str, Any]:
    """One task: load ``key``'s embedding (unless given) and compute the cells ``names``."""
    if embedding is None:
        try:
            embedding = _store.load_embedding(store, key, plan.kind)
        except (KeyError, OSError, ValueError) as exc:
            return {"key": key, "unloadable": f"embedding not loadable: {exc}"}
    return {"key": key, "cells": score_payload(plan, key, embedding, names)}


_WORKER: dict[str, Any] = {}


def _init_score_worker(plan: ScorePlan) -> None:
    """Loky initializer body (``_pool.init_score_worker``): the plan arrives once per worker."""
    _WORKER["plan"] = plan


def _worker_score(store: str, key: str, names: Sequence[str]) -> dict[str, Any]:
    return _score_key(_WORKER["plan"], store, key, names)


def _ray_score(plan: ScorePlan, store: str, key: str, names: Sequence[str],
               embedding: np.ndarray) -> dict[str, Any]:
    _plugins.load(list(plan.plugins))  # the driver's plugins, before anything scores
    return _score_key(plan, store, key, names, np.asarray(embedding))


def _iter_local(plan: ScorePlan, store: str, todo: list[tuple[str, list[str]]],
                n_jobs: int) -> Iterator[dict[str, Any]]:
    from joblib.externals.loky import ProcessPoolExecutor

    from ._pool import init_score_worker

    workers = min(n_jobs, len(todo))
    one = {v: "1" for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    pool = ProcessPoolExecutor(max_workers=workers, initializer=init_score_worker,
                               initargs=(plan,), env=one)
    queue = list(todo)
    pending: dict[Future, str] = {}
    clean = False
    try:
        while queue or pending:
            while queue and len(pending) < 2 * workers:
                key, names = queue.pop(0)
                pending[pool.submit(_worker_score, store, key, names)] = key
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in done:
                key = pending.pop(fut)
                try:
                    yield fut.result()
                except BrokenProcessPool as exc:
                    keys = [key, *pending.values()]
                    raise RuntimeError(
                        "downstream: a scoring worker process died before returning its result "
                        f"(keys in flight: {', '.join(keys[:4])}{' ...' if len(keys) > 4 else ''})."
                        f" Loky says: {exc}\nUsual causes: out of memory (fewer workers: "
                        "n_jobs=1), a crash in native code. Finished scores are stored: run "
                        "again to resume; n_jobs=1 scores in this process, where the error "
                        "shows in full.") from exc
        clean = True
    finally:
        for fut in pending:
            fut.cancel()
        pool.shutdown(wait=False, kill_workers=not clean)


def _iter_ray(plan: ScorePlan, store: str, todo: list[tuple[str, list[str]]], *,
              n_jobs: int | None, ray_address: str | None, cpus_per_task: int,
              max_retries: int) -> Iterator[dict[str, Any]]:
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - ray is an optional extra
        raise ImportError("executor='ray' needs Ray: pip install 'vae-benchmark[ray]' "
                          "(ray==2.60.0), or pass executor='local'.") from exc
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if ray_address:
            ray.init(address=ray_address, **kwargs)
        else:
            ray.init(num_cpus=n_jobs or None, **kwargs)
        started = True
    try:
        task = ray.remote(_ray_score).options(num_cpus=cpus_per_task, max_retries=max_retries,
                                              retry_exceptions=False)
        plan_ref = ray.put(plan)  # obs goes to the object store once
        slots = float(ray.cluster_resources().get("CPU", 1.0)) / cpus_per_task
        max_in_flight = max(2, int(2 * slots))
        queue = list(todo)
        pending: dict[Any, str] = {}
        while queue or pending:
            while queue and len(pending) < max_in_flight:
                key, names = queue.pop(0)
                try:  # the driver reads the store: workers need not see its disk
                    emb = _store.load_embedding(store, key, plan.kind)
                except (KeyError, OSError, ValueError) as exc:
                    yield {"key": key, "unloadable": f"embedding not loadable: {exc}"}
                    continue
                pending[task.remote(plan_ref, store, key, names, emb)] = key
            if not pending:
                continue
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                key = pending.pop(ref)
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayTaskError as exc:  # the task raised: a bug, say so
                    raise RuntimeError(
                        f"downstream: scoring training {key} raised in a Ray task: {exc}\n"
                        "A metric registered in this process but not in the workers must come "
                        "from a plugin file (params 'plugins:'). Finished scores are stored: fix "
                        "the cause and run again.") from exc
                except ray.exceptions.RayError as exc:  # worker lost after max_retries
                    yield {"key": key, "unloadable": f"scoring task failed: "
                                                     f"{type(exc).__name__}: {exc}"}
    finally:
        if started:
            ray.shutdown()


# --------------------------------------------------------------------------- score

def _obs_of(store: str, adata_or_obs: Any, cohort: dict[str, Any]) -> pd.DataFrame:
    """The cohort's obs, after checking it is the cohort the store was trained on."""
    if isinstance(adata_or_obs, pd.DataFrame):
        obs = adata_or_obs
        if len(obs) != int(cohort.get("n_samples", len(obs))):
            raise ValueError(f"obs has {len(obs)} rows but grid store {store} was trained on "
                             f"{cohort.get('n_samples')} samples ({cohort.get('cohort')}); pass "
                             "the cohort the store was trained on.")
        return obs
    if not hasattr(adata_or_obs, "obs"):
        raise TypeError("grid.score takes the cohort as an AnnData (preferred: its X is checked "
                        f"against the store) or its obs DataFrame, got {type(adata_or_obs)!r}.")
    from .runner import cohort_arrays

    X, labels = cohort_arrays(adata_or_obs)
    fp = _store.cohort_fingerprint(X, labels, str(cohort.get("cohort", "")))
    if (fp["n_samples"], fp["n_genes"], fp["sha1"]) != (
            cohort.get("n_samples"), cohort.get("n_genes"), cohort.get("sha1")):
        raise ValueError(
            f"grid store {store} was trained on another cohort ({cohort.get('cohort')}: "
            f"{cohort.get('n_samples')} x {cohort.get('n_genes')}, sha1 "
            f"{str(cohort.get('sha1'))[:10]}) than the one given ({fp['n_samples']} x "
            f"{fp['n_genes']}, sha1 {fp['sha1'][:10]}): its embeddings would not line up with "
            "these samples. Pass the cohort the store was trained on.")
    return adata_or_obs.obs


def _recompute_set(recompute: bool | Sequence[str], plan: ScorePlan) -> set[str]:
    if recompute is True:
        return set(plan.metrics)
    if not recompute:
        return set()
    names = {recompute} if isinstance(recompute, str) else set(recompute)
    unknown = sorted(names - set(plan.metrics))
    if unknown:
        raise ValueError(f"recompute names metric(s) {unknown} that are not scored; scored "
                         f"metrics are {list(plan.metrics)}.")
    return names


def score(
    store: str | os.PathLike,
    adata: Any,
    *,
    records: pd.DataFrame | None = None,
    executor: str = "local",
    n_jobs: int | None = 1,
    ray_address: str | None = None,
    kind: str = "z",
    metrics: Sequence[str] | None = None,
    metric_params: Mapping[str, Mapping[str, Any]] | None = None,
    survival: bool = True,
    label_key: str = OBS.LABEL,
    covariates: Sequence[str] = COVARIATES,
    n_neighbors: int = 15,
    resolution: float = 1.0,
    seed: int = 0,
    leiden_flavor: str = "leidenalg",
    cox_method: str = "numpy",
    recompute: bool | Sequence[str] = False,
    progress: bool = True,
    cpus_per_task: int = 1,
    max_retries: int = 3,
) -> pd.DataFrame:
    """Downstream scores of every successful training in ``store``, computing only the cells
    the store does not hold; returns ``downstream.evaluate_runs``'s run table.

    Parameters
    ----------
    store
        Grid store folder (``paths.store_dir``).
    adata
        The cohort the store was trained on: an AnnData (checked against ``cohort.json``) or
        its ``obs`` DataFrame (only its length is checked).
    records
        Rows of the table (``grid.run``'s return, or ``load_records(store)`` when None): a
        store topped up by another spec scores only these keys.
    executor, n_jobs, ray_address
        ``"local"``: loky worker processes, at most ``n_jobs`` and at most one per
        ``downstream.evaluate.MIN_KEYS_PER_JOB`` keys to score (the workers' scanpy import and
        numba start-up would cost more than a few small embeddings), else this process; ``"ray"``: one
        task per key (``cpus_per_task`` CPUs, lost workers retried ``max_retries`` times) on
        the cluster at ``ray_address`` or a local Ray with ``n_jobs`` CPUs. Plugins loaded here
        are loaded in every worker and task.
    kind
        Stored embedding scored ("z": the notebooks'; "mu" for posterior means if kept).
    metrics, metric_params, survival, label_key, covariates, n_neighbors, resolution, seed,
    leiden_flavor, cox_method
        As ``downstream.evaluate``. Each changes the params hash of the metrics it reaches, so
        another value is another cell, never a stale hit.
    recompute
        True, or metric names: compute those cells again even if persisted (e.g. after fixing a
        plugin metric's code, which the hash does not cover).
    progress
        Print ``downstream: N cached, M to compute`` (N, M counted in (key, metric) cells), a
        tqdm bar while computing, and a closing line.

    Each cell is written (atomically) as soon as its key is scored, so a killed run loses at
    most the keys in flight, and a run on an unchanged store computes nothing. A metric that
    raises something other than ``ValueError`` (a bug) is NaN with the reason in the table but
    not persisted. ``active_units`` comes from the record (set at training); a record without
    it gets it from the stored ``mu`` when kept, as ``evaluate_runs(load_mu=...)`` does.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; choose one of {list(EXECUTORS)}.")
    store = os.fspath(store)
    if records is None:
        records = _store.load_records(store)
    ok = records.loc[records["status"].eq(STATUS_OK)] if len(records) else records
    if not len(ok):
        if progress:
            print("downstream: 0 cached, 0 to compute ((key, metric) cells; no successful "
                  "training)")
        return runs_table(records, None)
    cohort = _read_cohort(store)
    obs = _obs_of(store, adata, cohort)
    plan = make_plan(store, obs, kind=kind, metrics=metrics, metric_params=metric_params,
                     survival=survival, label_key=label_key, covariates=covariates,
                     n_neighbors=n_neighbors, resolution=resolution, seed=seed,
                     leiden_flavor=leiden_flavor, cox_method=cox_method)
    again = _recompute_set(recompute, plan)
    clean_stale_tmp(store)

    keys = ok["key"].astype(str).tolist()
    trainings = {str(r["key"]): training_id(r) for r in ok.to_dict("records")}
    cached: dict[str, dict[str, dict]] = {k: {} for k in keys}
    todo: list[tuple[str, list[str]]] = []
    for k in keys:
        names = []
        for spec in plan.cells:
            values = None if spec.metric in again else read_cell(store, k, spec, trainings[k])
            if values is None:
                names.append(spec.metric)
            else:
                cached[k][spec.metric] = values
        if names:
            todo.append((k, names))
    n_todo = sum(len(n) for _, n in todo)
    n_cached = len(keys) * len(plan.cells) - n_todo
    if progress:
        print(f"downstream: {n_cached} cached, {n_todo} to compute ((key, metric) cells; "
              f"{len(todo)} of {len(keys)} embeddings to score)")

    rows: dict[str, dict[str, Any]] = {}
    t0 = time.perf_counter()
    if todo:
        # at most one worker per MIN_KEYS_PER_JOB embeddings: a worker's start-up (scanpy
        # import, numba kernels) costs more than scoring a few small embeddings
        jobs = max(1, min(int(n_jobs or 1), len(todo) // MIN_KEYS_PER_JOB))
        pooled = executor == "local" and jobs > 1
        if executor == "ray":
            results = _iter_ray(plan, store, todo, n_jobs=n_jobs, ray_address=ray_address,
                                cpus_per_task=int(cpus_per_task), max_retries=int(max_retries))
        elif pooled:
            results = _iter_local(plan, store, todo, jobs)
        else:
            results = _iter_here(plan, store, todo, trainings)
        _collect(results, plan, store, trainings, cached, rows, total=len(todo),
                 progress=progress)
        if progress:
            mode = f"executor={executor}" + ("" if executor == "ray" else
                                              f", n_jobs={jobs if pooled else 1}")
            print(f"downstream: {n_todo} cells of {len(todo)} embeddings computed in "
                  f"{time.perf_counter() - t0:.1f} s ({mode})")

    chosen = [_M.metric(n) for n in plan.metrics]
    au_rec = pd.to_numeric(ok.get("active_units", pd.Series(np.nan, index=ok.index)),
                           errors="coerce")
    out_rows = []
    for k, au in zip(keys, au_rec):
        if k in rows:  # could not be scored: not persisted
            out_rows.append(rows[k])
            continue
        row = {"key": k, "active_units": math.nan}
        row.update(assemble_row(chosen, cached[k], survival=plan.survival))
        if not np.isfinite(au):
            try:
                row["active_units"] = active_units(_store.load_embedding(store, k, "mu"))
            except (KeyError, OSError, ValueError):
                pass  # mu not kept: NaN, as evaluate_runs leaves it
        out_rows.append(row)
    return runs_table(records, metrics_frame(out_rows))


def _iter_here(plan: ScorePlan, store: str, todo: list[tuple[str, list[str]]],
               trainings: Mapping[str, str]) -> Iterator[dict[str, Any]]:
    """In this process, each cell written as soon as it is computed."""
    for key, names in todo:
        try:
            emb = _store.load_embedding(store, key, plan.kind)
        except (KeyError, OSError, ValueError) as exc:
            yield {"key": key, "unloadable": f"embedding not loadable: {exc}"}
            continue

        def write(name, values, keep, seconds, key=key):
            if keep:
                write_cell(store, key, plan.spec(name), values, trainings[key], seconds)

        cells = score_payload(plan, key, emb, names, on_cell=write)
        yield {"key": key, "cells": cells, "written": True}


def _collect(results: Iterator[dict[str, Any]], plan: ScorePlan, store: str,
             trainings: Mapping[str, str], cached: dict[str, dict[str, dict]],
             rows: dict[str, dict[str, Any]], *, total: int, progress: bool) -> None:
    from tqdm import tqdm

    bar = tqdm(total=total, desc="downstream", unit="key", disable=not progress,
               mininterval=1.0, dynamic_ncols=True)
    close: Callable[[], None] = getattr(results, "close", lambda: None)
    try:
        for payload in results:
            key = payload["key"]
            if "unloadable" in payload:
                rows[key] = failed_row(key, payload["unloadable"])
            elif payload.get("written"):
                for cell in payload["cells"]:
                    cached[key][cell["metric"]] = _roundtrip(_M.metric(cell["metric"]),
                                                             cell["values"])
            else:
                cached[key].update(write_payload(store, plan, key, payload["cells"],
                                                 trainings[key]))
            bar.update(1)
    finally:
        close()
        bar.close()


# --------------------------------------------------------------------------- to_anndata

def _clean_for_uns(value: Any) -> Any:
    """JSON-able and writable to h5ad: None and non-finite numbers dropped from dicts, numpy
    scalars as Python ones, tuples as lists."""
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            v = _clean_for_uns(v)
            if v is not None:
                out[str(k)] = v
        return out
    if isinstance(value, (list, tuple)):
        return [_clean_for_uns(v) for v in value if _clean_for_uns(v) is not None]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _persisted(store: str, plan: ScorePlan, key: str, training: str) -> dict[str, dict]:
    out = {}
    for spec in plan.cells:
        values = read_cell(store, key, spec, training)
        if values is not None:
            out[spec.metric] = values
    return out


def to_anndata(
    store: str | os.PathLike,
    adata: Any,
    key: str | Sequence[str] = "best",
    metric: str = "ari",
    *,
    kind: str = "z",
    records: pd.DataFrame | None = None,
    **score_params: Any,
) -> Any:
    """A copy of the cohort with a trained configuration's embedding, ready for scanpy.

    ``key``: ``"best"`` (the successful training with the best persisted ``metric`` score:
    highest, or lowest for a lower-is-better metric such as ``aic``), a training key, or a list
    of keys. ``score_params`` are ``score``'s metric parameters (``seed``, ``survival``,
    ``metric_params``, ...): "best" reads the cells persisted with them and computes nothing.

    Returns ``adata.copy()`` with ``obsm["X_vae"]`` (the first key's stored embedding ``kind``,
    float32 [n_obs, latent_dim]), ``obsm["X_<model>_<key>"]`` for each key when several are
    given, and ``uns["vae"]`` (JSON-able, h5ad-writable): ``key``, ``keys``, ``obsm``, ``store``,
    ``kind``, ``selected_by``, ``cohort`` and per key under ``runs``: its ``config`` (the
    ``TrainConfig`` fields), ``record`` (status, epochs, losses, wall time, active units),
    ``scores`` (every persisted cell for these parameters, by metric) and ``provenance``. Then
    ``sc.pp.neighbors(out, use_rep="X_vae")``, ``sc.tl.umap(out)``.
    """
    store = os.fspath(store)
    if records is None:
        records = _store.load_records(store)
    if not len(records):
        raise ValueError(f"grid store {store} holds no training; train first (grid.run or "
                         "notebook 02/04).")
    cohort = _read_cohort(store)
    obs = _obs_of(store, adata, cohort)
    plan = make_plan(store, obs, kind=kind, **score_params)
    by_key = {str(r["key"]): r for r in records.to_dict("records")}
    selected_by: dict[str, Any] = {}
    if isinstance(key, str) and key == "best":
        m = _M.metric(metric)
        if m.name not in plan.metrics:
            raise ValueError(f"metric {metric!r} is not among the scored metrics "
                             f"{list(plan.metrics)}; pass metrics=None or include it.")
        if m.higher_is_better is None:
            raise ValueError(f"metric {metric!r} has no direction (higher_is_better=None), so "
                             "there is no best; pass key=<a training key> instead.")
        spec = plan.spec(m.name)
        scores = {}
        for k, r in by_key.items():
            if r.get("status") != STATUS_OK:
                continue
            values = read_cell(store, k, spec, training_id(r))
            if values is not None and math.isfinite(values[m.score]):
                scores[k] = values[m.score]
        if not scores:
            raise ValueError(
                f"no persisted {metric!r} scores in grid store {store} for these parameters "
                f"(params hash {spec.hash}): run notebook 03 (04 for GTEx) or "
                f"grid.score(store, adata{', ...' if score_params else ''}) first, with the "
                "same metric parameters, or pass key=<a training key>.")
        best = ""
        for k, v in scores.items():  # records order: the first of equal scores wins
            if not best or (v > scores[best] if m.higher_is_better else v < scores[best]):
                best = k
        keys = [best]
        selected_by = {"metric": m.name, "column": m.score,
                       "rule": "max" if m.higher_is_better else "min", "value": scores[best],
                       "n_scored": len(scores), "params": spec.params}
    else:
        keys = [key] if isinstance(key, str) else [str(k) for k in key]
        if not keys:
            raise ValueError("to_anndata: key is an empty list; pass 'best', a key or keys.")
        unknown = [k for k in keys if k not in by_key]
        if unknown:
            raise KeyError(f"no training {unknown[:3]} in grid store {store} (the keys are the "
                           "'key' column of grid.load_records(store)).")
    out = adata.copy()
    runs: dict[str, Any] = {}
    for i, k in enumerate(keys):
        r = by_key[k]
        emb = _store.load_embedding(store, k, kind)  # raises naming the kept kinds
        name = f"X_{r.get('model', 'vae')}_{k}"
        if i == 0:
            out.obsm["X_vae"] = emb
        if len(keys) > 1:
            out.obsm[name] = emb
        raw = _store.read_record(store, k) or {}
        config = {f: raw.get(f) for f in _config_fields() if f in raw}
        runs[k] = {
            "obsm": name if len(keys) > 1 else "X_vae",
            "config": config,
            "record": {c: raw.get(c) for c in ("status", "epochs", "val_loss",
                                               "best_val_loss", "wall_time", "active_units",
                                               "reason", "cohort")},
            "scores": _persisted(store, plan, k, training_id(raw)),
            "provenance": raw.get(_store.PROVENANCE) or {},
        }
    out.uns["vae"] = _clean_for_uns({
        "key": keys[0], "keys": keys, "obsm": "X_vae", "store": str(Path(store).resolve()),
        "kind": kind, "selected_by": selected_by, "cohort": cohort, "runs": runs})
    return out


def _config_fields() -> tuple[str, ...]:
    from ..train.config import TrainConfig

    return tuple(TrainConfig.__dataclass_fields__)


def plan_for_run(store: str | os.PathLike, adata: Any, score: bool | Mapping[str, Any] | None,
                 keep: Sequence[str]) -> ScorePlan | None:
    """The plan of ``grid.run(..., score=...)``: None (no scoring), True (``score``'s defaults)
    or a dict of ``make_plan``'s keyword arguments (``seed``, ``survival``, ``leiden_flavor``,
    ``metric_params``, ...). The cohort's ``obs`` comes from ``adata``."""
    if score is None or score is False:
        return None
    if score is True:
        params: dict[str, Any] = {}
    elif isinstance(score, Mapping):
        params = dict(score)
    else:
        raise TypeError(f"grid.run(score=...) takes None, True or a dict of scoring parameters "
                        f"(e.g. {{'seed': 0, 'survival': False}}), got {score!r}.")
    import inspect

    allowed = [n for n, p in inspect.signature(make_plan).parameters.items()
               if p.kind is p.KEYWORD_ONLY]
    bad = sorted(set(params) - set(allowed))
    if bad:
        raise ValueError(f"grid.run(score=...): unknown scoring parameter(s) {bad}; valid: "
                         f"{allowed}.")
    plan = make_plan(store, adata.obs, **params)
    if plan.kind not in keep:
        raise ValueError(f"grid.run(score=...) scores the embedding {plan.kind!r}, which keep="
                         f"{tuple(keep)} does not store; add {plan.kind!r} to keep or score "
                         "another kind.")
    return plan


def score_in_task(payload: dict[str, Any], plan: ScorePlan) -> None:
    """Add ``"scores"`` (``score_payload`` of the stored view of the embedding) to a training
    payload of ``grid.runner`` whose training succeeded; a scoring error is reported as
    ``"score_error"`` (the training stands; ``score`` computes the cells later)."""
    rec = payload.get("record")
    if not rec or rec.get("status") != STATUS_OK or plan.kind not in payload.get("arrays", {}):
        return
    try:
        emb = stored_view(payload["arrays"][plan.kind])
        payload["scores"] = score_payload(plan, payload["key"], emb)
    except Exception as exc:  # noqa: BLE001 - the training must not be lost to scoring
        payload["score_error"] = f"{type(exc).__name__}: {exc}"


def write_from_run(store: str | os.PathLike, plan: ScorePlan, payload: Mapping[str, Any],
                   record: Mapping[str, Any]) -> None:
    """Driver side of ``grid.run(..., score=...)``: persist the cells a training task computed
    (after its record is written)."""
    if payload.get("score_error"):
        warnings.warn(f"grid.run(score=...): scoring training {record.get('key')} failed "
                      f"({payload['score_error']}); grid.score computes its cells later.",
                      stacklevel=3)
    if payload.get("scores"):
        write_payload(store, plan, str(record["key"]), payload["scores"], training_id(record))
