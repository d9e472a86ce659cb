"""The five Gaussian-posterior models: vanilla, beta (capacity), beta-TC, DIP-VAE II, IWAE.

Paper Eq 1-6; formulas and constants in ``docs/design.md``, "Models".

Notation per mini-batch of size B, G genes, N training samples, d latent dims:
rec(x) = sum_g (x_hat_g - x_g)^2; KL(x) = -1/2 sum_j (1 + log s2_j - mu_j^2 - s2_j).
``published`` scale = the weights of the paper's S1 Table; ``elbo`` scale = per-sample sums
(mean over the batch of rec + the KL-type terms). B in the published weight B/N is the training
batch size (``batch_size``), the published code's ``kld_weight``.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import Tensor

from .base import (
    LOG_2PI,
    VAE,
    LossOutput,
    ModelOutput,
    gaussian_kl,
    gaussian_log_density,
    mean_rec,
    rec_sse,
    reparameterize,
)
from .schedules import capacity, dimkl_weight


class VanillaVAE(VAE):
    """Kingma & Welling (2014), Auto-Encoding Variational Bayes."""

    name = "vanilla"
    lr_gamma = 0.95

    def loss(self, x: Tensor, out: ModelOutput, n_train: int, step: int) -> LossOutput:
        """published: mean(rec)/G + (B/N) mean(KL); elbo: mean(rec + KL).

        Kingma & Welling (2014), eq. 10 with a unit-variance Gaussian likelihood (up to constants).
        """
        rec = mean_rec(out.recon, x)
        kl = gaussian_kl(out.mu, out.logvar).mean()
        if self.loss_scale == "published":
            loss = rec / self.n_genes + self.kl_weight(n_train) * kl
        else:
            loss = rec + kl
        return LossOutput(loss, {"rec": rec.detach(), "kl": kl.detach()})


class BetaVAE(VAE):
    """beta-VAE in the capacity form of Burgess et al. (2018), Understanding disentangling in beta-VAE."""

    name = "beta"
    lr_gamma = 0.95

    def __init__(self, *args, gamma: float = 10.0, c_max: float = 25.0, c_stop: int = 10_000,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.gamma, self.c_max, self.c_stop = float(gamma), float(c_max), int(c_stop)

    def loss(self, x: Tensor, out: ModelOutput, n_train: int, step: int) -> LossOutput:
        """published: mean(rec)/G + gamma (B/N) |mean(KL) - C(t)|; elbo: mean(rec) + gamma |mean(KL) - C(t)|.

        C(t) = min(C_max, C_max t / C_stop) (Burgess et al. 2018, eq. 8), gamma 10, C_max 25,
        C_stop 10,000 iterations; t = global training step (evaluation uses C at its current value).
        """
        rec = mean_rec(out.recon, x)
        kl = gaussian_kl(out.mu, out.logvar).mean()
        c = capacity(step, self.c_max, self.c_stop)
        penalty = self.gamma * (kl - c).abs()
        if self.loss_scale == "published":
            loss = rec / self.n_genes + self.kl_weight(n_train) * penalty
        else:
            loss = rec + penalty
        return LossOutput(loss, {"rec": rec.detach(), "kl": kl.detach(),
                                 "capacity": kl.new_tensor(c)})


@functools.lru_cache(maxsize=16)
def stratified_log_weights(batch: int, n_train: int, *, dtype=torch.float32,
                           device=None) -> Tensor:
    """log W [B, B] of minibatch-stratified sampling (Chen et al. 2018, Appendix C.1), true N.

    W_bb = 1/N on the diagonal, W_{b, (b+1) mod B} = (N - M) / (N M), 1/M elsewhere; M = B - 1.
    Each row sums to one. (The published benchmark code put the 1/N weights on column 0 and took N
    from a config constant.) Cached per (batch, n_train, dtype, device): do not modify the result.
    """
    if batch < 1 or n_train < 1:
        raise ValueError(f"batch ({batch}) and n_train ({n_train}) must be positive.")
    if batch == 1:
        return torch.zeros(1, 1, dtype=dtype, device=device)
    m = batch - 1
    if n_train < m:
        raise ValueError(f"n_train ({n_train}) must be at least the batch size - 1 ({m}); "
                         "pass the training-set size N.")
    w = torch.full((batch, batch), 1.0 / m, dtype=torch.float64)
    idx = torch.arange(batch)
    w[idx, (idx + 1) % batch] = (n_train - m) / (n_train * m)
    w[idx, idx] = 1.0 / n_train
    return w.log().to(dtype=dtype, device=device)


def tc_decomposition(z: Tensor, mu: Tensor, logvar: Tensor, n_train: int) -> dict[str, Tensor]:
    """Per-sample MI, TC and dimension-wise KL of Chen et al. (2018), eq. 2, estimated on a batch.

    log q(z_i) = logsumexp_j [log W_ij + sum_k log q(z_ik | x_j)],
    log prod_k q(z_ik) = sum_k logsumexp_j [log W_ij + log q(z_ik | x_j)] (W: stratified weights),
    MI = log q(z|x) - log q(z), TC = log q(z) - log prod_k q(z_k), dimKL = log prod_k q(z_k) - log p(z).
    Returns batch means {"mi", "tc", "dim_kl"}. z, mu, logvar: [B, d].
    """
    logw = stratified_log_weights(z.shape[0], n_train, dtype=z.dtype, device=z.device)
    logq = gaussian_log_density(z[:, None, :], mu[None, :, :], logvar[None, :, :])  # [B, B, d]
    log_qz = torch.logsumexp(logq.sum(-1) + logw, dim=1)
    log_prod_qz = torch.logsumexp(logq + logw[:, :, None], dim=1).sum(-1)
    log_qzx = gaussian_log_density(z, mu, logvar).sum(-1)
    log_pz = (-0.5 * (LOG_2PI + z.pow(2))).sum(-1)
    return {"mi": (log_qzx - log_qz).mean(), "tc": (log_qz - log_prod_qz).mean(),
            "dim_kl": (log_prod_qz - log_pz).mean()}


class BetaTCVAE(VAE):
    """beta-TCVAE: Chen, Li, Grosse & Duvenaud (2018), Isolating Sources of Disentanglement in VAEs."""

    name = "betatc"
    lr_gamma = None

    def __init__(self, *args, alpha: float = 1.0, beta: float = 6.0, gamma: float = 1.0,
                 anneal_steps: int = 10_000, **kwargs):
        super().__init__(*args, **kwargs)
        self.alpha, self.beta, self.gamma = float(alpha), float(beta), float(gamma)
        self.anneal_steps = int(anneal_steps)

    def loss(self, x: Tensor, out: ModelOutput, n_train: int, step: int) -> LossOutput:
        """mean(rec) + alpha MI + beta TC + w(t) gamma dimKL (both scales: already per-sample sums).

        Chen et al. (2018), eq. 4, with minibatch-stratified sampling (Appendix C.1) using the true
        training-set size N; alpha 1, beta 6, gamma 1; w(t) = min(1, t/10000) while training,
        w = 1 in evaluation mode.
        """
        rec = mean_rec(out.recon, x)
        parts = tc_decomposition(out.z, out.mu, out.logvar, n_train)
        w = dimkl_weight(step, self.anneal_steps, self.training)
        loss = rec + self.alpha * parts["mi"] + self.beta * parts["tc"] \
            + w * self.gamma * parts["dim_kl"]
        kl = gaussian_kl(out.mu, out.logvar).mean()
        terms = {"rec": rec.detach(), "kl": kl.detach(), **{k: v.detach() for k, v in parts.items()},
                 "w": kl.new_tensor(w)}
        return LossOutput(loss, terms)


def dip_covariance(mu: Tensor, logvar: Tensor) -> Tensor:
    """Cov_q(z) = Cov_batch(mu) + mean_batch(diag(s2)) [d, d] (Kumar et al. 2018, DIP-VAE II).

    Cov_batch centres mu over the batch axis and divides by B (np.cov(mu, rowvar=False, bias=True)).
    """
    centred = mu - mu.mean(dim=0, keepdim=True)
    cov = centred.T @ centred / mu.shape[0]
    return cov + torch.diag(logvar.exp().mean(dim=0))


class DIPVAE(VAE):
    """DIP-VAE II: Kumar, Sattigeri & Balakrishnan (2018), Variational Inference of Disentangled
    Latent Concepts from Unlabeled Observations."""

    name = "dip"
    lr_gamma = 0.97

    def __init__(self, *args, lambda_offdiag: float = 0.1, lambda_diag: float = 0.05, **kwargs):
        super().__init__(*args, **kwargs)
        self.lambda_offdiag, self.lambda_diag = float(lambda_offdiag), float(lambda_diag)

    def loss(self, x: Tensor, out: ModelOutput, n_train: int, step: int) -> LossOutput:
        """mean(rec) + mean(KL) + l_od sum_{i!=j} C_ij^2 + l_d sum_i (C_ii - 1)^2 (both scales).

        C = Cov_batch(mu) + mean_batch(diag s2) (Kumar et al. 2018, eq. 6-7, DIP-VAE II);
        l_od 0.1, l_d 0.05.
        """
        rec = mean_rec(out.recon, x)
        kl = gaussian_kl(out.mu, out.logvar).mean()
        cov = dip_covariance(out.mu, out.logvar)
        diag = torch.diagonal(cov)
        offdiag = cov.pow(2).sum() - diag.pow(2).sum()
        diag_pen = (diag - 1.0).pow(2).sum()
        loss = rec + kl + self.lambda_offdiag * offdiag + self.lambda_diag * diag_pen
        return LossOutput(loss, {"rec": rec.detach(), "kl": kl.detach(),
                                 "dip_offdiag": offdiag.detach(), "dip_diag": diag_pen.detach()})


class IWAE(VAE):
    """Importance-weighted autoencoder: Burda, Grosse & Salakhutdinov (2016)."""

    name = "iwae"
    lr_gamma = 0.95

    def __init__(self, *args, k: int = 5, **kwargs):
        super().__init__(*args, **kwargs)
        if int(k) < 1:
            raise ValueError(f"k (importance samples) must be >= 1, got {k!r}.")
        self.k = int(k)

    def noise_shape(self, batch: int) -> tuple[int, ...]:
        """[K, B, d]: K importance samples per input."""
        return (self.k, int(batch), self.latent_dim)

    def forward(self, x: Tensor, generator: torch.Generator | None = None,
                noise: Tensor | None = None) -> ModelOutput:
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, generator, n=self.k, eps=noise)  # [K, B, d]
        return ModelOutput(recon=self.decoder(z), z=z, mu=mu, logvar=logvar)

    def log_weights(self, x: Tensor, out: ModelOutput, rec: Tensor | None = None) -> Tensor:
        """log w_k = log p(x|z_k) + log p(z_k) - log q(z_k|x) [K, B], all normalising constants kept.

        log p(x|z) = -rec/2 - (G/2) log 2pi (unit-variance Gaussian likelihood); ``rec`` [K, B]
        may be passed if already computed.
        """
        if rec is None:
            rec = rec_sse(out.recon, x)
        log_px = -0.5 * rec - 0.5 * self.n_genes * LOG_2PI
        log_pz = (-0.5 * (LOG_2PI + out.z.pow(2))).sum(-1)
        log_qzx = gaussian_log_density(out.z, out.mu, out.logvar).sum(-1)
        return log_px + log_pz - log_qzx

    def loss(self, x: Tensor, out: ModelOutput, n_train: int, step: int) -> LossOutput:
        """-mean_b log (1/K) sum_k exp(log p(x|z_k) + log p(z_k) - log q(z_k|x)) (both scales).

        Burda et al. (2016), eq. 8, K = 5 samples; with K = 1 it is the (sampled) ELBO.
        Term ``rec`` is the mean over samples and batch of rec(x).
        """
        rec = rec_sse(out.recon, x)
        logw = self.log_weights(x, out, rec)
        bound = torch.logsumexp(logw, dim=0) - math.log(logw.shape[0])
        loss = -bound.mean()
        kl = gaussian_kl(out.mu, out.logvar).mean()
        return LossOutput(loss, {"rec": rec.mean().detach(), "kl": kl.detach(),
                                 "iw_bound": bound.mean().detach()})
