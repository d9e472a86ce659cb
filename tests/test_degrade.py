"""Cohorts shaped like public exports degrade to "n/a: <reason>", never crash (``docs/design.md``,
"Bring your own cohort").

Known answers: a cohort without survival gives NaN AIC with the reason "no survival data in this
cohort" in the Cox result, the run table and the baseline; a cohort without age / gender is fitted
on the covariates it has and the tables say which (equal to a hand-built fit without them); the
figure panels carry the reason; absent disentanglement features are listed; the grid check
catches a batch size larger than the training part before training and names the params key.
"""

from __future__ import annotations

import functools
import math

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display in the test runs
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from anndata import AnnData
from synthetic import make_synthetic_tables, public_export_tables

from vae_core import downstream as ds
from vae_core import plots
from vae_core import tables as T
from vae_core.plots.io import na_reason, normalise

NO_SURV = "no survival data in this cohort"


def _texts(fig) -> str:
    return "\n".join(t.get_text() for ax in fig.axes for t in ax.texts) + "\n" + "\n".join(
        t.get_text() for t in fig.texts)


def _cohort(n=300, seed=0, survival=True, age=True, gender=True):
    rng = np.random.default_rng(seed)
    lab = rng.integers(0, 3, n)
    emb = rng.normal(size=(n, 4))
    male = rng.integers(0, 2, n)
    t_event = rng.exponential(np.exp(-0.8 * emb[:, 0])) * 1000
    t_cens = rng.exponential(1500, n)
    obs = pd.DataFrame({
        "label": pd.Categorical([f"T{i}" for i in lab]),
        "age": rng.normal(60, 10, n) if age else np.nan,
        "gender": pd.Categorical(np.array(["female", "male"])[male] if gender else [np.nan] * n,
                                 categories=["female", "male"]),
        "os_time": np.minimum(t_event, t_cens) if survival else np.nan,
        "os_event": (t_event <= t_cens).astype(float) if survival else np.nan,
    }, index=[f"S{i:04d}" for i in range(n)])
    return emb, obs


# ------------------------------------------------------------------ Cox without survival
@pytest.mark.parametrize("how", ["all_na", "absent"])
def test_cox_without_survival_is_nan_with_reason(how):
    emb, obs = _cohort(survival=False)
    if how == "absent":
        obs = obs.drop(columns=["os_time", "os_event"])
    res = ds.cox_fit(emb, obs)
    assert math.isnan(res.aic) and res.reason == NO_SURV == ds.NO_SURVIVAL
    assert math.isnan(ds.cox_aic(None, obs))
    base = ds.baseline_table(obs)
    assert math.isnan(base["aic"].iloc[0])
    assert base[ds.AIC_REASON_COLUMN].iloc[0] == NO_SURV


def test_cox_without_survival_still_rejects_a_bad_embedding():
    emb, obs = _cohort(survival=False)
    with pytest.raises(ValueError, match="n_samples"):
        ds.cox_fit(emb[:10], obs)


def test_survival_reason_and_available_covariates():
    _, obs = _cohort(age=False)
    assert ds.survival_reason(obs) == ""
    assert ds.survival_reason(obs.assign(os_event=np.nan)) == NO_SURV
    assert ds.available_covariates(obs) == (["gender", "label"], ["age"])


@pytest.mark.parametrize("drop", [("age",), ("gender",), ("age", "gender")])
def test_cox_uses_the_covariates_present(drop):
    emb, full = _cohort(seed=3)
    obs = full.copy()
    for c in drop:
        obs[c] = np.nan if c == "age" else pd.Categorical([np.nan] * len(obs),
                                                         categories=["female", "male"])
    res = ds.cox_fit(emb, obs)
    kept = [c for c in ds.COVARIATES if c not in drop]
    ref = ds.cox_fit(emb, full, covariates=kept)      # the same model built by hand
    assert res.converged and res.covariates == kept and res.covariates_absent == list(drop)
    assert res.aic == pytest.approx(ref.aic, rel=1e-10)
    assert res.n_samples == len(obs)                  # no row lost to the absent covariate
    base = ds.baseline_table(obs)
    assert base[ds.COVARIATES_COLUMN].iloc[0] == (
        ";".join(kept) + f" (absent: {', '.join(drop)})")
    assert np.isfinite(base["aic"].iloc[0]) and base[ds.AIC_REASON_COLUMN].iloc[0] == ""


def _load(store, key):
    return store[key]


def test_run_table_carries_aic_reason_without_survival():
    emb, obs = _cohort(survival=False, age=False)
    store = {"k1": emb, "k2": emb[:, ::-1].copy()}
    records = pd.DataFrame([
        {"key": "k1", "model": "vanilla", "status": "ok", "val_loss": 1.0},
        {"key": "k2", "model": "beta", "status": "ok", "val_loss": 1.2},
        {"key": "k3", "model": "beta", "status": "failed", "val_loss": np.nan},
    ])
    runs = ds.evaluate_runs(records, functools.partial(_load, store), obs, progress=False)
    assert runs["aic"].isna().all() and runs["ari"].notna().sum() == 2
    assert runs[ds.AIC_REASON_COLUMN].tolist() == [NO_SURV, NO_SURV, ds.TRAINING_FAILED]
    assert runs[ds.COVARIATES_COLUMN].iloc[0] == "gender;label (absent: age)"
    # written and read back as notebook 06 does: "" stays "", the reason survives
    back = normalise(pd.read_csv(pd.io.common.StringIO(runs.to_csv(index=False))), T.RUNS_TCGA)
    assert back[ds.AIC_REASON_COLUMN].tolist() == runs[ds.AIC_REASON_COLUMN].tolist()
    assert na_reason(back, "aic") == NO_SURV


def test_na_reason_is_empty_when_any_aic_is_finite():
    runs = pd.DataFrame({"status": ["ok", "ok"], "aic": [np.nan, 10.0],
                         "aic_reason": ["did not converge", ""]})
    assert na_reason(runs, "aic") == ""
    assert na_reason(runs.iloc[:0], "aic") == "no data"


# ------------------------------------------------------------------ figures
@pytest.fixture(scope="module")
def export_tables():
    t = make_synthetic_tables(1, latent_dims=(10,), lrs=(1e-3,), inits=("kaiming_uniform",),
                              optimizers=("adam",), activations=("tanh",),
                              disentangle_dims=(10,))
    t = {k: normalise(v, k) for k, v in t.items()}
    t = public_export_tables(t, survival=False, gtex=False,
                             absent_features=("age", "gender", "sbs_1"))
    return {k: normalise(v, k) for k, v in t.items()}


AIC_FIGURES = ["fig2_vanilla_loss_vs_downstream", "fig3_models_ari_aic",
               "figS1_beta_loss_vs_downstream", "figS2_betatc_loss_vs_downstream",
               "figS3_dip_loss_vs_downstream", "figS4_iwae_loss_vs_downstream",
               "figS5_cat_loss_vs_downstream", "figS6_vanilla_ari_vs_aic"]


@pytest.mark.parametrize("name", AIC_FIGURES)
def test_aic_panels_say_no_survival(export_tables, name):
    fig = plots.draw(name, export_tables)
    assert f"n/a: {NO_SURV}" in _texts(fig)
    plt.close(fig)


@pytest.mark.parametrize("name", ["fig6_gtex", "figS7_hyperparameters_gtex"])
def test_gtex_panels_say_no_gtex_cohort(export_tables, name):
    fig = plots.draw(name, export_tables)
    assert "n/a: no GTEx-side cohort" in _texts(fig)
    plt.close(fig)


def test_complete_tables_draw_no_na_text():
    t = make_synthetic_tables(0, latent_dims=(10,), lrs=(1e-3,), inits=("kaiming_uniform",),
                              optimizers=("adam",), activations=("tanh",),
                              disentangle_dims=(10,))
    t = {k: normalise(v, k) for k, v in t.items()}
    for name in ["fig3_models_ari_aic", "fig6_gtex", "figS6_vanilla_ari_vs_aic"]:
        fig = plots.draw(name, t)
        assert "n/a" not in _texts(fig)
        plt.close(fig)


def test_every_figure_and_table_builds_for_a_public_export(export_tables, tmp_path):
    # saving all 16 figures at 300 dpi is the e2e test's job (test_real_export_e2e.py)
    for name in plots.FIGURES:
        plt.close(plots.draw(name, export_tables))
    for name in plots.TABLES:
        plots.make_table(name, export_tables, tmp_path)
    md = (tmp_path / "table1_disentangled_features.md").read_text()
    assert "n/a: feature absent: age, gender, sbs_1" in md
    assert "n/a" in (tmp_path / "tableS2_loss_spearman.md").read_text()   # no AIC: no rho


def test_fig8_marks_absent_features(export_tables):
    fig = plots.draw("fig8_spearman_heatmaps", export_tables)
    ticks = [t.get_text() for ax in fig.axes for t in ax.get_xticklabels()]
    assert "Age (n/a)" in ticks and "Gender (n/a)" in ticks and "Immune infiltration" in ticks
    assert fig.get_supxlabel().startswith("n/a: feature absent")
    assert "Age" in fig.get_supxlabel() and "Immune" not in fig.get_supxlabel()
    plt.close(fig)


# ------------------------------------------------------------------ disentanglement
def test_score_runs_lists_absent_features_and_scores_present_ones():
    from vae_core import disentangle

    rng = np.random.default_rng(0)
    n, d = 400, 3
    mu = rng.normal(size=(n, d))
    obs = pd.DataFrame({"age": mu[:, 1] * 10 + 60, "gender": pd.Categorical(
        [np.nan] * n, categories=["female", "male"]), "immune": np.nan})
    records = pd.DataFrame([{"key": "a", "model": "vanilla", "latent_dim": d, "status": "ok"}])
    store = {("a", "mu"): mu, ("a", "logvar"): np.full((n, d), -2.0)}

    def load(key, kind):
        return store[(key, kind)]

    with pytest.warns(UserWarning):
        res = disentangle.score_runs(records, load, obs, features=["age", "immune", "gender"],
                                     n_samples=300, progress=False)
    assert res["scores"]["features_absent"].iloc[0] == "immune;gender"
    rm = res["rmig"].set_index("feature")
    assert list(rm.index) == ["age", "immune", "gender"]
    assert np.isfinite(rm.loc["age", "rmig"]) and rm.loc["immune", "status"] == "no_data"
    corr = res["correlations"].pivot_table(index="factor", columns="feature", values="rho",
                                           dropna=False)
    assert abs(corr.loc[1, "age"]) > 0.9                      # planted: age on factor 1
    assert corr["gender"].isna().all()
    note = disentangle.features_note(obs, ["age", "immune", "gender"])
    assert note.startswith("n/a: feature absent: immune, gender") and "Scored: age" in note


# ------------------------------------------------------------------ grid checks
def _adata(n_per_label, n_labels=3):
    labels = np.repeat([f"L{i}" for i in range(n_labels)], n_per_label)
    return AnnData(X=np.zeros((len(labels), 2), dtype=np.float32),
                   obs=pd.DataFrame({"label": pd.Categorical(labels)},
                                    index=[f"s{i}" for i in range(len(labels))]))


def test_batch_larger_than_training_part_is_caught_before_training():
    from vae_core import grid
    from vae_core.grid.checks import check_cohort_for_grid

    configs = grid.expand({"model": ["vanilla"], "latent_dim": [10], "lr": [1e-3],
                           "init": ["kaiming_uniform"], "optimizer": ["adam"],
                           "activation": ["tanh"], "repeats": 1})
    adata = _adata(19, 3)                                     # 57 samples -> 13 x 3 = 39 train
    with pytest.raises(ValueError, match=r"39 samples.*batch_size=64.*train: \{batch_size: 16\}"):
        check_cohort_for_grid(configs, adata)


def test_small_cohort_published_loss_scale_gets_the_kl_weight_note():
    from vae_core import grid
    from vae_core.grid.checks import check_cohort_for_grid

    spec = {"model": ["vanilla", "beta"], "latent_dim": [10], "lr": [1e-3],
            "init": ["kaiming_uniform"], "optimizer": ["adam"], "activation": ["tanh"],
            "repeats": 1}
    adata = _adata(100, 4)                                    # 400 samples -> 280 train
    notes = check_cohort_for_grid(grid.expand(spec), adata)
    assert len(notes) == 1 and "B/N = 64/280 = 0.2286" in notes[0]
    assert "loss_scale: elbo" in notes[0]
    assert check_cohort_for_grid(grid.expand(spec, train={"loss_scale": "elbo"}), adata) == []
    assert check_cohort_for_grid(grid.expand(spec), _adata(1000, 4)) == []   # 2,800 train
