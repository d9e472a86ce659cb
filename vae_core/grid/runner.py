"""Running a grid: ``run(configs, adata, store, executor="local"|"ray")`` (``docs/design.md``,
"Grid and store" and "Executors").

Every executor trains through the same functions (``train_one``: ``train.fit`` then
``train.encode`` on the whole cohort; ``train_stack``: ``train.fit_many`` on a stack of
compatible configurations, then the same encoding and record per member), and only the driver
process writes to the store, as results arrive, so resume and the store format are identical
whatever ran the trainings. Every record carries its ``provenance`` (``vae_core.provenance``:
versions, git commit, host, the device that trained it and when it finished), collected in the
process that trained it.

``local`` with ``n_workers=None`` runs one worker process per usable CPU, one torch thread each
(``n_workers=1``: in this process). The pool is joblib's loky (``docs/design.md``,
"Executors"): its workers start a fresh interpreter that does **not** re-execute the caller's
script, so ``grid.run`` works from a plain script without an ``if __name__ == "__main__":``
guard; a worker that dies (killed for memory, a crash in native code, one that cannot import)
makes ``run`` raise ``RuntimeError`` within seconds, never hang. The cohort goes to each worker
once, as the arguments of the worker's initializer (never with a task), together with the
plugins loaded in the driver (``plugins.loaded()``), which the initializer loads before anything
else, so a model or metric a plugin registers exists in every worker; at most ``2 * n_workers``
tasks are in flight; an exception in the driver cancels the queued tasks and stops the workers.
Ray tasks load the same plugins before they train.

At batch 64 and a few hundred to a few thousand genes a matmul is too small for intra-op
threading to pay for its synchronisation, whereas independent trainings share nothing but the
cohort and scale almost linearly: one-thread worker processes train more trainings per minute
than one process with several torch threads, or Ray with as many one-CPU tasks (measurements:
the README's Benchmarks section). With a handful of trainings the start-up of the worker
processes (a few seconds each: torch's import) is not amortised: pass ``n_workers=1``.

Stacks (``docs/design.md``, "Stacked training"): ``stack_size > 1`` groups compatible
configurations (equal ``train.stack_group_key``: same model, latent_dim, activation, optimizer
and the other ``train.STACK_FIELDS``; they may differ in lr, init, seed, repeat and the early
stopping fields) into stacks of at most ``stack_size``, formed from the to-do list after the
stored keys are removed (a resumed stack trains only its missing members); each stack is one
task, trained as one batched model by ``train.fit_many``, which groups by the same rule. That is
a GPU lever: on CPU stacking does not pay (README, Benchmarks), so ``default_stack_size`` is 1
there.

Reproducibility: torch's results depend on its thread count (float summation order), and the
chaotic runs of a large learning rate can change completely with it (a CAT-VAE at lr 0.1 may stop
at a very different epoch with one thread than with two). So every executor trains with **one
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
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np
import pandas as pd

from .. import plugins as _plugins
from .. import provenance as _provenance
from .. import train as _train
from ..downstream.units import active_units
from ..keys import OBS, STATUS_FAILED, STATUS_OK
from ..train import FitResult, TrainConfig
from ..train.stacked import plan_stacks
from . import scores as _scores
from . import store as _store
from .spec import config_key

__all__ = [
    "EXECUTORS", "ON_ERROR", "active_units", "cohort_arrays", "default_local_workers",
    "default_stack_size", "run", "stacks", "train_one", "train_stack", "usable_cpus",
]

EXECUTORS: tuple[str, ...] = ("local", "ray")
ON_ERROR: tuple[str, ...] = ("raise", "record")

#: Stack size ``default_stack_size`` picks on a CUDA device (a starting point: tune it with
#: ``python -m benchmarks stack --device cuda``).
CUDA_STACK_SIZE = 16


def cohort_arrays(adata) -> tuple[np.ndarray, np.ndarray]:
    """``(X float32 [n, G], labels [n] str)`` of a preprocessed AnnData: what the workers get."""
    X = adata.X
    if hasattr(X, "toarray"):
        X = X.toarray()
    X = np.ascontiguousarray(X, dtype=np.float32)
    if OBS.LABEL not in adata.obs:
        raise ValueError(
            f"grid.run needs adata.obs[{OBS.LABEL!r}] for the stratified split; "
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


# --------------------------------------------------------------------------- stacks

def default_stack_size(device: str = "auto") -> int:
    """Trainings per stack for ``grid.run(stack_size=None)`` on ``device`` (``docs/design.md``,
    "Stacked training").

    ``device``: "auto" (CUDA when available), "cpu", "cuda", "cuda:N" or a ``torch.device``.
    1 on CPU (stacking does not pay there: one training per worker stays fastest);
    ``CUDA_STACK_SIZE`` (16) on CUDA, where one training leaves the GPU nearly idle.
    """
    dev = _train.resolve_device(str(device))
    return CUDA_STACK_SIZE if dev.type == "cuda" else 1


def stacks(configs: Sequence[TrainConfig], stack_size: int) -> list[list[TrainConfig]]:
    """Group ``configs`` into stacks of at most ``stack_size`` compatible configurations.

    Compatible = equal ``train.stack_group_key`` (same model, latent_dim, activation, optimizer
    and the other ``train.STACK_FIELDS``), the rule ``train.fit_many`` stacks by. Stacks come in
    the order of their first configuration in ``configs``, members in input order; a group of n
    configurations gives ceil(n / stack_size) stacks, all full but the last. ``stack_size=1``
    gives one stack per configuration, in input order.
    """
    configs = list(configs)
    return [[configs[i] for i in ids] for ids in plan_stacks(configs, stack_size)]


# --------------------------------------------------------------------------- one task

def _threaded(config: TrainConfig, threads: int | None) -> TrainConfig:
    """Config as trained: a config's own ``n_threads`` wins; sets torch's thread count."""
    threads = config.n_threads or threads
    if not threads:
        return config
    import torch

    torch.set_num_threads(int(threads))
    return dataclasses.replace(config, n_threads=int(threads))


def _error_payload(key: str, exc: BaseException) -> dict[str, Any]:
    return {"key": key, "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc()}


def _payload(config: TrainConfig, cfg: TrainConfig, result: FitResult, X: np.ndarray,
             keep: Sequence[str], cohort: str, fit_seconds: float) -> dict[str, Any]:
    """Encode a finished fit and build the driver's payload: the one record/encode code path.

    ``config`` is the configuration as given (its key), ``cfg`` the one trained (threads set);
    ``fit_seconds`` the training time charged to this configuration (a stack's time divided by
    its members); the encoding time is added. The record's ``provenance`` is this process's
    (``provenance.record_provenance``) with the device the fit reports, at the fit's end.
    """
    key = config_key(config)
    t0 = time.perf_counter()
    try:
        prov = _provenance.record_provenance((result.extra or {}).get("device", cfg.device))
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
        return _error_payload(key, exc)
    record = cfg.to_dict()
    record.update(
        key=key, cohort=cohort, status=status, epochs=int(result.epochs or 0),
        val_loss=_num(result.val_loss), best_val_loss=_num(result.best_val_loss),
        wall_time=fit_seconds + time.perf_counter() - t0, reason=reason, ari=math.nan,
        n_clusters=math.nan, aic=math.nan, active_units=active, provenance=prov,
    )
    return {"key": key, "record": record, "arrays": arrays, "history": list(result.history)}


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
    key = config_key(config)
    t0 = time.perf_counter()
    try:
        cfg = _threaded(config, threads)
        result = _train.fit(cfg, _slim_adata(X, labels))
    except Exception as exc:  # noqa: BLE001 - reported to the driver, which decides
        return _error_payload(key, exc)
    return _payload(config, cfg, result, X, keep, cohort, time.perf_counter() - t0)


def train_stack(
    configs: Sequence[TrainConfig],
    X: np.ndarray,
    labels: np.ndarray,
    keep: Sequence[str],
    cohort: str,
    threads: int | None = None,
) -> list[dict[str, Any]]:
    """Train a stack (``stacks``) together with ``train.fit_many``: one payload per member.

    Payloads are those of ``train_one`` (same records, arrays, history), in input order; a
    member's ``wall_time`` is the stack's training time divided by its size plus its own
    encoding. An exception inside ``fit_many`` becomes an error payload for every member.
    """
    keys = [config_key(c) for c in configs]
    t0 = time.perf_counter()
    try:
        trained = [_threaded(c, threads) for c in configs]
        results = _train.fit_many(trained, _slim_adata(X, labels), device=trained[0].device,
                                  stack_size=len(trained))
        if len(results) != len(trained):
            raise RuntimeError(f"fit_many returned {len(results)} results for "
                               f"{len(trained)} configurations")
    except Exception as exc:  # noqa: BLE001 - reported to the driver, which decides
        return [_error_payload(k, exc) for k in keys]
    share = (time.perf_counter() - t0) / len(trained)
    return [_payload(c, cfg, res, X, keep, cohort, share)
            for c, cfg, res in zip(configs, trained, results)]


def _train_task(stack: Sequence[TrainConfig], stacked: bool, X: np.ndarray, labels: np.ndarray,
                keep: Sequence[str], cohort: str, threads: int | None,
                score: _scores.ScorePlan | None = None) -> list[dict[str, Any]]:
    if stacked:
        payloads = train_stack(stack, X, labels, keep, cohort, threads)
    else:
        payloads = [train_one(c, X, labels, keep, cohort, threads) for c in stack]
    for p in payloads if score is not None else ():  # score after train (grid.scores)
        _scores.score_in_task(p, score)
    return payloads


# --------------------------------------------------------------------------- local executor

_WORKER: dict[str, Any] = {}


def _init_worker(X: np.ndarray, labels: np.ndarray, threads: int,
                 score: _scores.ScorePlan | None = None) -> None:
    """The cohort (and the score plan of ``run(score=...)``) arrives here, once per worker
    process (``_pool.init_worker`` calls it after loading the driver's plugins)."""
    import torch

    torch.set_num_threads(threads)
    _WORKER.update(X=X, labels=labels, threads=threads, score=score)


def _worker_task(stack: Sequence[TrainConfig], stacked: bool, keep: Sequence[str],
                 cohort: str) -> list[dict[str, Any]]:
    return _train_task(stack, stacked, _WORKER["X"], _WORKER["labels"], keep, cohort,
                       _WORKER["threads"], _WORKER.get("score"))


def usable_cpus() -> int:
    """CPUs this process may run on (affinity/cgroup-aware where the OS tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def default_local_workers() -> int:
    """Worker processes for ``executor="local", n_workers=None``: one per core (see module doc)."""
    return usable_cpus()


def _pool_broken(exc: BaseException, in_flight: list[str]) -> RuntimeError:
    shown = ", ".join(in_flight[:4]) + (" ..." if len(in_flight) > 4 else "")
    return RuntimeError(
        "grid: a worker process of the local executor died before returning its result "
        f"(keys in flight: {shown or 'none'}). Loky says: {exc}\n"
        "Usual causes: the machine ran out of memory (fewer workers: n_workers=1 or 2), a crash "
        "in native code, or a worker that cannot import vae_core (run from the project's "
        "environment). Finished trainings are stored: fix the cause and run again to resume; "
        "n_workers=1 trains in this process, where the error shows in full."
    )


def _iter_local(tasks: list[list[TrainConfig]], stacked: bool, X: np.ndarray,
                labels: np.ndarray, keep: Sequence[str], cohort: str,
                n_workers: int, score: _scores.ScorePlan | None = None
                ) -> Iterator[dict[str, Any]]:
    if n_workers <= 1 or len(tasks) <= 1:
        import torch

        old = torch.get_num_threads()
        try:
            for stack in tasks:  # one thread per training: same numbers as the pool and ray
                yield from _train_task(stack, stacked, X, labels, keep, cohort, 1, score)
        finally:
            torch.set_num_threads(old)
        return
    from joblib.externals.loky import ProcessPoolExecutor

    from ._pool import init_worker  # light module: workers start in parallel (its doc)

    workers = min(n_workers, len(tasks))
    one = {v: "1" for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    pool = ProcessPoolExecutor(max_workers=workers, initializer=init_worker,
                               initargs=(X, labels, 1, tuple(_plugins.loaded()), score),
                               env=one)
    queue = list(tasks)
    pending: dict[Future, list[str]] = {}
    clean = False
    try:
        while queue or pending:
            while queue and len(pending) < 2 * workers:  # bounded: results are not hoarded
                stack = queue.pop(0)
                fut = pool.submit(_worker_task, stack, stacked, tuple(keep), cohort)
                pending[fut] = [config_key(c) for c in stack]
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in done:
                keys = pending.pop(fut)
                try:
                    payloads = fut.result()
                except BrokenProcessPool as exc:
                    in_flight = keys + [k for ks in pending.values() for k in ks]
                    raise _pool_broken(exc, in_flight) from exc
                yield from payloads
        clean = True
    finally:
        for fut in pending:
            fut.cancel()
        pool.shutdown(wait=False, kill_workers=not clean)  # results are in: no need to wait


# --------------------------------------------------------------------------- ray executor

def _ray_train(X, labels, stack, stacked, keep, cohort, threads, plugins=(), score=None):
    _plugins.load(list(plugins))  # the driver's plugins, before anything trains
    return _train_task(stack, stacked, X, labels, keep, cohort, threads, score)


def _iter_ray(tasks: list[list[TrainConfig]], stacked: bool, X, labels, keep, cohort, *,
              n_workers, ray_address, gpu_fraction, cpus_per_task, max_retries,
              runtime_env, score=None) -> Iterator[dict[str, Any]]:
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
        if n_gpu <= 0:
            num_gpus = 0.0
        elif stacked:
            num_gpus = 1.0  # a stack is sized to fill a whole GPU
        else:
            num_gpus = 0.1 if gpu_fraction is None else float(gpu_fraction)
        task = ray.remote(_ray_train).options(
            num_cpus=cpus_per_task, num_gpus=num_gpus, max_retries=max_retries,
            retry_exceptions=False,
        )
        x_ref, labels_ref = ray.put(X), ray.put(labels)  # the cohort goes to the store once
        score_ref = ray.put(score) if score is not None else None
        plugins = tuple(_plugins.loaded())
        slots = float(resources.get("CPU", 1.0)) / cpus_per_task
        if num_gpus:
            slots = min(slots, n_gpu / num_gpus)
        max_in_flight = max(2, int(2 * slots))
        queue = list(tasks)
        pending: dict[Any, list[TrainConfig]] = {}
        while queue or pending:
            while queue and len(pending) < max_in_flight:
                stack = queue.pop(0)
                ref = task.remote(x_ref, labels_ref, stack, stacked, tuple(keep), cohort,
                                  int(cpus_per_task), plugins, score_ref)
                pending[ref] = stack
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                stack = pending.pop(ref)
                try:
                    payloads = ray.get(ref)
                except ray.exceptions.RayError as exc:  # worker lost after max_retries
                    payloads = [{"key": config_key(c), "error": f"{type(exc).__name__}: {exc}",
                                 "traceback": str(exc)} for c in stack]
                yield from payloads
    finally:
        if started:
            ray.shutdown()


# --------------------------------------------------------------------------- driver

def _failure_record(cfg: TrainConfig, cohort: str, reason: str) -> dict[str, Any]:
    rec = cfg.to_dict()
    rec.update(key=config_key(cfg), cohort=cohort, status=STATUS_FAILED, epochs=0,
               val_loss=math.nan, best_val_loss=math.nan, wall_time=math.nan,
               reason=reason, ari=math.nan, n_clusters=math.nan, aic=math.nan,
               active_units=math.nan, provenance=_provenance.record_provenance(cfg.device))
    return rec


def _resolve_stack_size(stack_size: int | None, todo: Sequence[TrainConfig]) -> int:
    if stack_size is None:
        return default_stack_size(todo[0].device) if todo else 1
    if isinstance(stack_size, bool) or not isinstance(stack_size, (int, np.integer)) \
            or int(stack_size) < 1:
        raise ValueError(f"stack_size must be an integer >= 1 or None (chosen for the device), "
                         f"got {stack_size!r}.")
    return int(stack_size)


def run(
    configs: Sequence[TrainConfig],
    adata,
    store: str | os.PathLike,
    executor: str = "local",
    *,
    cohort: str = "tcga",
    keep: Sequence[str] = ("z",),
    n_workers: int | None = None,
    stack_size: int | None = None,
    ray_address: str | None = None,
    progress: bool = True,
    on_error: str = "raise",
    gpu_fraction: float | None = None,
    cpus_per_task: int = 1,
    max_retries: int = 3,
    runtime_env: dict | None = None,
    score: bool | dict | None = None,
) -> pd.DataFrame:
    """Train every configuration not yet in ``store``; return the records of all of them.

    Parameters
    ----------
    configs
        From ``grid.expand`` (duplicate keys are trained once).
    adata
        Preprocessed cohort: ``X`` float32 z-scored [n_samples, n_genes], ``obs["label"]``. Workers
        receive only ``X`` and the labels (once per worker process, not per training).
    store
        Store folder (``paths.store_dir(profile, cohort, base_dir)``); created if missing. Keys
        already recorded there are skipped (resume). A store is tied to one cohort (fingerprint).
    executor
        ``"local"``: ``n_workers`` loky worker processes (None: one per core, or this process
        alone when stacks train on a CUDA device; 1: this process); works from a plain script
        without a ``__main__`` guard; a worker that dies raises ``RuntimeError`` here within
        seconds. Every training uses one torch thread unless its config sets ``n_threads``.
        ``"ray"``: joins the cluster at ``ray_address`` (``"auto"``, ``"ray://host:10001"``) or
        starts a local Ray with ``n_workers`` CPUs; one task per training (per stack when
        ``stack_size > 1``) requesting ``cpus_per_task`` CPUs and, when the cluster has GPUs,
        ``gpu_fraction`` of one (default 0.1: ten small models share a GPU; a stack takes a
        whole GPU); tasks whose worker dies are retried ``max_retries`` times; the cohort is put
        in the object store once.
    cohort
        Name written in each record's ``cohort`` column.
    keep
        Embedding kinds to store per successful training: any of "z", "mu", "logvar", "logits"
        (float16 files; failed runs store none).
    stack_size
        Trainings per stacked model (``docs/design.md``, "Stacked training"). None:
        ``default_stack_size(device)`` of the configurations' ``device`` (1 on CPU, 16 on
        CUDA). With ``stack_size > 1`` compatible configurations (equal
        ``train.stack_group_key``: they differ only in lr, init, seed, repeat, the early
        stopping fields or the embedding mode) are grouped into stacks of at most
        ``stack_size`` from the keys still to train, and each stack is one task trained by
        ``train.fit_many``; records, store, keys and resume are those of ``stack_size=1`` (a
        record's ``wall_time`` is then its share of the stack's time).
    progress
        Show a tqdm bar: done/total (stored before included), failures so far, ETA.
    on_error
        An exception inside ``fit``/``fit_many``/``encode`` (a bug, not a diverging run: those
        come back as ``status="failed"``) or a Ray worker lost for good: ``"raise"`` stops the
        grid (finished records stay stored, queued tasks are cancelled), ``"record"`` stores a
        failed record whose reason starts with ``"error:"``. A dead local worker always raises.
    score
        Score each successful training in the task that trained it (``docs/design.md``,
        "Scores"): True (``grid.score``'s defaults) or a dict of its metric parameters (e.g.
        ``{"survival": False, "seed": 0}``); the cells are written beside the record, so a
        later ``grid.score`` with the same parameters finds them cached. On a GPU node the
        CPU scoring of one task overlaps the next trainings. None: no scoring here.

    Plugins loaded in this process (``vae_core.plugins.loaded()``) are loaded in every worker
    process and Ray task before it trains.

    Returns
    -------
    pandas.DataFrame
        One row per distinct key, in the order of ``configs``: the grid axes,
        ``keys.RECORD_COLUMNS`` (ari, n_clusters, aic NaN: notebooks 03/04 fill them;
        active_units = latent dims with Var_x(mu) > 0.01), the other TrainConfig fields, then
        the provenance columns ``prov_*`` (``store.PROVENANCE_COLUMNS``).
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
    if stack_size is not None:
        _resolve_stack_size(stack_size, configs)  # a bad value fails before anything else
    keys = [config_key(c) for c in configs]
    unique: dict[str, TrainConfig] = {}
    for k, c in zip(keys, configs):
        unique.setdefault(k, c)

    store = os.fspath(store)
    os.makedirs(store, exist_ok=True)
    X, labels = cohort_arrays(adata)
    _store.check_cohort(store, _store.cohort_fingerprint(X, labels, cohort))
    _store.clean_stale_tmp(store)
    _store.verify(store)  # damaged records/artifacts go to quarantine/ and are trained again
    plan = _scores.plan_for_run(store, adata, score, keep)

    done = _store.stored_keys(store)
    todo = [c for k, c in unique.items() if k not in done]
    n_failed = sum(1 for k in unique if k in done
                   and (_store.read_record(store, k) or {}).get("status") == STATUS_FAILED)
    size = _resolve_stack_size(stack_size, todo)
    stacked = size > 1
    tasks = stacks(todo, size)  # from the to-do list: a resumed stack trains its missing members

    if executor == "local":
        if n_workers is not None:
            workers = int(n_workers)
        elif stacked and todo and _train.resolve_device(todo[0].device).type == "cuda":
            workers = 1  # stacks fill the device from this process
        else:
            workers = default_local_workers()
        results = _iter_local(tasks, stacked, X, labels, keep, cohort, workers, plan)
    else:
        results = _iter_ray(tasks, stacked, X, labels, keep, cohort, n_workers=n_workers,
                            ray_address=ray_address, gpu_fraction=gpu_fraction,
                            cpus_per_task=int(cpus_per_task), max_retries=int(max_retries),
                            runtime_env=runtime_env, score=plan)
    _drive(results, unique, store, cohort, on_error, progress, total=len(unique),
           initial=len(unique) - len(todo), n_failed=n_failed, plan=plan)

    rows = [_store.read_record(store, k) for k in unique]
    missing = [k for k, r in zip(unique, rows) if r is None]
    if missing:  # only if the store is changed underneath this run
        files = [str(_store.record_path(store, k)) for k in missing[:5]]
        raise RuntimeError(
            f"grid store {store}: {len(missing)} of {len(unique)} records are missing or damaged "
            f"after run (changed by another process or a copy while this run trained?): "
            f"{files}{' ...' if len(missing) > 5 else ''}. Run grid.verify(store) to move damaged "
            "files to quarantine/, then grid.run again to train these configurations."
        )
    return _store.records_frame(rows)


def _drive(results: Iterator[dict[str, Any]], unique: dict[str, TrainConfig], store: str,
           cohort: str, on_error: str, progress: bool, *, total: int, initial: int,
           n_failed: int, plan: _scores.ScorePlan | None = None) -> None:
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
                if plan is not None:  # the record first: a score cell implies its record
                    _scores.write_from_run(store, plan, payload, rec)
            n_failed += rec["status"] == STATUS_FAILED
            bar.set_postfix(failed=n_failed, refresh=False)
            bar.update(1)
    finally:
        close()
        bar.close()
