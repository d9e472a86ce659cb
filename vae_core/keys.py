"""Key names used across the package, in one place (scvi-tools ``REGISTRY_KEYS`` style).

Notebooks, tables and tests refer to these constants instead of string literals.
"""

from __future__ import annotations

from typing import NamedTuple


class _ObsKeys(NamedTuple):
    LABEL: str = "label"
    AGE: str = "age"
    GENDER: str = "gender"
    OS_TIME: str = "os_time"
    OS_EVENT: str = "os_event"
    METASTASIS: str = "metastasis_days"
    IMMUNE: str = "immune"


OBS = _ObsKeys()

#: Mutational-signature exposure shares (SPEC 2.1).
SBS_COLUMNS: tuple[str, ...] = ("sbs_1", "sbs_2", "sbs_5", "sbs_13", "sbs_15", "sbs_40")

#: Every canonical ``obs`` column, in order (SPEC 2.1).
CANONICAL_OBS: tuple[str, ...] = tuple(OBS) + SBS_COLUMNS

#: Continuous features probed for disentanglement (SPEC 7); gender is handled separately.
CONTINUOUS_FEATURES: tuple[str, ...] = (OBS.AGE, OBS.METASTASIS, OBS.IMMUNE) + SBS_COLUMNS
DISENTANGLE_FEATURES: tuple[str, ...] = CONTINUOUS_FEATURES + (OBS.GENDER,)

GENDER_CATEGORIES: tuple[str, ...] = ("female", "male")

#: AnnData slots.
UNS_PROVENANCE = "provenance"
UNS_GROUND_TRUTH = "ground_truth"

#: Grid axes and their valid values (SPEC 5). Order here is the expansion order.
GRID_AXES: dict[str, tuple] = {
    "model": ("vanilla", "beta", "betatc", "dip", "iwae", "cat"),
    "latent_dim": (10, 20, 30, 50, 100, 200),
    "lr": (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6),
    "init": ("normal", "uniform", "xavier_normal", "xavier_uniform", "kaiming_uniform"),
    "optimizer": ("adam", "rmsprop", "sgd"),
    "activation": ("relu", "tanh"),
}

#: Columns of the per-training record (SPEC 5) beyond the TrainConfig fields.
RECORD_COLUMNS: tuple[str, ...] = (
    "key",           # stable hash of config + repeat
    "cohort",        # "tcga" | "gtex" | user cohort name
    "repeat",
    "seed",
    "status",        # "ok" | "failed"
    "epochs",
    "val_loss",      # final validation loss (model kept at the stop)
    "best_val_loss",
    "wall_time",     # seconds
    "reason",        # failure reason ("" when ok)
    "ari",
    "n_clusters",
    "aic",
    "active_units",
)

STATUS_OK = "ok"
STATUS_FAILED = "failed"
