"""Checks of a cohort against an expanded grid, before anything trains (``docs/design.md``,
"Training protocol" and "Grid and store").

Notebooks 02 and 04 (and 05) call :func:`check_cohort_for_grid` right after ``grid.expand``:

- a training part smaller than a configuration's ``batch_size`` cannot train (``train.fit``
  would stop at its first configuration); it is a ``ValueError`` here, naming the params key to
  change (``train: {batch_size: ...}``);
- ``loss_scale: published`` on a training set under :data:`SMALL_TRAINING_SET` samples weighs
  the KL term by B/N (batch / training samples), far more than in the paper's TCGA run
  (64 / 7,710 = 0.0083); a note prints that weight and the README's advice
  (``loss_scale: elbo``). The default is not changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from anndata import AnnData

from ..data.split import stratified_split
from ..keys import OBS

#: Below this many training samples, ``loss_scale: published`` gets the small-cohort note.
SMALL_TRAINING_SET = 2000
#: The paper's KL weight on TCGA: batch 64 over 7,710 training samples (the paper's Methods).
PAPER_KL_WEIGHT = 64 / 7710


def training_size(labels, train_fraction: float = 0.7) -> int:
    """Samples in the training part of the stratified split (``docs/design.md``, "Training
    protocol") for ``labels`` [n].

    The size depends on the label counts and ``train_fraction`` only, not on the seed.
    """
    train_idx, _ = stratified_split(np.asarray(labels, dtype=object), train_fraction, 0)
    return len(train_idx)


def _suggest_batch(n_train: int) -> int:
    """Largest power of two with at least two batches per epoch (1 when n_train < 4)."""
    b = 1
    while b * 4 <= n_train:
        b *= 2
    return b


def check_cohort_for_grid(configs: Sequence, adata: AnnData, *, params_key: str = "train",
                          cohort: str = "") -> list[str]:
    """Check ``adata`` against the ``TrainConfig`` list ``configs`` before training.

    Parameters
    ----------
    configs
        ``grid.expand(...)`` output (anything with ``batch_size``, ``train_fraction`` and
        ``loss_scale`` attributes).
    adata
        The cohort (``obs["label"]`` drives the stratified split).
    params_key
        Name of the params block holding the fixed TrainConfig fields (``train``), quoted in the
        messages.
    cohort
        Name used in the messages (e.g. "tcga").

    Returns
    -------
    list of str: notes to print (small-cohort KL weight under ``loss_scale: published``).

    Raises
    ------
    ValueError
        When the training part is smaller than the ``batch_size`` of any configuration; the
        message gives the sizes and the params key to set, e.g. ``train: {batch_size: 16}``.
    """
    if not len(configs):
        return []
    labels = adata.obs[OBS.LABEL].to_numpy()
    n = len(labels)
    name = f"{cohort} cohort" if cohort else "cohort"
    notes: list[str] = []
    sizes: dict[float, int] = {}
    too_big: dict[tuple[int, int, float], int] = {}
    published: dict[tuple[int, int], int] = {}
    for c in configs:
        tf = float(getattr(c, "train_fraction", 0.7))
        if tf not in sizes:
            sizes[tf] = training_size(labels, tf)
        n_train, bs = sizes[tf], int(c.batch_size)
        if n_train < bs:
            too_big[(n_train, bs, tf)] = too_big.get((n_train, bs, tf), 0) + 1
        elif getattr(c, "loss_scale", "published") == "published" and \
                n_train < SMALL_TRAINING_SET:
            published[(bs, n_train)] = published.get((bs, n_train), 0) + 1
    if too_big:
        (n_train, bs, tf), k = max(too_big.items(), key=lambda kv: kv[0][1])
        raise ValueError(
            f"the training part of this {name} has {n_train} samples ({tf:g} of {n}), fewer "
            f"than batch_size={bs} ({sum(too_big.values())} of {len(configs)} configurations); "
            f"nothing was trained. Set a smaller batch size in the params file, e.g. "
            f"`{params_key}: {{batch_size: {_suggest_batch(n_train)}}}` (at most {n_train}), "
            "or use a larger cohort.")
    for (bs, n_train), k in sorted(published.items()):
        notes.append(
            f"NOTE: loss_scale: published on a training set of {n_train} samples (< "
            f"{SMALL_TRAINING_SET:,}): the KL weight is B/N = {bs}/{n_train} = "
            f"{bs / n_train:.4g} ({k} configuration(s)), {bs / n_train / PAPER_KL_WEIGHT:.0f}x "
            f"the paper's 64/7,710 = {PAPER_KL_WEIGHT:.4f}; on small cohorts this tends to "
            f"collapse the posterior. The README advises `{params_key}: {{loss_scale: elbo}}` "
            "for small cohorts (the default stays 'published').")
    return notes
