"""Tests of ``vae_core.train.fit_many`` (``docs/design.md``, "Stacked training"): each member
equals ``fit``.

Small CPU cohort (400 samples x 100 genes, hidden 32, 6 epochs). Equality means: same status,
reason, epochs, split; validation loss per epoch within 1e-3 relative (batched vs single
products differ by float rounding; the optimizer updates are torch.optim's own kernels).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from vae_core.models import MODELS
from vae_core.models.base import VAE
from vae_core.train import TrainConfig, encode, fit, fit_many

BASE = TrainConfig(latent_dim=6, hidden=32, max_epochs=6, n_threads=1)
REL = 1e-3


@pytest.fixture(scope="module")
def cohort():
    from vae_core.data import preprocess, simulate

    return preprocess(simulate("tcga", n_samples=400, n_genes=300, seed=0), n_top_genes=100)


def assert_same_as_fit(res, adata, rel: float = REL):
    ref = fit(res.config, adata)
    assert (res.status, res.reason, res.epochs) == (ref.status, ref.reason, ref.epochs)
    assert np.array_equal(res.train_idx, ref.train_idx)
    assert np.array_equal(res.val_idx, ref.val_idx)
    assert res.extra["steps"] == ref.extra["steps"]
    assert len(res.history) == len(ref.history)
    for a, b in zip(res.history, ref.history):
        assert a["epoch"] == b["epoch"] and a["lr"] == pytest.approx(b["lr"], rel=1e-12)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=rel)
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=rel)
        assert set(a) == set(b)
    if ref.status == "ok":
        assert res.val_loss == pytest.approx(ref.val_loss, rel=rel)
        assert res.best_val_loss == pytest.approx(ref.best_val_loss, rel=rel)
    else:
        assert np.isnan(res.val_loss)
    return ref


@pytest.mark.parametrize("model", MODELS)
def test_every_model_each_member_equals_fit(cohort, model):
    # different lr, init and seed in one stack; IWAE's K samples, beta-TC's N weights, DIP's
    # batch covariance, CAT's Gumbel noise, beta's capacity schedule all run under vmap
    cfgs = [dataclasses.replace(BASE, model=model, seed=s, lr=lr, init=init)
            for s, lr, init in [(0, 1e-3, "kaiming_uniform"), (1, 3e-3, "xavier_normal"),
                                (2, 2e-3, "xavier_uniform")]]
    results = fit_many(cfgs, cohort)
    assert [r.config for r in results] == cfgs
    assert {r.extra["stack_size"] for r in results} == {3}
    for r in results:
        ref = assert_same_as_fit(r, cohort)
        assert r.status == "ok" and r.epochs == 6
        # a plain single module with the member's weights (and BatchNorm statistics)
        assert isinstance(r.model, VAE) and type(r.model) is type(ref.model)
        assert not r.model.training
        for (k, a), b in zip(r.model.state_dict().items(), ref.model.state_dict().values()):
            assert a.shape == b.shape, k
        ea = encode(r.model, cohort.X, mode="mean")["mu"]
        eb = encode(ref.model, cohort.X, mode="mean")["mu"]
        # float32 sums are reordered between the vmapped and the single-model kernels (which
        # kernels depends on the CPU): after 6 epochs the embeddings agree to ~1-2e-3 of their
        # scale (beta-TC at lr 3e-3 measured 2.05e-3 on an AVX-512/AMX machine); a wrong member
        # or weight would differ by O(1)
        assert np.allclose(ea, eb, atol=4e-3 * max(1.0, np.abs(eb).max()))


def test_divergence_and_early_stopping_stay_per_member(cohort):
    sgd = dataclasses.replace(BASE, optimizer="sgd", lr=1e-2)
    cfgs = [
        sgd,
        dataclasses.replace(sgd, lr=1e6, init="normal", seed=3),          # diverges in epoch 1
        dataclasses.replace(sgd, seed=1, min_delta=1e6, patience=1, min_epochs=2),  # stops at 2
        dataclasses.replace(sgd, seed=2, min_delta=1e6, patience=3, min_epochs=1),  # stops at 4
        dataclasses.replace(sgd, seed=5, max_epochs=3),                    # ends at its max
    ]
    results = fit_many(cfgs, cohort)
    assert {r.extra["stack_size"] for r in results} == {5}       # one stack
    assert len({r.extra["stack_index"] for r in results}) == 1
    assert [r.epochs for r in results] == [6, 1, 2, 4, 3]
    assert [r.status for r in results] == ["ok", "failed", "ok", "ok", "ok"]
    assert results[1].reason == "non-finite training loss in epoch 1"
    for r in results:
        assert_same_as_fit(r, cohort)
    for r in (results[0], results[2], results[3], results[4]):  # the NaN reached no one else
        assert all(torch.isfinite(p).all() for p in r.model.parameters())


def test_input_order_with_incompatible_configs_and_stack_size(cohort):
    cfgs = [
        dataclasses.replace(BASE, model="vanilla", seed=0),
        dataclasses.replace(BASE, model="dip", optimizer="rmsprop", lr=1e-3, seed=1),
        dataclasses.replace(BASE, model="vanilla", seed=2, lr=2e-3),
        dataclasses.replace(BASE, model="vanilla", latent_dim=3, seed=3),
        dataclasses.replace(BASE, model="dip", optimizer="rmsprop", lr=2e-3, seed=4),
        dataclasses.replace(BASE, model="vanilla", seed=5, init="xavier_uniform"),
    ]
    results = fit_many(cfgs, cohort, device="cpu", stack_size=2)
    assert [r.config for r in results] == cfgs
    # vanilla-d6 x3 -> stacks of 2 + 1; dip x2 -> one stack; vanilla-d3 alone
    assert [r.extra["stack_size"] for r in results] == [2, 2, 2, 1, 2, 1]
    assert results[0].extra["stack_index"] == results[2].extra["stack_index"]
    assert results[5].extra["stack_index"] != results[0].extra["stack_index"]
    for r in results:
        assert_same_as_fit(r, cohort)


def test_bad_input(cohort):
    assert fit_many([], cohort) == []
    with pytest.raises(ValueError, match="stack_size"):
        fit_many([BASE], cohort, stack_size=0)
    with pytest.raises(ValueError, match="precision"):
        fit_many([dataclasses.replace(BASE, precision="fp16")], cohort)
    with pytest.raises(TypeError, match="TrainConfig"):
        fit_many([{"model": "vanilla"}], cohort)


def test_noise_argument_gives_the_numbers_forward_draws():
    from vae_core.models import build

    x = torch.randn(16, 20)
    for name in MODELS:
        torch.manual_seed(0)
        m = build(name, 20, 4, hidden=8).eval()
        g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
        a = m(x, generator=g1)
        b = m(x, noise=m.draw_noise(16, g2))
        assert torch.equal(a.z, b.z) and torch.equal(a.recon, b.recon), name


def test_bf16_trains_close_to_fp32(cohort):
    with pytest.raises(ValueError, match="precision"):
        fit(dataclasses.replace(BASE, precision="half"), cohort)
    ref = fit(BASE, cohort)
    res = fit(dataclasses.replace(BASE, precision="bf16"), cohort)
    assert res.status == "ok" and res.extra["precision"] == "bf16"
    assert np.isfinite(res.val_loss)
    assert res.val_loss == pytest.approx(ref.val_loss, rel=0.02)
    # tf32 is a no-op on CPU: bit-identical to fp32
    tf = fit(dataclasses.replace(BASE, precision="tf32"), cohort)
    assert [h["val_loss"] for h in tf.history] == [h["val_loss"] for h in ref.history]
    many = fit_many([dataclasses.replace(BASE, precision="bf16")], cohort)[0]
    assert many.status == "ok" and many.val_loss == pytest.approx(res.val_loss, rel=0.02)
