"""A seventh model and an extra metric, benchmarked against the paper's six without editing
``vae_core``: list this file under ``plugins:`` in a params file (``params/examples/huber.yaml``).

- ``huber``: a VAE whose reconstruction term is the Huber loss instead of the squared error, as
  the paper's Discussion proposes for expression data with outliers. Same architecture,
  encoder, KL term and weights as the vanilla VAE (paper, eq. 1-2 with a Huber likelihood):

      published scale: mean_b(rec_H(x_b)) / G + (B/N) mean_b(KL(x_b))
      elbo scale:      mean_b(rec_H(x_b) + KL(x_b))
      rec_H(x) = sum_g h(x_hat_g - x_g),  h(r) = r^2 / 2 if |r| <= delta else delta (|r| - delta / 2)

  with ``delta`` = 1 (one standard deviation of a z-scored gene).
- ``label_silhouette``: the silhouette width of the labels (cancer type) in the embedding,
  Euclidean, on a seeded subsample: how well the embedding separates the labels without a
  clustering step. Needs ``obs["label"]``.

Everything else follows from the two ``register`` calls: the model is a valid grid value, trains
with ``fit``/``fit_many`` on every executor, and appears in every model-wise figure and table
(and in the scorecard as "n/a: not in the paper"); the metric gets a column in ``runs_*.csv``,
the figure ``metric_label_silhouette.png`` and a line on the results page.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from torch import Tensor
from torch.nn import functional as F

from vae_core.downstream import register_metric
from vae_core.models import VAE, LossOutput, ModelOutput, gaussian_kl, register


class HuberVAE(VAE):
    """Vanilla VAE with a Huber reconstruction term (see the module doc)."""

    lr_gamma = 0.95   # the vanilla VAE's ExponentialLR schedule

    def __init__(self, n_genes: int, latent_dim: int, *, delta: float = 1.0, **kwargs):
        super().__init__(n_genes, latent_dim, **kwargs)
        if not delta > 0:
            raise ValueError(f"HuberVAE: delta must be > 0, got {delta!r}.")
        self.delta = float(delta)

    def loss(self, x: Tensor, out: ModelOutput, n_train: int, step: int) -> LossOutput:
        rec = F.huber_loss(out.recon, x, reduction="sum", delta=self.delta) / x.shape[0]
        kl = gaussian_kl(out.mu, out.logvar).mean()
        if self.loss_scale == "published":
            loss = rec / self.n_genes + self.kl_weight(n_train) * kl
        else:
            loss = rec + kl
        return LossOutput(loss, {"rec": rec.detach(), "kl": kl.detach()})


register("huber", HuberVAE, label="Huber VAE")


def label_silhouette(embedding: np.ndarray, obs: pd.DataFrame, *, seed: int = 0,
                     sample_size: int = 2000) -> dict[str, float]:
    """Silhouette width of ``obs["label"]`` in the embedding (Euclidean), on at most
    ``sample_size`` samples drawn with ``seed``; in [-1, 1], higher is better."""
    from sklearn.metrics import silhouette_score

    labels = obs["label"].astype(str).to_numpy()
    if len(set(labels)) < 2:
        raise ValueError("fewer than two labels: the silhouette is undefined")
    emb = np.asarray(embedding, dtype=np.float64)
    n = min(int(sample_size), len(labels))
    value = silhouette_score(emb, labels, sample_size=n if n < len(labels) else None,
                             random_state=seed)
    return {"label_silhouette": float(value)}


register_metric("label_silhouette", label_silhouette, needs=("label",),
                label="Silhouette of the labels", higher_is_better=True)

__all__ = ["HuberVAE", "label_silhouette"]
