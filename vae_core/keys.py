"""Key names used across the package, in one place (scvi-tools ``REGISTRY_KEYS`` style).

Notebooks, tables and tests refer to these constants instead of string literals.
"""

from __future__ import annotations

from typing import NamedTuple

from .registry import PAPER_MODELS


class _ObsKeys(NamedTuple):
    LABEL: str = "label"
    AGE: str = "age"
    GENDER: str = "gender"
    OS_TIME: str = "os_time"
    OS_EVENT: str = "os_event"
    METASTASIS: str = "metastasis_days"
    IMMUNE: str = "immune"


OBS = _ObsKeys()

#: Mutational-signature exposure shares (``docs/design.md``, "Data").
SBS_COLUMNS: tuple[str, ...] = ("sbs_1", "sbs_2", "sbs_5", "sbs_13", "sbs_15", "sbs_40")

#: Every canonical ``obs`` column, in order (``docs/design.md``, "Data").
CANONICAL_OBS: tuple[str, ...] = tuple(OBS) + SBS_COLUMNS

#: Continuous features probed for disentanglement (``docs/design.md``, "Disentanglement");
#: gender is handled separately.
CONTINUOUS_FEATURES: tuple[str, ...] = (OBS.AGE, OBS.METASTASIS, OBS.IMMUNE) + SBS_COLUMNS
DISENTANGLE_FEATURES: tuple[str, ...] = CONTINUOUS_FEATURES + (OBS.GENDER,)

GENDER_CATEGORIES: tuple[str, ...] = ("female", "male")

#: AnnData slots.
UNS_PROVENANCE = "provenance"
UNS_GROUND_TRUTH = "ground_truth"

#: Grid axes and the paper's levels (``docs/design.md``, "Grid"). Order here is the expansion
#: order. These are the defaults, not a closed list: ``model`` takes every registered model,
#: ``latent_dim`` any positive integer and ``lr`` any positive number (``grid.spec``).
GRID_AXES: dict[str, tuple] = {
    "model": tuple(PAPER_MODELS),   # the paper's six, from the one list in ``registry``
    "latent_dim": (10, 20, 30, 50, 100, 200),
    "lr": (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6),
    "init": ("normal", "uniform", "xavier_normal", "xavier_uniform", "kaiming_uniform"),
    "optimizer": ("adam", "rmsprop", "sgd"),
    "activation": ("relu", "tanh"),
}

#: Axes a spec may vary besides ``GRID_AXES`` (expanded after them), with their default level:
#: ``hidden`` is the hidden-layer width (the paper used 512 and names the width as a limitation
#: it did not explore). A configuration that does not vary it keeps its earlier key.
OPTIONAL_AXES: dict[str, tuple] = {"hidden": (512,)}

#: Axes whose values are open (any valid number), by kind: "int" (positive integer) or
#: "float" (positive, finite). ``model`` is open to the registered models.
OPEN_AXES: dict[str, str] = {"latent_dim": "int", "lr": "float", "hidden": "int"}

#: Columns of the per-training record (``docs/design.md``, "Grid and store") beyond the
#: TrainConfig fields. Downstream metric columns come from the metric registry
#: (``downstream.metric_columns()``), not from this list.
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
