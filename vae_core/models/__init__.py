"""The VAEs of the benchmark, pure torch: the model registry, ``MODELS`` and ``build``.

The paper's six (vanilla, beta, betatc, dip, iwae, cat; ``docs/design.md``, "Models") are
registered here exactly as a user's model is registered from a plugin file:

    from vae_core.models import VAE, LossOutput, register

    class HuberVAE(VAE):
        name, lr_gamma = "huber", 0.95
        def loss(self, x, out, n_train, step):
            ...
            return LossOutput(loss, {"rec": rec, "kl": kl})

    register("huber", HuberVAE, label="Huber VAE")

A registered model is a valid grid value, trains with ``train.fit`` and ``train.fit_many``, and
gets a colour and a label in every figure (``vae_core.registry`` holds the torch-free names).

    model = build("dip", n_genes=5000, latent_dim=50, activation="tanh", init="kaiming_uniform")
    out = model(x)                                   # ModelOutput(recon, z, mu, logvar, logits)
    lo = model.loss(x, out, n_train=N, step=t)       # LossOutput(.loss, .terms)
    emb = model.eval().embed(x, mode="mean")         # [n, latent_dim]
"""

from __future__ import annotations

import inspect

from torch import nn

from .. import registry as _registry
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

_CLASSES: dict[str, type[VAE]] = {}


def register(name: str, cls: type[VAE], *, label: str | None = None) -> type[VAE]:
    """Register model class ``cls`` under ``name`` (display ``label``, default the name).

    ``cls`` subclasses :class:`VAE`, sets ``lr_gamma`` (per-epoch ExponentialLR factor, None for
    no schedule) and defines ``loss(x, out, n_train, step) -> LossOutput``; its ``name``
    attribute is set to ``name``. Re-registering a name replaces the class (a plugin reloaded
    in a notebook). Returns ``cls``, so it can be used as a decorator factory's result.
    """
    _registry.check_name(name)
    if not (isinstance(cls, type) and issubclass(cls, VAE)):
        raise TypeError(f"models.register({name!r}, ...): {cls!r} is not a subclass of "
                        "vae_core.models.VAE; subclass it and define loss(x, out, n_train, step).")
    if cls.loss is VAE.loss:
        raise TypeError(f"models.register({name!r}, {cls.__name__}): the class does not define "
                        "loss(x, out, n_train, step) -> LossOutput.")
    cls.name = name
    _CLASSES[name] = cls
    _registry.add_model(name, label)
    return cls


def registered() -> tuple[str, ...]:
    """Names of every model with a registered class (the paper's six first)."""
    return tuple(m for m in _registry.model_names() if m in _CLASSES)


def model_class(name: str) -> type[VAE]:
    """The class registered under ``name`` (ValueError listing the registered names)."""
    try:
        return _CLASSES[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; registered models are {list(registered())} "
                         "(register your own with vae_core.models.register, or list its file "
                         "under 'plugins:' in the params).") from None


for _cls in (VanillaVAE, BetaVAE, BetaTCVAE, DIPVAE, IWAE, CatVAE):
    register(_cls.name, _cls, label=_registry.PAPER_MODELS[_cls.name])

#: The paper's six models (kept for earlier callers; ``registered()`` includes new ones).
MODELS: tuple[str, ...] = tuple(_registry.PAPER_MODELS)


def constants_of(name: str) -> dict[str, object]:
    """The model-specific constants ``build`` accepts for ``name``, with their defaults."""
    base = set(inspect.signature(VAE.__init__).parameters)
    sig = inspect.signature(model_class(name).__init__)
    return {k: p.default for k, p in sig.parameters.items()
            if p.kind is p.KEYWORD_ONLY and p.default is not p.empty and k not in base}


def build(name: str, n_genes: int, latent_dim: int, *, activation: str = "tanh",
          init: str = "kaiming_uniform", loss_scale: str = "published", hidden: int = 512,
          **constants) -> nn.Module:
    """Build a registered model with a fresh initialisation (seed torch beforehand for determinism).

    ``constants`` override a model's constants (e.g. ``gamma``, ``c_max``, ``c_stop`` for beta;
    ``alpha``, ``beta``, ``gamma``, ``anneal_steps`` for betatc; ``lambda_offdiag``, ``lambda_diag``
    for dip; ``k`` for iwae; ``temperature`` for cat) and ``batch_size`` (B of the published KL
    weight B/N, default 64).
    """
    cls = model_class(name)
    allowed = {"batch_size", *constants_of(name)}
    unknown = sorted(set(constants) - allowed)
    if unknown:
        raise ValueError(f"unknown constant(s) {unknown} for model {name!r}; "
                         f"allowed: {sorted(allowed)}.")
    return cls(n_genes, latent_dim, activation=activation, init=init,
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
    "model_class",
    "register",
    "registered",
    "stratified_log_weights",
    "tc_decomposition",
]
