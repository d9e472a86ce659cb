"""Tests of ``vae_core.train``: fit (``docs/design.md``, "Training protocol") and encode
(contract), on small simulated cohorts."""

from __future__ import annotations

import dataclasses

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import torch

from vae_core.data.split import stratified_split
from vae_core.models import MODELS
from vae_core.train import EpochTracker, TrainConfig, encode, fit

CFG = TrainConfig(latent_dim=8, max_epochs=6, n_threads=1, hidden=64)


@pytest.fixture(scope="module")
def small():
    """A 400 x 60 cohort with 4 planted groups (fast; for protocol tests)."""
    r = np.random.default_rng(0)
    lab = r.integers(0, 4, 400)
    X = r.normal(0, 2, (4, 60))[lab] + r.normal(size=(400, 60))
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    return ad.AnnData(X=X, obs=pd.DataFrame({"label": pd.Categorical(lab.astype(str))},
                                            index=[f"S{i}" for i in range(400)]))


@pytest.mark.parametrize("model", MODELS)
def test_every_model_validation_loss_falls(sim_tcga, model):
    cfg = dataclasses.replace(CFG, model=model, hidden=128, max_epochs=6, min_epochs=6)
    res = fit(cfg, sim_tcga)
    assert res.status == "ok", res.reason
    val = [h["val_loss"] for h in res.history]
    assert len(val) == 6 and val[-1] < val[0]
    h = res.history[-1]
    assert {"train_rec", "val_rec", "train_kl", "val_kl"} <= set(h)
    assert res.model is not None and not res.model.training
    assert res.val_loss == val[-1] and res.best_val_loss == min(val)


def test_same_seed_same_numbers_other_seed_differs(small):
    a, b = fit(CFG, small), fit(CFG, small)
    c = fit(dataclasses.replace(CFG, seed=1), small)
    assert [h["val_loss"] for h in a.history] == [h["val_loss"] for h in b.history]
    assert np.array_equal(a.train_idx, b.train_idx)
    ea = encode(a.model, small.X, mode="sample", seed=3)
    eb = encode(b.model, small.X, mode="sample", seed=3)
    assert np.array_equal(ea["z"], eb["z"])
    assert a.history[0]["val_loss"] != c.history[0]["val_loss"]
    assert not np.array_equal(a.train_idx, c.train_idx)


def test_split_is_the_stratified_split_of_the_seed(small):
    res = fit(dataclasses.replace(CFG, max_epochs=1, min_epochs=1, seed=5), small)
    tr, va = stratified_split(small.obs["label"].to_numpy(), 0.7, 5)
    assert np.array_equal(res.train_idx, tr) and np.array_equal(res.val_idx, va)
    assert res.extra["steps_per_epoch"] == len(tr) // 64
    assert res.extra["steps"] == len(tr) // 64


def test_diverging_run_is_failed_not_raised(small):
    res = fit(dataclasses.replace(CFG, optimizer="sgd", lr=1e6, init="normal",
                                  activation="relu"), small)
    assert res.status == "failed"
    assert "non-finite" in res.reason and f"epoch {res.epochs}" in res.reason
    assert np.isnan(res.val_loss)


def test_early_stopping_counts(small):
    # min_delta larger than any change: no improvement after epoch 1 -> stop at
    # max(min_epochs, 1 + patience)
    res = fit(dataclasses.replace(CFG, min_delta=1e6, patience=3, min_epochs=2, max_epochs=50),
              small)
    assert res.status == "ok" and res.epochs == 4 and len(res.history) == 4
    res = fit(dataclasses.replace(CFG, min_delta=1e6, patience=3, min_epochs=5, max_epochs=50),
              small)
    assert res.epochs == 5
    res = fit(dataclasses.replace(CFG, max_epochs=2, min_epochs=5), small)
    assert res.epochs == 2


def test_lr_schedule_as_published(small):
    for model, gamma in (("vanilla", 0.95), ("dip", 0.97), ("betatc", None)):
        res = fit(dataclasses.replace(CFG, model=model, max_epochs=3, min_epochs=3, lr=1e-3),
                  small)
        lrs = [h["lr"] for h in res.history]
        expected = [1e-3 * (gamma or 1.0) ** e for e in range(3)]
        np.testing.assert_allclose(lrs, expected, rtol=1e-12)


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "sgd"])
def test_optimizers_train(small, optimizer):
    res = fit(dataclasses.replace(CFG, optimizer=optimizer, lr=1e-2 if optimizer == "sgd"
                                  else 1e-3, max_epochs=3), small)
    assert res.status == "ok"


def test_threads_restored_and_bad_config(small):
    before = torch.get_num_threads()
    fit(dataclasses.replace(CFG, n_threads=1, max_epochs=1, min_epochs=1), small)
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="rmsprop"):
        fit(dataclasses.replace(CFG, optimizer="adamw"), small)
    with pytest.raises(ValueError, match="batch_size"):
        fit(dataclasses.replace(CFG, batch_size=1000), small)
    bad = small.copy()
    bad.X[3, 4] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        fit(CFG, bad)


def test_encode_contract(small):
    res = fit(dataclasses.replace(CFG, max_epochs=2), small)
    e = encode(res.model, small.X, mode="mean", seed=0, batch_size=50)
    assert e["z"].shape == (400, 8) and e["z"].dtype == np.float32
    assert np.array_equal(e["z"], e["mu"]) and e["logvar"].shape == (400, 8)
    assert e["logits"] is None
    s = encode(res.model, small.X, mode="sample", seed=0)
    sd = np.exp(0.5 * s["logvar"])
    assert np.abs((s["z"] - s["mu"]) / sd).mean() == pytest.approx(np.sqrt(2 / np.pi), rel=0.1)
    cat = fit(dataclasses.replace(CFG, model="cat", max_epochs=2), small)
    ec = encode(cat.model, small.X, mode="mean")
    assert ec["logvar"] is None and ec["logits"].shape == (400, 8)
    np.testing.assert_allclose(ec["mu"].sum(1), 1.0, rtol=1e-5)
    assert np.array_equal(ec["z"], ec["mu"])


def test_cpu_training_flushes_denormals_and_restores_the_default():
    """Denormals are flushed to zero inside CPU training (IWAE's gradients: ~10x slower matrix
    products otherwise) and PyTorch's default is back afterwards."""
    from vae_core.train import execution_settings

    tiny = torch.tensor([1e-39])  # a float32 denormal
    assert (tiny * 1.0).item() > 0.0
    with execution_settings(TrainConfig(model="iwae", latent_dim=2), torch.device("cpu")):
        assert (tiny * 1.0).item() == 0.0
    assert (tiny * 1.0).item() > 0.0


def test_epoch_tracker_stops_and_fails_as_the_protocol_says():
    """The one per-epoch rule of ``fit`` and ``fit_many``: early stopping and divergence."""
    cfg = TrainConfig(min_epochs=3, patience=2, min_delta=0.1, max_epochs=10)
    t = EpochTracker(cfg)
    go = []
    for epoch, val in enumerate([5.0, 4.0, 3.95, 3.92, 1.0], start=1):
        assert t.check_training(epoch, [val + 1, 0.5], True)
        go.append(t.end_epoch(epoch, [val + 1, 0.5], ["kl"], [val, 0.4], ["kl"], lr=0.1))
        if not go[-1]:
            break
    # 3.95 and 3.92 do not improve on 4.0 by min_delta: stop after epoch 4 (min_epochs done)
    assert go == [True, True, True, False]
    r = t.result(None, np.arange(3), np.arange(2), 1.0, {})
    assert (r.status, r.epochs, r.val_loss, r.best_val_loss) == ("ok", 4, 3.92, 4.0)
    assert list(r.history[0]) == ["epoch", "train_loss", "val_loss", "train_kl", "val_kl", "lr"]

    t = EpochTracker(TrainConfig(max_epochs=2, min_epochs=1))
    assert t.check_training(1, [1.0, 0.1], True) and t.end_epoch(1, [1.0], [], [1.0], [])
    assert not t.end_epoch(2, [0.5], [], [0.5], [])  # max_epochs
    assert t.result(None, None, None, 0.0, {}).status == "ok"

    for vals, finite, reason in (([float("nan"), 0.1], True, "non-finite training loss in epoch 1"),
                                 ([1.0, float("inf")], True, "non-finite training loss in epoch 1"),
                                 ([1.0, 0.1], False, "non-finite parameters after epoch 1")):
        t = EpochTracker(cfg)
        assert not t.check_training(1, vals, finite)
        r = t.result(None, None, None, 0.0, {})
        assert (r.status, r.reason, r.epochs) == ("failed", reason, 1) and np.isnan(r.val_loss)
    t = EpochTracker(cfg)
    assert t.check_training(1, [1.0], True)
    assert not t.end_epoch(1, [1.0], [], [float("nan")], [])
    r = t.result(None, None, None, 0.0, {})
    assert (r.reason, len(r.history)) == ("non-finite validation loss in epoch 1", 1)
