"""CAT-VAE: a categorical latent with the Gumbel-softmax relaxation (Jang, Gu & Poole, ICLR 2017)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import VAE, LossOutput, ModelOutput, check_choice, mean_rec


def gumbel_softmax_sample(logits: Tensor, temperature: float,
                          generator: torch.Generator | None = None,
                          noise: Tensor | None = None) -> Tensor:
    """Relaxed one-hot sample softmax((logits + g) / tau), g ~ Gumbel(0, 1) (Jang et al. 2017, eq. 2).

    g = -log e with e ~ Exponential(1); ``noise`` (e, the shape of ``logits``) replaces the draw.
    """
    if noise is None:
        e = torch.empty_like(logits).exponential_(generator=generator).clamp_min_(1e-30)
    else:
        e = noise.clamp_min(1e-30)
    return torch.softmax((logits - e.log()) / temperature, dim=-1)


def categorical_kl_uniform(logits: Tensor) -> Tensor:
    """KL(q(y|x) || Uniform(K)) = sum_k q_k log q_k + log K per sample, K = logits.shape[-1]. [B]"""
    logq = torch.log_softmax(logits, dim=-1)
    return (logq.exp() * logq).sum(-1) + math.log(logits.shape[-1])


class CatVAE(VAE):
    """Unlabelled categorical VAE (Jang et al. 2017): one group of ``latent_dim`` classes."""

    name = "cat"
    lr_gamma = 0.95
    n_heads = 1  # logits only

    def __init__(self, *args, temperature: float = 0.5, **kwargs):
        super().__init__(*args, **kwargs)
        if not float(temperature) > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}.")
        self.temperature = float(temperature)

    def draw_noise(self, batch: int, generator: torch.Generator | None = None, *,
                   dtype: torch.dtype = torch.float32,
                   device: torch.device | str | None = None) -> Tensor:
        """The Exponential(1) draws [B, d] of the Gumbel noise ``forward`` would make."""
        return torch.empty(self.noise_shape(batch), dtype=dtype,
                           device=device).exponential_(generator=generator)

    def forward(self, x: Tensor, generator: torch.Generator | None = None,
                noise: Tensor | None = None) -> ModelOutput:
        logits = self.encoder(x)
        z = gumbel_softmax_sample(logits, self.temperature, generator, noise)
        return ModelOutput(recon=self.decoder(z), z=z, logits=logits)

    def loss(self, x: Tensor, out: ModelOutput, n_train: int, step: int) -> LossOutput:
        """published: mean(rec)/G + (B/N) mean(KL(q(y|x) || U_K)); elbo: mean(rec + KL).

        Jang et al. (2017), section 3.1/4.3, one categorical group of K = latent_dim classes,
        temperature 0.5 without annealing (the published code used K = 33 whatever the latent size).
        """
        rec = mean_rec(out.recon, x)
        kl = categorical_kl_uniform(out.logits).mean()
        if self.loss_scale == "published":
            loss = rec / self.n_genes + self.kl_weight(n_train) * kl
        else:
            loss = rec + kl
        return LossOutput(loss, {"rec": rec.detach(), "kl": kl.detach()})

    @torch.no_grad()
    def posterior(self, x: Tensor, mode: str = "sample",
                  generator: torch.Generator | None = None) -> dict[str, Tensor | None]:
        """{"z", "mu": softmax(logits), "logvar": None, "logits"}; ``z`` = softmax(logits)
        (``mean``) or one relaxed Gumbel-softmax sample (``sample``). [n, d] each."""
        check_choice("embedding mode", mode, ("sample", "mean"))
        logits = self.encoder(x)
        probs = torch.softmax(logits, dim=-1)
        z = probs if mode == "mean" else gumbel_softmax_sample(logits, self.temperature, generator)
        return {"z": z, "mu": probs, "logvar": None, "logits": logits}
