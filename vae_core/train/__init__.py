"""Training: ``TrainConfig``, ``fit``, ``fit_many`` and ``encode`` (``docs/design.md``,
"Training protocol" and "Stacked training").

CONTRACT (shared with ``grid``): ``fit(config, adata)`` never raises for a diverging run; it
returns a ``FitResult`` with ``status="failed"`` and a reason. ``fit_many(configs, adata)``
returns what ``fit`` returns for each configuration (within float rounding), training compatible
configurations together as one batched model.

Modules (dependencies run one way: config <- early_stop <- loop <- stacked; none imports this
package back):

- ``config``      ``TrainConfig``, ``FitResult``, ``check_config`` and the choices (torch-free)
- ``early_stop``  ``EpochTracker``: divergence checks, early stopping and history of a training
                  (torch-free; ``fit`` and ``fit_many`` both end their epochs through it)
- ``loop``        ``fit``, ``encode`` and the pieces of a training (split, device, optimizer, ...)
- ``stacked``     ``fit_many`` and the stacking rule (``stack_group_key``, ``plan_stacks``)

Importing this package does not import torch: the torch-free names are imported here, the others
(``fit``, ``fit_many``, ``encode``, ...) load their module on first access, so the grid's spec
validation (``grid.spec``) and store read configurations without paying for torch's import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .config import EMBEDDINGS, OPTIMIZERS, PRECISIONS, FitResult, TrainConfig, check_config
from .early_stop import EpochTracker, history_row

if TYPE_CHECKING:  # the names below load lazily (see the module doc)
    from .loop import (
        autocast_for,
        build_model,
        encode,
        evaluate,
        execution_settings,
        fit,
        fit_extra,
        generators,
        make_optimizer,
        output_as_float,
        resolve_device,
        split_for,
        training_matrix,
    )
    from .stacked import STACK_FIELDS, fit_many, plan_stacks, stack_group_key

#: Public names of the torch-backed submodules: name -> submodule.
_LAZY: dict[str, str] = {
    **dict.fromkeys(("autocast_for", "build_model", "encode", "evaluate", "execution_settings",
                     "fit", "fit_extra", "generators", "make_optimizer", "output_as_float",
                     "resolve_device", "split_for", "training_matrix"), "loop"),
    **dict.fromkeys(("STACK_FIELDS", "fit_many", "plan_stacks", "stack_group_key"), "stacked"),
}

__all__ = [
    "EMBEDDINGS", "OPTIMIZERS", "PRECISIONS", "STACK_FIELDS", "EpochTracker", "FitResult",
    "TrainConfig", "autocast_for", "build_model", "check_config", "encode", "evaluate",
    "execution_settings", "fit", "fit_extra", "fit_many", "generators", "history_row",
    "make_optimizer", "output_as_float", "plan_stacks", "resolve_device", "split_for",
    "stack_group_key", "training_matrix",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups (and monkeypatching) see a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
