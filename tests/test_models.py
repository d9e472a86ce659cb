"""Known-answer tests of the six VAE losses, the schedules and the initialisations
(``docs/design.md``, "Models")."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from vae_core.models import (
    MODELS,
    ModelOutput,
    build,
    capacity,
    categorical_kl_uniform,
    dimkl_weight,
    dip_covariance,
    gaussian_kl,
    init_weight,
    stratified_log_weights,
    tc_decomposition,
)

torch.set_num_threads(1)


def _rng(seed=0):
    return np.random.default_rng(seed)


def _t(a):
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


# --------------------------------------------------------------------------- closed forms

def test_gaussian_kl_matches_numpy():
    r = _rng()
    mu, logvar = r.normal(size=(7, 4)), r.normal(size=(7, 4))
    s2 = np.exp(logvar)
    expected = 0.5 * np.sum(s2 + mu**2 - 1.0 - np.log(s2), axis=1)
    np.testing.assert_allclose(gaussian_kl(_t(mu), _t(logvar)).numpy(), expected, rtol=1e-12)
    assert gaussian_kl(torch.zeros(3, 5), torch.zeros(3, 5)).abs().max() == 0


def test_capacity_schedule_values():
    assert capacity(0) == 0.0
    assert capacity(5_000) == pytest.approx(12.5)
    assert capacity(10_000) == pytest.approx(25.0)
    assert capacity(50_000) == pytest.approx(25.0)
    assert capacity(100, c_max=10, c_stop=1000) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="c_stop"):
        capacity(1, c_stop=0)


def test_dimkl_warmup_schedule():
    assert dimkl_weight(0) == 0.0
    assert dimkl_weight(2_500) == pytest.approx(0.25)
    assert dimkl_weight(10_000) == 1.0 and dimkl_weight(30_000) == 1.0
    assert dimkl_weight(0, training=False) == 1.0


def test_stratified_weights_follow_spec_literally():
    B, N = 6, 100
    M = B - 1
    W = stratified_log_weights(B, N, dtype=torch.float64).exp().numpy()
    expected = np.full((B, B), 1.0 / M)
    for b in range(B):
        expected[b, (b + 1) % B] = (N - M) / (N * M)
        expected[b, b] = 1.0 / N
    np.testing.assert_allclose(W, expected, rtol=1e-12)
    np.testing.assert_allclose(W.sum(1), 1.0, rtol=1e-12)
    assert np.allclose(np.diag(W), 1.0 / N)
    assert not np.allclose(W[:, 0], 1.0 / N)  # not the published code's column 0


def test_tc_near_zero_for_factorised_batch_and_large_for_correlated():
    r = _rng(1)
    B, d, N, s2 = 1500, 3, 1500, 0.2
    logvar = np.full((B, d), np.log(s2))
    mu = r.normal(size=(B, d))
    z = mu + np.sqrt(s2) * r.normal(size=(B, d))
    parts = tc_decomposition(_t(z), _t(mu), _t(logvar), N)
    assert abs(float(parts["tc"])) < 0.05
    # all dims share one mu: q(z) ~ N(0, 11^T + s2 I), whose TC is
    # 1/2 (sum_j log Sigma_jj - log det Sigma) = 1/2 (3 log 1.2 - log(3.2 * 0.2^2)) = 1.301
    mu_c = np.repeat(r.normal(size=(B, 1)), d, axis=1)
    z_c = mu_c + np.sqrt(s2) * r.normal(size=(B, d))
    parts_c = tc_decomposition(_t(z_c), _t(mu_c), _t(logvar), N)
    cov = np.ones((d, d)) + s2 * np.eye(d)
    tc_true = 0.5 * (np.log(np.diag(cov)).sum() - np.linalg.slogdet(cov)[1])
    assert float(parts_c["tc"]) == pytest.approx(tc_true, abs=0.1)
    # MI + TC + dimKL = mean(log q(z|x) - log p(z)) exactly (the decomposition telescopes)
    log_qzx = stats.norm.logpdf(z, mu, np.sqrt(s2)).sum(1)
    log_pz = stats.norm.logpdf(z).sum(1)
    total = float(parts["mi"] + parts["tc"] + parts["dim_kl"])
    assert total == pytest.approx(np.mean(log_qzx - log_pz), rel=1e-9)


def test_dip_covariance_equals_numpy():
    r = _rng(2)
    mu, logvar = r.normal(size=(50, 4)), r.normal(size=(50, 4))
    expected = np.cov(mu, rowvar=False, bias=True) + np.diag(np.exp(logvar).mean(0))
    np.testing.assert_allclose(dip_covariance(_t(mu), _t(logvar)).numpy(), expected, rtol=1e-10)


def test_dip_loss_terms_literal():
    torch.manual_seed(0)
    m = build("dip", 20, 3).double()
    x = torch.randn(16, 20, dtype=torch.float64)
    out = m(x)
    lo = m.loss(x, out, 1000, 0)
    cov = np.cov(out.mu.detach().numpy(), rowvar=False, bias=True) \
        + np.diag(np.exp(out.logvar.detach().numpy()).mean(0))
    off = (cov**2).sum() - (np.diag(cov) ** 2).sum()
    dia = ((np.diag(cov) - 1) ** 2).sum()
    rec = ((out.recon - x) ** 2).sum(1).mean().item()
    kl = gaussian_kl(out.mu, out.logvar).mean().item()
    assert lo.loss.item() == pytest.approx(rec + kl + 0.1 * off + 0.05 * dia, rel=1e-10)


def _iwae_numpy_loss(x, out):
    """-mean_b logmeanexp_k [log N(x; x_hat_k, I) + log N(z_k; 0, I) - log N(z_k; mu, s2)]."""
    xh, z = out.recon.detach().numpy(), out.z.detach().numpy()
    mu, sd = out.mu.detach().numpy(), np.exp(0.5 * out.logvar.detach().numpy())
    logw = (stats.norm.logpdf(x.numpy()[None], xh).sum(-1) + stats.norm.logpdf(z).sum(-1)
            - stats.norm.logpdf(z, mu[None], sd[None]).sum(-1))
    m = logw.max(0)
    return -np.mean(m + np.log(np.mean(np.exp(logw - m), axis=0)))


def test_iwae_k1_is_the_elbo_and_k5_bound_is_tighter():
    torch.manual_seed(0)
    m1 = build("iwae", 12, 3, k=1).double().eval()
    x = torch.randn(40, 12, dtype=torch.float64)
    out = m1(x)
    assert out.z.shape == (1, 40, 3) and out.recon.shape == (1, 40, 12)
    assert m1.loss(x, out, 1000, 0).loss.item() == pytest.approx(_iwae_numpy_loss(x, out),
                                                                rel=1e-10)
    m5 = build("iwae", 12, 3, k=5).double().eval()
    m5.load_state_dict(m1.state_dict())
    out5 = m5(x)
    assert out5.z.shape == (5, 40, 3)
    assert m5.loss(x, out5, 1000, 0).loss.item() == pytest.approx(_iwae_numpy_loss(x, out5),
                                                                 rel=1e-10)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        l1 = np.mean([m1.loss(x, m1(x, generator=g), 1000, 0).loss.item() for _ in range(200)])
        l5 = np.mean([m5.loss(x, m5(x, generator=g), 1000, 0).loss.item() for _ in range(200)])
    assert l5 < l1  # the IWAE bound (minus the loss) is at least the ELBO


def test_cat_kl_to_uniform():
    r = _rng(3)
    logits = r.normal(size=(5, 7)) * 2
    q = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = (q * np.log(q)).sum(1) + np.log(7)
    np.testing.assert_allclose(categorical_kl_uniform(_t(logits)).numpy(), expected, rtol=1e-10)
    assert categorical_kl_uniform(torch.zeros(2, 7)).abs().max() < 1e-6
    m = build("cat", 10, 7)
    out = m(torch.randn(8, 10))
    assert out.mu is None and out.logits.shape == (8, 7)
    np.testing.assert_allclose(out.z.sum(1).detach().numpy(), 1.0, rtol=1e-5)


# --------------------------------------------------------------------------- scales

def _fixed(m, x):
    torch.manual_seed(1)
    return m(x)


def test_published_and_elbo_scales():
    G, d, B, N = 30, 4, 16, 800
    x = torch.randn(B, G, dtype=torch.float64)
    for name in MODELS:
        torch.manual_seed(0)
        pub = build(name, G, d, loss_scale="published", batch_size=B).double()
        elbo = build(name, G, d, loss_scale="elbo", batch_size=B).double()
        elbo.load_state_dict(pub.state_dict())
        out = _fixed(pub, x)
        lp, le = pub.loss(x, out, N, 2000), elbo.loss(x, out, N, 2000)
        rec = float(lp.terms["rec"])
        kl = float(lp.terms["kl"])
        if name in ("vanilla", "cat"):
            assert lp.loss.item() == pytest.approx(rec / G + B / N * kl, rel=1e-10)
            assert le.loss.item() == pytest.approx(rec + kl, rel=1e-10)
        elif name == "beta":
            c = 25.0 * 2000 / 10000
            assert lp.loss.item() == pytest.approx(rec / G + 10 * B / N * abs(kl - c), rel=1e-10)
            assert le.loss.item() == pytest.approx(rec + 10 * abs(kl - c), rel=1e-10)
        else:  # betatc, dip, iwae: already per-sample sums in the published table
            assert lp.loss.item() == pytest.approx(le.loss.item(), rel=1e-12)


def test_betatc_loss_literal_and_eval_weight():
    torch.manual_seed(0)
    m = build("betatc", 20, 3).double()
    x = torch.randn(32, 20, dtype=torch.float64)
    out = m(x)
    lo = m.loss(x, out, 500, 2500)
    t = {k: float(v) for k, v in lo.terms.items()}
    assert t["w"] == pytest.approx(0.25)
    assert lo.loss.item() == pytest.approx(t["rec"] + t["mi"] + 6 * t["tc"] + 0.25 * t["dim_kl"],
                                           rel=1e-10)
    m.eval()
    assert float(m.loss(x, out, 500, 2500).terms["w"]) == 1.0


# --------------------------------------------------------------------------- init / build

@pytest.mark.parametrize("scheme,mean,var", [
    ("normal", 0.0, 1.0),
    ("uniform", 0.5, 1 / 12),
    ("xavier_normal", 0.0, 2 / (400 + 300)),
    ("xavier_uniform", 0.0, 2 / (400 + 300)),
    ("kaiming_uniform", 0.0, 2 / 400),  # gain sqrt(2) (a=0), fan_in
])
def test_init_moments(scheme, mean, var):
    torch.manual_seed(0)
    w = init_weight(torch.empty(300, 400), scheme)  # fan_out 300, fan_in 400
    assert w.mean().item() == pytest.approx(mean, abs=0.01 * max(1, math.sqrt(var) * 10))
    assert w.var().item() == pytest.approx(var, rel=0.02)


def test_init_only_on_hidden_linears():
    torch.manual_seed(0)
    m = build("vanilla", 50, 5, init="uniform")
    assert m.encoder.hidden.weight.min() >= 0 and m.decoder.hidden.weight.min() >= 0
    assert m.encoder.head.weight.min() < 0 and m.decoder.out.weight.min() < 0  # torch default
    assert m.encoder.hidden.bias.min() < 0  # biases keep their default too


def test_build_errors_name_the_options():
    with pytest.raises(ValueError, match="vanilla"):
        build("vae", 10, 2)
    with pytest.raises(ValueError, match="allowed"):
        build("dip", 10, 2, gamma=3)
    with pytest.raises(ValueError, match="relu"):
        build("vanilla", 10, 2, activation="gelu")
    with pytest.raises(ValueError, match="xavier_normal"):
        build("vanilla", 10, 2, init="he")


def test_forward_shapes_and_embed():
    x = torch.randn(9, 15)
    for name in MODELS:
        m = build(name, 15, 4).eval()
        out = m(x)
        assert isinstance(out, ModelOutput)
        lead = (5,) if name == "iwae" else ()
        assert out.recon.shape == (*lead, 9, 15) and out.z.shape == (*lead, 9, 4)
        mean = m.embed(x, mode="mean")
        assert mean.shape == (9, 4)
        a = m.embed(x, generator=torch.Generator().manual_seed(0))
        b = m.embed(x, generator=torch.Generator().manual_seed(0))
        assert torch.equal(a, b) and not torch.equal(a, mean)
        if name == "cat":
            assert torch.allclose(mean, torch.softmax(out.logits, -1))
        else:
            assert torch.equal(mean, out.mu)
