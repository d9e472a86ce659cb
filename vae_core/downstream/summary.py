"""Table-level summaries of the downstream metrics: the Fig 2C/D pair and TCGA-GTEx concordance.

Pure pandas/numpy on run tables (``vae_core.tables.RUNS_COLUMNS``); no models, no files.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..keys import STATUS_OK
from ..tables import CONFIG_COLUMNS, RUNS_COLUMNS


def _ok(runs: pd.DataFrame, *cols: str) -> pd.DataFrame:
    sel = runs["status"].eq(STATUS_OK) if "status" in runs else pd.Series(True, index=runs.index)
    for c in cols:
        sel &= np.isfinite(pd.to_numeric(runs[c], errors="coerce"))
    return runs.loc[sel]


def pick_fig2_pair(
    runs: pd.DataFrame,
    model: str = "vanilla",
    quantile: float = 0.9,
    rel_tol: float = 0.02,
) -> pd.DataFrame:
    """The Fig 2C/D pair: two runs with near-equal validation loss and very different ARI.

    Among successful ``model`` runs with finite ``val_loss`` and ``ari`` and loss up to its
    ``quantile`` (the range Fig 2 plots), returns the pair maximising the ARI difference subject
    to ``|loss_a - loss_b| <= rel_tol * (loss at quantile - min loss)`` (widened to the smallest
    loss gap between two runs when no pair is that close, so two eligible runs always give a
    pair). Ties are broken by the smaller loss difference, then by the lower loss.

    Returns a DataFrame of two rows, ``role`` ("low_ari", "high_ari") then ``RUNS_COLUMNS``
    (the columns of ``runs`` that exist), or an empty frame with those columns when fewer than
    two eligible runs exist.
    """
    columns = ["role"] + [c for c in RUNS_COLUMNS if c in runs.columns]
    empty = pd.DataFrame(columns=columns)
    if not 0 < quantile <= 1 or rel_tol < 0:
        raise ValueError(f"need 0 < quantile <= 1 and rel_tol >= 0; got quantile={quantile!r}, "
                         f"rel_tol={rel_tol!r}.")
    cand = _ok(runs, "val_loss", "ari")
    if "model" in cand:
        cand = cand.loc[cand["model"] == model]
    if len(cand) < 2:
        return empty
    loss = cand["val_loss"].to_numpy(dtype=float)
    cut = float(np.quantile(loss, quantile))
    cand = cand.loc[loss <= cut]
    if len(cand) < 2:
        return empty
    order = np.argsort(cand["val_loss"].to_numpy(dtype=float), kind="stable")
    cand = cand.iloc[order]
    loss = cand["val_loss"].to_numpy(dtype=float)
    ari = cand["ari"].to_numpy(dtype=float)
    # near-equal: within rel_tol of the loss spread, or the closest pair when none is that close
    tol = max(rel_tol * (loss[-1] - loss[0]), float(np.min(np.diff(loss))))
    best: tuple[float, float, float] | None = None
    pair: tuple[int, int] = (0, 1)
    right = np.searchsorted(loss, loss + tol, side="right")
    for i in range(len(loss) - 1):
        hi = right[i]
        if hi <= i + 1:
            continue
        window = ari[i + 1:hi]
        for j in (int(np.argmax(window)), int(np.argmin(window))):
            diff = abs(window[j] - ari[i])
            score = (diff, -(loss[i + 1 + j] - loss[i]), -loss[i])
            if best is None or score > best:
                best, pair = score, (i, i + 1 + j)
    if best is None:
        return empty
    a, b = cand.iloc[pair[0]], cand.iloc[pair[1]]
    low, high = (a, b) if a["ari"] <= b["ari"] else (b, a)
    out = pd.DataFrame([low, high]).reset_index(drop=True)
    out.insert(0, "role", ["low_ari", "high_ari"])
    return out.reindex(columns=columns)


def mean_ari_per_config(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean ARI over the successful repeats of each configuration (``CONFIG_COLUMNS`` + ``ari``)."""
    ok = _ok(runs, "ari")
    cols = [c for c in CONFIG_COLUMNS if c in runs.columns]
    if ok.empty:
        return pd.DataFrame(columns=[*cols, "ari"])
    return ok.groupby(cols, dropna=False, sort=True)["ari"].mean().reset_index()


def concordance(runs_tcga: pd.DataFrame, runs_gtex: pd.DataFrame) -> pd.DataFrame:
    """Per configuration: mean ARI on TCGA and on GTEx (Fig 6B; ``tables.CONCORDANCE``).

    Columns ``CONFIG_COLUMNS + (ari_tcga, ari_gtex)``; only configurations with at least one
    successful run on both cohorts (an inner join on the configuration).
    """
    t = mean_ari_per_config(runs_tcga).rename(columns={"ari": "ari_tcga"})
    g = mean_ari_per_config(runs_gtex).rename(columns={"ari": "ari_gtex"})
    cols = [c for c in CONFIG_COLUMNS if c in t.columns and c in g.columns]
    if t.empty or g.empty:
        return pd.DataFrame(columns=[*CONFIG_COLUMNS, "ari_tcga", "ari_gtex"])
    for c in cols:  # align dtypes (e.g. lr read back from CSV)
        if pd.api.types.is_numeric_dtype(t[c]) or pd.api.types.is_numeric_dtype(g[c]):
            t[c] = pd.to_numeric(t[c])
            g[c] = pd.to_numeric(g[c])
    out = t.merge(g, on=cols, how="inner")
    return out.reindex(columns=[*CONFIG_COLUMNS, "ari_tcga", "ari_gtex"])


def concordance_rho(table: pd.DataFrame) -> tuple[float, float, int]:
    """Spearman rho (and two-sided p) of ``ari_tcga`` vs ``ari_gtex`` over configurations.

    Returns ``(rho, p_value, n)``; NaN rho when fewer than 3 configurations or a constant column.
    Paper: rho = 0.7 (Fig 6B).
    """
    from scipy.stats import spearmanr

    both = table[["ari_tcga", "ari_gtex"]].apply(pd.to_numeric, errors="coerce").dropna()
    n = len(both)
    if n < 3 or both["ari_tcga"].nunique() < 2 or both["ari_gtex"].nunique() < 2:
        return math.nan, math.nan, n
    res = spearmanr(both["ari_tcga"], both["ari_gtex"])
    return float(res.statistic), float(res.pvalue), n


def per_model_summary(runs: pd.DataFrame, metric: str = "ari") -> pd.DataFrame:
    """Count, mean, median, quartiles and max of ``metric`` per model over successful runs."""
    ok = _ok(runs, metric)
    if ok.empty:
        return pd.DataFrame(columns=["model", "n", "mean", "q25", "median", "q75", "max"])
    g = ok.groupby("model", sort=True)[metric]
    return pd.DataFrame({
        "n": g.size(), "mean": g.mean(), "q25": g.quantile(0.25), "median": g.median(),
        "q75": g.quantile(0.75), "max": g.max(),
    }).reset_index()
