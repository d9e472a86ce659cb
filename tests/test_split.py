"""Stratified split (``docs/design.md``, "Training protocol"): per-label 70/30, deterministic, a
partition."""

from __future__ import annotations

import numpy as np
import pytest

from vae_core.data import stratified_split


def test_stratified_fractions_and_partition():
    labels = np.array(["a"] * 100 + ["b"] * 10 + ["c"] * 3)
    tr, va = stratified_split(labels, 0.7, seed=1)
    assert np.array_equal(np.sort(np.concatenate([tr, va])), np.arange(labels.size))
    assert (labels[tr] == "a").sum() == 70 and (labels[tr] == "b").sum() == 7
    assert (labels[tr] == "c").sum() == 2 and (labels[va] == "c").sum() == 1


def test_same_seed_same_split_other_seed_other_split():
    labels = np.repeat(np.arange(5), 40)
    a = stratified_split(labels, seed=3)
    b = stratified_split(labels, seed=3)
    c = stratified_split(labels, seed=4)
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], c[0])


def test_bad_fraction_message():
    with pytest.raises(ValueError, match="strictly between 0 and 1.*1.5"):
        stratified_split([1, 2, 3], train_fraction=1.5)
