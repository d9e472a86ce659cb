"""Training: ``TrainConfig`` and ``fit`` (SPEC 4).

CONTRACT (shared with ``grid``): ``fit(config, adata)`` never raises for a diverging run; it
returns a ``FitResult`` with ``status="failed"`` and a reason.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class TrainConfig:
    """One training: the grid's five hyperparameters plus the fixed protocol (SPEC 4)."""

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

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class FitResult:
    """Outcome of one training (SPEC 10)."""

    config: TrainConfig
    status: str                       # "ok" | "failed"
    epochs: int
    val_loss: float                   # validation loss of the model kept (nan if failed early)
    best_val_loss: float
    history: list[dict[str, float]]   # per epoch: epoch, train_loss, val_loss, train_<term>, val_<term>
    model: Any                        # the torch module (eval mode), None if it never built
    train_idx: np.ndarray
    val_idx: np.ndarray
    reason: str = ""
    wall_time: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def fit(config: TrainConfig, adata) -> FitResult:  # pragma: no cover - implemented in issue 4
    raise NotImplementedError
