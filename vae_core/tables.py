"""Names and columns of the tidy tables that notebooks 02-05 write and notebook 06 plots.

All live in ``paths.tables_dir(profile)`` as CSV. One place for the schema, so producers
(notebooks 02-05) and the consumer (``plots``) cannot drift apart.
"""

from __future__ import annotations

from .keys import RECORD_COLUMNS

#: Config columns every run table carries (TrainConfig grid axes).
CONFIG_COLUMNS: tuple[str, ...] = (
    "model", "latent_dim", "lr", "init", "optimizer", "activation",
)

#: One row per training, grid record + downstream metrics (notebook 03 / 04).
RUNS_TCGA = "runs_tcga.csv"
RUNS_GTEX = "runs_gtex.csv"
RUNS_COLUMNS: tuple[str, ...] = CONFIG_COLUMNS + RECORD_COLUMNS

#: Why a run's AIC is NaN ("" where it was computed; e.g. "no survival data in this cohort"),
#: and which Cox covariates were used (e.g. "age;gender;label" or "label (absent: age, gender)"):
#: text columns of the run tables and of the baseline table.
AIC_REASON = "aic_reason"
COVARIATES = "covariates"

#: Covariate-only Cox baseline (notebook 03): columns cohort, aic, aic_reason, covariates.
BASELINE_AIC = "baseline_aic.csv"

#: The Fig 2C/D pair (notebook 03): role ("low_ari"|"high_ari") + RUNS_COLUMNS.
FIG2_PAIR = "fig2_pair.csv"
#: UMAP coordinates of the pair: key, role, umap1, umap2, label.
FIG2_UMAP = "fig2_umap.csv"

#: TCGA vs GTEx per configuration (notebook 04): CONFIG_COLUMNS + ari_tcga, ari_gtex
#: (mean over repeats of successful runs).
CONCORDANCE = "tcga_vs_gtex.csv"

#: Disentanglement (notebook 05).
#: Long table: model, latent_dim, factor (0-based int), feature, rho.
CORRELATIONS = "correlations.csv"
#: model, latent_dim, wsepin, n_disentangled, status.
DISENTANGLE_SCORES = "disentangle_scores.csv"
#: Long table: model, latent_dim, feature, rmig (normalised by H(y)).
RMIG = "rmig.csv"
#: Which features are disentangled: model, latent_dim, feature, factors (";"-joined factor ids).
DISENTANGLED_FEATURES = "disentangled_features.csv"
