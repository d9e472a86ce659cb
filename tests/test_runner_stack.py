"""Stacks in the grid runner (``docs/design.md``, "Stacked training"): ``grid.run(...,
stack_size=...)``.

- ``stacks`` groups compatible configurations (equal ``train.stack_group_key``, the one rule
  ``fit_many`` stacks by too) into stacks of at most ``stack_size``; incompatible ones never
  share a stack;
- ``default_stack_size`` is 1 on CPU and ``CUDA_STACK_SIZE`` on CUDA;
- with a fake ``fit_many`` (one call per stack, counted) the records, embeddings and histories are
  those of ``stack_size=1``; a partially stored stack trains only its missing members;
- an exception inside ``fit_many`` is an error for each member (raise or record);
- with the real ``fit_many``: stacked records equal unstacked ones (status, epochs; val_loss
  within 1e-3 relative), through the in-process path and the loky pool.
"""

from __future__ import annotations

import anndata
import numpy as np
import pandas as pd
import pytest
import torch

from vae_core import grid, train
from vae_core.grid import runner
from vae_core.grid import store as gstore
from vae_core.train import TrainConfig

TINY_TRAIN = {"max_epochs": 6, "min_epochs": 2, "hidden": 32, "batch_size": 32}


# ----------------------------------------------------------------------------- fakes

def tiny_cohort(n: int = 120, g: int = 30, seed: int = 0) -> anndata.AnnData:
    """Three labels with planted mean shifts; X float32 z-scored per gene."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(["a", "b", "c"], n // 3)
    centers = rng.normal(0, 2, size=(3, g))
    X = centers[np.searchsorted(["a", "b", "c"], labels)] + rng.normal(size=(n, g))
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    obs = pd.DataFrame({"label": pd.Categorical(labels)}, index=[f"S{i:05d}" for i in range(n)])
    return anndata.AnnData(X=X, obs=obs)


# the deterministic fakes of the grid tests (one definition; test_grid's fit also takes a delay)
from test_grid import fake_encode, fake_fit


@pytest.fixture
def fakes(monkeypatch):
    """fit, fit_many and encode replaced by deterministic fakes; the calls are recorded."""
    calls: dict[str, list] = {"fit": [], "fit_many": []}

    def fit(config, adata):
        calls["fit"].append(grid.config_key(config))
        return fake_fit(config, adata)

    def fit_many(configs, adata, *, device="auto", stack_size=None):
        configs = list(configs)
        assert stack_size is None or len(configs) <= stack_size
        calls["fit_many"].append([grid.config_key(c) for c in configs])
        return [fake_fit(c, adata) for c in configs]

    monkeypatch.setattr(train, "fit", fit)
    monkeypatch.setattr(train, "fit_many", fit_many, raising=False)
    monkeypatch.setattr(train, "encode", fake_encode)
    return calls


GRID = {"model": ["vanilla", "cat"], "latent_dim": [10], "lr": [1e-1, 1e-3],
        "init": ["kaiming_uniform", "xavier_normal"], "optimizer": ["adam", "sgd"],
        "repeats": 2}  # 32 trainings in 4 compatible groups (model x optimizer) of 8


def _comparable(df: pd.DataFrame) -> pd.DataFrame:
    return (df.drop(columns=["wall_time", "prov_time_utc"]).sort_values("key")
            .reset_index(drop=True))


# ----------------------------------------------------------------------------- grouping

def test_stacks_group_compatible_configurations_only():
    configs = grid.expand(GRID)
    out = runner.stacks(configs, 3)
    # 4 groups of 8 -> 3 + 3 + 2 each
    assert sorted(len(s) for s in out) == [2] * 4 + [3] * 8
    assert sorted(grid.config_key(c) for s in out for c in s) == sorted(
        grid.config_key(c) for c in configs)
    position = {grid.config_key(c): i for i, c in enumerate(configs)}
    for s in out:
        assert len({(c.model, c.optimizer, c.latent_dim, c.activation) for c in s}) == 1
        assert len({train.stack_group_key(c) for c in s}) == 1
        pos = [position[grid.config_key(c)] for c in s]
        assert pos == sorted(pos)  # members in input order
    firsts = [position[grid.config_key(s[0])] for s in out]
    assert firsts == sorted(firsts)  # stacks in the order of their first member
    # a fixed field outside the axes separates stacks too
    more = configs + grid.expand({**GRID, "train": {"hidden": 64}})
    for s in runner.stacks(more, 100):
        assert len({c.hidden for c in s}) == 1
    assert len(runner.stacks(more, 100)) == 8
    # stack_size 1: one configuration per stack, input order
    assert [s[0] for s in runner.stacks(configs, 1)] == configs
    with pytest.raises(ValueError, match="stack_size must be >= 1, got 0"):
        runner.stacks(configs, 0)


def test_stack_group_key_shares_exactly_the_stack_fields():
    base = TrainConfig(model="beta", latent_dim=20)
    same = TrainConfig(model="beta", latent_dim=20, lr=0.1, init="xavier_normal", seed=7,
                       repeat=3, max_epochs=50, min_epochs=2, patience=5, min_delta=1e-2,
                       embedding="mean")  # per member in fit_many: may share a stack
    assert train.stack_group_key(base) == train.stack_group_key(same)
    for change in ({"latent_dim": 10}, {"optimizer": "sgd"}, {"activation": "relu"},
                   {"batch_size": 32}, {"model": "dip"}, {"hidden": 64}, {"loss_scale": "elbo"},
                   {"train_fraction": 0.8}, {"precision": "bf16"}, {"n_threads": 2},
                   {"device": "cpu"}):
        assert train.stack_group_key(TrainConfig(**{**base.to_dict(), **change})) != \
            train.stack_group_key(base), change
    assert {f for f, _ in train.stack_group_key(base)} == set(train.STACK_FIELDS)


def test_the_grid_stacks_by_the_rule_fit_many_stacks_by():
    configs = [c for fixed in ({"max_epochs": 7}, {"max_epochs": 9}, {"hidden": 64})
               for c in grid.expand({**GRID, "train": fixed})]
    for size in (1, 3, 100):
        assert runner.stacks(configs, size) == [
            [configs[i] for i in ids] for ids in train.plan_stacks(configs, size)]
    # different early-stopping fields share a stack; a different hidden width does not
    assert len(runner.stacks(configs, 100)) == 8


def test_default_stack_size_is_one_on_cpu_and_larger_on_cuda(monkeypatch):
    assert runner.default_stack_size("cpu") == 1
    if not torch.cuda.is_available():
        assert runner.default_stack_size("auto") == 1
    monkeypatch.setattr(train, "resolve_device", lambda device: torch.device("cuda"))
    assert runner.default_stack_size("cuda") == runner.CUDA_STACK_SIZE > 1


@pytest.mark.parametrize("bad", [0, -2, 2.5, "4", True])
def test_bad_stack_size_is_rejected_before_anything_trains(fakes, tmp_path, bad):
    with pytest.raises(ValueError, match="stack_size must be an integer >= 1 or None"):
        grid.run(grid.expand(GRID), tiny_cohort(), tmp_path / "s", stack_size=bad,
                 progress=False)
    assert fakes == {"fit": [], "fit_many": []} and not (tmp_path / "s").exists()


# ----------------------------------------------------------------------------- fake fit_many

def test_stacked_records_equal_unstacked_and_one_call_per_stack(fakes, tmp_path):
    adata, configs = tiny_cohort(), grid.expand(GRID)
    one = grid.run(configs, adata, tmp_path / "one", n_workers=1, stack_size=1,
                   keep=("z", "mu"), progress=False)
    assert len(fakes["fit"]) == 32 and fakes["fit_many"] == []
    fakes["fit"].clear()
    many = grid.run(configs, adata, tmp_path / "many", n_workers=1, stack_size=4,
                    keep=("z", "mu"), progress=False)
    assert fakes["fit"] == []
    assert [len(s) for s in fakes["fit_many"]] == [4] * 8
    assert [s for call in fakes["fit_many"] for s in call] == [
        grid.config_key(c) for s in runner.stacks(configs, 4) for c in s]
    assert list(many["key"]) == list(one["key"])  # order of configs, not of stacks
    pd.testing.assert_frame_equal(_comparable(one), _comparable(many))
    assert (many["status"] == "failed").sum() == 8  # lr 0.1 with sgd
    for key in one.loc[one["status"] == "ok", "key"]:
        np.testing.assert_array_equal(grid.load_embedding(tmp_path / "one", key, "mu"),
                                      grid.load_embedding(tmp_path / "many", key, "mu"))
        pd.testing.assert_frame_equal(grid.load_history(tmp_path / "one", key),
                                      grid.load_history(tmp_path / "many", key))


def test_resume_of_a_partly_stored_stack_trains_only_its_missing_members(fakes, tmp_path):
    adata, configs = tiny_cohort(), grid.expand(GRID)
    store = tmp_path / "store"
    first = runner.stacks(configs, 8)[0]  # one whole compatible group
    stored = first[:5] + [configs[-1]]
    grid.run(stored, adata, store, n_workers=1, stack_size=1, progress=False)
    fakes["fit"].clear()
    df = grid.run(configs, adata, store, n_workers=1, stack_size=8, progress=False)
    trained = [k for call in fakes["fit_many"] for k in call]
    want = {grid.config_key(c) for c in configs} - {grid.config_key(c) for c in stored}
    assert sorted(trained) == sorted(want) and len(trained) == 26  # nothing twice
    assert [grid.config_key(c) for c in first[5:]] in fakes["fit_many"]  # the 3 missing
    assert sorted(len(c) for c in fakes["fit_many"]) == [3, 7, 8, 8]
    assert len(df) == 32 and len(gstore.stored_keys(store)) == 32
    fakes["fit_many"].clear()
    again = grid.run(configs, adata, store, n_workers=1, stack_size=8, progress=False)
    assert fakes["fit_many"] == [] and fakes["fit"] == []
    pd.testing.assert_frame_equal(again, df)


def test_an_exception_in_fit_many_is_an_error_for_every_member(fakes, monkeypatch, tmp_path):
    def broken(configs, adata, *, device="auto", stack_size=None):
        raise RuntimeError("stack exploded")

    monkeypatch.setattr(train, "fit_many", broken)
    configs = grid.expand({"model": ["vanilla"], "lr": [1e-3, 1e-2], "repeats": 2})
    with pytest.raises(RuntimeError, match="RuntimeError: stack exploded"):
        grid.run(configs, tiny_cohort(), tmp_path / "a", n_workers=1, stack_size=4,
                 progress=False)
    assert len(grid.load_records(tmp_path / "a")) == 0
    df = grid.run(configs, tiny_cohort(), tmp_path / "b", n_workers=1, stack_size=4,
                  progress=False, on_error="record")
    assert list(df["status"]) == ["failed"] * 4
    assert list(df["reason"]) == ["error: RuntimeError: stack exploded"] * 4


def test_stacked_wall_time_is_the_members_share(fakes, monkeypatch, tmp_path):
    class Clock:  # the runner's clock, advanced by the fake stack only
        now = 0.0

        def perf_counter(self) -> float:
            return self.now

    clock = Clock()

    def slow_many(configs, adata, *, device="auto", stack_size=None):
        clock.now += 4.0
        return [fake_fit(c, adata) for c in configs]

    monkeypatch.setattr(runner, "time", clock)
    monkeypatch.setattr(train, "fit_many", slow_many)
    configs = grid.expand({"model": ["vanilla"], "lr": [1e-3, 1e-2], "repeats": 2})
    df = grid.run(configs, tiny_cohort(), tmp_path / "s", n_workers=1, stack_size=4,
                  progress=False)
    # 4 s for the stack of 4: each member is charged its quarter (encoding takes no clock time)
    assert list(df["wall_time"]) == [1.0] * 4


# ----------------------------------------------------------------------------- real fit_many

REAL_GRID = {"model": ["vanilla", "iwae"], "latent_dim": [10], "lr": [1e-3, 1e-2],
             "init": ["kaiming_uniform", "xavier_normal"], "repeats": 1,
             "train": TINY_TRAIN}  # 8 trainings, 2 groups of 4


def _close(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a, b = a.sort_values("key").reset_index(drop=True), b.sort_values("key").reset_index(drop=True)
    assert list(a["key"]) == list(b["key"])
    assert list(a["status"]) == list(b["status"]) and list(a["epochs"]) == list(b["epochs"])
    np.testing.assert_allclose(a["val_loss"], b["val_loss"], rtol=1e-3)
    np.testing.assert_allclose(a["best_val_loss"], b["best_val_loss"], rtol=1e-3)
    drop = ["wall_time", "val_loss", "best_val_loss", "active_units", "prov_time_utc"]
    pd.testing.assert_frame_equal(a.drop(columns=drop), b.drop(columns=drop))


@pytest.mark.slow
def test_real_fit_many_records_equal_fit_records_and_resume_counts(monkeypatch, tmp_path):
    adata, configs = tiny_cohort(150, 40), grid.expand(REAL_GRID)
    one = grid.run(configs, adata, tmp_path / "one", n_workers=1, stack_size=1, progress=False)
    assert (one["status"] == "ok").all()
    many = grid.run(configs, adata, tmp_path / "many", n_workers=1, stack_size=4,
                    progress=False)
    _close(one, many)

    real, calls = train.fit_many, []

    def counting(cfgs, adata, **kwargs):
        calls.append([grid.config_key(c) for c in cfgs])
        return real(cfgs, adata, **kwargs)

    monkeypatch.setattr(train, "fit_many", counting)
    store = tmp_path / "resumed"
    stored = runner.stacks(configs, 4)[0][:3]
    grid.run(stored, adata, store, n_workers=1, stack_size=4, progress=False)
    calls.clear()
    resumed = grid.run(configs, adata, store, n_workers=1, stack_size=4, progress=False)
    assert [len(c) for c in calls] == [1, 4]  # the stored stack's one missing member, then 4
    _close(one, resumed)


@pytest.mark.slow
def test_real_fit_many_through_the_worker_pool(tmp_path):
    adata, configs = tiny_cohort(150, 40), grid.expand(REAL_GRID)
    one = grid.run(configs, adata, tmp_path / "one", n_workers=1, progress=False)
    pooled = grid.run(configs, adata, tmp_path / "pool", n_workers=2, stack_size=2,
                      progress=False)
    _close(one, pooled)
