"""Running a grid: ``run(configs, adata, store, executor="local"|"ray")`` (SPEC 5).

Every executor trains through the same function (``train_one``: ``train.fit`` then
``train.encode`` on the whole cohort), and only the driver process writes to the store, as results
arrive, so resume and the store format are identical whatever ran the trainings.

``local`` with ``n_workers=None`` runs one worker process per usable CPU, one torch thread each
(``n_workers=1``: in this process). Measured on the 2-core development machine at the quick
profile's size (``python -m vae_core.bench grid --n-trainings 36``: 2500 x 500 cohort, 36
trainings of the quick grid, all six models): two one-thread processes trained 37.1
trainings/min, one process with two torch threads 28.5/min, a local Ray with two one-CPU tasks
27.8/min (its start-up included). At batch 64 and a few hundred to a few thousand genes a matmul is
too small for intra-op threading to pay for its synchronisation (two threads made one training
only 1.4x faster), whereas independent trainings share nothing but the cohort (copied once per
worker) and scale almost linearly. With 12 trainings the start-up of the worker processes (~5 s)
is not amortised and the two-thread process wins (24.0 vs 17.8/min): for a handful of trainings
pass ``n_workers=1``.

Reproducibility: torch's results depend on its thread count (float summation order), and on the
chaotic runs of a large learning rate that changes a run completely (measured: CAT-VAE, lr 0.1,
stopped after 40 epochs with one thread and after 5 with two). So every executor trains with **one
torch thread per training** unless the spec's ``train`` sets ``n_threads``; the record keeps
``n_threads``. A key then gives the same numbers under ``local`` (any ``n_workers``) and ``ray``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import train as _train
from ..keys import OBS, STATUS_FAILED, STATUS_OK
from ..train import TrainConfig
from . import store as _store
from .spec import config_key

EXECUTORS: tuple[str, ...] = ("local", "ray")
ON_ERROR: tuple[str, ...] = ("raise", "record")


def active_units(mu: np.ndarray, threshold: float = 0.01) -> int:
    """Number of latent dims whose posterior mean varies over samples: Var_x(mu_j) > threshold.

    Burda et al. 2016 (IWAE), section 5.2. Uses ``vae_core.downstream.active_units`` when that
    module provides it (same definition), so there is one implementation in the package.
    """
    try:
        from ..downstream import active_units as _au  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - downstream absent or broken: the same definition here
        _au = None
    if _au is not None:
        try:
            return int(_au(mu, threshold=threshold))
        except NotImplementedError:
            pass
    return int(np.sum(np.var(np.asarray(mu, dtype=np.float64), axis=0) > threshold))


def cohort_arrays(adata) -> tuple[np.ndarray, np.ndarray]:
    """``(X float32 [n, G], labels [n] str)`` of a preprocessed AnnData: what the workers get."""
    X = adata.X
    if hasattr(X, "toarray"):
        X = X.toarray()
    X = np.ascontiguousarray(X, dtype=np.float32)
    if OBS.LABEL not in adata.obs:
        raise ValueError(
            f"grid.run needs adata.obs[{OBS.LABEL!r}] for the stratified split (SPEC 4); "
            f"obs has {list(adata.obs.columns)}."
        )
    labels = np.asarray(adata.obs[OBS.LABEL].astype(str).to_numpy(), dtype=object)
    return X, labels


def _slim_adata(X: np.ndarray, labels: np.ndarray):
    import anndata

    obs = pd.DataFrame({OBS.LABEL: pd.Categorical(labels)},
                       index=[f"S{i:06d}" for i in range(X.shape[0])])
    return anndata.AnnData(X=X, obs=obs)


def _num(x: Any) -> float:
    return math.nan if x is None else float(x)


def _finite(a: np.ndarray | None) -> bool:
    return a is None or bool(np.all(np.isfinite(a)))


def train_one(
    config: TrainConfig,
    X: np.ndarray,
    labels: np.ndarray,
    keep: Sequence[str],
    cohort: str,
    threads: int | None = None,
) -> dict[str, Any]:
    """Train one configuration and return ``{"record", "arrays", "history"}`` (or ``"error"``).

    ``record`` has every TrainConfig field plus ``keys.RECORD_COLUMNS`` (ari, aic, n_clusters NaN:
    notebooks 03/04 fill them); ``arrays`` the kept embeddings of all samples (float32 [n, d]);
    an exception inside fit/encode is caught and returned as ``{"error": text}``.
    """
    import torch

    threads = config.n_threads or threads  # a config's own n_threads wins
    cfg = config
    if threads:
        torch.set_num_threads(int(threads))
        cfg = dataclasses.replace(config, n_threads=int(threads))
    key = config_key(config)
    t0 = time.perf_counter()
    try:
        adata = _slim_adata(X, labels)
        result = _train.fit(cfg, adata)
        status, reason = result.status, result.reason or ""
        arrays: dict[str, np.ndarray] = {}
        active = math.nan
        if status == STATUS_OK:
            emb = _train.encode(result.model, X, mode=cfg.embedding, seed=cfg.seed)
            wanted = {k: emb.get(k) for k in keep if emb.get(k) is not None}
            bad = [k for k in ("mu", *wanted) if not _finite(emb.get(k))]
            if bad:
                status, reason = STATUS_FAILED, f"non-finite embedding ({', '.join(sorted(set(bad)))})"
            else:
                arrays = {k: np.asarray(v, dtype=np.float32) for k, v in wanted.items()}
                active = active_units(emb["mu"])
    except Exception as exc:  # noqa: BLE001 - reported to the driver, which decides
        return {"key": key, "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc()}
    record = cfg.to_dict()
    record.update(
        key=key, cohort=cohort, status=status, epochs=int(result.epochs or 0),
        val_loss=_num(result.val_loss), best_val_loss=_num(result.best_val_loss),
        wall_time=time.perf_counter() - t0, reason=reason, ari=math.nan, n_clusters=math.nan,
        aic=math.nan, active_units=active,
    )
    return {"key": key, "record": record, "arrays": arrays, "history": list(result.history)}


# --------------------------------------------------------------------------- local executor

_WORKER: dict[str, Any] = {}


def _init_worker(X: np.ndarray, labels: np.ndarray, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    _WORKER.update(X=X, labels=labels, threads=threads)


def _worker_train(config: TrainConfig, keep: Sequence[str], cohort: str) -> dict[str, Any]:
    return train_one(config, _WORKER["X"], _WORKER["labels"], keep, cohort, _WORKER["threads"])


def usable_cpus() -> int:
    """CPUs this process may run on (affinity/cgroup-aware where the OS tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def default_local_workers() -> int:
    """Worker processes for ``executor="local", n_workers=None``: one per core (see module doc)."""
    return usable_cpus()


def _iter_local(todo, X, labels, keep, cohort, n_workers) -> Iterator[dict[str, Any]]:
    if n_workers <= 1 or len(todo) <= 1:
        threads = 1  # one thread per training: same numbers as the process and ray executors
        import torch

        old = torch.get_num_threads()
        try:
            for cfg in todo:
                yield train_one(cfg, X, labels, keep, cohort, threads)
        finally:
            torch.set_num_threads(old)
        return
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pool = ProcessPoolExecutor(
        max_workers=min(n_workers, len(todo)), mp_context=mp.get_context("spawn"),
        initializer=_init_worker, initargs=(X, labels, 1),
    )
    try:
        queue = list(todo)
        pending = set()
        while queue or pending:
            while queue and len(pending) < 2 * n_workers:  # bounded: results are not hoarded
                pending.add(pool.submit(_worker_train, queue.pop(0), tuple(keep), cohort))
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


# --------------------------------------------------------------------------- ray executor

def _ray_train(X, labels, config, keep, cohort, threads):
    return train_one(config, X, labels, keep, cohort, threads)


def _iter_ray(todo, X, labels, keep, cohort, *, n_workers, ray_address, gpu_fraction,
              cpus_per_task, max_retries, runtime_env) -> Iterator[dict[str, Any]]:
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - ray is an optional extra
        raise ImportError(
            "executor='ray' needs Ray: pip install 'vae-benchmark[ray]' (ray==2.60.0)."
        ) from exc
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if runtime_env:
            kwargs["runtime_env"] = runtime_env
        if ray_address:
            ray.init(address=ray_address, **kwargs)
        else:
            ray.init(num_cpus=n_workers, **kwargs)
        started = True
    try:
        resources = ray.cluster_resources()
        n_gpu = float(resources.get("GPU", 0.0))
        num_gpus = (0.1 if gpu_fraction is None else float(gpu_fraction)) if n_gpu > 0 else 0.0
        task = ray.remote(_ray_train).options(
            num_cpus=cpus_per_task, num_gpus=num_gpus, max_retries=max_retries,
            retry_exceptions=False,
        )
        x_ref, labels_ref = ray.put(X), ray.put(labels)  # the cohort goes to the store once
        slots = float(resources.get("CPU", 1.0)) / cpus_per_task
        if num_gpus:
            slots = min(slots, n_gpu / num_gpus)
        max_in_flight = max(2, int(2 * slots))
        queue = list(todo)
        pending: dict[Any, TrainConfig] = {}
        while queue or pending:
            while queue and len(pending) < max_in_flight:
                cfg = queue.pop(0)
                ref = task.remote(x_ref, labels_ref, cfg, tuple(keep), cohort, int(cpus_per_task))
                pending[ref] = cfg
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                cfg = pending.pop(ref)
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayError as exc:  # worker lost after max_retries
                    yield {"key": config_key(cfg), "error": f"{type(exc).__name__}: {exc}",
                           "traceback": str(exc)}
    finally:
        if started:
            ray.shutdown()


# --------------------------------------------------------------------------- driver

def _failure_record(cfg: TrainConfig, cohort: str, reason: str) -> dict[str, Any]:
    rec = cfg.to_dict()
    rec.update(key=config_key(cfg), cohort=cohort, status=STATUS_FAILED, epochs=0,
               val_loss=math.nan, best_val_loss=math.nan, wall_time=math.nan,
               reason=reason, ari=math.nan, n_clusters=math.nan, aic=math.nan,
               active_units=math.nan)
    return rec


def run(
    configs: Sequence[TrainConfig],
    adata,
    store: str | os.PathLike,
    executor: str = "local",
    *,
    cohort: str = "tcga",
    keep: Sequence[str] = ("z",),
    n_workers: int | None = None,
    ray_address: str | None = None,
    progress: bool = True,
    on_error: str = "raise",
    gpu_fraction: float | None = None,
    cpus_per_task: int = 1,
    max_retries: int = 3,
    runtime_env: dict | None = None,
) -> pd.DataFrame:
    """Train every configuration not yet in ``store``; return the records of all of them.

    Parameters
    ----------
    configs
        From ``grid.expand`` (duplicate keys are trained once).
    adata
        Preprocessed cohort: ``X`` float32 z-scored [n_samples, n_genes], ``obs["label"]``. Workers
        receive only ``X`` and the labels.
    store
        Store folder (``paths.store_dir(profile, cohort, base_dir)``); created if missing. Keys
        already recorded there are skipped (resume). A store is tied to one cohort (fingerprint).
    executor
        ``"local"``: ``n_workers`` processes (None: one per core; 1: this process); every
        training uses one torch thread unless its config sets ``n_threads``. ``"ray"``: joins the cluster at ``ray_address`` (``"auto"``,
        ``"ray://host:10001"``) or starts a local Ray with ``n_workers`` CPUs; one task per
        training requesting ``cpus_per_task`` CPUs and, when the cluster has GPUs,
        ``gpu_fraction`` of one (default 0.1: ten small models share a GPU); tasks whose worker
        dies are retried ``max_retries`` times; the cohort is put in the object store once.
    cohort
        Name written in each record's ``cohort`` column.
    keep
        Embedding kinds to store per successful training: any of "z", "mu", "logvar", "logits"
        (float16 files; failed runs store none).
    progress
        Show a tqdm bar: done/total (stored before included), failures so far, ETA.
    on_error
        An exception inside ``fit``/``encode`` (a bug, not a diverging run: those come back as
        ``status="failed"`` from ``fit``) or a worker lost for good: ``"raise"`` stops the grid
        (finished records stay stored), ``"record"`` stores a failed record whose reason starts
        with ``"error:"``.

    Returns
    -------
    pandas.DataFrame
        One row per distinct key, in the order of ``configs``: the grid axes,
        ``keys.RECORD_COLUMNS`` (ari, n_clusters, aic NaN: notebooks 03/04 fill them;
        active_units = latent dims with Var_x(mu) > 0.01), then the other TrainConfig fields.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; choose one of {list(EXECUTORS)}.")
    if on_error not in ON_ERROR:
        raise ValueError(f"unknown on_error {on_error!r}; choose one of {list(ON_ERROR)}.")
    bad = [k for k in keep if k not in _store.EMBEDDING_KINDS]
    if bad:
        raise ValueError(f"unknown embedding kind(s) {bad} in keep; valid: "
                         f"{list(_store.EMBEDDING_KINDS)}.")
    if n_workers is not None and int(n_workers) < 1:
        raise ValueError(f"n_workers must be >= 1 or None, got {n_workers!r}.")
    configs = list(configs)
    for c in configs:
        if not isinstance(c, TrainConfig):
            raise TypeError(f"grid.run takes TrainConfig objects (grid.expand), got {c!r}.")
    keys = [config_key(c) for c in configs]
    unique: dict[str, TrainConfig] = {}
    for k, c in zip(keys, configs):
        unique.setdefault(k, c)

    store = os.fspath(store)
    os.makedirs(store, exist_ok=True)
    X, labels = cohort_arrays(adata)
    _store.check_cohort(store, _store.cohort_fingerprint(X, labels, cohort))
    _store.clean_stale_tmp(store)

    done = _store.stored_keys(store)
    todo = [c for k, c in unique.items() if k not in done]
    n_failed = sum(1 for k in unique if k in done
                   and (_store.read_record(store, k) or {}).get("status") == STATUS_FAILED)

    if executor == "local":
        workers = default_local_workers() if n_workers is None else int(n_workers)
        results = _iter_local(todo, X, labels, keep, cohort, workers)
    else:
        results = _iter_ray(todo, X, labels, keep, cohort, n_workers=n_workers,
                            ray_address=ray_address, gpu_fraction=gpu_fraction,
                            cpus_per_task=int(cpus_per_task), max_retries=int(max_retries),
                            runtime_env=runtime_env)
    _drive(results, unique, store, cohort, on_error, progress, total=len(unique),
           initial=len(unique) - len(todo), n_failed=n_failed)

    rows = [_store.read_record(store, k) for k in unique]
    missing = [k for k, r in zip(unique, rows) if r is None]
    if missing:  # pragma: no cover - only if the store is changed underneath us
        raise RuntimeError(f"grid store {store} lacks records for keys {missing[:5]} after run.")
    return _store.records_frame(rows)


def _drive(results: Iterator[dict[str, Any]], unique: dict[str, TrainConfig], store: str,
           cohort: str, on_error: str, progress: bool, *, total: int, initial: int,
           n_failed: int) -> None:
    from tqdm import tqdm

    bar = tqdm(total=total, initial=initial, desc=f"grid {cohort}", unit="train",
               disable=not progress, mininterval=1.0, dynamic_ncols=True)
    bar.set_postfix(failed=n_failed, refresh=False)
    close: Callable[[], None] = getattr(results, "close", lambda: None)
    try:
        for payload in results:
            if "error" in payload:
                if on_error == "raise":
                    raise RuntimeError(
                        f"grid: training {payload['key']} raised {payload['error']} (not a "
                        f"divergence: fit reports those as failed).\n{payload.get('traceback', '')}"
                        "\nFinished trainings are stored; fix the cause and run again to resume, "
                        "or pass on_error='record'."
                    )
                rec = _failure_record(unique[payload["key"]], cohort, f"error: {payload['error']}")
                _store.write_training(store, rec)
            else:
                rec = payload["record"]
                _store.write_training(store, rec, payload["arrays"], payload["history"])
            n_failed += rec["status"] == STATUS_FAILED
            bar.set_postfix(failed=n_failed, refresh=False)
            bar.update(1)
    finally:
        close()
        bar.close()
