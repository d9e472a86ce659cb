"""Small statistics the figures, tables and scorecard share (Spearman with n, percentile cut,
stratified bootstrap of group means)."""

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


def bootstrap_group_means(groups, n_boot: int = 1000, seed: int = 0) -> np.ndarray:
    """Stratified bootstrap of group means: ``[n_boot, n_groups]``.

    ``groups``: a sequence of 1-D arrays (e.g. the mean ARI of each configuration at one value of
    a hyperparameter); each resample draws, within every group separately and with replacement,
    as many values as the group has, and takes their mean. Non-finite values are dropped first;
    an empty group raises ``ValueError``. Seeded (``numpy.random.default_rng(seed)``).
    """
    if int(n_boot) < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot!r}")
    rng = np.random.default_rng(seed)
    out = np.empty((int(n_boot), len(groups)))
    for g, values in enumerate(groups):
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v)]
        if not v.size:
            raise ValueError(f"bootstrap_group_means: group {g} has no finite value")
        idx = rng.integers(0, v.size, size=(int(n_boot), v.size))
        out[:, g] = v[idx].mean(axis=1)
    return out


def percentile_interval(samples, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval ``(lo, hi)`` of bootstrap ``samples`` at ``level`` (0.95: 2.5-97.5)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    s = np.asarray(samples, dtype=float)
    s = s[np.isfinite(s)]
    if not s.size:
        return float("nan"), float("nan")
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(s, [tail, 100 - tail])
    return float(lo), float(hi)
