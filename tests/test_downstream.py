"""Known-answer tests of vae_core.downstream: Leiden ARI, Cox AIC, active units, table helpers."""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
import pytest

from vae_core import downstream as ds
from vae_core.tables import CONFIG_COLUMNS, RUNS_COLUMNS

# --------------------------------------------------------------------------- fixtures


def _blobs(n_per=80, k=8, d=10, sep=20.0, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)) * sep
    labels = np.repeat(np.arange(k), n_per)
    emb = centres[labels] + rng.normal(size=(k * n_per, d))
    return emb.astype(np.float32), np.array([f"type{i}" for i in labels])


def _survival_obs(n=800, k=4, d=5, seed=0, ties=True):
    """Cohort with a planted risk in embedding column 0, age and cancer type."""
    rng = np.random.default_rng(seed)
    lab = rng.integers(0, k, n)
    emb = rng.normal(size=(n, d))
    age = rng.normal(60, 10, n)
    male = rng.integers(0, 2, n)
    eta = 0.8 * emb[:, 0] + 0.03 * (age - 60) + 0.3 * (lab == 1) - 0.2 * male
    t_event = rng.exponential(np.exp(-eta)) * 1000
    t_cens = rng.exponential(1500, n)
    t = np.minimum(t_event, t_cens)
    if ties:
        t = np.round(t / 20) * 20  # many tied times
    obs = pd.DataFrame({
        "age": age,
        "gender": pd.Categorical(np.array(["female", "male"])[male],
                                 categories=["female", "male"]),
        "label": pd.Categorical([f"T{i}" for i in lab]),
        "os_time": t,
        "os_event": (t_event <= t_cens).astype(float),
    }, index=[f"S{i:05d}" for i in range(n)])
    return emb.astype(np.float32), obs


def _hand_design(emb, obs):
    """Independent design: age, gender one-hot (drop female), label one-hot (drop first), emb."""
    parts = [obs[["age"]].astype(float),
             pd.get_dummies(obs["gender"], prefix="g", drop_first=True, dtype=float),
             pd.get_dummies(obs["label"], prefix="t", drop_first=True, dtype=float)]
    if emb is not None:
        parts.append(pd.DataFrame(emb, index=obs.index, dtype=float))
    return pd.concat(parts, axis=1).to_numpy()


def _statsmodels_aic(emb, obs):
    from statsmodels.duration.hazard_regression import PHReg

    X = _hand_design(emb, obs)
    res = PHReg(obs["os_time"].to_numpy(), X, status=obs["os_event"].to_numpy(),
                ties="efron").fit(disp=False)
    return 2 * X.shape[1] - 2 * res.llf


# --------------------------------------------------------------------------- Leiden ARI


def test_blobs_give_ari_one():
    emb, labels = _blobs()
    ari, n_clusters = ds.leiden_ari(emb, labels)
    assert ari == pytest.approx(1.0)
    assert n_clusters == 8


def test_igraph_flavor_finds_blobs_and_bad_flavor_raises():
    emb, labels = _blobs(n_per=40, k=5)
    assert ds.leiden_ari(emb, labels, flavor="igraph") == (pytest.approx(1.0), 5)
    with pytest.raises(ValueError, match="unknown Leiden flavor"):
        ds.leiden_ari(emb, labels, flavor="louvain")


def test_random_embedding_gives_ari_near_zero():
    rng = np.random.default_rng(1)
    emb = rng.normal(size=(1000, 10)).astype(np.float32)
    labels = rng.integers(0, 5, 1000)
    ari, n_clusters = ds.leiden_ari(emb, labels)
    assert abs(ari) < 0.05
    assert n_clusters > 1


def test_same_seed_same_partition_other_seed_differs():
    rng = np.random.default_rng(2)
    emb = rng.normal(size=(600, 5)).astype(np.float32)
    a = ds.leiden_labels(emb, seed=0)
    b = ds.leiden_labels(emb, seed=0)
    c = ds.leiden_labels(emb, seed=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)  # an ambiguous graph: another seed, another partition


def test_missing_labels_are_left_out_of_ari():
    emb, labels = _blobs(n_per=40, k=4)
    lab = pd.Series(labels, dtype=object)
    lab.iloc[::7] = None
    ari, _ = ds.leiden_ari(emb, lab)
    assert ari == pytest.approx(1.0)


def test_leiden_bad_input_raises():
    emb, labels = _blobs(n_per=20, k=2)
    bad = emb.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        ds.leiden_ari(bad, labels)
    with pytest.raises(ValueError, match="labels has"):
        ds.leiden_ari(emb, labels[:-1])
    with pytest.raises(ValueError, match="n_neighbors"):
        ds.leiden_ari(emb[:10], labels[:10])


def test_umap_coordinates_are_deterministic():
    emb, _ = _blobs(n_per=30, k=3)
    a = ds.umap_coordinates(emb, seed=0)
    b = ds.umap_coordinates(emb, seed=0)
    assert a.shape == (90, 2)
    np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- Cox AIC


def test_cox_aic_equals_statsmodels_on_hand_built_design():
    emb, obs = _survival_obs()
    for e in (emb, None):
        aic = ds.cox_aic(e, obs)
        assert aic == pytest.approx(_statsmodels_aic(e, obs), rel=1e-8)


def test_cox_numpy_solver_equals_lifelines():
    emb, obs = _survival_obs(n=500, d=4, seed=3)
    a = ds.cox_fit(emb, obs, method="numpy")
    b = ds.cox_fit(emb, obs, method="lifelines")
    assert a.converged and b.converged
    assert a.n_params == b.n_params == 1 + 1 + 3 + 4
    assert a.log_likelihood == pytest.approx(b.log_likelihood, rel=1e-8)
    assert a.aic == pytest.approx(b.aic, rel=1e-8)


def test_cox_aic_is_2k_minus_2ll_without_ties():
    emb, obs = _survival_obs(n=400, ties=False, seed=4)
    res = ds.cox_fit(emb, obs)
    assert res.aic == pytest.approx(2 * res.n_params - 2 * res.log_likelihood)
    assert res.aic == pytest.approx(_statsmodels_aic(emb, obs), rel=1e-8)


def test_constant_and_collinear_columns_dropped_not_fatal():
    emb, obs = _survival_obs(n=500, d=3, seed=5)
    ref = ds.cox_fit(emb, obs)
    extra = np.column_stack([emb, np.full(len(emb), 2.5), emb[:, 0] * 2 - emb[:, 1],
                             emb[:, 2]]).astype(np.float32)
    res = ds.cox_fit(extra, obs)
    assert res.converged
    assert res.dropped_columns == ["z3", "z4", "z5"]
    assert res.n_params == ref.n_params
    assert res.aic == pytest.approx(ref.aic, rel=1e-8)


def test_single_gender_cohort_drops_gender_column():
    emb, obs = _survival_obs(n=300, seed=6)
    obs = obs.copy()
    obs["gender"] = pd.Categorical(["female"] * len(obs), categories=["female", "male"])
    res = ds.cox_fit(emb, obs)
    assert res.converged and not any(c.startswith("gender") for c in res.dropped_columns)
    assert res.n_params == 1 + 3 + 5  # age, 3 types, 5 dims: no gender column at all


def test_rows_with_missing_data_are_dropped_and_counted():
    emb, obs = _survival_obs(n=400, seed=7)
    obs = obs.copy()
    obs.loc[obs.index[:5], "age"] = np.nan
    obs.loc[obs.index[5:8], "os_time"] = np.nan
    res = ds.cox_fit(emb, obs)
    assert res.n_dropped_rows == 8
    assert res.n_samples == 392
    keep = obs["age"].notna() & obs["os_time"].notna()
    assert res.aic == pytest.approx(_statsmodels_aic(emb[keep.to_numpy()], obs[keep]), rel=1e-8)


def test_cox_nonconvergence_and_no_events_give_nan_with_reason():
    emb, obs = _survival_obs(n=300, seed=8)
    res = ds.cox_fit(emb, obs, max_iter=1)
    assert math.isnan(res.aic) and "did not converge" in res.reason
    none = obs.assign(os_event=0.0)
    res = ds.cox_fit(emb, none)
    assert math.isnan(res.aic) and "no events" in res.reason


def test_cox_bad_input_raises():
    emb, obs = _survival_obs(n=100, seed=9)
    # a cohort without survival is not bad input: NaN with the reason (tests/test_degrade.py)
    res = ds.cox_fit(emb, obs.drop(columns="os_time"))
    assert math.isnan(res.aic) and res.reason == ds.NO_SURVIVAL
    bad = emb.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        ds.cox_aic(bad, obs)
    with pytest.raises(ValueError, match="n_samples"):
        ds.cox_aic(emb[:50], obs)
    with pytest.raises(ValueError, match="0 \\(censored\\) or 1"):
        ds.cox_aic(emb, obs.assign(os_event=2.0))


def test_planted_risk_beats_baseline_and_noise_does_not():
    emb, obs = _survival_obs(n=800, seed=10)
    base = ds.cox_aic(None, obs)
    assert ds.cox_aic(emb[:, :1], obs) < base - 50          # the planted risk factor
    noise = np.random.default_rng(0).normal(size=(len(obs), 20))
    assert ds.cox_aic(noise, obs) > base                    # 20 useless dims pay 2 each


def test_simulator_survival_programs_beat_baseline(sim_tcga_raw):
    adata = sim_tcga_raw
    truth = adata.uns["ground_truth"]
    idx = [list(truth["programs"]).index(p) for p in truth["survival_programs"]]
    planted = np.asarray(adata.obsm["ground_truth_programs"])[:, idx]
    obs = adata.obs
    base = ds.cox_fit(None, obs)
    fit = ds.cox_fit(planted, obs)
    assert base.converged and fit.converged
    assert fit.aic < base.aic - 10


# --------------------------------------------------------------------------- active units


def test_active_units_known_answer():
    rng = np.random.default_rng(0)
    z = rng.standard_normal(5000)
    z = (z - z.mean()) / z.std()
    mu = np.column_stack([z, 0.2 * z, 0.05 * z, np.full(5000, 3.0), 0.1001 * z])
    # variances 1, 0.04, 0.0025, 0, 0.01002: two clearly above 0.01, one just above
    assert ds.active_units(mu) == 3
    assert ds.active_units(mu, threshold=0.05) == 1
    mu[0, 0] = np.nan
    assert ds.active_units(mu) == 2
    with pytest.raises(ValueError, match="2-D"):
        ds.active_units(z)


# --------------------------------------------------------------------------- tables


def _runs(rows):
    df = pd.DataFrame(rows)
    for c in RUNS_COLUMNS:
        if c not in df:
            df[c] = np.nan
    return df


def test_pick_fig2_pair_known_answer():
    runs = _runs([
        {"key": "a", "model": "vanilla", "status": "ok", "val_loss": 1.00, "ari": 0.70},
        {"key": "b", "model": "vanilla", "status": "ok", "val_loss": 1.001, "ari": 0.01},
        {"key": "c", "model": "vanilla", "status": "ok", "val_loss": 1.30, "ari": 0.00},  # far
        {"key": "d", "model": "vanilla", "status": "ok", "val_loss": 1.5, "ari": 0.4},
        {"key": "e", "model": "beta", "status": "ok", "val_loss": 1.0005, "ari": 0.99},  # beta
        {"key": "f", "model": "vanilla", "status": "failed", "val_loss": 1.0002, "ari": 0.95},
        {"key": "g", "model": "vanilla", "status": "ok", "val_loss": 1.002, "ari": 0.35},
        {"key": "h", "model": "vanilla", "status": "ok", "val_loss": 9.0, "ari": 0.9},  # > q90
        {"key": "i", "model": "vanilla", "status": "ok", "val_loss": 2.0, "ari": 0.3},
        {"key": "j", "model": "vanilla", "status": "ok", "val_loss": 1.8, "ari": 0.3},
    ])
    pair = ds.pick_fig2_pair(runs, rel_tol=0.02)
    assert list(pair["role"]) == ["low_ari", "high_ari"]
    assert list(pair["key"]) == ["b", "a"]
    assert list(pair.columns) == ["role", *RUNS_COLUMNS]
    assert ds.pick_fig2_pair(runs.iloc[:1]).empty


def test_concordance_and_rho():
    cfg = {"latent_dim": 10, "init": "normal", "optimizer": "adam", "activation": "tanh",
           "model": "vanilla"}
    tcga = _runs([dict(cfg, key=f"t{i}{r}", lr=lr, status="ok", ari=a + 0.01 * r)
                  for i, (lr, a) in enumerate([(1e-1, 0.1), (1e-2, 0.5), (1e-3, 0.7), (1e-4, 0.3)])
                  for r in range(2)])
    tcga.loc[0, "status"] = "failed"  # the failed repeat does not count in the mean
    tcga.loc[0, "ari"] = 0.9
    gtex = _runs([dict(cfg, key=f"g{i}", lr=lr, status="ok", ari=a)
                  for i, (lr, a) in enumerate([(1e-1, 0.2), (1e-2, 0.6), (1e-3, 0.8),
                                               (1e-4, 0.4), (1e-5, 0.9)])])
    table = ds.concordance(tcga, gtex)
    assert list(table.columns) == [*CONFIG_COLUMNS, "ari_tcga", "ari_gtex"]
    assert len(table) == 4                                   # 1e-5 only on GTEx
    first = table.loc[table["lr"] == 1e-1].iloc[0]
    assert first["ari_tcga"] == pytest.approx(0.11)          # mean over successful repeats
    rho, _, n = ds.concordance_rho(table)
    assert rho == pytest.approx(1.0) and n == 4


def test_evaluate_records_reason_instead_of_raising():
    emb, obs = _survival_obs(n=200, seed=11)
    emb[0, 0] = np.nan
    out = ds.evaluate(emb, obs)
    assert math.isnan(out["ari"]) and math.isnan(out["aic"])
    assert out["reason"].startswith("ari: ") and "aic: " in out["reason"]


def _load(store, key):
    return store[key]


def test_evaluate_runs_fills_run_table():
    emb, obs = _survival_obs(n=300, d=4, seed=12)
    store = {"k1": emb, "k2": np.random.default_rng(0).normal(size=emb.shape)}
    records = _runs([
        {"key": "k1", "model": "vanilla", "status": "ok", "val_loss": 1.0, "active_units": 4.0},
        {"key": "k2", "model": "vanilla", "status": "ok", "val_loss": 1.1},
        {"key": "k3", "model": "vanilla", "status": "failed", "val_loss": np.nan,
         "reason": "diverged"},
    ])
    runs = ds.evaluate_runs(records, functools.partial(_load, store), obs, survival=True,
                            load_mu=functools.partial(_load, store), progress=False)
    # the run table's columns, then each registered metric's reason/text columns in
    # registration order (ari: its reason; aic: the covariates used, then its reason)
    assert list(runs.columns) == [*RUNS_COLUMNS, ds.REASON_COLUMN, "ari_reason",
                                  ds.COVARIATES_COLUMN, ds.AIC_REASON_COLUMN]
    assert runs["ari_reason"].tolist() == ["", "", ds.TRAINING_FAILED]
    assert runs[ds.AIC_REASON_COLUMN].tolist() == ["", "", ds.TRAINING_FAILED]
    assert set(runs.loc[:1, ds.COVARIATES_COLUMN]) == {"age;gender;label"}
    assert runs["ari"].notna().tolist() == [True, True, False]
    assert runs["aic"].notna().tolist() == [True, True, False]
    assert runs.loc[0, "active_units"] == 4.0 and runs.loc[1, "active_units"] == 4.0
    assert runs.loc[0, "aic"] < runs.loc[1, "aic"]  # the planted-risk embedding fits better
    gtex = ds.evaluate_runs(records, functools.partial(_load, store), obs, survival=False,
                            progress=False)
    assert gtex["aic"].isna().all()
    assert gtex[ds.AIC_REASON_COLUMN].tolist() == [ds.SURVIVAL_OFF] * 2 + [ds.TRAINING_FAILED]


def test_pick_fig2_pair_falls_back_to_closest_losses():
    runs = _runs([
        {"key": "a", "model": "vanilla", "status": "ok", "val_loss": 1.0, "ari": 0.1},
        {"key": "b", "model": "vanilla", "status": "ok", "val_loss": 2.0, "ari": 0.6},
        {"key": "c", "model": "vanilla", "status": "ok", "val_loss": 2.5, "ari": 0.2},
    ])
    pair = ds.pick_fig2_pair(runs, quantile=1.0, rel_tol=0.0)
    assert list(pair["key"]) == ["c", "b"]  # closest losses (gap 0.5), none within tolerance


def test_quicklook_figures_render_from_tables():
    import matplotlib

    matplotlib.use("Agg")
    from vae_core.plots import quicklook

    runs = _runs([{"key": f"k{i}", "model": m, "status": "ok", "val_loss": 1.0 + i,
                   "ari": 0.1 * i, "aic": 100.0 - i, "latent_dim": 10, "lr": 1e-3,
                   "init": "normal", "optimizer": "adam", "activation": "tanh"}
                  for i, m in enumerate(["vanilla", "vanilla", "beta", "vanilla"])])
    pair = ds.pick_fig2_pair(runs, quantile=1.0)
    umap = pd.DataFrame({"key": np.repeat(pair["key"].to_numpy(), 5), "role": "x",
                         "umap1": np.arange(10.0), "umap2": np.arange(10.0), "label": "A"})
    conc = pd.DataFrame({"model": ["vanilla", "beta"], "ari_tcga": [0.1, 0.2],
                         "ari_gtex": [0.3, 0.1]})
    figs = [quicklook.loss_vs_metrics(runs, baseline_aic=99.0),
            quicklook.pair_umaps(umap, pair), quicklook.pair_umaps(umap.iloc[:0], pair.iloc[:0]),
            quicklook.metric_by_model(runs, "aic", baseline=99.0),
            quicklook.concordance_scatter(conc, 0.5)]
    assert all(len(f.axes) >= 1 for f in figs)
