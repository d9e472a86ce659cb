"""Per-epoch bookkeeping of one training: divergence checks, history rows, early stopping.

``fit`` (one model) and ``fit_many`` (a stack of models) both end every epoch of every training
with the same two calls of one :class:`EpochTracker`, so their stopping decisions, failure
reasons, histories and results are the same code (``docs/design.md``, "Training protocol" and
"Stacked training"):

    tracker = EpochTracker(config)
    for epoch in range(1, config.max_epochs + 1):
        ...                                   # train one epoch -> train_vals [loss, *terms]
        if not tracker.check_training(epoch, train_vals, params_finite):
            break                             # failed: non-finite training loss or parameters
        ...                                   # validate -> val_vals [loss, *terms]
        if not tracker.end_epoch(epoch, train_vals, names, val_vals, names, lr=..., step=...):
            break                             # failed (non-finite validation loss) or stopped
        ...                                   # decay the learning rate, next epoch
    result = tracker.result(model, train_idx, val_idx, wall_time, extra)

Torch-free: it sees the epoch's numbers as Python floats (one host sync per epoch, done by the
caller).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..keys import STATUS_FAILED, STATUS_OK
from .config import FitResult, TrainConfig


def history_row(epoch: int, train_vals: Sequence[float], train_names: Sequence[str],
                val_vals: Sequence[float], val_names: Sequence[str], **more: float
                ) -> dict[str, float]:
    """One row of ``FitResult.history``: epoch, train_loss, val_loss, train_<term>...,
    val_<term>..., then ``more`` (lr, step, train_seconds, seconds) in the order given."""
    row: dict[str, float] = {"epoch": epoch, "train_loss": train_vals[0],
                             "val_loss": val_vals[0]}
    row.update({f"train_{k}": v for k, v in zip(train_names, train_vals[1:])})
    row.update({f"val_{k}": v for k, v in zip(val_names, val_vals[1:])})
    row.update(more)
    return row


class EpochTracker:
    """Stopping state and history of one training under ``config``'s protocol.

    Early stopping on the validation loss: an epoch improves when its loss is below the best so
    far minus ``min_delta``; training stops after ``patience`` epochs without improvement once
    ``min_epochs`` epochs are done, and at ``max_epochs`` at the latest. A non-finite training
    loss (any term), parameter or validation loss ends the training with ``status="failed"`` and
    a reason naming what and the epoch; the model kept is the one at the stop.
    """

    def __init__(self, config: TrainConfig):
        self.config = config
        self.min_delta = float(config.min_delta)
        self.patience = int(config.patience)
        self.min_epochs = int(config.min_epochs)
        self.max_epochs = int(config.max_epochs)
        self.history: list[dict[str, float]] = []
        self.status, self.reason = STATUS_OK, ""
        self.best, self.wait, self.val_loss = math.inf, 0, math.nan
        self.epochs = 0

    @property
    def failed(self) -> bool:
        return self.status == STATUS_FAILED

    def fail(self, reason: str) -> bool:
        """Mark the training failed with ``reason``; returns False (stop)."""
        self.status, self.reason = STATUS_FAILED, reason
        return False

    def check_training(self, epoch: int, train_vals: Sequence[float],
                       params_finite: bool) -> bool:
        """After the epoch's updates: True when its mean training loss and every term are
        finite and so are the parameters; otherwise the training has failed (False)."""
        self.epochs = epoch
        if not all(map(math.isfinite, train_vals)):
            return self.fail(f"non-finite training loss in epoch {epoch}")
        if not params_finite:
            return self.fail(f"non-finite parameters after epoch {epoch}")
        return True

    def end_epoch(self, epoch: int, train_vals: Sequence[float], train_names: Sequence[str],
                  val_vals: Sequence[float], val_names: Sequence[str], **more: float) -> bool:
        """Record the epoch (history row, ``more`` as in :func:`history_row`) and decide:
        True to train another epoch, False when the training failed (non-finite validation
        loss) or stops (early stopping or ``max_epochs``)."""
        self.epochs = epoch
        self.val_loss = float(val_vals[0])
        self.history.append(history_row(epoch, train_vals, train_names, val_vals, val_names,
                                        **more))
        if not math.isfinite(self.val_loss):
            return self.fail(f"non-finite validation loss in epoch {epoch}")
        if self.val_loss < self.best - self.min_delta:
            self.best, self.wait = self.val_loss, 0
        else:
            self.wait += 1
        if epoch >= self.min_epochs and self.wait >= self.patience:
            return False
        return epoch < self.max_epochs

    def result(self, model: Any, train_idx: np.ndarray, val_idx: np.ndarray, wall_time: float,
               extra: dict[str, Any]) -> FitResult:
        """The ``FitResult`` of the training as it stands (call once it stopped)."""
        ok = self.status == STATUS_OK
        return FitResult(
            config=self.config, status=self.status, epochs=self.epochs,
            val_loss=self.val_loss if ok else math.nan,
            best_val_loss=self.best if math.isfinite(self.best) else math.nan,
            history=self.history, model=model, train_idx=train_idx, val_idx=val_idx,
            reason=self.reason, wall_time=wall_time, extra=extra,
        )
