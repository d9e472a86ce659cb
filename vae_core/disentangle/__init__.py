"""Disentanglement metrics over arrays (``docs/design.md``, "Disentanglement"): correlations,
Table 1, WSEPIN, RMIG.

One metric per file (disentanglement_lib style), each a pure function of arrays/tables:

- ``correlations``: :func:`feature_correlations` (Spearman; gender by a univariate logit on the
  correlation scale), :func:`count_disentangled`, :func:`disentangled_features`.
- ``wsepin``: :func:`wsepin`, :func:`sepin_table` (Do & Tran 2020; paper Eq 9-10).
- ``rmig``: :func:`rmig`, :func:`rmig_table` (paper Eq 12, normalised by H(y)).
- ``categorical``: :func:`relaxed_categorical_moments` (CAT-VAE's Gaussian stand-in).
- ``study``: the notebook-05 study over grid records (:func:`score_runs`).
- ``_mi``: the shared Monte-Carlo log densities of the aggregate posterior.

Imports neither ``models`` nor ``train``.
"""

from .categorical import relaxed_categorical_moments
from .correlations import (
    THRESHOLD,
    count_disentangled,
    disentangled_features,
    encoding_factors,
    feature_correlations,
    gender_logit,
    spearman,
)
from .rmig import discretize, entropy, rmig, rmig_table
from .study import (
    FEATURE_ABSENT,
    RECOMMENDED,
    features_note,
    score_embedding,
    score_runs,
    study_spec,
    table1,
    unavailable_features,
)
from .wsepin import sepin_table, wsepin

__all__ = [
    "FEATURE_ABSENT",
    "RECOMMENDED",
    "THRESHOLD",
    "count_disentangled",
    "discretize",
    "disentangled_features",
    "encoding_factors",
    "entropy",
    "feature_correlations",
    "features_note",
    "gender_logit",
    "relaxed_categorical_moments",
    "rmig",
    "rmig_table",
    "score_embedding",
    "score_runs",
    "sepin_table",
    "spearman",
    "study_spec",
    "table1",
    "unavailable_features",
    "wsepin",
]
