"""Active latent units (Burda, Grosse & Salakhutdinov 2016, "Importance Weighted Autoencoders").

Section 5.2 of that paper defines the statistic used here.

A latent dimension ``u`` is *active* when its posterior mean varies across samples:
``A_u = Var_x( E_{q(z|x)}[z_u] ) > threshold`` (threshold 0.01 in the paper). Dimensions that
collapsed to the prior have ``mu_u(x)`` nearly constant. The paper's discussion blames posterior
collapse for validation loss and ARI disagreeing; the count is recorded so the figures can test it.
"""

from __future__ import annotations

import numpy as np


def active_units(mu: np.ndarray, threshold: float = 0.01) -> int:
    """Number of latent dims whose posterior mean has variance over samples above ``threshold``.

    ``mu``: float [n_samples, n_dims] posterior means (CAT-VAE: the class probabilities).
    Variance is the population variance (ddof 0) in float64. A dimension with any non-finite
    value counts as inactive (its variance is undefined). Raises ``ValueError`` if ``mu`` is not
    2-D or ``threshold`` is negative.
    """
    arr = np.asarray(mu, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"mu must be 2-D [n_samples, n_dims]; got shape {arr.shape}.")
    if not threshold >= 0:
        raise ValueError(f"threshold must be >= 0; got {threshold!r} (Burda et al. use 0.01).")
    if arr.shape[0] < 2:
        return 0
    finite = np.isfinite(arr).all(axis=0)
    var = np.zeros(arr.shape[1])
    if finite.any():
        var[finite] = arr[:, finite].var(axis=0)
    return int(np.sum(finite & (var > threshold)))
