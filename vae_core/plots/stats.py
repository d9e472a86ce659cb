"""Small statistics the figures, tables and scorecard share (Spearman with n, percentile cut)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def spearman(x, y) -> tuple[float, int]:
    """Spearman rho of the finite pairs of ``x`` and ``y`` and their number n.

    Returns ``(nan, n)`` when n < 3 or either variable is constant (rho undefined).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"spearman: x and y differ in shape ({x.shape} vs {y.shape}); "
                         "pass paired columns of one table")
    ok = np.isfinite(x) & np.isfinite(y)
    n = int(ok.sum())
    if n < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return float("nan"), n
    return float(stats.spearmanr(x[ok], y[ok]).statistic), n


def below_percentile(df: pd.DataFrame, column: str = "val_loss", percentile: float = 90
                     ) -> pd.DataFrame:
    """Rows whose finite ``column`` is at most its ``percentile``-th percentile (Fig 2: 90th).

    The paper plots "the 90th percentile (i.e., excluding the highest 10%) of the validation
    loss" (Fig 2, S1, S2, S4, S5) and the 85th for DIP-VAE (S3).
    """
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile!r}")
    v = pd.to_numeric(df[column], errors="coerce")
    fin = np.isfinite(v)
    if not fin.any():
        return df.iloc[0:0]
    cut = np.percentile(v[fin], percentile)
    return df[fin & (v <= cut)]
