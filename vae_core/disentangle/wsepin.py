"""WSEPIN: weighted separability and informativeness (Do & Tran, ICLR 2020; paper Eq 9-10).

    SEPIN_i = I(x, z_i | z_!=i) = I(x, z) - I(x, z_!=i)
    WSEPIN  = sum_i rho_i SEPIN_i,    rho_i = I(x, z_i) / sum_j I(x, z_j)

with, for the encoder's Gaussian posterior q(z|x) and the aggregate posterior q(z) (the mixture
of q(z|x_n) over all N samples; see ``_mi``), Monte-Carlo estimates over pairs
(x_m, z_m ~ q(z|x_m)):

    I(x, z)     = E[log q(z|x)        - log q(z)]
    I(x, z_i)   = E[log q(z_i|x)      - log q(z_i)]
    I(x, z_!=i) = E[log q(z_!=i|x)    - log q(z_!=i)]
    SEPIN_i     = E[log q(z_i|x)      - log q(z) + log q(z_!=i)]   (the same samples for all)

In nats. Finite-sample facts worth knowing: every I(x, .) is at most log N (the mixture has N
components), and for a latent space where each sample is far from all others in most
dimensions, I(x, z) ~ I(x, z_!=i) ~ log N, so SEPIN and WSEPIN go to 0 -- the paper's Fig 7
finding for 50-200 latent dims. Monte-Carlo estimates of an I(x, z_i) near 0 can come out
slightly negative; the weights rho use I(x, z_i) where it exceeds 1e-6 nats (0 elsewhere). A latent space with no informative
factor (sum_j I(x, z_j) = 0, e.g. constant mu) has WSEPIN 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _mi

#: I(x, z_i) below this (nats) is float rounding, weight 0 (constant factors score exactly 0)
_INFO_FLOOR = 1e-6


def sepin_table(mu: np.ndarray, logvar: np.ndarray | None, n_samples: int | None = 10000,
                seed: int = 0, *, n_components: int | None = None,
                block: int = _mi._BLOCK) -> pd.DataFrame:
    """Per-factor informativeness I(x, z_i), separability SEPIN_i and WSEPIN weight rho_i.

    Args:
        mu, logvar: [N, d] parameters of the Gaussian posterior q(z|x_n) (float; nats).
            ``logvar=None`` (CAT-VAE) raises: pass ``relaxed_categorical_moments(logits)``.
        n_samples: Monte-Carlo pairs (x, z); drawn without replacement up to N (None: every
            sample once).
        seed: seed of the draws (same seed, same numbers).
        n_components: None (default) sums q(z) and its marginals over all N components
            (exact); an int K < N uses a random subset of K other components plus the own
            component exactly, scaled to be unbiased for q (faster, noisier; documented
            deviation, for very large cohorts).
        compile: fuse the inner arithmetic with ``torch.compile`` (same numbers, faster;
            None: automatic above 5e8 elements of work M*N*d).
    Returns a DataFrame indexed by factor (0-based) with columns ``info`` (I(x, z_i)),
    ``sepin`` (I(x, z_i | z_!=i)), ``rho`` and ``wsepin_term`` (rho_i * SEPIN_i); ``attrs``
    hold ``i_xz`` (I(x, z)), ``wsepin`` and ``n_samples``.
    """
    mu, logvar = _mi.check_gaussian(mu, logvar, "wsepin")
    n, d = mu.shape
    own, z, eps = _mi.draw(mu, logvar, n_samples, seed)
    comp = None
    if n_components is not None and int(n_components) < n:
        if int(n_components) < 1:
            raise ValueError(f"wsepin: n_components must be >= 1 or None; got {n_components}")
        comp = np.sort(np.random.default_rng([seed, 1]).choice(n, int(n_components),
                                                                replace=False))
    dens = _mi.sepin_log_densities(z, eps, own, mu, logvar, components=comp, block=block,
                                    compile=compile)
    l_own = _mi.own_log_density(eps, logvar[own])
    big_l_own = l_own.sum(1)
    info = (l_own - dens["marginal"]).mean(0)
    i_xz = float((big_l_own - dens["joint"]).mean())
    sepin = (l_own - dens["joint"][:, None] + dens["loo"]).mean(0)
    pos = np.where(info > _INFO_FLOOR, info, 0.0)
    total = pos.sum()
    rho = pos / total if total > 0 else np.zeros(d)
    table = pd.DataFrame({"info": info, "sepin": sepin, "rho": rho, "wsepin_term": rho * sepin},
                         index=pd.RangeIndex(d, name="factor"))
    table.attrs.update(i_xz=i_xz, wsepin=float(table["wsepin_term"].sum()),
                       n_samples=int(z.shape[0]))
    return table


def wsepin(mu: np.ndarray, logvar: np.ndarray | None, n_samples: int | None = 10000,
           seed: int = 0, **kwargs) -> float:
    """WSEPIN = sum_i rho_i I(x, z_i | z_!=i) in nats (Do & Tran 2020; paper Eq 9-10).

    ``mu``, ``logvar``: [N, d] Gaussian posterior parameters; see :func:`sepin_table` for the
    estimator, ``n_samples``, ``seed`` and the keywords ``n_components``, ``compile``. Returns 0.0 for a
    latent space with no informative factor (e.g. constant ``mu``).
    """
    return float(sepin_table(mu, logvar, n_samples, seed, **kwargs).attrs["wsepin"])
