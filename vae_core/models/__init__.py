"""The six VAEs of the benchmark (SPEC 3), pure torch: ``MODELS`` and ``build``.

    model = build("dip", n_genes=5000, latent_dim=50, activation="tanh", init="kaiming_uniform")
    out = model(x)                                   # ModelOutput(recon, z, mu, logvar, logits)
    lo = model.loss(x, out, n_train=N, step=t)       # LossOutput(.loss, .terms)
    emb = model.eval().embed(x, mode="mean")         # [n, latent_dim]
"""

from __future__ import annotations

import inspect

from torch import nn

from .base import (
    ACTIVATIONS,
    INITS,
    LOSS_SCALES,
    VAE,
    LossOutput,
    ModelOutput,
    gaussian_kl,
    init_weight,
)
from .categorical import CatVAE, categorical_kl_uniform, gumbel_softmax_sample
from .gaussian import (
    DIPVAE,
    IWAE,
    BetaTCVAE,
    BetaVAE,
    VanillaVAE,
    dip_covariance,
    stratified_log_weights,
    tc_decomposition,
)
from .schedules import capacity, dimkl_weight

MODELS: tuple[str, ...] = ("vanilla", "beta", "betatc", "dip", "iwae", "cat")
_CLASSES: dict[str, type[VAE]] = {
    "vanilla": VanillaVAE, "beta": BetaVAE, "betatc": BetaTCVAE, "dip": DIPVAE, "iwae": IWAE,
    "cat": CatVAE,
}


def constants_of(name: str) -> dict[str, object]:
    """The model-specific constants ``build`` accepts for ``name``, with their defaults."""
    base = set(inspect.signature(VAE.__init__).parameters)
    sig = inspect.signature(_CLASSES[name].__init__)
    return {k: p.default for k, p in sig.parameters.items()
            if p.kind is p.KEYWORD_ONLY and p.default is not p.empty and k not in base}


def build(name: str, n_genes: int, latent_dim: int, *, activation: str = "tanh",
          init: str = "kaiming_uniform", loss_scale: str = "published", hidden: int = 512,
          **constants) -> nn.Module:
    """Build one of ``MODELS`` with a fresh initialisation (seed torch beforehand for determinism).

    ``constants`` override a model's constants (e.g. ``gamma``, ``c_max``, ``c_stop`` for beta;
    ``alpha``, ``beta``, ``gamma``, ``anneal_steps`` for betatc; ``lambda_offdiag``, ``lambda_diag``
    for dip; ``k`` for iwae; ``temperature`` for cat) and ``batch_size`` (B of the published KL
    weight B/N, default 64).
    """
    if name not in _CLASSES:
        raise ValueError(f"unknown model {name!r}; choose one of {list(MODELS)}.")
    allowed = {"batch_size", *constants_of(name)}
    unknown = sorted(set(constants) - allowed)
    if unknown:
        raise ValueError(f"unknown constant(s) {unknown} for model {name!r}; "
                         f"allowed: {sorted(allowed)}.")
    return _CLASSES[name](n_genes, latent_dim, activation=activation, init=init,
                          loss_scale=loss_scale, hidden=hidden, **constants)


__all__ = [
    "ACTIVATIONS",
    "DIPVAE",
    "INITS",
    "IWAE",
    "LOSS_SCALES",
    "MODELS",
    "VAE",
    "BetaTCVAE",
    "BetaVAE",
    "CatVAE",
    "LossOutput",
    "ModelOutput",
    "VanillaVAE",
    "build",
    "capacity",
    "categorical_kl_uniform",
    "constants_of",
    "dimkl_weight",
    "dip_covariance",
    "gaussian_kl",
    "gumbel_softmax_sample",
    "init_weight",
    "stratified_log_weights",
    "tc_decomposition",
]
