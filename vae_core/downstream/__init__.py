"""Downstream evaluation of latent embeddings (``docs/design.md``, "Downstream"): arrays and
tables in, numbers out.

- ``register_metric(name, fn, *, columns=None, needs=())``: add a metric; ``metrics()``,
  ``metric(name)``, ``metric_columns()``: the registry (the paper's ``ari`` and ``aic`` included)

- ``leiden_ari(embedding, labels, n_neighbors=15, resolution=1.0, seed=0)`` -> (ari, n_clusters)
- ``cox_aic(embedding, obs, covariates=("age", "gender", "label"))`` -> AIC (None = baseline);
  ``cox_fit`` the same with diagnostics (``CoxResult``)
- ``active_units(mu, threshold=0.01)`` -> int (Burda et al. 2016)
- ``evaluate`` / ``evaluate_many`` / ``evaluate_runs`` / ``runs_table`` / ``baseline_table`` /
  ``pair_umap``: what notebooks 03 and 04 call
- ``pick_fig2_pair``, ``concordance``, ``concordance_rho``, ``per_model_summary``: table summaries

Imports neither ``models`` nor ``train`` (``docs/design.md``, "Layers"); scanpy/lifelines load lazily, so
``from vae_core.downstream import active_units`` is cheap.
"""

from .clustering import leiden_ari, leiden_labels, umap_coordinates
from .evaluate import (
    AIC_REASON_COLUMN,
    COVARIATES_COLUMN,
    METRIC_COLUMNS,
    REASON_COLUMN,
    SURVIVAL_OFF,
    TRAINING_FAILED,
    baseline_table,
    evaluate,
    evaluate_many,
    evaluate_runs,
    metric_table_columns,
    pair_umap,
    run_table_columns,
    runs_table,
)
from .metric_registry import Metric, metric, metric_columns, metrics, register_metric
from .metric_registry import compute as compute_metric
from .summary import (
    concordance,
    concordance_rho,
    mean_ari_per_config,
    per_model_summary,
    pick_fig2_pair,
)
from .survival import (
    COVARIATES,
    NO_SURVIVAL,
    CoxResult,
    available_covariates,
    cox_aic,
    cox_design,
    cox_fit,
    survival_reason,
)
from .units import active_units

__all__ = [
    "AIC_REASON_COLUMN",
    "COVARIATES",
    "COVARIATES_COLUMN",
    "METRIC_COLUMNS",
    "NO_SURVIVAL",
    "REASON_COLUMN",
    "SURVIVAL_OFF",
    "TRAINING_FAILED",
    "CoxResult",
    "Metric",
    "active_units",
    "available_covariates",
    "baseline_table",
    "compute_metric",
    "concordance",
    "concordance_rho",
    "cox_aic",
    "cox_design",
    "cox_fit",
    "evaluate",
    "evaluate_many",
    "evaluate_runs",
    "leiden_ari",
    "leiden_labels",
    "mean_ari_per_config",
    "metric",
    "metric_columns",
    "metric_table_columns",
    "metrics",
    "pair_umap",
    "per_model_summary",
    "pick_fig2_pair",
    "register_metric",
    "run_table_columns",
    "runs_table",
    "survival_reason",
    "umap_coordinates",
]
