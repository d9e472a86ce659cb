"""Shared Monte-Carlo log-density helpers for WSEPIN and RMIG (Do & Tran, ICLR 2020).

Every estimator here uses the same construction (Do & Tran 2020, Sec. 4 and App. A; the
"minibatch-free" estimator of Chen et al. 2018 with the whole data set as the batch):

* the data distribution q(x) is the empirical distribution of the N encoded samples;
* the encoder posterior is Gaussian, q(z|x_n) = N(mu_n, diag(exp(logvar_n)));
* the aggregate posterior q(z) = 1/N sum_n q(z|x_n) is the mixture over ALL N samples (no
  subsampling of components), and so are its marginals q(z_i) and the leave-one-out marginals
  q(z_!=i);
* expectations are Monte-Carlo averages over M pairs (x_m, z_m ~ q(z|x_m)).

All log densities are in nats and computed in log space. With
l_mni = log N(z_mi; mu_ni, s2_ni) and L_mn = sum_i l_mni,

    log q(z_m)      = logsumexp_n L_mn          - log N
    log q(z_mi)     = logsumexp_n l_mni         - log N
    log q(z_m,!=i)  = logsumexp_n (L_mn - l_mni) - log N

so every factor's leave-one-out term comes from the same l tensor. The work is O(M N d): the
tensor is never materialised whole but in blocks of ``block`` elements (memory stays bounded at a
few tens of MB whatever M, N and d).
"""

from __future__ import annotations

import math
import warnings
from contextlib import contextmanager

import numpy as np
import torch

LOG_2PI = math.log(2.0 * math.pi)
_BLOCK = 1 << 18  # elements of one [rows, d, cols] block (1 MB in float32)
_FLOOR = -80.0   # log-ratios below this are negligible (exp(-80) ~ 2e-35) and skip slow denormals


@contextmanager
def torch_threads(n: int | None):
    """Run the block with ``n`` intra-op torch threads (None: leave as is)."""
    old = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def check_gaussian(mu, logvar, name: str = "wsepin") -> tuple[np.ndarray, np.ndarray]:
    """Validate a Gaussian posterior given as arrays ``mu``, ``logvar`` [N, d]; return float64 copies.

    Raises ValueError naming the problem when ``logvar`` is None (a model without a Gaussian
    posterior, e.g. CAT: use :func:`vae_core.disentangle.relaxed_categorical_moments`), when the
    shapes differ, or when the arrays hold NaN/inf.
    """
    if logvar is None:
        raise ValueError(
            f"{name}: logvar is None, i.e. the model has no Gaussian posterior (CAT-VAE). "
            "WSEPIN/RMIG need q(z|x) = N(mu, exp(logvar)); for CAT pass the moment-matched "
            "Gaussian of the relaxed categorical: mu, logvar = relaxed_categorical_moments(logits)")
    mu = np.asarray(mu, dtype=np.float64)
    logvar = np.asarray(logvar, dtype=np.float64)
    if mu.ndim != 2 or mu.shape != logvar.shape:
        raise ValueError(f"{name}: mu and logvar must both be [n_samples, latent_dim]; got "
                         f"{mu.shape} and {logvar.shape}")
    if mu.shape[0] < 2 or mu.shape[1] < 1:
        raise ValueError(f"{name}: need at least 2 samples and 1 latent dim; got {mu.shape}")
    for nm, a in (("mu", mu), ("logvar", logvar)):
        if not np.isfinite(a).all():
            raise ValueError(f"{name}: {nm} holds {int((~np.isfinite(a)).sum())} NaN/inf "
                             "values; drop the failed run or the affected samples first")
    spread = logvar.max(0) - logvar.min(0)
    if spread.max() > 120:
        i = int(spread.argmax())
        raise ValueError(f"{name}: logvar of factor {i} spans {spread[i]:.0f} nats across "
                         "samples (variance ratio > e^120); the float32 mixture would underflow. "
                         "Clip logvar to a sane range, e.g. np.clip(logvar, -30, 10)")
    return mu, logvar


def draw(mu: np.ndarray, logvar: np.ndarray, n_samples: int,
         seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Monte-Carlo pairs (x_m, z_m ~ q(z|x_m)): indices [M], z [M, d] and eps [M, d].

    Samples are drawn without replacement while ``n_samples <= N`` (lower variance), with
    replacement beyond; ``n_samples=None`` or ``>= N`` with replacement off uses every sample once.
    """
    rng = np.random.default_rng([int(seed), 0x5E91])   # a stream of its own for this seed
    n = mu.shape[0]
    if n_samples is None or n_samples == n:
        idx = np.arange(n)
    elif n_samples < n:
        idx = np.sort(rng.choice(n, size=int(n_samples), replace=False))
    else:
        idx = np.concatenate([np.arange(n), rng.integers(0, n, int(n_samples) - n)])
    eps = rng.standard_normal((idx.size, mu.shape[1]))
    z = mu[idx] + np.exp(0.5 * logvar[idx]) * eps
    return idx, z, eps


def own_log_density(eps: np.ndarray, logvar_own: np.ndarray) -> np.ndarray:
    """log q(z_mi | x_m) for z_m = mu_m + sigma_m eps_m, per factor [M, d] (closed form)."""
    return -0.5 * (eps ** 2 + LOG_2PI + logvar_own)


def _block_cols(d: int, n: int, block: int) -> tuple[int, int]:
    cols = n if d * n <= block else max(256, block // d)
    rows = max(1, block // (d * cols))
    return rows, cols


def _own_positions(own: np.ndarray, comp: np.ndarray) -> np.ndarray:
    """Position of each own index in the sorted component list ``comp`` (-1 where absent)."""
    pos = np.searchsorted(comp, own)
    pos = np.minimum(pos, comp.size - 1)
    return np.where(comp[pos] == own, pos, -1)


def _sepin_block(zz, mu_t, inv_sd, base, off, rel_t, own_col):
    """Sums over one block of components (see :func:`sepin_log_densities`): [c, d] twice.

    zz [c, d] points; mu_t, inv_sd, base [d, b]; off [c, d] = l_own; rel_t [c, b] = L_n - L_own;
    own_col [c] column of the row's own component in this block (-1: none).
    """
    u = (zz[:, :, None] - mu_t[None]) * inv_sd[None]
    lb = base[None] - 0.5 * u * u - off[:, :, None]                   # l_ni - l_own,i
    # L^-i_n - L^-i_own = (L_n - L_own) - (l_ni - l_own,i); log-ratios floored at -80 before
    # exp: exp(-80) is negligible next to the own term (1) and skips exp's slow denormal path
    s_l = (rel_t[:, None, :] - lb).clamp_min(_FLOOR).exp().sum(2)
    cols = torch.arange(lb.shape[2])
    is_own = (cols[None, :] == own_col[:, None])[:, None, :]
    s_m = torch.where(is_own, 0.0, lb.clamp_min(_FLOOR).exp()).sum(2)  # own term enters exactly
    return s_l, s_m


_COMPILED: dict[str, object] = {}
_COMPILE_MIN_WORK = 5e8
_FUSED_BLOCK = 1 << 22


def _sepin_block_fn(compile: bool | None, work: float):
    """The eager or the ``torch.compile``-fused block function."""
    if compile is None:
        compile = work >= _COMPILE_MIN_WORK
    if not compile:
        return _sepin_block
    if "sepin" not in _COMPILED:
        try:
            fn = torch.compile(_sepin_block, dynamic=True)
            a = torch.zeros(2, 3)
            b = torch.ones(3, 5)
            fn(a, b, b, b, a, torch.zeros(2, 5), torch.tensor([0, -1]))   # compile now
            _COMPILED["sepin"] = fn
        except Exception as exc:  # noqa: BLE001  (no compiler, unsupported platform: eager is exact)
            warnings.warn(f"torch.compile unavailable ({type(exc).__name__}: {exc}); using "
                          "eager torch (about 3x slower)", stacklevel=3)
            _COMPILED["sepin"] = _sepin_block
    return _COMPILED["sepin"]


def sepin_log_densities(z: np.ndarray, eps: np.ndarray, own: np.ndarray, mu: np.ndarray,
                        logvar: np.ndarray, *, components: np.ndarray | None = None,
                        block: int = _BLOCK, dtype: torch.dtype = torch.float32,
                        compile: bool | None = None) -> dict[str, np.ndarray]:
    """log q(z), log q(z_i) and log q(z_!=i) of the aggregate-posterior mixture at MC points.

    Args:
        z, eps: [M, d] Monte-Carlo points z_m = mu_own + sigma_own * eps_m; own: [M] their
            source sample indices.
        mu, logvar: [N, d] the mixture components q(z|x_n).
        components: sorted indices of the components summed over; None = all N (exact). With a
            subset S of size K the sum over the other components is scaled by (N-1)/K_eff
            (unbiased for q, the stratified estimator of Chen et al. 2018); the own component
            q(z_m|x_own) always enters exactly.
        compile: fuse the per-block arithmetic with ``torch.compile`` (faster on CPU, after a
            one-time compilation per process, cached on disk). None: only when the work
            M*K*d exceeds 5e8 elements; any compilation failure falls back to eager torch.
    Returns ``marginal`` [M, d], ``loo`` [M, d], ``joint`` [M] (float64, nats, log-mean over the
    N components). Each is split as own term + others, the own term in closed form; the others
    are summed in blocks as ratios to the own term (log-ratios floored at -80 before exp: the
    neglected mass is < N e^-80 relative to the own term); a row whose float32 sum overflows is
    redone in float64.
    """
    m_pts, d = z.shape
    n = mu.shape[0]
    comp = np.arange(n) if components is None else np.asarray(components)
    k = comp.size
    pos = _own_positions(own, comp)
    log_w = np.log(n - 1) - np.log(k - (pos >= 0))            # weight of the "others" sum
    mu_c, lv_c = mu[comp], logvar[comp]
    l_own = own_log_density(eps, logvar[own])                  # [M, d]
    big_l_own = l_own.sum(1)                                   # [M] log q(z|x_own)
    # L_mn for all (m, n) in float64 through matmuls (the quadratic expanded per component)
    a = -0.5 * np.exp(-lv_c)                                   # [K, d]
    b = mu_c * np.exp(-lv_c)
    c0 = (-0.5 * (mu_c ** 2 * np.exp(-lv_c) + LOG_2PI + lv_c)).sum(1)   # [K]
    inv_sd = torch.as_tensor(np.exp(-0.5 * lv_c).T, dtype=dtype).contiguous()   # [d, K]
    mu_t = torch.as_tensor(mu_c.T, dtype=dtype).contiguous()
    base = torch.as_tensor((-0.5 * (LOG_2PI + lv_c)).T, dtype=dtype).contiguous()
    marg_s = np.empty((m_pts, d))
    loo_s = np.empty((m_pts, d))
    joint_s = np.empty(m_pts)
    block_fn = _sepin_block_fn(compile, m_pts * k * d)
    if block_fn is not _sepin_block:
        block = max(block, _FUSED_BLOCK)   # fused: no block-sized temporaries, fewer calls
    rows, cols = _block_cols(d, k, block)
    outer = max(rows, 64)
    for o0 in range(0, m_pts, outer):
        so = slice(o0, o0 + outer)
        zo = z[so]
        big_l = (zo ** 2) @ a.T + zo @ b.T + c0                # [R, K] float64
        rel = big_l - big_l_own[so, None]                      # L_n - L_own
        p_o = pos[so]
        rr = np.nonzero(p_o >= 0)[0]
        rel[rr, p_o[rr]] = -1e30                               # the own term enters exactly
        joint_s[so] = np.exp(rel).sum(1)
        rel_o = torch.as_tensor(rel, dtype=dtype)
        own_o = torch.as_tensor(l_own[so], dtype=dtype)
        z_o = torch.as_tensor(zo, dtype=dtype)
        for r0 in range(0, zo.shape[0], rows):
            sr = slice(r0, r0 + rows)
            zz, rel_t, off = z_o[sr], rel_o[sr], own_o[sr]
            p = p_o[sr]
            cr = zz.shape[0]
            acc_m = torch.zeros(cr, d, dtype=torch.float64)
            acc_l = torch.zeros(cr, d, dtype=torch.float64)
            for k0 in range(0, k, cols):
                sl = slice(k0, k0 + cols)
                own_col = torch.as_tensor(np.where((p >= k0) & (p < k0 + cols), p - k0, -1))
                s_l, s_m = block_fn(zz, mu_t[:, sl], inv_sd[:, sl], base[:, sl], off,
                                    rel_t[:, sl], own_col)
                acc_l += s_l
                acc_m += s_m
            marg_s[o0 + r0:o0 + r0 + cr] = acc_m.numpy()
            loo_s[o0 + r0:o0 + r0 + cr] = acc_l.numpy()
    bad = ~np.isfinite(loo_s).all(1)
    if bad.any() and dtype == torch.float32:
        redo = sepin_log_densities(z[bad], eps[bad], own[bad], mu, logvar,
                                   components=components, block=block, dtype=torch.float64,
                                   compile=False)
        out = _combine(marg_s, loo_s, joint_s, l_own, big_l_own, log_w, n)
        for key in out:
            out[key][bad] = redo[key]
        return out
    if bad.any():
        raise FloatingPointError("sepin_log_densities: the leave-one-out mixture overflows even "
                                 "in float64; logvar/mu hold extreme values")
    return _combine(marg_s, loo_s, joint_s, l_own, big_l_own, log_w, n)


def _combine(marg_s, loo_s, joint_s, l_own, big_l_own, log_w, n) -> dict[str, np.ndarray]:
    """Own term + weighted others, in log space, minus log N."""
    log_n = np.log(n)
    marginal = l_own + np.log1p(np.exp(log_w)[:, None] * marg_s) - log_n
    loo = (big_l_own[:, None] - l_own) + np.log1p(np.exp(log_w)[:, None] * loo_s) - log_n
    joint = big_l_own + np.log1p(np.exp(log_w) * joint_s) - log_n
    return {"marginal": marginal, "loo": loo, "joint": joint}


def group_log_densities(z: np.ndarray, l_own: np.ndarray, mu: np.ndarray, logvar: np.ndarray,
                        groups: np.ndarray, *, block: int = _BLOCK) -> np.ndarray:
    """log sum_{n in group k} q(z_mi | x_n) per point, factor and group: [M, d, K] (float64).

    ``z`` [M, d] are Monte-Carlo points with own-component log densities ``l_own`` [M, d]
    (used as the shift: ratios to the own term are floored at -80 before exp, as in
    :func:`sepin_log_densities`). ``groups`` is an [N, K] 0/1 matrix (a row of zeros: the sample
    belongs to no group, e.g. a NaN label). Exact over all N components. Used by RMIG for
    q(z_i | y = k) = 1/N_k sum_{n: y_n = k} q(z_i|x_n).
    """
    m_pts, d = z.shape
    n = mu.shape[0]
    inv_sd = torch.as_tensor(np.exp(-0.5 * logvar).T, dtype=torch.float32).contiguous()
    mu_t = torch.as_tensor(mu.T, dtype=torch.float32).contiguous()
    base = torch.as_tensor((-0.5 * (LOG_2PI + logvar)).T, dtype=torch.float32).contiguous()
    g = torch.as_tensor(groups, dtype=torch.float32)
    out = np.empty((m_pts, d, g.shape[1]))
    rows, cols = _block_cols(d, n, block)
    zt = torch.as_tensor(z, dtype=torch.float32)
    ot = torch.as_tensor(l_own, dtype=torch.float32)
    for r0 in range(0, m_pts, rows):
        zz, off = zt[r0:r0 + rows], ot[r0:r0 + rows]
        acc = torch.zeros(zz.shape[0], d, g.shape[1], dtype=torch.float64)
        for k0 in range(0, n, cols):
            sl = slice(k0, k0 + cols)
            u = (zz[:, :, None] - mu_t[None, :, sl]) * inv_sd[None, :, sl]
            e = torch.addcmul(base[None, :, sl], u, u, value=-0.5).sub_(off[:, :, None])
            e = e.clamp_min_(_FLOOR).exp_()
            acc += torch.matmul(e, g[sl])
        with np.errstate(divide="ignore"):
            out[r0:r0 + zz.shape[0]] = np.log(acc.numpy()) + l_own[r0:r0 + zz.shape[0], :, None]
    return out
