"""Read the tidy tables of ``vae_core.tables`` (the only input of the plots) and write outputs.

Every reader returns a DataFrame with at least the documented columns; a table that a profile
did not produce (e.g. no GTEx cohort) comes back empty, so each figure can say "no data".
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .. import paths, tables
from ..keys import GRID_AXES, STATUS_OK

#: Columns of every table notebook 06 reads (from the comments of ``vae_core.tables``).
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    tables.RUNS_TCGA: tables.RUNS_COLUMNS + (tables.AIC_REASON,),
    tables.RUNS_GTEX: tables.RUNS_COLUMNS + (tables.AIC_REASON,),
    tables.BASELINE_AIC: ("cohort", "aic", tables.AIC_REASON),
    tables.FIG2_PAIR: ("role",) + tables.RUNS_COLUMNS,
    tables.FIG2_UMAP: ("key", "role", "umap1", "umap2", "label"),
    tables.CONCORDANCE: tables.CONFIG_COLUMNS + ("ari_tcga", "ari_gtex"),
    tables.CORRELATIONS: ("model", "latent_dim", "factor", "feature", "rho"),
    tables.DISENTANGLE_SCORES: ("model", "latent_dim", "wsepin", "n_disentangled", "status"),
    tables.RMIG: ("model", "latent_dim", "feature", "rmig"),
    tables.DISENTANGLED_FEATURES: ("model", "latent_dim", "feature", "factors"),
}

#: Text columns of the run/baseline tables (notebooks 03/04; ``downstream.evaluate``): "" when
#: fine, else why a metric is NaN. CSV reads "" back as NaN; ``normalise`` restores "".
#: ``aic_reason`` is the contract with the scorecard: "" where the AIC was computed.
AIC_REASON = tables.AIC_REASON
TEXT_COLUMNS: tuple[str, ...] = ("reason", "downstream_reason", AIC_REASON, tables.COVARIATES)
#: "n/a" text of the GTEx-side panels and scorecard rows when notebook 04 had no cohort.
NO_GTEX = "no GTEx-side cohort"

_NUMERIC = ("latent_dim", "lr", "val_loss", "best_val_loss", "ari", "aic", "n_clusters",
            "active_units", "ari_tcga", "ari_gtex", "rho", "wsepin", "n_disentangled", "rmig",
            "factor", "umap1", "umap2", "epochs", "repeat")


def _snap_lr(lr: pd.Series) -> pd.Series:
    """Map learning rates read back from CSV onto the exact grid values (1e-1 ... 1e-6)."""
    grid = np.array(GRID_AXES["lr"], dtype=float)
    out = lr.astype(float).copy()
    for i, v in out.items():
        if np.isfinite(v) and v > 0:
            j = np.argmin(np.abs(np.log10(grid) - np.log10(v)))
            if abs(np.log10(grid[j]) - np.log10(v)) < 1e-6:
                out[i] = grid[j]
    return out


def normalise(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Add missing documented columns (as NaN) and coerce numeric columns of table ``name``."""
    if name not in TABLE_COLUMNS:
        raise ValueError(f"unknown table {name!r}; known tables: {sorted(TABLE_COLUMNS)}")
    df = df.copy()
    for col in TABLE_COLUMNS[name]:
        if col not in df.columns:
            df[col] = np.nan
    for col in _NUMERIC:
        if col in df.columns:
            df[col] = pd.to_numeric(df[col], errors="coerce")
    if "lr" in df.columns and len(df):
        df["lr"] = _snap_lr(df["lr"])
    for col in ("model", "status", "feature", "role", "init", "optimizer", "activation"):
        if col in df.columns:
            df[col] = df[col].astype("object").where(df[col].notna(), None)
    for col in TEXT_COLUMNS:
        if col in df.columns:
            df[col] = df[col].astype("object").where(df[col].notna(), "").astype(str)
    return df


def read_table(profile: str, name: str, base_dir: str | os.PathLike | None = None
               ) -> pd.DataFrame:
    """Read tidy table ``name`` (a ``vae_core.tables`` constant) of a run; empty if absent."""
    path = paths.tables_dir(profile, base_dir) / name
    if not path.exists() or path.stat().st_size == 0:
        return normalise(pd.DataFrame(columns=list(TABLE_COLUMNS[name])), name)
    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        df = pd.DataFrame(columns=list(TABLE_COLUMNS[name]))
    return normalise(df, name)


def load_tables(profile: str, base_dir: str | os.PathLike | None = None
                ) -> dict[str, pd.DataFrame]:
    """Every table notebook 06 plots from, keyed by its ``vae_core.tables`` file name."""
    return {name: read_table(profile, name, base_dir) for name in TABLE_COLUMNS}


def na_reason(runs: pd.DataFrame | None, metric: str = "aic",
              reason_column: str | None = None) -> str:
    """Why ``metric`` has no finite value in a run/baseline table, or ``""`` when it has one.

    The most common non-empty reason (``reason_column``, default ``<metric>_reason``; for
    ``aic`` and a metric's other columns pass the metric's reason column) of the successful
    rows (of all rows when none succeeded), e.g. "no survival data in this cohort"; "no data" when the
    table is empty or gives no reason. Figures and the scorecard write ``"n/a: " + reason``.
    """
    if runs is None or not len(runs) or metric not in runs.columns:
        return "no data"
    if np.isfinite(pd.to_numeric(runs[metric], errors="coerce")).any():
        return ""
    col = reason_column or (AIC_REASON if metric == "aic" else f"{metric}_reason")
    if col not in runs.columns:
        return "no data"
    rows = runs[runs["status"] == STATUS_OK] if "status" in runs.columns else runs
    if not len(rows):
        rows = runs
    why = rows[col].astype("object").where(rows[col].notna(), "").astype(str).str.strip()
    why = why[why != ""]
    return str(why.value_counts().index[0]) if len(why) else "no data"


def successful(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs with status ``ok`` (failed trainings carry no ARI/AIC; Fig 5 counts them)."""
    if runs is None or not len(runs):
        return runs.iloc[0:0] if runs is not None else pd.DataFrame()
    return runs[runs["status"] == STATUS_OK]


def save_figure(fig: Figure, name: str, out_dir: str | os.PathLike) -> list[Path]:
    """Write ``fig`` as ``<name>.png`` (300 dpi) and ``<name>.pdf`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for ext in ("png", "pdf"):
        p = out / f"{name}.{ext}"
        # zlib level 2: ~1/3 faster than the default 6 at 300 dpi, files ~20% larger; the
        # figures use constrained layout, so no bbox_inches="tight" (an extra draw per file)
        extra = {"pil_kwargs": {"compress_level": 2}} if ext == "png" else {}
        fig.savefig(p, dpi=300, **extra)
        written.append(p)
    return written


def save_table(df: pd.DataFrame, name: str, out_dir: str | os.PathLike,
               title: str | None = None, note: str | None = None) -> list[Path]:
    """Write a table as ``<name>.csv`` and ``<name>.md`` (Markdown, optional title and note)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / f"{name}.csv"
    md = out / f"{name}.md"
    df.to_csv(csv)
    text = []
    if title:
        text += [f"# {title}", ""]
    text.append(to_markdown(df))
    if note:
        text += ["", note]
    md.write_text("\n".join(text) + "\n")
    return [csv, md]


def _fmt(v) -> str:
    if v is pd.NA or v is None:
        return "n/a"
    if isinstance(v, float | np.floating):
        return "n/a" if np.isnan(v) else f"{v:.3g}"
    return str(v)


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table of ``df`` with its index (no ``tabulate`` needed)."""
    idx_name = df.index.name or ""
    cols = [idx_name] + [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for idx, row in df.iterrows():
        lines.append("| " + " | ".join([_fmt(idx)] + [_fmt(v) for v in row]) + " |")
    return "\n".join(lines)
