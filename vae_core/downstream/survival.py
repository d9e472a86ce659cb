"""Cox proportional-hazards AIC of an embedding plus clinical covariates (paper Eq 8;
``docs/design.md``, "Downstream").

The paper fits a Cox model on overall survival with age, gender (one-hot) and cancer type
(one-hot) as covariates plus the latent features, and compares fits by
``AIC = 2k - 2 log L`` with ``L`` the maximised partial likelihood and ``k`` the number of
coefficients. The covariate-only model is the dashed baseline of Fig 3B.

Two solvers give the same number:

- ``method="numpy"`` (default): an exact Newton-Raphson on the Efron partial likelihood
  (the tie handling ``lifelines`` uses), vectorised, so that a fit at the paper's size is much
  faster than lifelines'. It is tested against ``lifelines.CoxPHFitter`` and
  ``statsmodels`` PHReg (log-likelihood and AIC equal to ~1e-8 relative).
- ``method="lifelines"``: ``lifelines.CoxPHFitter`` (unpenalised) on the same design; the
  reference, slower.

Both fit the *unpenalised* partial likelihood on the same design: rows with a missing duration,
event or covariate are dropped (count reported), categorical covariates are one-hot encoded with
their first observed level dropped, and constant or collinear columns are dropped with a logged
note (a column is collinear when its residual after projection on the columns before it, from a
Householder QR of the centred design, is below ``1e-7`` of its norm; covariates come before the
embedding, so an embedding column is what goes).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..keys import OBS

log = logging.getLogger(__name__)

#: Default covariates of the paper's Cox model (Methods: age, gender, cancer type).
COVARIATES: tuple[str, ...] = (OBS.AGE, OBS.GENDER, OBS.LABEL)
#: Residual-norm fraction below which a column counts as collinear with the columns before it.
COLLINEAR_TOL = 1e-7
COX_METHODS: tuple[str, ...] = ("numpy", "lifelines")
#: ``CoxResult.reason`` when the cohort has no usable survival (os_time / os_event absent or
#: entirely NA): the AIC is NaN and figures draw "n/a: <reason>" (``docs/design.md``,
#: "Downstream": degrade, not crash).
NO_SURVIVAL = "no survival data in this cohort"
#: ``CoxResult.reason`` when survival exists but no sample has duration, event and covariates.
NO_COMPLETE_ROWS = "no sample with complete survival and covariates"


@dataclass
class CoxResult:
    """Outcome of one Cox fit: the AIC and what went into it.

    ``aic`` is NaN when the fit could not be done or did not converge; ``reason`` says why
    ("" when fine). ``dropped_columns`` lists constant/collinear design columns left out.
    """

    aic: float
    log_likelihood: float
    n_params: int
    n_samples: int
    n_events: int
    n_dropped_rows: int
    dropped_columns: list[str] = field(default_factory=list)
    converged: bool = False
    n_iter: int = 0
    reason: str = ""
    method: str = "numpy"
    covariates: list[str] = field(default_factory=list)
    covariates_absent: list[str] = field(default_factory=list)


@dataclass
class CoxDesign:
    """Design matrix of a Cox fit (rows with complete data only)."""

    X: np.ndarray           # float64 [n, k]
    columns: list[str]
    time: np.ndarray        # float64 [n]
    event: np.ndarray       # bool [n]
    n_dropped_rows: int
    dropped_columns: list[str]
    covariates: list[str] = field(default_factory=list)
    covariates_absent: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- design


def _check_embedding(embedding: np.ndarray | None, n: int) -> np.ndarray | None:
    if embedding is None:
        return None
    emb = np.asarray(embedding, dtype=np.float64)
    if emb.ndim == 1:
        emb = emb[:, None]
    if emb.ndim != 2 or emb.shape[0] != n:
        raise ValueError(
            f"embedding must be [n_samples, n_dims] with n_samples = len(obs) = {n}; got shape "
            f"{np.shape(embedding)}. Pass the embedding of every sample of obs, in obs order."
        )
    bad = ~np.isfinite(emb)
    if bad.any():
        raise ValueError(
            f"embedding has {int(bad.sum())} non-finite values (NaN/inf) in "
            f"{int(bad.any(axis=0).sum())} of {emb.shape[1]} dims; a diverged model has no "
            "survival fit. Record the configuration as NaN instead of calling cox_aic."
        )
    return emb


def _encode_covariate(series: pd.Series, name: str) -> tuple[np.ndarray, list[str]]:
    """Numeric -> one column; categorical/object/bool -> one-hot minus the first observed level."""
    if isinstance(series.dtype, pd.CategoricalDtype) or series.dtype == object or (
        series.dtype == bool
    ):
        cat = series.astype("category")
        levels = [lv for lv in cat.cat.categories if (cat == lv).any()]
        cols = [np.asarray(cat == lv, dtype=np.float64) for lv in levels[1:]]
        names = [f"{name}[{lv}]" for lv in levels[1:]]
        if not cols:
            return np.empty((len(series), 0)), []
        return np.column_stack(cols), names
    return np.asarray(series, dtype=np.float64)[:, None], [name]


def _independent_columns(Xc: np.ndarray, tol: float = COLLINEAR_TOL) -> np.ndarray:
    """Boolean mask of columns of centred ``Xc`` independent of the columns before them."""
    from scipy.linalg import qr

    norms = np.linalg.norm(Xc, axis=0)
    keep = norms > 0
    if not keep.any():
        return keep
    idx = np.flatnonzero(keep)
    r = qr(Xc[:, idx] / norms[idx], mode="r", pivoting=False, check_finite=False)[0]
    diag = np.abs(np.diag(r))
    # QR of the unit-norm columns in order: |R_kk| = norm of column k's residual after
    # projecting on columns 0..k-1. A dropped column lies in the span of earlier ones, so later
    # residuals are unaffected by leaving it out.
    keep[idx[diag < tol]] = False
    return keep


def _all_missing(series: pd.Series) -> bool:
    if series.isna().all():
        return True
    if pd.api.types.is_numeric_dtype(series) and not isinstance(series.dtype,
                                                                  pd.CategoricalDtype):
        v = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        return not np.isfinite(v).any()
    return False


def survival_reason(obs: pd.DataFrame, *, duration: str = OBS.OS_TIME,
                    event: str = OBS.OS_EVENT) -> str:
    """Why ``obs`` cannot support a Cox fit: :data:`NO_SURVIVAL` when the duration or event
    column is absent or entirely NA (a public export without survival), else ``""``."""
    for c in (duration, event):
        if c not in obs.columns or _all_missing(obs[c]):
            return NO_SURVIVAL
    return ""


def available_covariates(obs: pd.DataFrame, covariates: Sequence[str] = COVARIATES
                         ) -> tuple[list[str], list[str]]:
    """Split ``covariates`` into (present, absent): absent = not an ``obs`` column or entirely
    NA (e.g. a cohort without age or sex). The Cox model uses the present ones
    (``docs/design.md``, "Bring your own cohort")."""
    present, absent = [], []
    for c in covariates:
        (absent if c not in obs.columns or _all_missing(obs[c]) else present).append(c)
    return present, absent


def covariates_note(present: Sequence[str], absent: Sequence[str]) -> str:
    """One line for tables: ``"age;gender;label"`` or ``"label (absent: age, gender)"``."""
    txt = ";".join(present) if present else "none"
    return txt + (f" (absent: {', '.join(absent)})" if absent else "")


def cox_design(
    embedding: np.ndarray | None,
    obs: pd.DataFrame,
    covariates: Sequence[str] = COVARIATES,
    *,
    duration: str = OBS.OS_TIME,
    event: str = OBS.OS_EVENT,
) -> CoxDesign:
    """Design matrix of the paper's Cox model: covariates (one-hot) then embedding columns.

    Rows with a missing/negative duration, a missing event or a missing covariate are dropped;
    constant and collinear columns are dropped (logged). A covariate absent from ``obs`` or
    entirely NA (a cohort without age or sex) is left out and listed in
    ``covariates_absent``. Raises ``ValueError`` for a missing duration/event column, a wrongly
    shaped or non-finite embedding, or an event column that is not 0/1.
    """
    if not isinstance(obs, pd.DataFrame):
        raise TypeError(f"obs must be a pandas DataFrame (adata.obs); got {type(obs).__name__}.")
    covariates, absent = available_covariates(obs, covariates)
    if absent:
        log.info("cox: covariate(s) %s absent or entirely NA in this cohort; left out",
                 ", ".join(absent))
    need = [duration, event, *covariates]
    missing = [c for c in need if c not in obs.columns]
    if missing:
        raise ValueError(
            f"obs lacks column(s) {missing} needed by the Cox model; obs has "
            f"{list(obs.columns)}. Survival needs canonical obs (docs/design.md, 'Data'): "
            f"{OBS.OS_TIME}, {OBS.OS_EVENT} and the covariates {list(covariates)}."
        )
    n = len(obs)
    emb = _check_embedding(embedding, n)
    t = pd.to_numeric(obs[duration], errors="coerce").to_numpy(dtype=np.float64)
    e = pd.to_numeric(obs[event].astype(object), errors="coerce").to_numpy(dtype=np.float64)
    ok = np.isfinite(t) & (t >= 0) & np.isfinite(e)
    for c in covariates:
        ok &= obs[c].notna().to_numpy()
        if pd.api.types.is_numeric_dtype(obs[c]) and not isinstance(
            obs[c].dtype, pd.CategoricalDtype
        ):
            ok &= np.isfinite(pd.to_numeric(obs[c], errors="coerce").to_numpy(dtype=np.float64))
    bad_event = set(np.unique(e[ok])) - {0.0, 1.0}
    if bad_event:
        raise ValueError(
            f"obs[{event!r}] must be 0 (censored) or 1 (death); found {sorted(bad_event)[:5]}."
        )
    n_dropped = int(n - ok.sum())
    if n_dropped:
        log.info("cox: dropped %d of %d rows with missing duration/event/covariates", n_dropped, n)
    sub = obs.loc[ok]
    blocks, names = [], []
    for c in covariates:
        block, cols = _encode_covariate(sub[c], c)
        blocks.append(block)
        names += cols
    if emb is not None:
        blocks.append(emb[ok])
        names += [f"z{j}" for j in range(emb.shape[1])]
    X = np.column_stack(blocks) if blocks else np.empty((int(ok.sum()), 0))
    dropped: list[str] = []
    if X.shape[1] and X.shape[0]:
        Xc = X - X.mean(axis=0)
        sd = Xc.std(axis=0)
        const = sd <= 1e-12 * np.maximum(1.0, np.abs(X).max(axis=0))
        Xc[:, const] = 0.0
        keep = _independent_columns(Xc) & ~const
        dropped = [nm for nm, k in zip(names, keep) if not k]
        if dropped:
            n_const = int(const.sum())
            log.info(
                "cox: dropped %d constant and %d collinear column(s): %s",
                n_const, len(dropped) - n_const, ", ".join(dropped[:10])
                + (" ..." if len(dropped) > 10 else ""),
            )
        X = X[:, keep]
        names = [nm for nm, k in zip(names, keep) if k]
    return CoxDesign(X=X, columns=names, time=t[ok], event=e[ok].astype(bool),
                     n_dropped_rows=n_dropped, dropped_columns=dropped,
                     covariates=list(covariates), covariates_absent=absent)


# --------------------------------------------------------------------------- Efron solver


class _EfronData:
    """Sorted data and tie structure for repeated evaluation of the Efron partial likelihood."""

    def __init__(self, X: np.ndarray, time: np.ndarray, event: np.ndarray):
        order = np.lexsort((~event, time))          # ascending time
        self.X = np.ascontiguousarray(X[order])
        t = time[order]
        self.event = event[order]
        n = len(t)
        # groups of equal time
        new = np.r_[True, t[1:] != t[:-1]]
        self.g_start = np.flatnonzero(new)              # first row of each time group
        self.g_of = np.cumsum(new) - 1                  # group index of each row
        d = np.bincount(self.g_of, weights=self.event.astype(float),
                        minlength=len(self.g_start)).astype(np.int64)
        self.d = d
        self.ev_groups = np.flatnonzero(d > 0)          # groups with deaths
        dj = d[self.ev_groups]
        # one row per (event group j, l = 0..d_j-1): Efron's fractional risk-set correction
        self.pair_group = np.repeat(self.ev_groups, dj)
        self.pair_pos = np.repeat(np.arange(len(self.ev_groups)), dj)
        starts = np.r_[0, np.cumsum(dj)[:-1]]
        ell = np.arange(int(dj.sum())) - np.repeat(starts, dj)
        self.pair_c = ell / np.repeat(dj, dj).astype(float)
        self.sum_x_events = self.X[self.event].sum(axis=0)
        self.n = n

    def evaluate(self, beta: np.ndarray, hessian: bool = True):
        """Log partial likelihood, gradient and information (negative Hessian) at ``beta``."""
        X, ev = self.X, self.event
        eta = X @ beta
        shift = eta.max() if eta.size else 0.0
        w = np.exp(eta - shift)
        wx = w[:, None] * X
        # risk-set sums at each group's first row: reverse cumulative sums
        s0_all = np.cumsum(w[::-1])[::-1]
        s1_all = np.cumsum(wx[::-1], axis=0)[::-1]
        gs = self.g_start[self.ev_groups]
        s0r, s1r = s0_all[gs], s1_all[gs]
        wd = np.where(ev, w, 0.0)
        n_groups = len(self.g_start)
        s0d = np.bincount(self.g_of, weights=wd, minlength=n_groups)[self.ev_groups]
        s1d = np.add.reduceat(wd[:, None] * X, self.g_start, axis=0)[self.ev_groups]
        c = self.pair_c
        phi = s0r[self.pair_pos] - c * s0d[self.pair_pos]
        if np.any(phi <= 0) or not np.all(np.isfinite(phi)):
            return -math.inf, None, None
        ll = float(eta[ev].sum() - shift * ev.sum() - np.log(phi).sum())
        m = s1r[self.pair_pos] - c[:, None] * s1d[self.pair_pos]
        grad = self.sum_x_events - (m / phi[:, None]).sum(axis=0)
        if not hessian:
            return ll, grad, None
        # second-moment part: sum_{j,l} (S2_R - c S2_D)/phi = X^T diag(w (A - B)) X
        inv = 1.0 / phi
        a_group = np.bincount(self.pair_group, weights=inv, minlength=n_groups)
        a_row = np.cumsum(a_group)[self.g_of]           # sum over event times t_j <= t_i
        b_group = np.bincount(self.pair_group, weights=c * inv, minlength=n_groups)
        b_row = np.where(ev, b_group[self.g_of], 0.0)
        weights = w * (a_row - b_row)
        info = (X * weights[:, None]).T @ X
        mp = m * inv[:, None]
        info -= mp.T @ mp
        return ll, grad, info


def _newton_efron(
    X: np.ndarray, time: np.ndarray, event: np.ndarray, *, max_iter: int = 50,
    r_precision: float = 1e-11,
) -> tuple[float, np.ndarray, bool, int, str]:
    """Maximise the Efron log partial likelihood; returns (ll, beta, converged, n_iter, reason).

    Newton-Raphson with step halving, on columns centred and scaled to unit variance (the
    likelihood is invariant to that; the returned ``beta`` is on the scaled columns). Stops when
    the relative change of the log-likelihood is below ``r_precision`` or the Newton decrement
    is below 1e-12 (R's ``coxph`` and lifelines use relative change 1e-9).
    """
    from scipy.linalg import LinAlgError, cho_factor, cho_solve

    mean, sd = X.mean(axis=0), X.std(axis=0)
    sd[sd == 0] = 1.0
    data = _EfronData((X - mean) / sd, time, event)
    beta = np.zeros(X.shape[1])
    ll, grad, info = data.evaluate(beta)
    if X.shape[1] == 0:
        return ll, beta, True, 0, ""
    for it in range(1, max_iter + 1):
        try:
            delta = cho_solve(cho_factor(info, check_finite=False), grad, check_finite=False)
        except (LinAlgError, ValueError):
            delta, *_ = np.linalg.lstsq(info, grad, rcond=None)
        decrement = float(grad @ delta)
        if not np.isfinite(decrement):
            return ll, beta, False, it, "Newton step not finite (singular information matrix)"
        if decrement < 1e-12:
            return ll, beta, True, it, ""
        step = 1.0
        while True:
            new = beta + step * delta
            ll_new, g_new, i_new = data.evaluate(new)
            if np.isfinite(ll_new) and ll_new >= ll - 1e-12 * abs(ll):
                break
            step *= 0.5
            if step < 1e-8:
                return ll, beta, False, it, "step halving failed to increase the likelihood"
        rel = abs(ll_new - ll) / max(abs(ll), 1e-300)
        beta, ll, grad, info = new, ll_new, g_new, i_new
        if rel < r_precision:
            return ll, beta, True, it, ""
    return ll, beta, False, max_iter, f"did not converge in {max_iter} Newton iterations"


def _fit_lifelines(design: CoxDesign) -> tuple[float, bool, int, str]:
    import warnings

    from lifelines import CoxPHFitter

    df = pd.DataFrame(design.X, columns=[f"x{j}" for j in range(design.X.shape[1])])
    df["_T"] = design.time
    df["_E"] = design.event.astype(int)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cph = CoxPHFitter(penalizer=0.0, l1_ratio=0.0)
        cph.fit(df, duration_col="_T", event_col="_E")
    conv = [str(w.message) for w in caught if "converge" in str(w.message).lower()]
    failed = [m for m in conv if "failed" in m.lower()]
    return float(cph.log_likelihood_), not failed, 0, (failed[0][:200] if failed else "")


# --------------------------------------------------------------------------- public API


def cox_fit(
    embedding: np.ndarray | None,
    obs: pd.DataFrame,
    covariates: Sequence[str] = COVARIATES,
    *,
    method: str = "numpy",
    max_iter: int = 50,
) -> CoxResult:
    """Fit the paper's Cox model and return a ``CoxResult`` with the AIC and diagnostics.

    Parameters
    ----------
    embedding
        float [n_samples, n_dims] latent features in ``obs`` row order, or ``None`` for the
        covariate-only baseline (Fig 3B, dashed line).
    obs
        Sample annotation with ``os_time`` (days), ``os_event`` (0/1) and the covariates.
    covariates
        obs columns; numeric ones enter as is, categorical ones one-hot (first level dropped).
    method
        ``"numpy"`` (exact Efron Newton-Raphson, fast) or ``"lifelines"`` (the reference).

    AIC = 2k - 2 log L (paper Eq 8), ``k`` = number of design columns after dropping constant
    and collinear ones, ``L`` the maximised Efron partial likelihood. A cohort without survival
    (``os_time``/``os_event`` absent or all NA) returns ``aic=NaN`` with ``reason`` =
    :data:`NO_SURVIVAL`; covariates absent from the cohort are left out (``covariates`` lists
    those used, ``covariates_absent`` the others). A fit that cannot be done (no complete
    sample, no events) or does not converge returns ``aic=NaN`` with ``reason`` set; bad input
    (wrongly shaped or non-finite embedding, event not 0/1) raises ``ValueError``.
    """
    if method not in COX_METHODS:
        raise ValueError(f"unknown Cox method {method!r}; valid methods are {list(COX_METHODS)}.")
    if not isinstance(obs, pd.DataFrame):
        raise TypeError(f"obs must be a pandas DataFrame (adata.obs); got {type(obs).__name__}.")
    present, absent = available_covariates(obs, covariates)
    no_surv = survival_reason(obs)
    if no_surv:
        _check_embedding(embedding, len(obs))
        return CoxResult(aic=math.nan, log_likelihood=math.nan, n_params=0, n_samples=0,
                         n_events=0, n_dropped_rows=len(obs), reason=no_surv, method=method,
                         covariates=present, covariates_absent=absent)
    design = cox_design(embedding, obs, covariates)
    n, k = design.X.shape
    n_events = int(design.event.sum())
    base = {"n_params": k, "n_samples": n, "n_events": n_events,
            "n_dropped_rows": design.n_dropped_rows,
            "dropped_columns": design.dropped_columns, "method": method,
            "covariates": design.covariates, "covariates_absent": design.covariates_absent}
    if n == 0:
        return CoxResult(aic=math.nan, log_likelihood=math.nan, converged=False,
                         reason=NO_COMPLETE_ROWS, **base)
    if n_events == 0:
        return CoxResult(aic=math.nan, log_likelihood=math.nan, converged=False,
                         reason=f"no events among the {n} samples with complete data", **base)
    if method == "lifelines":
        try:
            ll, converged, n_iter, reason = _fit_lifelines(design)
        except Exception as exc:  # noqa: BLE001 - lifelines raises ConvergenceError and others
            ll, converged, n_iter, reason = math.nan, False, 0, f"{type(exc).__name__}: {exc}"
    else:
        ll, _, converged, n_iter, reason = _newton_efron(
            design.X, design.time, design.event, max_iter=max_iter)
    if not converged:
        log.warning("cox: %s; AIC set to NaN", reason)
        return CoxResult(aic=math.nan, log_likelihood=float(ll), converged=False, n_iter=n_iter,
                         reason=reason, **base)
    return CoxResult(aic=2.0 * k - 2.0 * ll, log_likelihood=float(ll), converged=True,
                     n_iter=n_iter, **base)


def cox_aic(
    embedding: np.ndarray | None,
    obs: pd.DataFrame,
    covariates: Sequence[str] = COVARIATES,
    *,
    method: str = "numpy",
) -> float:
    """AIC of a Cox PH model on overall survival: covariates plus ``embedding`` (paper Eq 8).

    ``embedding`` float [n_samples, n_dims] in ``obs`` row order, or ``None`` for the covariate-only
    baseline. Returns NaN when the cohort has no survival data or the fit does not converge; see
    ``cox_fit`` for the reason and diagnostics.
    """
    return cox_fit(embedding, obs, covariates, method=method).aic
