"""Factor-feature correlations and the count of disentangled features (paper Eq 11, Table 1).

A feature is *encoded* by a latent factor when |rho| >= 0.1, and *disentangled* when it is
encoded by exactly one or two factors (paper, "Evaluation of disentanglement"; Fig 8, Table 1).

* Continuous features (age, metastasis_days, immune, sbs_*): Spearman rho (Eq 11), computed on
  the pairwise-complete samples of each feature (NaN entries dropped per feature).
* Gender (binary): the paper fits a univariate logit per factor. Here ``gender ~ factor``
  (male = 1, the factor standardised) is fitted by Newton-Raphson for every factor at once, and
  its slope is reported on the correlation scale so the same 0.1 threshold applies: under the
  model that makes a univariate logit exact (the factor normal within each gender with a common
  variance, i.e. linear discriminant analysis), the slope per standard deviation of the factor
  b, the standardised mean difference d (Cohen's d) and the point-biserial correlation r of the
  factor with gender coded 0/1 are tied by

      b = d sqrt(1 + p q d^2),     r = d sqrt(p q) / sqrt(1 + p q d^2),     p = P(male), q = 1 - p

  so d^2 = (sqrt(1 + 4 p q b^2) - 1) / (2 p q) and r follows, with the sign of b. ``rho`` for
  gender is this logit-equivalent point-biserial r (Pearson's r with gender 0/1, the
  correlation-scale effect size of the logit). |r| >= 0.1 is then the same effect-size
  threshold as for the continuous features. The Wald p-value of b is kept in
  ``gender_logit(...)`` for the "no significant correlation" statement of the paper.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..keys import GENDER_CATEGORIES, OBS

THRESHOLD = 0.1


def _as_2d(mu) -> np.ndarray:
    a = np.asarray(mu, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"mu must be a [n_samples, latent_dim] array; got shape {a.shape}")
    return a


def spearman(mu: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rho of every factor (columns of ``mu`` [N, d]) with ``y`` [N], pairwise complete.

    NaN entries of ``y`` (and rows where the factor is NaN) are dropped; a constant factor or
    feature, or fewer than 3 complete pairs, gives NaN for that factor.
    """
    mu = _as_2d(mu)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(y) & np.isfinite(mu).all(1)
    out = np.full(mu.shape[1], np.nan)
    if ok.sum() < 3:
        return out
    ry = stats.rankdata(y[ok])
    rz = stats.rankdata(mu[ok], axis=0)
    ry = ry - ry.mean()
    rz = rz - rz.mean(0)
    den = np.sqrt((rz ** 2).sum(0) * (ry ** 2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:] = np.where(den > 0, (rz * ry[:, None]).sum(0) / den, np.nan)
    return out


def _gender01(g) -> np.ndarray:
    """Gender as float 0 (female) / 1 (male) / NaN."""
    s = pd.Series(g)
    if s.dtype.kind in "fiub" and not isinstance(s.dtype, pd.CategoricalDtype):
        v = s.to_numpy(dtype=np.float64)
        bad = np.isfinite(v) & ~np.isin(v, (0.0, 1.0))
        if bad.any():
            raise ValueError(f"gender: numeric codes must be 0/1; got {np.unique(v[bad])[:5]}")
        return v
    low = s.astype(object).where(s.notna(), None)
    low = np.array([None if x is None else str(x).strip().lower() for x in low], dtype=object)
    female, male = GENDER_CATEGORIES
    v = np.where(low == male, 1.0, np.where(low == female, 0.0, np.nan))
    unknown = {x for x in low if x is not None} - {female, male}
    if unknown:
        raise ValueError(f"gender: unknown categories {sorted(unknown)[:5]}; expected "
                         f"{GENDER_CATEGORIES} (NaN for unknown)")
    return v.astype(np.float64)


def gender_logit(mu: np.ndarray, gender, max_iter: int = 50) -> pd.DataFrame:
    """Univariate logit ``gender ~ factor`` for every factor at once (maximum likelihood).

    Args:
        mu: [N, d] factors; gender: [N] "female"/"male" (categorical or strings) or 0/1; NaN
            entries are dropped.
    Returns per factor: ``beta`` (log-odds of male per SD of the factor), ``se``, ``p`` (Wald),
    ``d`` (equivalent Cohen's d) and ``r`` (equivalent point-biserial correlation; see module
    docstring), ``n``. A factor that separates the genders perfectly gets |r| = 1 and p = 0;
    a constant factor gets NaN.
    """
    mu = _as_2d(mu)
    g = _gender01(gender)
    ok = np.isfinite(g) & np.isfinite(mu).all(1)
    n_ok = int(ok.sum())
    d_lat = mu.shape[1]
    nan = np.full(d_lat, np.nan)
    res = pd.DataFrame({"beta": nan, "se": nan, "p": nan, "d": nan, "r": nan, "n": n_ok},
                       index=pd.RangeIndex(d_lat, name="factor"))
    if n_ok < 3:
        return res
    y = g[ok]
    p = y.mean()
    if p in (0.0, 1.0):
        return res
    x = mu[ok]
    sd = x.std(0)
    good = sd > 0
    xs = np.zeros_like(x)
    xs[:, good] = (x[:, good] - x[:, good].mean(0)) / sd[good]
    a = np.full(d_lat, np.log(p / (1 - p)))
    b = np.zeros(d_lat)
    for _ in range(max_iter):
        eta = np.clip(a + b * xs, -30, 30)
        pr = 1.0 / (1.0 + np.exp(-eta))
        w = pr * (1 - pr)
        ga = (y[:, None] - pr).sum(0)
        gb = ((y[:, None] - pr) * xs).sum(0)
        haa, hab, hbb = w.sum(0), (w * xs).sum(0), (w * xs * xs).sum(0)
        det = haa * hbb - hab ** 2
        det = np.where(det > 1e-12, det, np.nan)
        da = (hbb * ga - hab * gb) / det
        db = (haa * gb - hab * ga) / det
        da, db = np.nan_to_num(da), np.nan_to_num(db)
        a, b = a + da, np.clip(b + db, -50, 50)
        if np.max(np.abs(db)) < 1e-8:
            break
    eta = np.clip(a + b * xs, -30, 30)
    pr = 1.0 / (1.0 + np.exp(-eta))
    w = pr * (1 - pr)
    haa, hab, hbb = w.sum(0), (w * xs).sum(0), (w * xs * xs).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(haa / (haa * hbb - hab ** 2))
        pq = p * (1 - p)
        dd = np.sqrt((np.sqrt(1 + 4 * pq * b ** 2) - 1) / (2 * pq)) * np.sign(b)
        r = dd * np.sqrt(pq) / np.sqrt(1 + pq * dd ** 2)
        pval = 2 * stats.norm.sf(np.abs(b / se))
    sep = np.abs(b) >= 50                                   # perfect separation
    pval = np.where(sep, 0.0, pval)
    r = np.where(sep, np.sign(b), r)
    res["beta"] = np.where(good, b, np.nan)
    res["se"] = np.where(good, se, np.nan)
    res["p"] = np.where(good, pval, np.nan)
    res["d"] = np.where(good, dd, np.nan)
    res["r"] = np.where(good, r, np.nan)
    return res


def feature_correlations(mu: np.ndarray, obs: pd.DataFrame,
                         features: Sequence[str]) -> pd.DataFrame:
    """Correlation of every latent factor with every feature (paper Eq 11; Fig 8).

    Args:
        mu: [N, d] embedding (posterior means), rows aligned with ``obs``.
        obs: [N] sample annotation with the canonical columns (``keys.OBS``).
        features: column names, e.g. ``keys.DISENTANGLE_FEATURES``.
    Returns a DataFrame (index: factor 0..d-1, columns: features) of Spearman rho (NaN-aware,
    pairwise complete) for continuous features and, for gender, the logit-equivalent
    point-biserial r (module docstring). A feature absent from ``obs`` or entirely NaN gives a
    NaN column and a warning.
    """
    mu = _as_2d(mu)
    if len(obs) != mu.shape[0]:
        raise ValueError(f"feature_correlations: mu has {mu.shape[0]} rows but obs has "
                         f"{len(obs)}; pass obs aligned with the embedding rows")
    out = pd.DataFrame(index=pd.RangeIndex(mu.shape[1], name="factor"), dtype=np.float64)
    for f in features:
        if f not in obs.columns:
            warnings.warn(f"feature_correlations: feature {f!r} is not in obs; NaN column",
                          stacklevel=2)
            out[f] = np.nan
            continue
        col = obs[f]
        if f == OBS.GENDER:
            g = _gender01(col)
            if not np.isfinite(g).any():
                warnings.warn(f"feature_correlations: feature {f!r} is entirely NaN; NaN column",
                              stacklevel=2)
                out[f] = np.nan
                continue
            out[f] = gender_logit(mu, g)["r"].to_numpy()
            continue
        y = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
        if not np.isfinite(y).any():
            warnings.warn(f"feature_correlations: feature {f!r} is entirely NaN; NaN column",
                          stacklevel=2)
            out[f] = np.nan
            continue
        out[f] = spearman(mu, y)
    out.columns.name = "feature"
    return out


def disentangled_features(correlations: pd.DataFrame,
                          threshold: float = THRESHOLD) -> dict[str, list[int]]:
    """Features encoded by exactly one or two factors, with those factors (Table 1, Fig 8 boxes).

    ``correlations``: factors x features (as from :func:`feature_correlations`). A factor
    encodes a feature when |rho| >= ``threshold``. Returns {feature: [factor, ...]} in column
    order; NaN columns never count.
    """
    if threshold <= 0:
        raise ValueError(f"threshold must be > 0; got {threshold}")
    out = {}
    for f in correlations.columns:
        v = correlations[f].to_numpy(dtype=np.float64)
        hit = np.nonzero(np.abs(np.nan_to_num(v, nan=0.0)) >= threshold)[0]
        if 1 <= hit.size <= 2:
            out[str(f)] = [int(correlations.index[i]) for i in hit]
    return out


def encoding_factors(correlations: pd.DataFrame,
                     threshold: float = THRESHOLD) -> dict[str, list[int]]:
    """Every feature with the factors that encode it (|rho| >= threshold; empty when none)."""
    return {str(f): [int(correlations.index[i]) for i in np.nonzero(
        np.abs(np.nan_to_num(correlations[f].to_numpy(dtype=np.float64))) >= threshold)[0]]
        for f in correlations.columns}


def count_disentangled(correlations: pd.DataFrame, threshold: float = THRESHOLD) -> int:
    """Number of features encoded by exactly one or two factors (|rho| >= threshold; Table 1)."""
    return len(disentangled_features(correlations, threshold))
