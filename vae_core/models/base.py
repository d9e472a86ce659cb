"""Shared building blocks of the six VAEs (``docs/design.md``, "Models"): encoder, decoder, init,
outputs, base class.

Architecture fixed by the paper (Eltager et al. 2023) for every model:
encoder ``Linear(G->H) -> BatchNorm1d -> activation -> head``; decoder
``Linear(d->H) -> BatchNorm1d -> activation -> Linear(H->G)``. The head is one ``Linear(H->2d)``
(mu and logvar, split in half: the same function and default initialisation as two
``Linear(H->d)`` heads, one matmul instead of two) or ``Linear(H->d)`` (CAT-VAE: logits).

The ``init`` scheme applies to the encoder's and decoder's hidden ``Linear`` weights only (the
published code's ``init_weights``); every other parameter keeps PyTorch's default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from torch.nn import functional as F

ACTIVATIONS = ("relu", "tanh")
INITS = ("normal", "uniform", "xavier_normal", "xavier_uniform", "kaiming_uniform")
LOSS_SCALES = ("published", "elbo")
LOG_2PI = math.log(2.0 * math.pi)


@dataclass
class ModelOutput:
    """Forward pass of a VAE. ``None`` where a field does not apply.

    recon  [B, G] (IWAE: [K, B, G])  decoder output x_hat
    z      [B, d] (IWAE: [K, B, d])  latent sample (CAT: relaxed one-hot Gumbel-softmax sample)
    mu     [B, d]  posterior mean (Gaussian models)
    logvar [B, d]  posterior log-variance (Gaussian models)
    logits [B, d]  categorical logits (CAT-VAE)
    """

    recon: Tensor
    z: Tensor
    mu: Tensor | None = None
    logvar: Tensor | None = None
    logits: Tensor | None = None


@dataclass
class LossOutput:
    """A loss: the scalar to minimise plus its named terms (batch means, detached-free tensors)."""

    loss: Tensor
    terms: dict[str, Tensor] = field(default_factory=dict)


def check_choice(what: str, value: str, allowed: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise a ValueError naming the options."""
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; choose one of {list(allowed)}.")
    return value


def make_activation(name: str) -> nn.Module:
    """``relu`` -> nn.ReLU, ``tanh`` -> nn.Tanh."""
    check_choice("activation", name, ACTIVATIONS)
    return nn.ReLU() if name == "relu" else nn.Tanh()


@torch.no_grad()
def init_weight(weight: Tensor, scheme: str) -> Tensor:
    """Initialise a Linear weight in place with one of the five schemes of the paper's grid.

    normal N(0, 1); uniform U(0, 1); xavier_normal / xavier_uniform (gain 1);
    kaiming_uniform (``torch.nn.init.kaiming_uniform_`` defaults: a=0, fan_in, leaky_relu gain).
    """
    check_choice("init", scheme, INITS)
    if scheme == "normal":
        return nn.init.normal_(weight, 0.0, 1.0)
    if scheme == "uniform":
        return nn.init.uniform_(weight, 0.0, 1.0)
    if scheme == "xavier_normal":
        return nn.init.xavier_normal_(weight)
    if scheme == "xavier_uniform":
        return nn.init.xavier_uniform_(weight)
    return nn.init.kaiming_uniform_(weight)


class Encoder(nn.Module):
    """x [B, G] -> head output [B, n_out] via Linear(G->H) -> BatchNorm1d -> activation -> Linear."""

    def __init__(self, n_genes: int, hidden: int, n_out: int, activation: str):
        super().__init__()
        self.hidden = nn.Linear(n_genes, hidden)
        self.norm = nn.BatchNorm1d(hidden)
        self.act = make_activation(activation)
        self.head = nn.Linear(hidden, n_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.act(self.norm(self.hidden(x))))


class Decoder(nn.Module):
    """z [..., d] -> x_hat [..., G] via Linear(d->H) -> BatchNorm1d -> activation -> Linear(H->G).

    Leading axes beyond the batch (IWAE's K samples) are flattened into the batch for BatchNorm.
    """

    def __init__(self, latent_dim: int, hidden: int, n_genes: int, activation: str):
        super().__init__()
        self.hidden = nn.Linear(latent_dim, hidden)
        self.norm = nn.BatchNorm1d(hidden)
        self.act = make_activation(activation)
        self.out = nn.Linear(hidden, n_genes)

    def forward(self, z: Tensor) -> Tensor:
        lead = z.shape[:-1]
        h = self.act(self.norm(self.hidden(z.reshape(-1, z.shape[-1]))))
        return self.out(h).reshape(*lead, -1)


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, s2) || N(0, I)) per sample: -1/2 sum_j (1 + log s2_j - mu_j^2 - s2_j). [B]

    Kingma & Welling (2014), Appendix B.
    """
    return -0.5 * torch.sum(1.0 + logvar - mu.pow(2) - logvar.exp(), dim=-1)


def rec_sse(recon: Tensor, x: Tensor) -> Tensor:
    """rec(x) = sum over genes of (x_hat - x)^2, per sample (leading axes kept). [..., B]"""
    return (recon - x).pow(2).sum(dim=-1)


def mean_rec(recon: Tensor, x: Tensor) -> Tensor:
    """mean over the batch of rec(x) (scalar; one fused kernel). recon, x: [B, G]."""
    return F.mse_loss(recon, x, reduction="sum") / x.shape[0]


def gaussian_log_density(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """Elementwise log N(z; mu, exp(logvar)) with its normalising constant (no sum)."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) * torch.exp(-logvar))


def reparameterize(mu: Tensor, logvar: Tensor, generator: torch.Generator | None = None,
                   n: int | None = None, eps: Tensor | None = None) -> Tensor:
    """z = mu + exp(logvar / 2) * eps, eps ~ N(0, I); ``n`` samples on a leading axis if given.

    ``eps`` (shape ``mu.shape`` or ``(n, *mu.shape)``) replaces the draw when given: the stacked
    trainer draws each member's noise with its own generator outside ``vmap`` and passes it in.
    """
    if eps is None:
        shape = mu.shape if n is None else (n, *mu.shape)
        eps = torch.randn(shape, dtype=mu.dtype, device=mu.device, generator=generator)
    return mu + torch.exp(0.5 * logvar) * eps


class VAE(nn.Module):
    """Base class: a Gaussian-posterior VAE with the shared encoder/decoder (vanilla forward pass).

    Subclasses set ``name`` and ``lr_gamma`` (ExponentialLR per epoch of the published configs,
    None = no schedule) and implement :meth:`loss`. ``loss_scale`` chooses ``published`` (S1 Table
    weights) or ``elbo`` (per-sample sums); ``batch_size`` is the training batch size B of the
    published KL weight B/N (kept fixed, so validation chunks weigh terms as training does).
    """

    name = "vae"
    lr_gamma: float | None = 0.95
    n_heads = 2  # head outputs per latent dim: mu and logvar

    def __init__(self, n_genes: int, latent_dim: int, *, activation: str = "tanh",
                 init: str = "kaiming_uniform", loss_scale: str = "published", hidden: int = 512,
                 batch_size: int = 64):
        super().__init__()
        for what, v in (("n_genes", n_genes), ("latent_dim", latent_dim), ("hidden", hidden),
                        ("batch_size", batch_size)):
            if int(v) < 1:
                raise ValueError(f"{what} must be a positive integer, got {v!r}.")
        self.n_genes, self.latent_dim, self.hidden_dim = int(n_genes), int(latent_dim), int(hidden)
        self.activation = check_choice("activation", activation, ACTIVATIONS)
        self.init_scheme = check_choice("init", init, INITS)
        self.loss_scale = check_choice("loss_scale", loss_scale, LOSS_SCALES)
        self.batch_size = int(batch_size)
        self.encoder = Encoder(n_genes, hidden, self.n_heads * latent_dim, activation)
        self.decoder = Decoder(latent_dim, hidden, n_genes, activation)
        init_weight(self.encoder.hidden.weight, init)
        init_weight(self.decoder.hidden.weight, init)

    # -- forward ---------------------------------------------------------------------------
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x [B, G] -> (mu [B, d], logvar [B, d])."""
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def noise_shape(self, batch: int) -> tuple[int, ...]:
        """Shape of the noise one forward pass on ``batch`` samples draws ([B, d]; IWAE [K, B, d])."""
        return (int(batch), self.latent_dim)

    def draw_noise(self, batch: int, generator: torch.Generator | None = None, *,
                   dtype: torch.dtype = torch.float32,
                   device: torch.device | str | None = None) -> Tensor:
        """The noise ``forward`` would draw from ``generator`` for ``batch`` samples (same numbers).

        Gaussian models: eps ~ N(0, I) of :meth:`noise_shape` (``torch.randn``); CAT-VAE overrides
        it with the Exponential(1) draws of its Gumbel noise. Pass the result as ``noise=``.
        """
        return torch.randn(self.noise_shape(batch), dtype=dtype, device=device,
                           generator=generator)

    def forward(self, x: Tensor, generator: torch.Generator | None = None,
                noise: Tensor | None = None) -> ModelOutput:
        """x [B, G] -> ModelOutput; ``noise`` (from :meth:`draw_noise`) replaces the draw."""
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, generator, eps=noise)
        return ModelOutput(recon=self.decoder(z), z=z, mu=mu, logvar=logvar)

    # -- loss helpers ----------------------------------------------------------------------
    def kl_weight(self, n_train: int) -> float:
        """Published KL weight B/N (B the training batch size, N the training-set size)."""
        if int(n_train) < 1:
            raise ValueError(f"n_train must be a positive integer, got {n_train!r}.")
        return self.batch_size / float(n_train)

    def loss(self, x: Tensor, out: ModelOutput, n_train: int, step: int) -> LossOutput:
        raise NotImplementedError

    # -- embedding -------------------------------------------------------------------------
    @torch.no_grad()
    def posterior(self, x: Tensor, mode: str = "sample",
                  generator: torch.Generator | None = None) -> dict[str, Tensor | None]:
        """{"z": embedding, "mu", "logvar", "logits"} of q(z|x) for x [n, G] (no grad).

        ``z`` is one sample z ~ q(z|x) (``mode="sample"``) or the posterior mean (``"mean"``).
        Uses the module's current mode (call ``model.eval()`` first for BatchNorm running stats).
        """
        check_choice("embedding mode", mode, ("sample", "mean"))
        mu, logvar = self.encode(x)
        z = mu if mode == "mean" else reparameterize(mu, logvar, generator)
        return {"z": z, "mu": mu, "logvar": logvar, "logits": None}

    @torch.no_grad()
    def embed(self, x: Tensor, mode: str = "sample",
              generator: torch.Generator | None = None) -> Tensor:
        """Embedding [n, d]: one z ~ q(z|x) per sample (``sample``) or the posterior mean (``mean``).

        Uses the module's current mode (call ``model.eval()`` first for BatchNorm running stats).
        """
        return self.posterior(x, mode, generator)["z"]

    def extra_repr(self) -> str:
        return (f"n_genes={self.n_genes}, latent_dim={self.latent_dim}, hidden={self.hidden_dim}, "
                f"activation={self.activation!r}, init={self.init_scheme!r}, "
                f"loss_scale={self.loss_scale!r}")
