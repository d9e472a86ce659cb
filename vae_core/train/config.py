"""What one training is and what it returns: ``TrainConfig``, ``FitResult``, ``check_config``.

Torch-free on purpose (``docs/design.md``, "Training protocol"): the grid's spec validation and
keys (``vae_core.grid.spec``) import this module without paying for torch's import. The model
names come from the torch-free ``vae_core.registry``; the choices of ``activation``, ``init``
and ``loss_scale`` belong to the models and are read from ``vae_core.models.base`` when a
configuration is checked.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import registry

OPTIMIZERS: tuple[str, ...] = ("adam", "rmsprop", "sgd")
EMBEDDINGS: tuple[str, ...] = ("sample", "mean")
#: ``TrainConfig.precision``: fp32 everywhere; tf32 matmuls on CUDA (no-op on CPU); bf16 autocast
#: of the forward pass with fp32 master weights, fp32 loss and fp32 validation.
PRECISIONS: tuple[str, ...] = ("fp32", "tf32", "bf16")


@dataclass(frozen=True)
class TrainConfig:
    """One training: the grid's hyperparameters plus the fixed protocol (``docs/design.md``,
    "Training protocol")."""

    model: str = "vanilla"
    latent_dim: int = 10
    lr: float = 1e-3
    init: str = "kaiming_uniform"
    optimizer: str = "adam"
    activation: str = "tanh"
    seed: int = 0
    repeat: int = 0
    batch_size: int = 64
    max_epochs: int = 1000
    min_epochs: int = 5
    patience: int = 3
    min_delta: float = 1e-4
    loss_scale: str = "published"
    embedding: str = "sample"
    device: str = "auto"
    hidden: int = 512
    train_fraction: float = 0.7
    n_threads: int | None = None
    precision: str = "fp32"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class FitResult:
    """Outcome of one training (``docs/design.md``, "Training protocol")."""

    config: TrainConfig
    status: str                       # "ok" | "failed"
    epochs: int
    val_loss: float                   # validation loss of the model kept (nan if failed)
    best_val_loss: float
    history: list[dict[str, float]]   # per epoch: epoch, train_loss, val_loss, train_<term>, val_<term>
    model: Any                        # the torch module (eval mode), None if it never built
    train_idx: np.ndarray
    val_idx: np.ndarray
    reason: str = ""
    wall_time: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _choices() -> dict[str, tuple[str, ...]]:
    from ..models.base import ACTIVATIONS, INITS, LOSS_SCALES  # the models own these lists

    return {"model": registry.model_names(), "optimizer": OPTIMIZERS,
            "activation": ACTIVATIONS, "init": INITS, "loss_scale": LOSS_SCALES,
            "embedding": EMBEDDINGS, "precision": PRECISIONS}


def check_config(config: TrainConfig) -> None:
    """Raise ValueError naming the bad field, its value and the valid choices.

    ``model`` must be a registered model (``vae_core.registry.model_names()``: the paper's six
    and any a plugin registered in this process).
    """
    for name, allowed in _choices().items():
        value = getattr(config, name)
        if value not in allowed:
            hint = (" Register a new model with vae_core.models.register (from a plugin file "
                    "listed under 'plugins:' in the params)." if name == "model" else "")
            raise ValueError(f"TrainConfig.{name}={value!r} is not valid; choose one of "
                             f"{list(allowed)}.{hint}")
    for name in ("latent_dim", "batch_size", "max_epochs", "hidden"):
        if int(getattr(config, name)) < 1:
            raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(config, name)!r}.")
    if not (config.lr > 0 and math.isfinite(config.lr)):
        raise ValueError(f"TrainConfig.lr must be a positive finite number, got {config.lr!r}.")
