"""vae_core.plots: every figure/table from synthetic tidy tables with planted effects, the
scorecard's known answers, the save helpers, EXPECTED_FILES and the index page."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from scipy import stats
from synthetic import make_synthetic_tables

from vae_core import nbreport, paths, plots
from vae_core import tables as T
from vae_core.downstream import metric_registry
from vae_core.plots import catalog
from vae_core.plots import figures as F
from vae_core.plots.io import TABLE_COLUMNS, normalise, read_table
from vae_core.plots.scorecard import NA, NO, YES, scorecard_rows

SMALL = {"latent_dims": (10, 50), "lrs": (1e-1, 1e-3, 1e-4, 1e-6),
         "inits": ("uniform", "xavier_normal", "kaiming_uniform"),
         "disentangle_dims": (10, 20, 30)}


@pytest.fixture(scope="module")
def tabs() -> dict[str, pd.DataFrame]:
    """Synthetic tables of the documented schema, read back as notebook 06 would read them."""
    return {k: normalise(v, k) for k, v in make_synthetic_tables(0, **SMALL).items()}


@pytest.fixture(scope="module")
def empty() -> dict[str, pd.DataFrame]:
    return {k: normalise(pd.DataFrame(columns=list(c)), k) for k, c in TABLE_COLUMNS.items()}


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _texts(fig: Figure) -> str:
    out = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    return "\n".join(out)


def _panels(fig: Figure):
    """Axes that are panels (not colorbars)."""
    return [a for a in fig.axes if a.get_label() != "<colorbar>"]


# ------------------------------------------------------------------ every figure, full data
@pytest.mark.parametrize("name", list(plots.FIGURES))
def test_every_figure_builds_from_synthetic_tables(tabs, name):
    fig = plots.draw(name, tabs)
    assert isinstance(fig, Figure)
    if name != "figS8_rmig_30_200":       # S8: 50-200 dims not in these tables
        assert "no data" not in _texts(fig), name


def test_fig2_axes_labels_regression_and_umap_titles(tabs):
    fig = plots.fig2(tabs[T.RUNS_TCGA], tabs[T.FIG2_PAIR], tabs[T.FIG2_UMAP])
    a, b, c, d = _panels(fig)[:4]
    assert "ARI" in a.get_xlabel() and "Validation loss" in a.get_ylabel()
    assert "AIC" in b.get_xlabel() and "90th" in b.get_ylabel()
    assert a.get_legend().get_title().get_text() == "Latent dims"
    assert [t.get_text() for t in a.get_legend().get_texts()] == ["10", "50"]
    assert len(a.collections) >= 2          # scatter + 95% band of the regression line
    assert "ARI = 0.01" in c.get_title() and "ARI = 0.72" in d.get_title()
    assert c.get_xlabel() == "UMAP1"
    # plotted points are those up to the 90th percentile of the vanilla loss
    van = tabs[T.RUNS_TCGA].query("model == 'vanilla' and status == 'ok'")
    n_expected = int((van.val_loss <= np.percentile(van.val_loss, 90)).sum())
    assert f"n = {n_expected}" in a.get_title()


def test_figS3_uses_85th_percentile_and_s1_s5_cover_models(tabs):
    fig = plots.draw("figS3_dip_loss_vs_downstream", tabs)
    assert "85th" in _panels(fig)[0].get_ylabel()
    for name, label in (("figS1_beta_loss_vs_downstream", "β-VAE"),
                        ("figS5_cat_loss_vs_downstream", "CAT-VAE")):
        assert label in _panels(plots.draw(name, tabs))[0].get_title()


def test_fig3_boxes_per_model_and_dashed_baseline(tabs):
    fig = plots.fig3(tabs[T.RUNS_TCGA], tabs[T.BASELINE_AIC])
    a, b = _panels(fig)
    ticks = [t.get_text() for t in a.get_xticklabels()]
    assert [t.split("\n")[0] for t in ticks] == [plots.MODEL_LABELS[m] for m in
                                                 ("vanilla", "beta", "betatc", "dip", "iwae",
                                                  "cat")]
    dashed = [ln for ln in b.get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == 1 and dashed[0].get_ydata()[0] == pytest.approx(59500.0)
    assert "AIC" in b.get_ylabel() and "ARI" in a.get_ylabel()


def test_fig4_five_panels_one_per_hyperparameter(tabs):
    fig = plots.fig4(tabs[T.RUNS_TCGA])
    panels = _panels(fig)
    assert len(panels) == 5
    titles = " ".join(p.get_title() for p in panels).lower()
    for word in ("latent", "learning rate", "initialization", "optimizer", "activation"):
        assert word in titles
    lr_legend = [t.get_text() for t in panels[1].get_legend().get_texts()]
    assert lr_legend == ["1e-01", "1e-03", "1e-04", "1e-06"]
    assert all("ARI" in p.get_xlabel() for p in panels)


def test_fig5_counts_failures_per_value(tabs):
    runs = tabs[T.RUNS_TCGA]
    fig = plots.fig5(runs)
    axes = np.array(_panels(fig)).reshape(6, 5)
    # beta-TCVAE row, learning-rate column: the 1e-1 bar is entirely failed (planted)
    ax = axes[2, 1]
    heights = [p.get_height() for p in ax.patches]
    n_values = 4
    ok, failed = heights[:n_values], heights[n_values:]
    n_cell = int(((runs.model == "betatc") & np.isclose(runs.lr, 0.1)).sum())
    assert ok[0] == 0 and failed[0] == n_cell
    assert sum(heights) == (runs.model == "betatc").sum()
    # CAT-VAE never fails: no red height anywhere in its row
    assert all(p.get_height() == 0 for a in axes[5] for p in a.patches[len(a.patches) // 2:])


def test_fig6_spearman_in_title_and_model_colours(tabs):
    fig = plots.fig6(tabs[T.RUNS_GTEX], tabs[T.CONCORDANCE])
    b = _panels(fig)[1]
    c = tabs[T.CONCORDANCE]
    rho = stats.spearmanr(c.ari_tcga, c.ari_gtex).statistic
    assert f"ρ = {rho:.2f}" in b.get_title()
    assert b.get_xlabel() == "ARI on TCGA" and b.get_ylabel() == "ARI on GTEx"
    assert b.get_legend().get_title().get_text() == "Model"


def test_fig7_bars_with_value_labels(tabs):
    fig = plots.fig7(tabs[T.DISENTANGLE_SCORES])
    ax = _panels(fig)[0]
    n_bars = len(tabs[T.DISENTANGLE_SCORES])
    assert sum(len(c) for c in ax.containers) == n_bars
    labels = [t for t in ax.texts if t.get_text().replace(".", "").isdigit()]
    assert len(labels) == n_bars
    assert "WSEPIN" in ax.get_ylabel()


def test_fig8_red_boxes_on_disentangled_cells(tabs):
    fig = plots.fig8(tabs[T.CORRELATIONS], tabs[T.DISENTANGLED_FEATURES])
    van, beta = _panels(fig)[:2]

    def red(ax):
        return [p for p in ax.patches if isinstance(p, Rectangle)
                and p.get_edgecolor()[:3] == (1.0, 0.0, 0.0)]

    assert red(van) == []
    boxes = red(beta)   # planted: metastasis on factor 7, sbs_40 on factors 1 and 5
    assert len(boxes) == 3
    assert sorted(int(b.get_y()) for b in boxes) == [1, 5, 7]
    assert "2 disentangled" in beta.get_title()


def test_fig9_and_s8_panels_per_latent_dim(tabs):
    fig = plots.fig9(tabs[T.RMIG])
    assert [p.get_title() for p in _panels(fig)] == ["10 latent dims", "20 latent dims"]
    s8 = plots.figS8(tabs[T.RMIG])
    panels = _panels(s8)
    assert [p.get_title() for p in panels] == [f"{d} latent dims" for d in (30, 50, 100, 200)]
    assert "no data" not in " ".join(t.get_text() for t in panels[0].texts)
    assert "no data" in " ".join(t.get_text() for t in panels[1].texts)   # 50 not run


def test_figS6_lowess_and_rho(tabs):
    fig = plots.figS6(tabs[T.RUNS_TCGA])
    ax = _panels(fig)[0]
    assert ax.get_xlabel().startswith("AIC") and ax.get_ylabel().startswith("ARI")
    assert any(ln.get_label() == "LOWESS" for ln in ax.get_lines())
    van = tabs[T.RUNS_TCGA].query("model == 'vanilla' and status == 'ok'")
    rho = stats.spearmanr(van.aic, van.ari).statistic
    assert f"ρ = {rho:.2f}" in ax.get_title()


# ------------------------------------------------------------------ missing data
@pytest.mark.parametrize("name", list(plots.FIGURES))
def test_every_figure_says_no_data_on_empty_tables(empty, name):
    fig = plots.draw(name, empty)
    assert isinstance(fig, Figure)
    assert "no data" in _texts(fig)


def test_smoke_sized_tables_one_config_per_model(tabs):
    """Smoke profile: one configuration per model, a single latent dim, no GTEx."""
    t = make_synthetic_tables(1, latent_dims=(10,), lrs=(1e-3,), inits=("kaiming_uniform",),
                              optimizers=("adam",), activations=("tanh",),
                              disentangle_dims=(10,))
    t = {k: normalise(v, k) for k, v in t.items()}
    t[T.RUNS_GTEX] = t[T.RUNS_GTEX].iloc[0:0]
    t[T.CONCORDANCE] = t[T.CONCORDANCE].iloc[0:0]
    for name in plots.FIGURES:
        assert isinstance(plots.draw(name, t), Figure)
        plt.close("all")
    assert "no data" in _texts(plots.fig6(t[T.RUNS_GTEX], t[T.CONCORDANCE]))
    rows = scorecard_rows(t)
    assert (rows.loc[rows.claim.str.contains("TCGA vs GTEx"), "agrees"] == NA).all()


def test_bad_arguments_name_the_problem(tabs):
    with pytest.raises(ValueError, match="score must be 'ari' or 'aic'"):
        F.loss_vs_score(plt.figure().add_subplot(), tabs[T.RUNS_TCGA], "vanilla", "elbo")
    with pytest.raises(KeyError, match="valid names"):
        plots.draw("fig99", tabs)
    with pytest.raises(ValueError, match="percentile"):
        plots.fig_loss_vs_downstream(tabs[T.RUNS_TCGA], "vanilla", percentile=0)


# ------------------------------------------------------------------ tables
def test_table1_and_s2_known_answers(tabs):
    t1 = plots.table1(tabs[T.DISENTANGLE_SCORES], tabs[T.DISENTANGLED_FEATURES])
    assert list(t1.columns) == [10, 20, 30]          # only the latent dims that were run
    assert t1.loc["β-VAE", 10] == 2 and t1.loc["Vanilla VAE", 10] == 0
    s2 = plots.tableS2(tabs[T.RUNS_TCGA])
    van = tabs[T.RUNS_TCGA].query("model == 'vanilla' and status == 'ok'")
    assert s2.loc["Vanilla VAE", "abs_rho_loss_ari"] == pytest.approx(
        abs(stats.spearmanr(van.val_loss, van.ari).statistic), abs=0.006)
    assert s2.loc["Vanilla VAE", "n_aic"] == len(van)
    s1 = plots.tableS1()
    assert "10" in s1.loc[["β-VAE"], "value"].tolist()
    iwae = s1.loc[["IWAE"]].set_index("constant")["value"]
    assert iwae["k"] == "5" and iwae["lr_gamma"] == "0.95"


def test_s1_constants_match_the_models_defaults():
    """The literal S1 Table equals what vae_core.models builds with (no drift)."""
    models = pytest.importorskip("vae_core.models")
    from vae_core.plots.paper_tables import S1_LR_GAMMA, S1_MODEL_CONSTANTS

    for m in models.MODELS:
        assert models.constants_of(m) == pytest.approx(S1_MODEL_CONSTANTS[m]), m
        cls = type(models.build(m, n_genes=8, latent_dim=2))
        assert getattr(cls, "lr_gamma", None) == S1_LR_GAMMA[m], m


def test_table1_counts_features_when_scores_lack_them():
    dis = pd.DataFrame({"model": ["dip", "dip"], "latent_dim": [20, 20],
                        "feature": ["age", "sbs_2"], "factors": ["3", "1;4"]})
    scores = pd.DataFrame({"model": ["dip"], "latent_dim": [20], "wsepin": [0.1],
                           "n_disentangled": [np.nan], "status": ["ok"]})
    assert plots.table1(scores, dis).loc["DIP-VAE", 20] == 2


# ------------------------------------------------------------------ scorecard known answers
def _row(rows, text):
    sel = rows[rows.claim.str.contains(text, regex=False)]
    assert len(sel) == 1, text
    return sel.iloc[0]


def test_scorecard_planted_effects(tabs):
    rows = scorecard_rows(tabs)
    van = tabs[T.RUNS_TCGA].query("model == 'vanilla' and status == 'ok'")
    r = _row(rows, "validation loss vs ARI")
    rho = abs(stats.spearmanr(van.val_loss, van.ari).statistic)
    assert r.this_run == f"{rho:.2f}" and r.n == len(van)
    assert r.agrees == (YES if abs(rho - 0.53) <= 0.2 else NO)
    r = _row(rows, "ARI vs AIC")
    rho = stats.spearmanr(van.ari, van.aic).statistic
    assert r.this_run == f"{rho:.2f}" and r.agrees == YES      # planted strongly negative
    assert _row(rows, "U(0,1)").agrees == YES
    assert _row(rows, "SGD").agrees == YES
    assert _row(rows, "extreme learning rates").agrees == YES
    r = _row(rows, "beta-TCVAE fails")
    n = int(((tabs[T.RUNS_TCGA].model == "betatc") & np.isclose(tabs[T.RUNS_TCGA].lr, .1)).sum())
    assert r.agrees == YES and r.this_run == f"{n}/{n} failed"
    assert _row(rows, "CAT-VAE never fails").agrees == YES
    assert _row(rows, "best on average (ARI)").agrees == YES
    assert _row(rows, "best on average (AIC)").agrees == YES
    assert _row(rows, "equal loss").agrees == YES
    assert _row(rows, "WSEPIN").agrees == YES
    assert _row(rows, "β-VAE: disentangled").agrees == YES    # 10:2 planted = paper's 2


def test_scorecard_detects_disagreement():
    t = {k: normalise(v, k) for k, v in make_synthetic_tables(
        2, latent_dims=(10, 50), lrs=(1e-1, 1e-3), inits=("kaiming_uniform",),
        optimizers=("adam",), activations=("tanh", "relu"), disentangle_dims=(10,)).items()}
    runs = t[T.RUNS_TCGA]
    # one beta-TCVAE run at lr 1e-1 survives; one CAT-VAE run fails
    i = runs.index[(runs.model == "betatc") & np.isclose(runs.lr, 0.1)][0]
    runs.loc[i, ["status", "ari", "aic", "val_loss"]] = ["ok", 0.3, 1.0, 1.0]
    j = runs.index[runs.model == "cat"][0]
    runs.loc[j, ["status", "ari"]] = ["failed", np.nan]
    # vanilla: loss perfectly monotone in ARI -> |rho| = 1, far from 0.53
    v = runs.index[(runs.model == "vanilla") & (runs.status == "ok")]
    runs.loc[v, "ari"] = np.linspace(0.1, 0.5, len(v))
    runs.loc[v, "val_loss"] = np.linspace(2.0, 1.0, len(v))
    rows = scorecard_rows(t)
    assert _row(rows, "beta-TCVAE fails").agrees == NO
    assert _row(rows, "CAT-VAE never fails").agrees == NO
    r = _row(rows, "validation loss vs ARI")
    assert r.this_run == "1.00" and r.agrees == NO and r.n == len(v)
    # values not in this grid -> n/a, not a guess
    assert _row(rows, "SGD").agrees == NA
    assert _row(rows, "U(0,1)").agrees == NA


def test_scorecard_concordance_rho_and_header():
    x = np.arange(10.0)
    y = np.array([1, 0, 3, 2, 5, 4, 9, 6, 8, 7], dtype=float)
    conc = pd.DataFrame({"model": "vanilla", "latent_dim": 10, "lr": 1e-3, "init": "normal",
                         "optimizer": "adam", "activation": "tanh", "ari_tcga": x,
                         "ari_gtex": y})
    t = {k: normalise(pd.DataFrame(columns=list(c)), k) for k, c in TABLE_COLUMNS.items()}
    t[T.CONCORDANCE] = normalise(conc, T.CONCORDANCE)
    rows = scorecard_rows(t)
    r = _row(rows, "TCGA vs GTEx")
    # hand-computed: sum d^2 = 20 -> rho = 1 - 6*20/(10*99) = 0.879; |0.879 - 0.7| <= 0.2
    assert r.this_run == "0.88" and r.n == 10 and r.agrees == YES
    t[T.CONCORDANCE]["ari_gtex"] = -y                      # sign flipped -> disagrees
    assert _row(scorecard_rows(t), "TCGA vs GTEx").agrees == NO
    md = plots.scorecard_markdown(rows, source="simulated", profile="quick")
    assert "SIMULATED" in md and "| Fig 6B |" in md
    md_real = plots.scorecard_markdown(rows, source="tcga", gtex_source="gtex")
    assert "SIMULATED" not in md_real and "TCGA side **tcga**" in md_real
    md_mixed = plots.scorecard_markdown(rows, source="tcga", gtex_source="simulated")
    assert "SIMULATED" in md_mixed and "GTEx-side cohort" in md_mixed


# ------------------------------------------------------------------ IO, save, expected files
def test_read_table_absent_is_empty_and_lr_snaps(tmp_path):
    df = read_table("p", T.RUNS_GTEX, tmp_path)
    assert len(df) == 0 and set(T.RUNS_COLUMNS) <= set(df.columns)
    d = paths.tables_dir("p", tmp_path)
    d.mkdir(parents=True)
    pd.DataFrame({"model": ["cat"], "lr": [0.00010000000000000002], "status": ["ok"]}).to_csv(
        d / T.RUNS_TCGA, index=False)
    back = read_table("p", T.RUNS_TCGA, tmp_path)
    assert back.lr.iloc[0] == 1e-4 and np.isnan(back.ari.iloc[0])


def test_save_writes_nonempty_png_and_pdf(tmp_path, tabs):
    fig = plots.fig7(tabs[T.DISENTANGLE_SCORES])
    png, pdf = plots.save_figure(fig, "x", tmp_path / "out")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 1_000
    csv, md = plots.save_table(plots.tableS1(), "s1", tmp_path / "out", title="S1")
    assert md.read_text().startswith("# S1") and "| β-VAE |" in md.read_text()
    assert pd.read_csv(csv).shape[0] == len(plots.tableS1())


def test_expected_files_is_the_one_list():
    from vae_core import downstream

    files = plots.EXPECTED_FILES
    n_metrics = len(downstream.metrics())
    assert len(files) == len(set(files)) == (2 * len(plots.FIGURES) + 2 * n_metrics
                                             + 2 * len(plots.TABLES) + 1)
    assert "scorecard.md" in files and "fig2_vanilla_loss_vs_downstream.pdf" in files
    assert {"metric_ari.png", "metric_aic.png"} <= set(files)
    assert set(plots.FIGURES) <= set(plots.FIGURE_BUILDERS)
    assert set(plots.FIGURE_BUILDERS) - set(plots.FIGURES) == {"metric_ari", "metric_aic"}
    assert set(plots.TABLE_BUILDERS) == set(plots.TABLES)


def test_figures_readme_is_generated_from_the_catalog():
    readme = (paths.REPO_ROOT / "figures" / "README.md").read_text()
    assert readme == plots.catalog.figures_readme(), (
        "figures/README.md is out of date: write it with "
        "vae_core.plots.catalog.figures_readme()")
    for name in list(plots.FIGURE_BUILDERS) + list(plots.TABLES):
        assert f"`{name}." in readme, f"figures/README.md does not map {name}"


def test_build_all_writes_every_expected_file_and_index(tmp_path):
    t = make_synthetic_tables(3, latent_dims=(10,), lrs=(1e-1, 1e-3), inits=("kaiming_uniform",),
                              optimizers=("adam",), activations=("tanh",),
                              disentangle_dims=(10, 20))
    for name, df in t.items():
        d = paths.tables_dir("tiny", tmp_path)
        d.mkdir(parents=True, exist_ok=True)
        df.to_csv(d / name, index=False)
    written = plots.build_all("tiny", tmp_path, source="simulated")
    out = paths.figures_dir("tiny", tmp_path)
    assert plots.missing_outputs(out, min_bytes=40) == []
    assert len(written) == len(plots.EXPECTED_FILES)
    assert "SIMULATED" in (out / "scorecard.md").read_text()
    nbdir = paths.results_dir("tiny", tmp_path) / "notebooks"
    nbdir.mkdir(parents=True)
    (nbdir / "06_figures.ipynb").write_text("{}")
    (nbdir / "06_figures.html").write_text("<html></html>")
    index = nbreport.write_index("tiny", tmp_path).read_text()
    assert 'href="notebooks/06_figures.html"' in index
    # every figure of the catalog, the per-metric figures (metric_ari, metric_aic) included
    n_figures = len(catalog.outputs(t, kind="figure"))
    assert n_figures == len(plots.FIGURES) + len(metric_registry.metrics())
    assert index.count("<img ") == n_figures
    assert 'src="../../figures/tiny/fig2_vanilla_loss_vs_downstream.png"' in index
    assert "tableS2_loss_spearman.md" in index and "Missing expected files" not in index


# ------------------------------------------------------------------ scorecard on designs
from synthetic import public_export_tables

from vae_core.plots import scorecard as SC
from vae_core.plots.stats import bootstrap_group_means, percentile_interval


def test_bootstrap_helpers_known_answers():
    # hand-computed: numpy's linear percentile of 1..100 at 2.5 / 97.5 is 3.475 / 97.525
    assert percentile_interval(np.arange(1, 101)) == pytest.approx((3.475, 97.525))
    m = bootstrap_group_means([np.full(7, 0.3), [1.0, np.nan, 1.0]], n_boot=50, seed=1)
    assert m.shape == (50, 2) and np.allclose(m[:, 0], 0.3) and np.allclose(m[:, 1], 1.0)
    a = bootstrap_group_means([np.arange(10.0)], n_boot=200, seed=3)
    assert np.array_equal(a, bootstrap_group_means([np.arange(10.0)], n_boot=200, seed=3))
    assert not np.array_equal(a, bootstrap_group_means([np.arange(10.0)], n_boot=200, seed=4))
    with pytest.raises(ValueError, match="group 1 has no finite value"):
        bootstrap_group_means([[1.0], [np.nan]])


def _opt_runs(sgd_shift: float, n_per: int = 30, seed: int = 0) -> pd.DataFrame:
    """Successful runs, one per configuration: latent dims x 3 optimizers, SGD shifted."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_per):
        for opt in ("adam", "rmsprop", "sgd"):
            ari = 0.4 + rng.normal(0, 0.05) + (sgd_shift if opt == "sgd" else 0.0)
            rows.append({"model": "vanilla", "latent_dim": 10, "lr": 1e-3, "init": "normal",
                         "optimizer": opt, "activation": "tanh", "repeat": 0, "key": f"{i}{opt}",
                         "status": "ok", "ari": ari, "seed": i, "val_loss": 1.0, "aic": 1.0})
    df = pd.DataFrame(rows)
    df["latent_dim"] = np.repeat(np.arange(n_per), 3)   # distinct configurations
    return normalise(df, T.RUNS_TCGA)


@pytest.mark.parametrize("shift, agrees, verdict", [
    (-0.2, YES, ": supported (interval above 0)"),
    (-0.03, YES, ": not resolved by this run (interval includes 0)"),
    (0.0, None, ": not "),                     # no effect: never "supported"
    (0.2, NO, ": not supported (interval below 0)")])
def test_underperforms_rows_carry_a_bootstrap_interval(shift, agrees, verdict):
    ok = _opt_runs(shift)
    row = SC._underperform_row(ok, "optimizer", ["sgd"], ["adam", "rmsprop"], "SGD")
    assert verdict in row["interval"] and "90 configurations (1000 resamples)" in row["interval"]
    if agrees is not None:
        assert row["agrees"] == agrees
    # point margin = min(mean adam, mean rmsprop) - mean sgd, hand-computed
    means = ok.groupby("optimizer")["ari"].mean()
    point = min(means["adam"], means["rmsprop"]) - means["sgd"]
    assert f"margin {point:+.3f}" in row["interval"]
    again = SC._underperform_row(ok, "optimizer", ["sgd"], ["adam", "rmsprop"], "SGD")
    assert again["interval"] == row["interval"]                     # seeded


def _designed_synthetic(n: int = 36) -> dict[str, pd.DataFrame]:
    from vae_core import grid
    from vae_core.keys import GRID_AXES

    hyper = ["latent_dim", "lr", "init", "optimizer", "activation"]
    t = make_synthetic_tables(0, latent_dims=tuple(GRID_AXES["latent_dim"]), repeats=2,
                              disentangle_dims=(10,))
    keep = pd.DataFrame([{a: getattr(c, a) for a in ["model", *hyper]} for c in grid.expand(
        {**{a: list(v) for a, v in GRID_AXES.items()}, "fraction": n})])
    for name in (T.RUNS_TCGA, T.RUNS_GTEX, T.CONCORDANCE):
        t[name] = t[name].merge(keep, on=["model", *hyper], how="inner")[t[name].columns]
    return {k: normalise(v, k) for k, v in t.items()}


@pytest.fixture(scope="module")
def designed() -> dict[str, pd.DataFrame]:
    return _designed_synthetic(36)


def test_scorecard_states_the_design_and_supports_planted_claims(designed):
    d = SC.design_summary(designed[T.RUNS_TCGA])
    assert d["design"] == "fraction: 36" and d["product"] == 1080 and d["all_levels"]
    assert set(d["configs_per_model"].values()) == {36} and d["repeats"] == 2
    assert d["trainings"] == 6 * 36 * 2
    assert SC.design_summary(designed[T.RUNS_GTEX])["repeats"] == 1
    full = SC.design_summary(make_synthetic_tables(0, **SMALL)[T.RUNS_TCGA])
    assert full["design"] == "full product" and full["product"] == 2 * 4 * 3 * 3 * 2
    rows = scorecard_rows(designed)
    for text in ("U(0,1)", "SGD", "extreme learning rates"):
        r = _row(rows, text)
        assert r.agrees == YES and "supported (interval above 0)" in r.interval, text
    assert (rows.loc[~rows.section.eq("Fig 4"), "interval"] == "").all()
    md = plots.scorecard_markdown(rows, source="simulated", design=SC.design_markdown(designed))
    assert "| TCGA side | fraction: 36 | 36 x 6 models |" in md
    assert "(1080) | yes | 2 | 432 |" in md and "| GTEx side | fraction: 36" in md
    assert "95% interval" in md and "1000 bootstrap resamples" in md


def test_scorecard_survival_rows_na_with_the_tables_reason(tabs):
    t = public_export_tables(tabs, survival=False, gtex=True, absent_features=())
    rows = scorecard_rows(t)
    surv = rows[rows.claim.str.contains("AIC")]
    assert len(surv) == 3
    assert (surv.this_run == "n/a: no survival data in this cohort").all()
    assert (surv.agrees == NA).all()
    assert _row(rows, "validation loss vs ARI").agrees != NA           # ARI rows unaffected
    # a reason of the table's own is quoted; no aic_reason column -> the default reason
    t[T.RUNS_TCGA]["aic_reason"] = np.where(t[T.RUNS_TCGA].status == "ok",
                                            "os_event all missing", "training failed")
    assert _row(scorecard_rows(t), "ARI vs AIC").this_run == "n/a: os_event all missing"
    t[T.RUNS_TCGA] = t[T.RUNS_TCGA].drop(columns=["aic_reason"])
    assert _row(scorecard_rows(t), "best on average (AIC)").this_run == \
        "n/a: no survival data in this cohort"


def test_scorecard_gtex_rows_na_without_a_gtex_cohort(tabs):
    t = public_export_tables(tabs, survival=True, gtex=False, absent_features=())
    rows = scorecard_rows(t)
    r = _row(rows, "TCGA vs GTEx")
    assert r.this_run == "n/a: no GTEx-side cohort" and r.agrees == NA
    assert "TCGA only: no GTEx-side cohort" in _row(rows, "CAT-VAE never fails").rule
    # gtex_source "none" wins even when stale GTEx tables are present
    rows = scorecard_rows(tabs, gtex_source="none")
    assert _row(rows, "CAT-VAE never fails").n == int((tabs[T.RUNS_TCGA].model == "cat").sum())
    rows = scorecard_rows({**tabs, T.CONCORDANCE: tabs[T.CONCORDANCE].iloc[0:0]},
                          gtex_source="none")
    assert _row(rows, "TCGA vs GTEx").this_run == "n/a: no GTEx-side cohort"


def test_index_page_renders_the_scorecard_as_a_marked_table(tmp_path, designed):
    out = paths.figures_dir("des", tmp_path)
    plots.write_scorecard(designed, out, source="simulated", profile="des",
                          gtex_source="simulated")
    rows = scorecard_rows(designed, gtex_source="simulated")
    page = nbreport.write_index("des", tmp_path).read_text()
    assert "<pre>" not in page and "| section |" not in page         # no raw Markdown
    # the full scorecard near the end of the page; each row also stands beside its figure
    full = page[page.index("<h2 id='scorecard'>"):page.index("<h2 id='notebooks'>")]
    assert full.count("<tr class='agree'>") == int((rows.agrees == YES).sum())
    assert full.count("<tr class='disagree'>") == int((rows.agrees == NO).sum())
    assert full.count("\u2714 agrees") == int((rows.agrees == YES).sum())
    assert page.count("\u2714 agrees") == 2 * int((rows.agrees == YES).sum())
    assert "<td>fraction: 36</td>" in page
    assert "<blockquote><strong>This run is on SIMULATED cohorts</strong>" in page
    assert "<td>vanilla VAE: |Spearman rho| validation loss vs ARI</td>" in page
    html_md = nbreport.scorecard_html("| a | agrees |\n|---|---|\n| x \\| y | **n/a** |\n")
    assert "<td>x | y</td>" in html_md and "<tr class='na'>" in html_md
