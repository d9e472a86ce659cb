"""Hyperparameter grid (SPEC 5): expansion with stable keys, a resumable atomic store, executors.

- ``expand(spec)`` -> list of TrainConfig (validated; repeats outermost, keys.GRID_AXES order)
- ``design_report(spec)`` -> what a ``fraction: N`` design achieved (balance, imbalance)
- ``config_key(config)`` -> stable 16-hex key of a training (config + repeat)
- ``run(configs, adata, store, executor="local"|"ray", stack_size=None)`` -> DataFrame of records
  (``stack_size`` > 1 trains compatible configurations together with ``train.fit_many``;
  ``default_stack_size(device)``: 1 on CPU, 16 on CUDA; ``stacks(configs, n)`` shows the grouping)
- ``load_records(store)``, ``load_embedding(store, key, kind)``, ``load_history(store, key)``
- ``check_cohort_for_grid(configs, adata)`` -> notes (KL weight B/N); ValueError if too small
- ``status_summary(df)``, ``failure_reasons(df)``, ``plot_curves(store, df)`` for notebook 02
"""

from .checks import check_cohort_for_grid
from .report import failure_reasons, plot_curves, status_summary
from .runner import active_units, default_stack_size, run, stacks
from .spec import config_key, design_report, expand, seed_from_key, validate
from .store import load_embedding, load_history, load_records

__all__ = [
    "active_units", "check_cohort_for_grid", "config_key", "default_stack_size", "design_report", "expand",
    "failure_reasons", "load_embedding", "load_history", "load_records", "plot_curves", "run",
    "seed_from_key", "stacks", "status_summary", "validate",
]
