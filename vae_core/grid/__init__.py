"""Hyperparameter grid (``docs/design.md``, "Grid and store" and "Executors"): expansion with
stable keys, a resumable atomic store, executors.

- ``expand(spec)`` -> list of TrainConfig (validated; repeats outermost, keys.GRID_AXES order)
- ``design_report(spec)`` -> what a ``fraction: N`` design achieved (balance, imbalance)
- ``config_key(config)`` -> stable 16-hex key of a training (config + repeat)
- ``run(configs, adata, store, executor="local"|"ray", stack_size=None)`` -> DataFrame of records
  (``stack_size`` > 1 trains compatible configurations together with ``train.fit_many``;
  ``default_stack_size(device)``: 1 on CPU, 16 on CUDA; ``stacks(configs, n)`` shows the grouping)
- ``load_records(store)``, ``load_embedding(store, key, kind)``, ``load_history(store, key)``
- ``verify(store, repair=True)`` -> VerifyReport: damaged records/artifacts moved by
  ``quarantine(store, path, reason)`` into ``<store>/quarantine/`` (``grid.run`` verifies first)
- ``check_cohort_for_grid(configs, adata)`` -> notes (KL weight B/N); ValueError if too small
- ``status_summary(df)``, ``failure_reasons(df)``, ``plot_curves(store, df)`` for notebook 02
- ``score(store, adata, executor="local"|"ray", n_jobs=...)`` -> the run table of
  ``downstream.evaluate_runs``, computing only the scores the store does not hold yet
  (``docs/design.md``, "Scores"); ``run(..., score=True)`` scores each training in its task
- ``to_anndata(store, adata, key="best", metric="ari")`` -> a copy of the cohort with that
  configuration's embedding in ``obsm["X_vae"]`` and its provenance in ``uns["vae"]``

The names load their submodule on first access, so ``from vae_core.grid import expand`` (spec
validation and keys) or ``import vae_core.grid.spec`` does not import torch; ``run``,
``stacks``, ``default_stack_size`` and ``active_units`` (the runner) do.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below load lazily (see the module doc)
    from .checks import check_cohort_for_grid
    from .report import failure_reasons, plot_curves, status_summary
    from .runner import active_units, default_stack_size, run, stacks
    from .scores import score, to_anndata
    from .spec import config_key, design_report, expand, seed_from_key, validate
    from .store import load_embedding, load_history, load_records, quarantine, verify

#: Public name -> the submodule defining it.
_EXPORTS: dict[str, str] = {
    "check_cohort_for_grid": "checks",
    "failure_reasons": "report", "plot_curves": "report", "status_summary": "report",
    "active_units": "runner", "default_stack_size": "runner", "run": "runner",
    "stacks": "runner", "score": "scores", "to_anndata": "scores",
    "config_key": "spec", "design_report": "spec", "expand": "spec", "seed_from_key": "spec",
    "validate": "spec",
    "load_embedding": "store", "load_history": "store", "load_records": "store",
    "quarantine": "store", "verify": "store",
}

__all__ = [
    "active_units", "check_cohort_for_grid", "config_key", "default_stack_size",
    "design_report", "expand", "failure_reasons", "load_embedding", "load_history",
    "load_records", "plot_curves", "quarantine", "run", "score", "seed_from_key", "stacks",
    "status_summary", "to_anndata", "validate", "verify",
]


#: Submodules reachable as attributes (``grid.store``) before anything imported them.
_SUBMODULES: tuple[str, ...] = ("checks", "design", "report", "runner", "scores", "spec",
                                "store")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
