"""Balanced ``fraction: N`` designs (``docs/design.md``, "Designs"): balance, stability, subset
of the full grid's keys, top-up in the same store, rejection of impossible N, and figures drawn
from a designed run's tables."""

from __future__ import annotations

import itertools

import anndata
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from synthetic import make_synthetic_tables

from vae_core import grid, plots, train
from vae_core import tables as T
from vae_core.grid import design
from vae_core.keys import GRID_AXES
from vae_core.plots.io import normalise
from vae_core.train import FitResult, TrainConfig

HYPER = ["latent_dim", "lr", "init", "optimizer", "activation"]
#: The paper's grid (``docs/design.md``, "Grid"): 6 x 6 x 5 x 3 x 2 = 1080 configurations per
#: model.
PAPER = {a: list(GRID_AXES[a]) for a in GRID_AXES}


def _rows(configs, model=None, repeat=0):
    return [c for c in configs if (model is None or c.model == model) and c.repeat == repeat]


def _check_balanced(configs, axes, n):
    """Every level of every axis appears floor or ceil of n / levels times."""
    for a, values in axes.items():
        counts = pd.Series([getattr(c, a) for c in configs]).value_counts()
        assert set(counts.index) == set(values), a                 # every level present
        assert counts.sum() == n and counts.max() - counts.min() <= 1, (a, counts.to_dict())
        assert counts.min() == n // len(values)


def _pair_deviation(configs, axes) -> float:
    """Max over axis pairs and cells of |count - count_a * count_b / n| (hand-computed)."""
    n = len(configs)
    worst = 0.0
    for a, b in itertools.combinations(axes, 2):
        ca = pd.Series([getattr(c, a) for c in configs]).value_counts()
        cb = pd.Series([getattr(c, b) for c in configs]).value_counts()
        cab = pd.Series([(getattr(c, a), getattr(c, b)) for c in configs]).value_counts()
        for va, vb in itertools.product(axes[a], axes[b]):
            worst = max(worst, abs(cab.get((va, vb), 0) - ca[va] * cb[vb] / n))
    return worst


# ----------------------------------------------------------------------------- the design

def test_paper_grid_fraction_is_balanced_distinct_and_a_subset_of_the_full_keys():
    spec = {**PAPER, "model": ["vanilla", "cat"], "fraction": 36, "repeats": 2}
    configs = grid.expand(spec)
    assert len(configs) == 2 * 36 * 2
    full = grid.expand({**spec, "fraction": "full"})
    assert len(full) == 2 * 1080 * 2
    seed_of = {grid.config_key(c): c.seed for c in full}
    keys = [grid.config_key(c) for c in configs]
    assert len(set(keys)) == len(keys)                            # 144 distinct trainings
    assert all(seed_of[k] == c.seed for k, c in zip(keys, configs, strict=True))  # same seeds
    axes = {a: PAPER[a] for a in HYPER}
    per_model = {}
    for m in ("vanilla", "cat"):
        rows = _rows(configs, m)
        _check_balanced(rows, axes, 36)
        # 36 = 6 x 6: latent x lr is a Latin-square-like full cross, each pair exactly once
        assert len({(c.latent_dim, c.lr) for c in rows}) == 36
        assert _pair_deviation(rows, axes) < 1                     # every cell floor/ceil
        per_model[m] = {tuple(getattr(c, a) for a in HYPER) for c in rows}
    assert per_model["vanilla"] == per_model["cat"]                # paired across models
    # repeat 1 is the same configurations as repeat 0, repeats outermost
    assert [c.repeat for c in configs] == [0] * 72 + [1] * 72
    assert {tuple(getattr(c, a) for a in HYPER) for c in _rows(configs, "cat", 1)} == \
        per_model["cat"]
    rep = grid.design_report(spec)
    assert rep.n == 36 and rep.levels == (6, 6, 5, 3, 2) and rep.axes == tuple(HYPER)
    assert rep.pair_optimal and not rep.orthogonal and rep.worst_level_spread == 1
    assert rep.worst_pair_imbalance == pytest.approx(_pair_deviation(_rows(configs, "cat"), axes))


def test_fraction_180_of_the_paper_grid_is_an_orthogonal_array():
    configs = grid.expand({**PAPER, "model": ["beta"], "fraction": 180})
    assert len(configs) == 180
    axes = {a: PAPER[a] for a in HYPER}
    for a, b in itertools.combinations(HYPER, 2):
        cells = pd.Series([(getattr(c, a), getattr(c, b)) for c in configs]).value_counts()
        assert len(cells) == len(axes[a]) * len(axes[b])
        assert set(cells) == {180 // (len(axes[a]) * len(axes[b]))}, (a, b)
    rep = grid.design_report({**PAPER, "model": ["beta"], "fraction": 180})
    assert rep.orthogonal and rep.worst_pair_imbalance == 0.0


def test_small_known_answer_two_level_half_and_complement():
    # 2 x 2 x 2 in 4 runs: the only balanced designs are the two regular halves
    x, rep = design.balanced_design([2, 2, 2], 4, seed=0)
    assert rep.orthogonal and len({tuple(r) for r in x}) == 4
    assert len(set(x.sum(axis=1) % 2)) == 1                       # one defining relation
    # n above half the product: the complement of a balanced design, still balanced
    x, rep = design.balanced_design([3, 3, 2], 14, seed=3)
    assert len({tuple(r) for r in x}) == 14 and rep.worst_level_spread <= 1
    assert rep.pair_optimal
    x, rep = design.balanced_design([3, 2], 6, seed=0)             # n = product: the product
    assert [tuple(r) for r in x] == list(itertools.product(range(3), range(2)))


def test_design_is_stable_for_a_seed_and_differs_for_another():
    spec = {**PAPER, "model": ["vanilla"], "fraction": 60}
    keys = [grid.config_key(c) for c in grid.expand(spec)]
    design._design_cached.cache_clear()                            # recompute, not the cache
    assert [grid.config_key(c) for c in grid.expand(spec)] == keys
    other = {grid.config_key(c) for c in grid.expand({**spec, "design_seed": 1})}
    assert other != set(keys) and len(other) == 60
    # base_seed is the design seed when the spec gives none; keys then change with it too
    assert grid.design_report(spec, base_seed=1).seed == 1
    assert grid.design_report({**spec, "design_seed": 5}, base_seed=1).seed == 5
    # the order a spec lists its values in does not change the design
    rev = {**spec, "lr": PAPER["lr"][::-1], "init": PAPER["init"][::-1]}
    assert {grid.config_key(c) for c in grid.expand(rev)} == set(keys)


@pytest.mark.parametrize("spec, fragments", [
    ({**PAPER, "fraction": 5}, ["fraction 5 is smaller than the largest number of levels",
                                "(6, axis 'latent_dim')", "at least 6", "1080"]),
    ({"model": ["cat"], "init": PAPER["init"], "optimizer": ["adam", "sgd"], "fraction": 4},
     ["at least 5", "axis 'init'"]),
    ({**PAPER, "fraction": 1081}, ["larger than the full product of 1080", "'fraction: full'"]),
    ({"lr": [1e-1, 1e-3], "fraction": 3}, ["larger than the full product of 2"]),
    ({**PAPER, "fraction": 36, "design_seed": -1}, ["'design_seed' must be an integer >= 0"]),
    ({**PAPER, "design_seed": 2}, ["'design_seed' applies only to 'fraction: N'"]),
    ({**PAPER, "fraction": True}, ["'fraction' must be one of", "or an integer N"]),
    ({**PAPER, "fraction": "quarter"}, ["'full'", "'half'", "integer N"]),
])
def test_impossible_fractions_are_rejected_with_the_fix(spec, fragments):
    with pytest.raises(ValueError) as err:
        grid.expand(spec)
    for f in fragments:
        assert f in str(err.value), (f, str(err.value))


def test_half_and_full_are_unchanged_and_n_equal_to_the_product_is_the_full_grid():
    spec = {"model": ["vanilla"], "latent_dim": [10, 50], "lr": [1e-1, 1e-3],
            "optimizer": ["adam", "sgd"]}
    full = [grid.config_key(c) for c in grid.expand(spec)]
    assert [grid.config_key(c) for c in grid.expand({**spec, "fraction": 8})] == full
    half = grid.expand({**spec, "fraction": "half"})
    assert [(c.latent_dim, c.lr, c.optimizer) for c in half] == [
        (10, 1e-1, "adam"), (10, 1e-3, "sgd"), (50, 1e-1, "sgd"), (50, 1e-3, "adam")]
    assert grid.design_report(spec) is None and grid.design_report([spec, spec]) == [None, None]
    assert grid.expand({**spec, "fraction": "4"}) == grid.expand({**spec, "fraction": 4})


# ----------------------------------------------------------------------------- top-up

def _cohort(n: int = 60, g: int = 8) -> anndata.AnnData:
    rng = np.random.default_rng(0)
    obs = pd.DataFrame({"label": pd.Categorical(np.repeat(["a", "b", "c"], n // 3))},
                       index=[f"S{i:04d}" for i in range(n)])
    return anndata.AnnData(X=rng.normal(size=(n, g)).astype(np.float32), obs=obs)


class _Model:
    def __init__(self, seed, latent_dim):
        self.seed, self.latent_dim = seed, latent_dim


@pytest.fixture
def fake_train(monkeypatch):
    calls: list[TrainConfig] = []

    def fit(config, adata):
        calls.append(config)
        idx = np.arange(adata.n_obs)
        hist = [{"epoch": 1, "train_loss": 1.0, "val_loss": 1.0}]
        return FitResult(config, "ok", 1, 1.0, 1.0, hist, _Model(config.seed, config.latent_dim),
                         idx, idx)

    def encode(model, X, *, mode="sample", seed=0, batch_size=4096):
        mu = np.random.default_rng(model.seed).normal(size=(X.shape[0], model.latent_dim))
        mu = mu.astype(np.float32)
        return {"z": mu, "mu": mu, "logvar": np.zeros_like(mu)}

    monkeypatch.setattr(train, "fit", fit)
    monkeypatch.setattr(train, "encode", encode, raising=False)
    return calls


def test_designed_run_is_topped_up_to_the_full_grid_in_the_same_store(fake_train, tmp_path):
    spec = {"model": ["vanilla", "iwae"], "latent_dim": [10, 20, 50], "lr": [1e-1, 1e-3, 1e-4],
            "optimizer": ["adam", "sgd"], "repeats": 1}
    adata, store = _cohort(), tmp_path / "store"
    designed = grid.expand({**spec, "fraction": 6})
    assert len(designed) == 2 * 6
    grid.run(designed, adata, store, n_workers=1, progress=False)
    assert len(fake_train) == 12
    fake_train.clear()
    full = grid.expand({**spec, "fraction": "full"})
    df = grid.run(full, adata, store, n_workers=1, progress=False)
    trained = {grid.config_key(c) for c in fake_train}
    assert len(fake_train) == 36 - 12                              # only the rest trains
    assert trained == {grid.config_key(c) for c in full} - {grid.config_key(c)
                                                             for c in designed}
    assert len(df) == 36 and df["key"].is_unique
    assert len(grid.load_records(store)) == 36


# ----------------------------------------------------------------------------- figures

def _designed_tables(n: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Synthetic tables of the full paper grid, cut to the configurations of a fraction-n
    design (as a designed run's notebooks would write them)."""
    t = make_synthetic_tables(seed, latent_dims=tuple(GRID_AXES["latent_dim"]),
                              disentangle_dims=(10, 20))
    keep = pd.DataFrame([{a: getattr(c, a) for a in ["model", *HYPER]}
                         for c in grid.expand({**PAPER, "fraction": n})])
    cols = ["model", *HYPER]
    for name in (T.RUNS_TCGA, T.RUNS_GTEX, T.CONCORDANCE):
        df = t[name]
        t[name] = df.merge(keep, on=cols, how="inner")[df.columns]
    return {k: normalise(v, k) for k, v in t.items()}


@pytest.fixture(scope="module")
def designed36() -> dict[str, pd.DataFrame]:
    return _designed_tables(36)


@pytest.mark.parametrize("name, cohort", [("fig4_hyperparameters_tcga", T.RUNS_TCGA),
                                          ("figS7_hyperparameters_gtex", T.RUNS_GTEX),
                                          ("fig5_failures", T.RUNS_TCGA)])
def test_fig4_s7_and_fig5_draw_every_level_of_a_designed_run(designed36, name, cohort):
    t = designed36
    assert len(t[cohort]) == 6 * 36
    fig = plots.draw(name, t)
    texts = "\n".join(x.get_text() for x in fig.findobj(matplotlib.text.Text))
    assert "no data" not in texts and "n/a" not in texts
    panels = [a for a in fig.axes if a.get_label() != "<colorbar>"]
    n_levels = [len(GRID_AXES[a]) for a in HYPER]
    if name == "fig5_failures":
        assert len(panels) == 6 * 5
        for i, ax in enumerate(panels):
            # one bar pair per level; the bars of a (model, axis) panel add up to N = 36
            assert len(ax.get_xticks()) == n_levels[i % 5]
            assert sum(p.get_height() for p in ax.patches) == 36
    else:
        for ax, k in zip(panels, n_levels, strict=True):
            assert len(ax.get_legend().get_texts()) == k           # every level has a box
    plt.close("all")


def test_design_bench_prints_the_table(capsys):
    from benchmarks import design as bench

    assert bench.main(["--levels", "3", "3", "2", "--n", "9"]) == 0
    out = capsys.readouterr().out
    assert "full product 18" in out and "worst pair imbalance" in out
