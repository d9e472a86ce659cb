"""CAT-VAE: a Gaussian stand-in for the relaxed categorical posterior (documented choice).

WSEPIN and RMIG (Do & Tran 2020) are defined for any q(z|x), but their estimators here need a
density per factor, and CAT-VAE's latent is one categorical variable relaxed by Gumbel-softmax
(``docs/design.md``, "Models": one group of ``latent_dim`` classes, temperature 0.5): its
factor z_i is the i-th coordinate of the relaxed sample on the simplex, whose density has no
closed form.

Choice: moment matching. The relaxed sample z = softmax((logits + g) / tau), g ~ Gumbel(0, 1), is
drawn ``n_draws`` times per sample; its per-coordinate mean and variance give q(z|x) ~ N(mean,
diag(var)). The posterior-mean embedding of CAT (``embedding: mean``) is softmax(logits), i.e. the
noise-free mean; this keeps the *posterior noise* of the model (a near one-hot sample has tiny
variance, a flat one large), which is what the mutual-information metrics measure. Known
approximations: the simplex constraint (coordinates sum to 1, so they are dependent) and the bounded
support are ignored. The notebook records ``posterior = "relaxed_categorical_moments"`` beside CAT's
scores.
"""

from __future__ import annotations

import numpy as np

#: floor on the moment-matched variance (a fully one-hot posterior would give variance 0)
MIN_VAR = 1e-6


def relaxed_categorical_moments(logits: np.ndarray, temperature: float = 0.5, n_draws: int = 64,
                                seed: int = 0, chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Mean and log-variance of the Gumbel-softmax relaxed sample, per sample and class.

    Args:
        logits: [N, K] unnormalised class log-probabilities of q(y|x) (CAT-VAE encoder).
        temperature: relaxation temperature tau (CAT-VAE's: 0.5).
        n_draws: Gumbel draws per sample for the moments.
    Returns ``(mu, logvar)`` float64 [N, K] with var floored at ``MIN_VAR``; feed them to
    ``wsepin`` / ``rmig`` like a Gaussian posterior.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or not np.isfinite(logits).all():
        raise ValueError("relaxed_categorical_moments: logits must be a finite [N, K] array; got "
                         f"shape {logits.shape}")
    if temperature <= 0:
        raise ValueError(f"relaxed_categorical_moments: temperature must be > 0; got {temperature}")
    rng = np.random.default_rng(seed)
    n, k = logits.shape
    mean = np.empty((n, k))
    var = np.empty((n, k))
    for s in range(0, n, chunk):
        lg = logits[s:s + chunk]
        g = -np.log(-np.log(rng.uniform(1e-12, 1.0, (n_draws,) + lg.shape)))
        a = (lg[None] + g) / temperature
        a -= a.max(-1, keepdims=True)
        y = np.exp(a)
        y /= y.sum(-1, keepdims=True)
        mean[s:s + chunk] = y.mean(0)
        var[s:s + chunk] = y.var(0)
    return mean, np.log(np.maximum(var, MIN_VAR))
