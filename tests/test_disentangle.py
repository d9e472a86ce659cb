"""Known-answer tests for vae_core.disentangle (``docs/design.md``, "Disentanglement"; Do & Tran
2020; paper Eq 9-12)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.special import logsumexp

from vae_core import tables
from vae_core.disentangle import (
    _mi,
    count_disentangled,
    discretize,
    disentangled_features,
    feature_correlations,
    gender_logit,
    relaxed_categorical_moments,
    rmig,
    rmig_table,
    score_embedding,
    score_runs,
    sepin_table,
    wsepin,
)
from vae_core.keys import DISENTANGLE_FEATURES

torch.set_num_threads(1)
SIG2 = 0.5


def _gaussian_latents(n, infos, seed=3):
    """mu_i ~ N(0, s_i^2), posterior variance SIG2: I(x, z_i) = 1/2 log(1 + s_i^2 / SIG2)."""
    rng = np.random.default_rng(seed)
    s2 = SIG2 * (np.exp(2 * np.asarray(infos)) - 1)
    mu = rng.normal(size=(n, len(infos))) * np.sqrt(s2)
    return mu, np.full(mu.shape, np.log(SIG2))


def test_mixture_log_densities_match_brute_force():
    rng = np.random.default_rng(1)
    n, d, m = 60, 4, 50
    mu, lv = rng.normal(size=(n, d)), rng.normal(size=(n, d)) * 0.4
    own, z, eps = _mi.draw(mu, lv, m, 0)
    out = _mi.sepin_log_densities(z, eps, own, mu, lv)
    l = -0.5 * ((z[:, None] - mu[None]) ** 2 / np.exp(lv)[None] + np.log(2 * np.pi) + lv[None])
    big = l.sum(2)
    assert np.allclose(out["marginal"], logsumexp(l, 1) - np.log(n), atol=1e-5)
    assert np.allclose(out["joint"], logsumexp(big, 1) - np.log(n), atol=1e-8)
    assert np.allclose(out["loo"], logsumexp(big[:, :, None] - l, 1) - np.log(n), atol=1e-5)
    groups = np.zeros((n, 2), dtype=np.float32)
    groups[: n // 2, 0] = 1
    groups[n // 2:, 1] = 1
    g = _mi.group_log_densities(z, _mi.own_log_density(eps, lv[own]), mu, lv, groups)
    assert np.allclose(g[:, :, 0], logsumexp(l[:, : n // 2], 1), atol=1e-5)
    assert np.allclose(g[:, :, 1], logsumexp(l[:, n // 2:], 1), atol=1e-5)


@pytest.mark.slow
def test_compiled_block_matches_eager():
    rng = np.random.default_rng(1)
    n, d = 300, 6
    mu, lv = rng.normal(size=(n, d)), rng.normal(size=(n, d)) * 0.4 - 1
    own, z, eps = _mi.draw(mu, lv, 200, 0)
    a = _mi.sepin_log_densities(z, eps, own, mu, lv, compile=False, block=4096)
    b = _mi.sepin_log_densities(z, eps, own, mu, lv, compile=True, block=4096)
    for key in a:
        assert np.allclose(a[key], b[key], atol=1e-5)


def test_independent_latents_match_closed_form():
    infos = np.array([0.1, 0.5, 1.0])
    mu, lv = _gaussian_latents(2500, infos)
    t = sepin_table(mu, lv, 2500, seed=0)
    assert np.allclose(t["info"], infos, atol=0.05)
    # independent factors: I(x, z_i | z_!=i) = I(x, z_i)
    assert np.allclose(t["sepin"], infos, atol=0.05)
    assert t.attrs["i_xz"] == pytest.approx(infos.sum(), abs=0.08)
    rho = infos / infos.sum()
    assert t.attrs["wsepin"] == pytest.approx((rho * infos).sum(), abs=0.05)
    assert wsepin(mu, lv, 2500, seed=0) == pytest.approx(t.attrs["wsepin"])
    assert wsepin(mu, lv, 500, seed=4) == wsepin(mu, lv, 500, seed=4)       # deterministic


def test_duplicated_pair_sepin_closed_form_and_rmig_zero():
    # z1, z2 two noisy copies of one signal m (r = var(m) / SIG2), z3 independent.
    # I(x, z1) = 1/2 log(1 + r); I(x, z1, z2) = 1/2 log(1 + 2r) (two measurements), so
    # SEPIN_1 = SEPIN_2 = 1/2 log((1 + 2r) / (1 + r)); -> 0 as the copies become noise-free
    # relative to each other, here r = 1: 0.203 nats vs 0.347 for an independent factor.
    rng = np.random.default_rng(5)
    n, r = 2500, 1.0
    m = rng.normal(size=n)
    mu = np.stack([m, m, rng.normal(size=n)], 1) * np.sqrt(r * SIG2)
    lv = np.full(mu.shape, np.log(SIG2))
    t = sepin_table(mu, lv, 2500, seed=0)
    pair = 0.5 * np.log((1 + 2 * r) / (1 + r))
    assert np.allclose(t["sepin"].iloc[:2], pair, atol=0.04)
    assert t["sepin"].iloc[2] == pytest.approx(0.5 * np.log(1 + r), abs=0.04)
    assert np.allclose(t["info"], 0.5 * np.log(1 + r), atol=0.04)
    # the feature is the duplicated signal: both copies carry the same information -> RMIG ~ 0
    assert abs(rmig(mu, lv, m, n_samples=1500)) < 0.05


def test_constant_latents_score_zero():
    n = 800
    mu = np.ones((n, 4))
    lv = np.full((n, 4), -1.0)
    t = sepin_table(mu, lv, 500)
    assert np.allclose(t["info"], 0, atol=1e-6) and np.allclose(t["sepin"], 0, atol=1e-6)
    assert wsepin(mu, lv, 500) == 0.0
    y = np.random.default_rng(0).normal(size=n)
    assert rmig(mu, lv, y, n_samples=400) == pytest.approx(0.0, abs=1e-6)


def test_latent_equal_to_feature_gives_high_rmig_and_nan_excluded():
    rng = np.random.default_rng(2)
    n = 2000
    y = rng.normal(size=n)
    mu = np.stack([rng.normal(size=n), y, rng.normal(size=n)], 1)
    lv = np.log(np.array([1.0, 1e-4, 1.0]))[None].repeat(n, 0)
    assert rmig(mu, lv, y, n_samples=1500) > 0.8
    y_nan = y.copy()
    y_nan[::3] = np.nan
    t = rmig_table(mu, lv, {"y": y_nan, "u": rng.uniform(size=n)}, 1500,
                   n_bins=5, strategy="uniform")
    row = t.set_index("feature").loc["y"]
    assert row["n_valid"] == n - len(range(0, n, 3)) and row["factor_top1"] == 1
    assert row["rmig"] > 0.8 and row["entropy"] <= np.log(5) + 1e-9
    with pytest.warns(UserWarning, match="no data"):
        out = rmig_table(mu, lv, {"empty": np.full(n, np.nan)}, 100)
    assert np.isnan(out["rmig"].iloc[0]) and out["status"].iloc[0] == "no_data"


def test_subsampled_components_close_to_exact():
    mu, lv = _gaussian_latents(2000, [0.3, 0.8])
    exact = sepin_table(mu, lv, 1500, seed=0)
    sub = sepin_table(mu, lv, 1500, seed=0, n_components=500)
    assert np.allclose(sub["info"], exact["info"], atol=0.05)
    assert np.allclose(sub["sepin"], exact["sepin"], atol=0.05)


def test_bad_inputs_name_the_problem():
    mu = np.zeros((10, 3))
    with pytest.raises(ValueError, match="relaxed_categorical_moments"):
        wsepin(mu, None)
    with pytest.raises(ValueError, match="shape|latent_dim"):
        wsepin(mu, np.zeros((10, 2)))
    with pytest.raises(ValueError, match="NaN"):
        wsepin(mu, np.full((10, 3), np.nan))
    with pytest.raises(ValueError, match="strategy"):
        discretize(np.arange(20.0), 5, "kmeans")
    with pytest.raises(ValueError, match="rows"):
        feature_correlations(mu, pd.DataFrame({"age": np.arange(5.0)}), ["age"])


def test_discretize_quantile_and_discrete():
    codes, k = discretize(np.r_[np.arange(100.0), np.nan], 4, "quantile")
    assert k == 4 and codes[-1] == -1 and np.bincount(codes[:-1]).tolist() == [25] * 4
    codes, k = discretize(pd.Categorical(["a", "b", None, "a"]), 10)
    assert k == 2 and codes.tolist() == [0, 1, -1, 0]
    codes, k = discretize(np.array([0.0, 1.0, 1.0, 0.0]), 10)
    assert k == 2


def test_cat_relaxed_moments_and_score_embedding():
    rng = np.random.default_rng(0)
    n, k = 600, 5
    cls = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), cls] += 8.0                        # confident posteriors
    mu, lv = relaxed_categorical_moments(logits, temperature=0.5, n_draws=32)
    assert np.allclose(mu.sum(1), 1.0) and (mu.argmax(1) == cls).all()
    assert np.median(np.exp(lv)) < 0.01                     # near one-hot: small variance
    _, flat_lv = relaxed_categorical_moments(np.zeros((4, k)))
    assert np.exp(flat_lv).min() > 0.02                     # flat posterior: large variance
    obs = pd.DataFrame({"age": cls + rng.normal(scale=0.1, size=n),
                        "gender": pd.Categorical(np.where(cls % 2 == 0, "female", "male"))})
    with pytest.warns(UserWarning, match="immune"):
        res = score_embedding(mu, None, obs, logits=logits,
                              features=["age", "gender", "immune"], n_samples=300)
    assert res["posterior"] == "relaxed_categorical_moments" and res["wsepin"] >= 0
    assert res["rmig"].set_index("feature").loc["immune", "status"] == "no_data"


def test_correlations_spearman_nan_aware_and_gender_logit():
    rng = np.random.default_rng(0)
    n = 3000
    mu = rng.normal(size=(n, 4))
    male = (rng.uniform(size=n) < 0.4).astype(float)
    mu[:, 3] += 0.6 * male                                   # LDA model: d = 0.6
    age = 2 * mu[:, 0] + rng.normal(size=n)
    age[:500] = np.nan
    obs = pd.DataFrame({"age": age, "immune": -mu[:, 1] ** 3,
                        "gender": pd.Categorical(np.where(male == 1, "male", "female"))})
    obs.loc[obs.index[:10], "gender"] = np.nan
    with pytest.warns(UserWarning, match="sbs_1"):
        c = feature_correlations(mu, obs, ["age", "immune", "sbs_1", "gender"])
    ok = ~np.isnan(age)
    from scipy.stats import spearmanr
    assert c.loc[0, "age"] == pytest.approx(spearmanr(mu[ok, 0], age[ok])[0], abs=1e-12)
    assert c.loc[1, "immune"] == pytest.approx(-1.0)
    assert c["sbs_1"].isna().all()
    # gender: logit slope on the point-biserial scale == Pearson r of factor and gender 0/1
    g = gender_logit(mu, obs["gender"])
    keep = obs["gender"].notna().to_numpy()
    r_pb = np.corrcoef(mu[keep, 3], male[keep])[0, 1]
    assert c.loc[3, "gender"] == pytest.approx(r_pb, abs=0.02)
    assert g.loc[3, "p"] < 1e-6 and g.loc[0, "p"] > 1e-3
    import statsmodels.api as sm
    x = mu[keep, 3]
    fit = sm.Logit(male[keep], sm.add_constant((x - x.mean()) / x.std())).fit(disp=0)
    assert g.loc[3, "beta"] == pytest.approx(fit.params[1], rel=1e-6)
    assert g.loc[3, "se"] == pytest.approx(fit.bse[1], rel=1e-4)


def test_count_disentangled_one_or_two_factors():
    c = pd.DataFrame({"a": [0.3, 0.0, 0.05, 0.0],         # 1 factor  -> disentangled
                      "b": [0.2, -0.15, 0.0, 0.0],        # 2 factors -> disentangled
                      "c": [0.2, 0.2, -0.2, 0.0],         # 3 factors -> no
                      "d": [0.09, 0.0, 0.0, 0.0],         # none      -> no
                      "e": [np.nan] * 4}).rename_axis("factor")
    assert count_disentangled(c) == 2
    assert disentangled_features(c) == {"a": [0], "b": [0, 1]}
    assert count_disentangled(c, threshold=0.25) == 1


def test_simulator_programs_encode_planted_features(sim_tcga_raw):
    progs = np.asarray(sim_tcga_raw.obsm["ground_truth_programs"])
    names = list(sim_tcga_raw.uns["ground_truth"]["programs"])
    c = feature_correlations(progs, sim_tcga_raw.obs, DISENTANGLE_FEATURES)
    c.index = names
    assert abs(c.loc["immune", "immune"]) >= 0.1
    assert abs(c.loc["apobec", "sbs_2"]) >= 0.1 and abs(c.loc["apobec", "sbs_13"]) >= 0.1
    assert abs(c.loc["sex", "gender"]) >= 0.1
    enc = {f: list(c.index[np.abs(c[f].fillna(0)) >= 0.1]) for f in c.columns}
    assert "apobec" in enc["sbs_2"] and "immune" in enc["immune"]


def test_score_runs_writes_table_schema():
    rng = np.random.default_rng(0)
    n = 400
    obs = pd.DataFrame({"age": rng.normal(size=n), "immune": rng.normal(size=n),
                        "gender": pd.Categorical(rng.choice(["female", "male"], n))})
    emb = {"k1": {"mu": np.c_[obs["age"], rng.normal(size=(n, 2))],
                  "logvar": np.full((n, 3), -2.0)},
           "k2": {"mu": None, "logits": rng.normal(size=(n, 3))}}
    emb["k2"]["mu"] = np.exp(emb["k2"]["logits"]) / np.exp(emb["k2"]["logits"]).sum(1,
                                                                                      keepdims=True)

    def load(key, kind):
        if kind not in emb[key]:
            raise KeyError(kind)
        return emb[key][kind]

    rec = pd.DataFrame({"key": ["k1", "k2", "k3"], "model": ["vanilla", "cat", "beta"],
                        "latent_dim": [3, 3, 3], "status": ["ok", "ok", "failed"]})
    out = score_runs(rec, load, obs, features=["age", "immune", "gender"], n_samples=200,
                     progress=False)
    from vae_core.plots.io import TABLE_COLUMNS as req
    for name, key in ((tables.CORRELATIONS, "correlations"), (tables.DISENTANGLE_SCORES,
                      "scores"), (tables.RMIG, "rmig"),
                      (tables.DISENTANGLED_FEATURES, "disentangled")):
        assert set(req[name]) <= set(out[key].columns)
    s = out["scores"].set_index("model")
    assert s.loc["beta", "status"] == "failed" and np.isnan(s.loc["beta", "wsepin"])
    assert s.loc["cat", "posterior"] == "relaxed_categorical_moments"
    d = out["disentangled"]
    assert d[(d.model == "vanilla") & (d.feature == "age")]["factors"].tolist() == ["0"]


def test_score_runs_in_parallel_equals_serial():
    """n_jobs=2 (loky workers) gives the same tables, in the same order, as n_jobs=1."""
    rng = np.random.default_rng(1)
    n = 300
    obs = pd.DataFrame({"age": rng.normal(size=n), "immune": rng.normal(size=n)})
    emb = {f"k{i}": {"mu": np.c_[obs["age"] * (i + 1), rng.normal(size=(n, 2))],
                     "logvar": np.full((n, 3), -1.0 - i)} for i in range(3)}

    def load(key, kind):
        return emb[key][kind]

    rec = pd.DataFrame({"key": ["k0", "k1", "x", "k2"],
                        "model": ["vanilla", "beta", "dip", "iwae"],
                        "latent_dim": [3, 3, 3, 3], "status": ["ok", "ok", "failed", "ok"]})
    kw = {"features": ["age", "immune"], "n_samples": 150, "progress": False}
    serial = score_runs(rec, load, obs, **kw)
    parallel = score_runs(rec, load, obs, n_jobs=2, **kw)
    for name in ("correlations", "scores", "rmig", "disentangled"):
        pd.testing.assert_frame_equal(serial[name], parallel[name])
    assert serial["scores"]["status"].tolist() == ["ok", "failed", "ok", "ok"]  # sorted by model
    assert np.isfinite(serial["scores"].set_index("model").loc["iwae", "wsepin"])
