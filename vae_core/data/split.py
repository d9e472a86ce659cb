"""Stratified train/validation split (``docs/design.md``, "Training protocol").

The published code used an unstratified split although the paper says stratified; this one is
stratified by label: within each label, ``round(n * train_fraction)`` samples go to training
(at least one in each part when the label has two or more samples).
"""

from __future__ import annotations

import numpy as np


def stratified_split(
    labels, train_fraction: float = 0.7, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Split sample indices into training and validation parts, stratified by ``labels``.

    Parameters
    ----------
    labels
        Array-like of length n (any hashable values; NaN/None is its own stratum).
    train_fraction
        Fraction of each label that goes to training, in (0, 1).
    seed
        Seed of the permutation; the same seed gives the same split.

    Returns
    -------
    (train_idx, val_idx)
        Sorted int64 index arrays that partition ``range(n)``.
    """
    if not 0.0 < float(train_fraction) < 1.0:
        raise ValueError(
            f"train_fraction must lie strictly between 0 and 1, got {train_fraction!r}; "
            "the paper uses 0.7."
        )
    labels = np.asarray(labels, dtype=object)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {labels.shape}.")
    keys = np.array(["<NA>" if (v is None or (isinstance(v, float) and np.isnan(v))) else str(v)
                     for v in labels])
    rng = np.random.default_rng(seed)
    train, val = [], []
    for value in np.unique(keys):
        idx = np.flatnonzero(keys == value)
        idx = idx[rng.permutation(idx.size)]
        n_train = round(idx.size * train_fraction)
        if idx.size >= 2:
            n_train = min(max(n_train, 1), idx.size - 1)
        else:
            n_train = idx.size
        train.append(idx[:n_train])
        val.append(idx[n_train:])
    return np.sort(np.concatenate(train)).astype(np.int64), np.sort(np.concatenate(val)).astype(np.int64)
