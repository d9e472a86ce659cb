"""The registries: a model, a metric, a figure and a scorecard claim added from outside the
package reach the grid, the tables, the figures and the scorecard; open grid axes; plugins."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from vae_core import downstream, grid, models, plots, plugins, registry
from vae_core.plots.io import normalise
from vae_core.plots.scorecard import NA, NOT_IN_PAPER, scorecard_rows

REPO = Path(__file__).resolve().parent.parent


class L1VAE(models.VAE):
    """A toy: vanilla VAE with an L1 reconstruction term."""

    lr_gamma = None

    def loss(self, x, out, n_train, step):
        rec = (out.recon - x).abs().sum(-1).mean()
        kl = models.gaussian_kl(out.mu, out.logvar).mean()
        return models.LossOutput(rec + kl, {"rec": rec.detach(), "kl": kl.detach()})


# --------------------------------------------------------------------------- models

def test_the_paper_six_are_registered_like_any_model():
    assert models.registered() == tuple(registry.PAPER_MODELS) == models.MODELS
    assert registry.model_label("betatc") == "β-TCVAE"
    assert models.model_class("dip").name == "dip"


def test_register_a_model_makes_it_a_grid_value_that_trains(clean_registries, sim_tcga):
    from vae_core import train

    with pytest.raises(ValueError, match="unknown value 'l1'.*plugins"):
        grid.expand({"model": ["l1"]})
    models.register("l1", L1VAE, label="L1 VAE")
    assert registry.model_names()[-1] == "l1" and "l1" in models.registered()
    assert plots.style.model_label("l1") == "L1 VAE"
    colours = {plots.style.model_color(m) for m in registry.model_names()}
    assert len(colours) == 7   # a colour of its own
    cfgs = grid.expand({"model": ["l1", "vanilla"], "latent_dim": [4], "lr": [1e-3]},
                       train={"max_epochs": 2, "min_epochs": 1})
    assert [c.model for c in cfgs] == ["l1", "vanilla"]
    res = train.fit(cfgs[0], sim_tcga[:300].copy())
    assert res.status == "ok" and type(res.model).__name__ == "L1VAE"
    # the loss is the class's own: L1 reconstruction + KL of the model kept
    x = torch.as_tensor(sim_tcga.X[:8], dtype=torch.float32)
    with torch.no_grad():
        out = res.model(x)
        want = (out.recon - x).abs().sum(-1).mean() + models.gaussian_kl(out.mu, out.logvar).mean()
        assert float(res.model.loss(x, out, 200, 0).loss) == pytest.approx(float(want))


def test_register_refuses_what_cannot_be_a_model(clean_registries):
    with pytest.raises(TypeError, match="not a subclass of vae_core.models.VAE"):
        models.register("toy", torch.nn.Linear)

    class NoLoss(models.VAE):
        pass

    with pytest.raises(TypeError, match="does not define loss"):
        models.register("toy", NoLoss)
    with pytest.raises(ValueError, match="not valid"):
        models.register("Bad Name", L1VAE)
    assert "toy" not in registry.model_names()


# --------------------------------------------------------------------------- metrics

def _knn_purity(embedding, obs, k=3):
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=k + 1).fit(embedding)
    idx = nn.kneighbors(embedding, return_distance=False)[:, 1:]
    lab = obs["label"].to_numpy()
    return {"knn_purity": float((lab[idx] == lab[:, None]).mean())}


def test_register_metric_adds_a_column_a_figure_and_degrades(clean_registries):
    downstream.register_metric("knn_purity", _knn_purity, needs=("label",), label="kNN purity")
    assert "knn_purity" in downstream.metric_columns()
    rng = np.random.default_rng(0)
    lab = np.repeat(["a", "b"], 30)
    emb = rng.normal(size=(60, 3)) + 8.0 * (lab == "b")[:, None]   # two clean clusters
    obs = pd.DataFrame({"label": pd.Categorical(lab)})
    got = downstream.compute_metric("knn_purity", emb, obs)
    assert got["knn_purity"] == 1.0 and got["knn_purity_reason"] == ""
    # a cohort without the column it needs: NaN with the reason, never an exception
    got = downstream.compute_metric("knn_purity", emb, pd.DataFrame(index=range(60)))
    assert math.isnan(got["knn_purity"]) and "label" in got["knn_purity_reason"]

    def broken(embedding, obs):
        raise RuntimeError("boom")

    downstream.register_metric("broken", broken)
    row = downstream.evaluate(emb, obs, survival=False, metrics=["knn_purity", "broken"])
    assert row["knn_purity"] == 1.0 and math.isnan(row["broken"])
    assert "broken: RuntimeError: boom" in row["reason"]
    # the figure comes from the catalog without any edit there
    assert "metric_knn_purity" in plots.FIGURE_BUILDERS
    assert "metric_knn_purity.png" in plots.expected_files()
    # two metrics may not claim one column
    with pytest.raises(ValueError, match="already a column of metric 'ari'"):
        downstream.register_metric("other", _knn_purity, columns=("n_clusters",))


def test_runs_table_keeps_every_registered_metric_column(clean_registries):
    downstream.register_metric("knn_purity", _knn_purity, needs=("label",))
    records = pd.DataFrame({"key": ["k1", "k2"], "model": "vanilla", "status": ["ok", "failed"]})
    metrics = pd.DataFrame({"key": ["k1"], "ari": [0.5], "knn_purity": [0.9],
                            "knn_purity_reason": [""]})
    runs = downstream.runs_table(records, metrics)
    assert runs["knn_purity"].tolist()[0] == 0.9 and math.isnan(runs["knn_purity"].iloc[1])
    assert runs["knn_purity_reason"].tolist() == ["", downstream.TRAINING_FAILED]


# --------------------------------------------------------------------------- open axes

def test_open_axes_accept_any_valid_level_with_clear_errors():
    cfg = grid.expand({"model": ["vanilla"], "latent_dim": [64], "lr": [3e-4],
                       "hidden": [1024]})
    assert len(cfg) == 1 and (cfg[0].latent_dim, cfg[0].lr, cfg[0].hidden) == (64, 3e-4, 1024)
    assert grid.expand({"lr": ["1e-3"]})[0].lr == 1e-3       # a paper level stays that level
    for spec, what in (({"latent_dim": [0]}, "positive integer"),
                       ({"latent_dim": [2.5]}, "positive integer"),
                       ({"lr": [-1e-3]}, "positive number"), ({"lr": ["fast"]}, "positive"),
                       ({"hidden": [0]}, "positive integer"), ({"width": [3]}, "unknown axis")):
        with pytest.raises(ValueError, match=what):
            grid.expand(spec)


def test_keys_of_existing_configurations_do_not_change():
    """Keys computed by the code before the axes were opened (stores stay valid)."""
    spec = {"model": ["vanilla", "dip", "cat"], "latent_dim": [10, 200], "lr": [1e-1, 1e-6],
            "init": ["normal", "kaiming_uniform"], "optimizer": ["adam", "sgd"],
            "activation": ["tanh"], "repeats": 2}
    keys = [grid.config_key(c) for c in grid.expand(spec)]
    assert keys[:2] == ["8432909401c7043d", "3b3e0a2de7ee9a41"]
    spec = {"model": ["vanilla", "iwae"], "latent_dim": [10, 50], "lr": [1e-1, 1e-3],
            "init": ["uniform", "kaiming_uniform"], "optimizer": ["adam", "sgd"],
            "activation": ["tanh", "relu"], "fraction": 8, "train": {"max_epochs": 6}}
    keys = [grid.config_key(c) for c in grid.expand(spec)]
    assert len(keys) == 16 and keys[:2] == ["0731ab068be19fb0", "6880baf613b80a6c"]
    # listing the default hidden width explicitly is the same configuration
    a = grid.expand({"model": ["vanilla"], "latent_dim": [10]})
    b = grid.expand({"model": ["vanilla"], "latent_dim": [10], "hidden": [512]})
    assert grid.config_key(a[0]) == grid.config_key(b[0])


# --------------------------------------------------------------------------- scorecard, figures

def _tables_with(extra_model: str, latent_dims=(10, 64)):
    from synthetic import make_synthetic_tables

    t = make_synthetic_tables(0, latent_dims=latent_dims, lrs=(1e-1, 1e-3),
                              inits=("uniform", "kaiming_uniform"), disentangle_dims=latent_dims)
    runs = t["runs_tcga.csv"]
    twin = runs[runs["model"] == "vanilla"].assign(
        model=extra_model, key=lambda d: d["key"].str.replace("vanilla", extra_model))
    t["runs_tcga.csv"] = pd.concat([runs, twin], ignore_index=True)
    sc = t["disentangle_scores.csv"]
    t["disentangle_scores.csv"] = pd.concat(
        [sc, sc[sc["model"] == "vanilla"].assign(model=extra_model)], ignore_index=True)
    return {k: normalise(v, k) for k, v in t.items()}


def test_scorecard_says_not_in_the_paper_for_a_new_model_and_latent_size(clean_registries):
    models.register("l1", L1VAE, label="L1 VAE")
    t = _tables_with("l1")
    rows = scorecard_rows(t)
    mine = rows[rows["claim"].str.startswith("L1 VAE")]
    assert set(mine["section"]) == {"Fig 3", "Table 1"}
    assert (mine["paper"] == NOT_IN_PAPER).all() and (mine["agrees"] == NA).all()
    van = rows[rows["claim"].str.startswith("Vanilla VAE: disentangled")].iloc[0]
    assert "64" in van["this_run"] and NOT_IN_PAPER in van["this_run"]
    # the paper's Fig 3 claim still ranks the paper's six only
    fig3 = rows[rows["claim"].str.contains("best on average \\(ARI\\)")].iloc[0]
    assert "L1 VAE" not in fig3["this_run"]


def test_every_figure_draws_a_new_model_and_new_levels(clean_registries, tmp_path):
    models.register("l1", L1VAE, label="L1 VAE")
    t = _tables_with("l1")
    written = plots.build_all("tiny", tmp_path, t=t)
    out = tmp_path / "figures" / "tiny"
    assert plots.missing_outputs(out, t=t) == [] and len(written) == len(plots.expected_files(t))
    assert (out / "figS_l1_loss_vs_downstream.png").is_file()
    fig = plots.draw("fig3_models_ari_aic", t)
    assert any("L1 VAE" in x.get_text() for x in fig.axes[0].get_xticklabels())
    fig = plots.draw("fig7_wsepin", t)
    legend = fig.axes[0].get_legend()
    assert "64" in [x.get_text() for x in legend.get_texts()]
    t1 = plots.make_table("table1_disentangled_features", t)
    assert "L1 VAE" in t1.index and 64 in t1.columns


def test_a_registered_claim_and_figure_reach_the_scorecard_and_catalog(clean_registries):
    from vae_core.plots import catalog, scorecard

    saved = dict(scorecard._CLAIMS)
    try:
        scorecard.register_claim("mine", lambda ctx: [scorecard._row(
            "Mine", "trainings counted", "n/a: not in the paper", str(len(ctx.runs)),
            len(ctx.runs), "none", NA)])
        rows = scorecard_rows(_tables_with("vanilla2"))
        assert rows.iloc[-1]["claim"] == "trainings counted"
    finally:
        scorecard._CLAIMS.clear()
        scorecard._CLAIMS.update(saved)
    catalog.register_figure("my_fig", "My figure.", lambda t: plots.fig7(t["disentangle_scores.csv"]))
    try:
        assert catalog.caption("my_fig") == "My figure." and "my_fig.png" in plots.expected_files()
    finally:
        catalog._OUTPUTS.pop("my_fig")


# --------------------------------------------------------------------------- plugins and the example

def test_plugins_resolve_relative_to_the_params_dir_and_load_once(tmp_path, monkeypatch,
                                                                  clean_registries):
    marker = tmp_path / "count.txt"
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "p.py").write_text(textwrap.dedent(f"""
        from pathlib import Path
        p = Path({str(marker)!r})
        p.write_text(str(int(p.read_text()) + 1 if p.exists() else 1))
    """))
    monkeypatch.setenv(plugins.PARAMS_DIR_ENV, str(tmp_path / "sub"))
    monkeypatch.chdir("/")
    first = plugins.load(["p.py"])
    assert first == [str((tmp_path / "sub" / "p.py").resolve())]
    assert plugins.load(["p.py"]) == first and marker.read_text() == "1"
    assert first[0] in plugins.loaded()
    with pytest.raises(FileNotFoundError, match="nope.py"):
        plugins.load(["nope.py"])
    (tmp_path / "bad.py").write_text("raise RuntimeError('broken plugin')")
    with pytest.raises(ImportError, match="bad.py.*broken plugin"):
        plugins.load([str(tmp_path / "bad.py")])


def test_example_huber_vae_loss_by_hand(clean_registries):
    plugins.load([str(REPO / "examples" / "huber_vae.py")])
    assert "huber" in models.registered() and registry.model_label("huber") == "Huber VAE"
    m = models.build("huber", n_genes=2, latent_dim=1)
    assert models.constants_of("huber") == {"delta": 1.0}
    x = torch.zeros(1, 2)
    out = models.ModelOutput(recon=torch.tensor([[0.5, 2.0]]), z=torch.zeros(1, 1),
                             mu=torch.zeros(1, 1), logvar=torch.zeros(1, 1))
    # h(0.5) = 0.5 * 0.25 = 0.125; h(2) = 1 * (2 - 0.5) = 1.5 (delta 1); KL(N(0,1) || N(0,1)) = 0
    lo = m.loss(x, out, n_train=100, step=0)
    assert float(lo.terms["rec"]) == pytest.approx(1.625)
    assert float(lo.loss) == pytest.approx(1.625 / 2)           # published: rec / G + (B/N) KL
    out.mu = torch.ones(1, 1)                                    # KL = 0.5 * mu^2 = 0.5
    assert float(m.loss(x, out, 100, 0).loss) == pytest.approx(1.625 / 2 + 64 / 100 * 0.5)
    m2 = models.build("huber", n_genes=2, latent_dim=1, loss_scale="elbo", delta=0.5)
    # delta 0.5: h(0.5) = 0.125, h(2) = 0.5 * (2 - 0.25) = 0.875
    assert float(m2.loss(x, out, 100, 0).loss) == pytest.approx(1.0 + 0.5)
    # the example's metric: well-separated labels score near 1, shuffled labels near 0
    lab = np.repeat(["a", "b"], 50)
    emb = np.random.default_rng(0).normal(size=(100, 2)) + 10.0 * (lab == "b")[:, None]
    good = downstream.compute_metric("label_silhouette", emb, pd.DataFrame({"label": lab}))
    bad = downstream.compute_metric("label_silhouette", emb, pd.DataFrame(
        {"label": np.random.default_rng(1).permutation(lab)}))
    assert good["label_silhouette"] > 0.8 and abs(bad["label_silhouette"]) < 0.1


def test_status_summary_counts_new_models_and_open_levels():
    from vae_core.grid.report import status_summary

    df = pd.DataFrame({"model": ["vanilla", "toy", "beta", "toy"], "latent_dim": [10, 64, 10, 64],
                       "lr": [1e-3, 3e-4, 1e-3, 3e-4], "hidden": [512, 1024, 512, 1024],
                       "status": ["ok", "failed", "ok", "ok"]})
    s = status_summary(df).set_index(["axis", "value"])
    assert list(s.loc["model"].index) == ["vanilla", "beta", "toy"]   # paper order, then others
    assert s.loc[("model", "toy"), "failed"] == 1 and s.loc[("model", "toy"), "total"] == 2
    assert s.loc[("latent_dim", 64), "failed_pct"] == 50.0
    assert s.loc[("lr", 3e-4), "total"] == 2 and s.loc[("hidden", 1024), "ok"] == 1
