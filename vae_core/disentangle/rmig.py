"""Normalised RMIG: robust mutual information gap (Do & Tran, ICLR 2020; paper Eq 12).

    RMIG(y) = I(z_i1, y) - I(z_i2, y),      normalised RMIG = RMIG(y) / H(y)

z_i1, z_i2: the factors with the largest and second-largest mutual information with the
(discretised) feature y. With the Gaussian posterior q(z|x_n) and the empirical distribution of
the N samples (see ``_mi``):

    q(z_i | y = k) = 1/N_k sum_{n: y_n = k} q(z_i | x_n),   q(z_i) = 1/N sum_n q(z_i | x_n)
    I(z_i, y) = E_{x, z_i ~ q(z_i|x)} [log q(z_i | y(x)) - log q(z_i)]        (Monte Carlo, nats)
    H(y)      = -sum_k p_k log p_k                                            (nats)

Samples whose feature is NaN are excluded (from the mixture and from the Monte-Carlo average).
Continuous features are binned (``n_bins``, ``strategy`` "quantile" | "uniform"); a feature with
at most ``n_bins`` distinct values, a boolean or a categorical is used as is. Normalised RMIG is
in [0, 1] up to Monte-Carlo error: 0 when the information is shared equally by two factors
(duplicated latents) or absent, near 1 when one factor carries all of H(y).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from . import _mi

STRATEGIES = ("quantile", "uniform")
_ROWS = 256   # Monte-Carlo points per pass (memory: _ROWS x d x n_levels float64)


def discretize(y, n_bins: int = 10, strategy: str = "quantile") -> tuple[np.ndarray, int]:
    """Integer codes of a feature (-1 where missing) and the number of levels.

    Categorical / boolean / object features keep their levels; numeric features with at most
    ``n_bins`` distinct values keep them; other numeric features are cut into ``n_bins`` bins
    with edges at quantiles (``strategy="quantile"``, ties merged) or evenly spaced between min
    and max (``"uniform"``).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"rmig: unknown binning strategy {strategy!r}; use one of {STRATEGIES}")
    if int(n_bins) < 2:
        raise ValueError(f"rmig: n_bins must be >= 2; got {n_bins}")
    s = pd.Series(y) if not isinstance(y, pd.Series) else y
    if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == bool or s.dtype == object:
        cat = pd.Categorical(s)
        codes = np.asarray(cat.codes, dtype=np.int64)
        used = np.unique(codes[codes >= 0])
        remap = np.full(len(cat.categories) + 1, -1)
        remap[used] = np.arange(used.size)
        return np.where(codes >= 0, remap[codes], -1), int(used.size)
    v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64)
    ok = np.isfinite(v)
    codes = np.full(v.shape, -1, dtype=np.int64)
    if not ok.any():
        return codes, 0
    levels = np.unique(v[ok])
    if levels.size <= n_bins:
        codes[ok] = np.searchsorted(levels, v[ok])
        return codes, int(levels.size)
    if strategy == "quantile":
        edges = np.unique(np.quantile(v[ok], np.linspace(0, 1, int(n_bins) + 1)[1:-1]))
    else:
        edges = np.linspace(v[ok].min(), v[ok].max(), int(n_bins) + 1)[1:-1]
    raw = np.searchsorted(edges, v[ok], side="right")
    used = np.unique(raw)
    codes[ok] = np.searchsorted(used, raw)
    return codes, int(used.size)


def entropy(codes: np.ndarray) -> float:
    """H(y) in nats of integer codes (entries < 0 ignored)."""
    c = codes[codes >= 0]
    if c.size == 0:
        return float("nan")
    p = np.bincount(c) / c.size
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _as_features(y) -> dict[str, object]:
    if isinstance(y, pd.DataFrame):
        return {str(c): y[c] for c in y.columns}
    if isinstance(y, Mapping):
        return {str(k): v for k, v in y.items()}
    return {"y": y}


def rmig_table(mu: np.ndarray, logvar: np.ndarray | None, features, n_samples: int | None = 10000,
               seed: int = 0, *, n_bins: int = 10, strategy: str = "quantile",
               block: int = _mi._BLOCK) -> pd.DataFrame:
    """Normalised RMIG of several features in one pass over the mixture.

    Args:
        mu, logvar: [N, d] Gaussian posterior parameters (``logvar=None`` raises; CAT: use
            ``relaxed_categorical_moments``).
        features: DataFrame (columns = features), mapping name -> [N] array, or one [N] array;
            rows align with ``mu``; NaN = unknown (excluded).
        n_samples: Monte-Carlo pairs (x, z) drawn from all N samples (None: each once); each
            feature averages over the pairs whose feature is known.
        n_bins, strategy: binning of continuous features (see :func:`discretize`).
    Returns one row per feature: ``feature, rmig`` (normalised), ``gap`` (nats), ``i_top1,
    i_top2`` (nats), ``factor_top1, factor_top2``, ``entropy`` (H(y), nats), ``n_levels``,
    ``n_valid``, ``status`` ("ok" | "no_data" | "constant" | "no_samples": no Monte-Carlo
    sample fell on a known value). ``rmig`` is NaN unless ok.
    """
    mu, logvar = _mi.check_gaussian(mu, logvar, "rmig")
    n, d = mu.shape
    feats = _as_features(features)
    cols, spans, info = [], [], []
    for name, y in feats.items():
        y = np.asarray(y) if not isinstance(y, pd.Series) else y
        if len(y) != n:
            raise ValueError(f"rmig: feature {name!r} has {len(y)} entries but mu has {n} rows; "
                             "pass features aligned with the embedding rows")
        codes, k = discretize(y, n_bins, strategy)
        h = entropy(codes)
        status = "ok"
        if k == 0:
            status = "no_data"
        elif k == 1 or not h > 0:
            status = "constant"
        if status != "ok":
            warnings.warn(f"rmig: feature {name!r} is {status.replace('_', ' ')} "
                          f"({int((codes >= 0).sum())} known values); its RMIG is NaN",
                          stacklevel=2)
        info.append((name, codes, k, h, status))
        if status == "ok":
            onehot = np.zeros((n, k), dtype=np.float32)
            ok = codes >= 0
            onehot[np.nonzero(ok)[0], codes[ok]] = 1.0
            spans.append((sum(c.shape[1] for c in cols), k))
            cols.append(onehot)
    sums: dict[int, np.ndarray] = {}
    counts: dict[int, int] = {}
    if cols:
        groups = np.concatenate(cols, axis=1)
        own, z, eps = _mi.draw(mu, logvar, n_samples, seed)
        l_own = _mi.own_log_density(eps, logvar[own])
        ok_info = [x for x in info if x[4] == "ok"]
        n_ks = [np.bincount(x[1][x[1] >= 0], minlength=x[2]).astype(np.float64)
                for x in ok_info]
        for r0 in range(0, z.shape[0], _ROWS):       # bounded memory: [rows, d, K] at a time
            sr = slice(r0, r0 + _ROWS)
            logg = _mi.group_log_densities(z[sr], l_own[sr], mu, logvar, groups, block=block)
            for j, ((_, codes, kk, _, _), (start, _), n_k) in enumerate(
                    zip(ok_info, spans, n_ks, strict=True)):
                sub = logg[:, :, start:start + kk]                       # [m, d, k]
                y_m = codes[own[sr]]
                keep = y_m >= 0
                if not keep.any():
                    continue
                log_cond = np.take_along_axis(sub[keep], y_m[keep][:, None, None],
                                              axis=2)[:, :, 0]
                log_cond = log_cond - np.log(n_k[y_m[keep]])[:, None]
                log_marg = np.logaddexp.reduce(sub[keep], axis=2) - np.log(n_k.sum())
                sums[j] = sums.get(j, 0.0) + (log_cond - log_marg).sum(0)
                counts[j] = counts.get(j, 0) + int(keep.sum())
    rows, j = [], 0
    for name, codes, k, h, status in info:
        row = {"feature": name, "rmig": np.nan, "gap": np.nan, "i_top1": np.nan,
               "i_top2": np.nan, "factor_top1": -1, "factor_top2": -1, "entropy": h,
               "n_levels": k, "n_valid": int((codes >= 0).sum()), "status": status}
        if status == "ok":
            if counts.get(j, 0) == 0:
                row["status"] = "no_samples"
            else:
                mi = sums[j] / counts[j]                                  # [d] I(z_i, y)
                order = np.argsort(-mi, kind="stable")
                i1 = float(mi[order[0]])
                i2 = float(mi[order[1]]) if d > 1 else 0.0
                row.update(rmig=(i1 - i2) / h, gap=i1 - i2, i_top1=i1, i_top2=i2,
                           factor_top1=int(order[0]),
                           factor_top2=int(order[1]) if d > 1 else -1)
            j += 1
        rows.append(row)
    return pd.DataFrame(rows)


def rmig(mu: np.ndarray, logvar: np.ndarray | None, y, seed: int = 0, *, n_bins: int = 10,
         strategy: str = "quantile", n_samples: int | None = 10000) -> float:
    """Normalised RMIG(y) = (I(z_i1, y) - I(z_i2, y)) / H(y) (Do & Tran 2020; paper Eq 12).

    ``mu``, ``logvar``: [N, d] Gaussian posterior; ``y``: [N] feature (NaN entries excluded;
    continuous values binned by ``n_bins`` / ``strategy``). NaN when y has no known values or
    a single level. See :func:`rmig_table` for the estimator.
    """
    t = rmig_table(mu, logvar, {"y": y}, n_samples, seed, n_bins=n_bins, strategy=strategy)
    return float(t["rmig"].iloc[0])
