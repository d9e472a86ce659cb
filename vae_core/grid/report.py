"""Small summaries of a grid's records for notebook 02: status counts and training curves."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .. import registry
from ..keys import GRID_AXES, OPTIONAL_AXES, STATUS_FAILED, STATUS_OK
from .store import load_history


def status_summary(df: pd.DataFrame) -> pd.DataFrame:
    """ok/failed counts per value of every grid axis (the data of the paper's Fig 5).

    Parameters
    ----------
    df
        Records (``grid.run`` / ``grid.load_records``).

    Returns
    -------
    DataFrame with columns axis, value, ok, failed, total, failed_pct; rows in
    ``keys.GRID_AXES`` order (model first, in registration order), the paper's levels in their
    canonical order, then any other level that ran (open axes; ``hidden`` when varied).
    """
    rows = []
    for axis, valid in {**GRID_AXES, "model": registry.model_names(), **OPTIONAL_AXES}.items():
        if axis not in df.columns:
            continue
        present = list(pd.unique(df[axis].dropna()))
        known = [v for v in valid if any(v == x for x in present)]
        other = sorted((x for x in present if not any(x == v for v in valid)), key=str)
        if axis in OPTIONAL_AXES and not other:
            continue   # an optional axis at its default level says nothing
        for value in known + other:   # the paper's levels first, then the open axes' others
            sub = df[df[axis] == value]
            if not len(sub):
                continue
            ok = int((sub["status"] == STATUS_OK).sum())
            failed = int((sub["status"] == STATUS_FAILED).sum())
            rows.append({"axis": axis, "value": value, "ok": ok, "failed": failed,
                         "total": len(sub), "failed_pct": round(100.0 * failed / len(sub), 1)})
    return pd.DataFrame(rows, columns=["axis", "value", "ok", "failed", "total", "failed_pct"])


def failure_reasons(df: pd.DataFrame) -> pd.DataFrame:
    """Count of failed trainings per model and reason (reason text up to its first colon)."""
    failed = df[df["status"] == STATUS_FAILED]
    reason = failed["reason"].fillna("").astype(str).str.split(":").str[0].str.strip()
    out = failed.assign(reason=reason).groupby(["model", "reason"], observed=True).size()
    return out.rename("n").reset_index()


def plot_curves(store: str | os.PathLike, df: pd.DataFrame, per_model: int = 2):
    """Validation (solid) and training (dashed) loss per epoch, one panel per model.

    Shows up to ``per_model`` successful trainings of each model (spread evenly over ``df``'s rows);
    panels have their own y scale because the published loss weights differ between models.
    Returns a matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    ran = set(df["model"])
    models = [m for m in registry.model_names() if m in ran]
    models += sorted(ran - set(models))   # a model registered in another process only
    ncol = min(3, max(1, len(models)))
    nrow = max(1, -(-len(models) // ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.2 * nrow), squeeze=False)
    for ax in axes.flat[len(models):]:
        ax.set_visible(False)
    for ax, model in zip(axes.flat, models):
        sub = df[(df["model"] == model) & (df["status"] == STATUS_OK)]
        if len(sub) > per_model:  # spread over the grid rather than the first few rows
            sub = sub.iloc[np.unique(np.linspace(0, len(sub) - 1, per_model).round().astype(int))]
        for i, rec in enumerate(sub.itertuples(index=False)):
            h = load_history(store, rec.key)
            label = f"d{rec.latent_dim} lr{rec.lr:g} {rec.init} {rec.optimizer} {rec.activation}"
            line, = ax.plot(h["epoch"], h["val_loss"], label=label, color=f"C{i}")
            if "train_loss" in h:
                ax.plot(h["epoch"], h["train_loss"], ls="--", color=line.get_color(), alpha=0.6)
        ax.set_title(model)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        if len(sub):
            ax.legend(fontsize=6)
        else:
            ax.text(0.5, 0.5, "no successful run", ha="center", transform=ax.transAxes)
    fig.tight_layout()
    return fig
