"""Grid (``docs/design.md``, "Grid and store", "Executors"): expansion, validation, the atomic
resumable store, local and Ray executors.

Most tests train with a fake ``fit``/``encode`` (a deterministic function of the config's seed,
monkeypatched into ``vae_core.train``) so they test the grid machinery in milliseconds; the tests
marked slow train with the real ``fit`` on a tiny cohort.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import anndata
import numpy as np
import pandas as pd
import pytest

from vae_core import grid, train
from vae_core.grid import store as gstore
from vae_core.keys import GRID_AXES, RECORD_COLUMNS
from vae_core.train import FitResult, TrainConfig

TESTS = Path(__file__).resolve().parent


# ----------------------------------------------------------------------------- helpers

def tiny_cohort(n: int = 120, g: int = 30, seed: int = 0) -> anndata.AnnData:
    """Three labels with planted mean shifts; X float32 z-scored per gene."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(["a", "b", "c"], n // 3)
    centers = rng.normal(0, 2, size=(3, g))
    X = centers[np.searchsorted(["a", "b", "c"], labels)] + rng.normal(size=(n, g))
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    obs = pd.DataFrame({"label": pd.Categorical(labels)}, index=[f"S{i:05d}" for i in range(n)])
    return anndata.AnnData(X=X, obs=obs)


class FakeModel:
    def __init__(self, seed: int, latent_dim: int):
        self.seed, self.latent_dim = seed, latent_dim


def fake_fit(config: TrainConfig, adata, delay: float = 0.0) -> FitResult:
    """Deterministic in the seed; lr 0.1 with sgd 'diverges' (status failed)."""
    time.sleep(delay or float(os.environ.get("FAKE_FIT_DELAY", "0")))
    rng = np.random.default_rng(config.seed)
    epochs = int(rng.integers(5, 12))
    losses = np.sort(rng.uniform(1, 2, size=epochs))[::-1]
    history = [{"epoch": e + 1, "train_loss": float(v) + 0.1, "val_loss": float(v)}
               for e, v in enumerate(losses)]
    idx = np.arange(adata.n_obs)
    if config.lr == 0.1 and config.optimizer == "sgd":
        return FitResult(config, "failed", 3, float("nan"), float(losses[0]), history[:3], None,
                         idx, idx, reason="nan loss at epoch 3")
    return FitResult(config, "ok", epochs, float(losses[-1]), float(losses.min()), history,
                     FakeModel(config.seed, config.latent_dim), idx, idx)


def fake_encode(model, X, *, mode="sample", seed=0, batch_size=4096) -> dict:
    rng = np.random.default_rng(model.seed)
    mu = rng.normal(size=(X.shape[0], model.latent_dim)).astype(np.float32)
    mu[:, 0] = 0.0  # one inactive unit
    logvar = np.full_like(mu, -1.0)
    z = mu + np.exp(0.5 * logvar) * np.random.default_rng(seed).normal(size=mu.shape)
    return {"z": z.astype(np.float32), "mu": mu, "logvar": logvar}


@pytest.fixture
def fake_train(monkeypatch):
    calls = []

    def fit(config, adata):
        calls.append(config)
        return fake_fit(config, adata)

    monkeypatch.setattr(train, "fit", fit)
    monkeypatch.setattr(train, "encode", fake_encode, raising=False)
    return calls


GRID_2x2 = {"model": ["vanilla", "cat"], "latent_dim": [10], "lr": [1e-3],
            "optimizer": ["adam", "sgd"], "repeats": 3}


def _comparable(df: pd.DataFrame) -> pd.DataFrame:
    return (df.drop(columns=["wall_time", "n_threads", "prov_time_utc"]).sort_values("key")
            .reset_index(drop=True))


# ----------------------------------------------------------------------------- expansion

def test_expand_counts_order_keys_and_seeds():
    configs = grid.expand(GRID_2x2)
    assert len(configs) == 2 * 2 * 3
    # repeats outermost, then keys.GRID_AXES order with the last axis (optimizer here) fastest
    got = [(c.repeat, c.model, c.optimizer) for c in configs]
    want = [(r, m, o) for r in range(3) for m in ("vanilla", "cat") for o in ("adam", "sgd")]
    assert got == want
    keys = [grid.config_key(c) for c in configs]
    assert len(set(keys)) == 12 and all(len(k) == 16 for k in keys)
    assert keys == [grid.config_key(c) for c in grid.expand(GRID_2x2)]  # stable across calls
    assert [c.seed for c in configs] == [grid.seed_from_key(k) for k in keys]
    assert len({c.seed for c in configs}) == 12
    # axes left out take the TrainConfig default; train fields are fixed for every config
    fixed = grid.expand({**GRID_2x2, "train": {"max_epochs": 40, "loss_scale": "elbo"}})
    assert {(c.init, c.activation, c.max_epochs, c.loss_scale) for c in fixed} == {
        ("kaiming_uniform", "tanh", 40, "elbo")}
    assert not set(map(grid.config_key, fixed)) & set(keys)  # other protocol, other keys


def test_precision_and_execution_fields_do_not_change_keys():
    """fp32 / bf16 runs of a configuration share its key (precision is an execution field)."""
    base = grid.expand(GRID_2x2)
    for fixed in ({"precision": "bf16"}, {"precision": "tf32"}, {"n_threads": 2},
                  {"device": "cpu"}):
        other = grid.expand({**GRID_2x2, "train": fixed})
        assert [grid.config_key(c) for c in other] == [grid.config_key(c) for c in base]
        assert [c.seed for c in other] == [c.seed for c in base]
    assert {c.precision for c in grid.expand({**GRID_2x2, "train": {"precision": "bf16"}})} == {
        "bf16"}
    with pytest.raises(ValueError, match="fp16.*bf16"):
        grid.expand({**GRID_2x2, "train": {"precision": "fp16"}})


def test_expand_normalises_numbers_given_as_strings():
    a = grid.expand({"lr": ["1e-3", 1.0e-1], "latent_dim": ["10", 50.0],
                     "train": {"max_epochs": "40", "min_delta": "1e-4"}})
    b = grid.expand({"lr": [0.001, 0.1], "latent_dim": [10, 50], "train": {"max_epochs": 40}})
    assert [grid.config_key(c) for c in a] == [grid.config_key(c) for c in b]
    assert [(c.latent_dim, c.lr) for c in a] == [(10, 1e-3), (10, 1e-1), (50, 1e-3), (50, 1e-1)]
    assert all(isinstance(c.latent_dim, int) and isinstance(c.max_epochs, int) for c in a)


def test_expand_list_of_specs_is_an_ordered_union_without_duplicates():
    s1 = {"model": ["vanilla", "beta"], "latent_dim": [10, 20]}
    s2 = {"model": ["beta", "cat"], "latent_dim": [20]}
    configs = grid.expand([s1, s2])
    assert [(c.model, c.latent_dim) for c in configs] == [
        ("vanilla", 10), ("vanilla", 20), ("beta", 10), ("beta", 20), ("cat", 20)]
    assert len(grid.expand([s1, s1])) == 4
    other = grid.expand(s1, base_seed=1)
    assert not set(map(grid.config_key, other)) & set(map(grid.config_key, grid.expand(s1)))


HALF = {"model": ["vanilla", "cat"], "latent_dim": [10, 50], "lr": [1e-1, 1e-3],
        "init": ["uniform", "kaiming_uniform"], "optimizer": ["adam", "sgd"],
        "activation": ["tanh", "relu"], "fraction": "half", "repeats": 2}


def test_half_fraction_is_the_balanced_resolution_v_design():
    configs = grid.expand(HALF)
    full = grid.expand({**HALF, "fraction": "full"})
    assert len(full) == 2 * 32 * 2 and len(configs) == 2 * 16 * 2
    assert {grid.config_key(c) for c in configs} <= {grid.config_key(c) for c in full}
    axes = ["latent_dim", "lr", "init", "optimizer", "activation"]
    codes = {a: {v: (1 if i else -1) for i, v in enumerate(HALF[a])} for a in axes}
    for model in ("vanilla", "cat"):
        rows = np.array([[codes[a][getattr(c, a)] for a in axes]
                         for c in configs if c.model == model and c.repeat == 0])
        assert len(rows) == 16
        assert len(set(rows.prod(axis=1))) == 1         # one defining relation I = +-ABCDE
        assert np.all(rows.sum(axis=0) == 0)           # each value of each axis 8 times
        # every pair of axes balanced: main effects and 2-factor interactions orthogonal
        assert np.all(rows.T @ rows == 16 * np.eye(5))
    # the GTEx-style half (activation fixed to the first value) is exactly the TCGA half's
    # configurations at that value, so every GTEx configuration has its TCGA twin
    gtex = grid.expand({**HALF, "activation": ["tanh"], "repeats": 1})
    twins = {grid.config_key(c) for c in configs if c.activation == "tanh" and c.repeat == 0}
    assert {grid.config_key(c) for c in gtex} == twins and len(twins) == 16


@pytest.mark.parametrize("spec, fragments", [
    ({**HALF, "fraction": "third"}, ["'fraction' must be one of", "'full'", "'half'"]),
    ({"model": ["vanilla"], "lr": [1e-1, 1e-3], "init": ["normal"], "fraction": "half"},
     ["at least two hyperparameter axes", "lr: 2", "init: 1"]),
    ({"modle": ["vanilla"]}, ["unknown axis 'modle'", "'latent_dim'", "'activation'"]),
    ({"model": ["vanilla", "vae"]}, ["unknown value 'vae'", "'betatc'", "'cat'"]),
    ({"lr": [-3e-3]}, ["invalid value -0.003", "positive number", "0.001"]),
    ({"latent_dim": [15.5]}, ["invalid value 15.5", "positive integer", "200"]),
    ({"init": ["he"]}, ["'xavier_normal'", "'kaiming_uniform'"]),
    ({"model": []}, ["no values"]),
    ({"model": ["vanilla"], "repeats": 0}, ["'repeats' must be an integer >= 1, got 0"]),
    ({"model": ["vanilla"], "repeats": 1.5}, ["integer >= 1"]),
    ({"train": {"epochs": 5}}, ["unknown train field 'epochs'", "'max_epochs'", "'patience'"]),
    ({"train": {"seed": 5}}, ["set by the grid"]),
    ({"train": {"loss_scale": "nats"}}, ["'published'", "'elbo'"]),
    ({"model": ["cat"], "train": {"model": "vanilla"}}, ["both as a grid axis"]),
])
def test_invalid_specs_are_rejected_with_the_valid_choices(spec, fragments):
    with pytest.raises(ValueError) as err:
        grid.expand(spec)
    for f in fragments:
        assert f in str(err.value)


def test_invalid_spec_in_a_list_is_rejected_before_anything_trains(fake_train, tmp_path):
    with pytest.raises(ValueError, match="unknown value 'sgdd'"):
        grid.run(grid.expand([{"model": ["vanilla"]}, {"optimizer": ["sgdd"]}]),
                 tiny_cohort(), tmp_path / "store", progress=False)
    assert fake_train == [] and not (tmp_path / "store").exists()


# ----------------------------------------------------------------------------- store and run

def test_run_writes_records_embeddings_history_and_resumes(fake_train, tmp_path):
    adata, store = tiny_cohort(), tmp_path / "store"
    spec = {"model": ["vanilla", "iwae"], "lr": [1e-1, 1e-3], "optimizer": ["adam", "sgd"]}
    configs = grid.expand(spec)
    df = grid.run(configs, adata, store, n_workers=1, keep=("z", "mu"), progress=False)
    assert len(fake_train) == 8 and len(df) == 8
    assert list(df["key"]) == [grid.config_key(c) for c in configs]  # order of configs
    assert set(RECORD_COLUMNS) <= set(df.columns) and set(GRID_AXES) <= set(df.columns)
    failed = df[df["status"] == "failed"]
    assert sorted(zip(failed["model"], failed["lr"], failed["optimizer"])) == [
        ("iwae", 0.1, "sgd"), ("vanilla", 0.1, "sgd")]
    assert (failed["reason"] == "nan loss at epoch 3").all() and (failed["epochs"] == 3).all()
    assert failed["active_units"].isna().all() and df[["ari", "aic", "n_clusters"]].isna().all().all()
    ok = df[df["status"] == "ok"]
    assert (ok["active_units"] == 9).all()  # latent 10, unit 0 constant in the fake encoder
    assert (df["cohort"] == "tcga").all() and (df["seed"] == [c.seed for c in configs]).all()

    key = ok["key"].iloc[0]
    cfg = next(c for c in configs if grid.config_key(c) == key)
    want = fake_encode(FakeModel(cfg.seed, 10), adata.X, seed=cfg.seed)
    z = grid.load_embedding(store, key, "z")
    assert z.dtype == np.float32 and z.shape == (120, 10)
    np.testing.assert_allclose(z, want["z"], rtol=1e-3, atol=1e-3)  # float16 on disk
    assert np.load(gstore.artifact_path(store, key))["z"].dtype == np.float16
    with pytest.raises(KeyError, match="was not kept"):
        grid.load_embedding(store, key, "logvar")
    with pytest.raises(KeyError, match="was not kept"):
        grid.load_embedding(store, failed["key"].iloc[0], "z")
    hist = grid.load_history(store, key)
    assert list(hist["epoch"]) == list(range(1, int(ok["epochs"].iloc[0]) + 1))
    assert hist["val_loss"].iloc[-1] == pytest.approx(ok["val_loss"].iloc[0])

    # resume: nothing trains again, same table; a bigger grid trains only the new keys
    fake_train.clear()
    again = grid.run(configs, adata, store, n_workers=1, keep=("z", "mu"), progress=False)
    assert fake_train == []
    pd.testing.assert_frame_equal(again, df)
    more = grid.expand({**spec, "latent_dim": [10, 20]})
    grid.run(more, adata, store, n_workers=1, progress=False)
    assert len(fake_train) == 8 and len(grid.load_records(store)) == 16

    summary = grid.status_summary(grid.load_records(store))
    row = summary[(summary["axis"] == "optimizer") & (summary["value"] == "sgd")].iloc[0]
    assert (row["ok"], row["failed"], row["total"]) == (4, 4, 8)


def test_store_ignores_partial_files_and_rejects_another_cohort(fake_train, tmp_path):
    adata, store = tiny_cohort(), tmp_path / "store"
    configs = grid.expand({"model": ["vanilla", "beta"]})
    grid.run(configs[:1], adata, store, n_workers=1, progress=False)
    # a writer killed mid-write leaves a hidden temp file; a kill between the two writes leaves
    # an orphan artifact without a record: neither counts as done
    key2 = grid.config_key(configs[1])
    rec = gstore.record_path(store, key2)
    rec.parent.mkdir(parents=True, exist_ok=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = rec.with_name(f".{rec.name}.{gstore.socket.gethostname().replace('.', '_')}."
                          f"{dead.pid}.abcd1234.tmp")
    stale.write_text('{"key": "trunc')
    gstore.artifact_path(store, key2).parent.mkdir(parents=True, exist_ok=True)
    gstore.artifact_path(store, key2).write_bytes(b"garbage")
    assert len(grid.load_records(store)) == 1
    df = grid.run(configs, adata, store, n_workers=1, progress=False)
    assert len(df) == 2 and not stale.exists()
    assert grid.load_embedding(store, key2).shape == (120, 10)
    with pytest.raises(ValueError, match="another cohort"):
        grid.run(configs, tiny_cohort(seed=1), store, n_workers=1, progress=False)


def test_exceptions_raise_or_become_failed_records(monkeypatch, tmp_path):
    def broken(config, adata):
        raise RuntimeError("boom")

    monkeypatch.setattr(train, "fit", broken)
    configs = grid.expand({"model": ["vanilla", "cat"]})
    with pytest.raises(RuntimeError, match="RuntimeError: boom"):
        grid.run(configs, tiny_cohort(), tmp_path / "a", n_workers=1, progress=False)
    assert len(grid.load_records(tmp_path / "a")) == 0
    df = grid.run(configs, tiny_cohort(), tmp_path / "b", n_workers=1, progress=False,
                  on_error="record")
    assert list(df["status"]) == ["failed", "failed"]
    assert list(df["reason"]) == ["error: RuntimeError: boom"] * 2


# ----------------------------------------------------------------------------- kill and resume

_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import numpy as np
from vae_core import grid, train
import test_grid as t
if {fake!r}:
    train.fit, train.encode = t.fake_fit, t.fake_encode  # noqa
spec = {spec!r}
grid.run(grid.expand(spec), t.tiny_cohort(), {store!r}, n_workers=1, keep=("z", "mu"),
         progress=False)
"""


def _grid_process(store: Path, spec: dict, fake: bool, delay: float) -> subprocess.Popen:
    code = textwrap.dedent(_SCRIPT.format(tests=str(TESTS), fake=fake, spec=spec,
                                          store=str(store)))
    env = {**os.environ, "FAKE_FIT_DELAY": str(delay), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_sigkill_part_way_then_resume_gives_the_uninterrupted_table(tmp_path):
    spec = {"model": ["vanilla", "beta", "cat"], "lr": [1e-1, 1e-3], "optimizer": ["adam", "sgd"],
            "repeats": 2}  # 24 trainings, 6 of them failing
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    proc = _grid_process(killed, spec, fake=True, delay=0.15)
    deadline = time.time() + 60
    while len(gstore.stored_keys(killed)) < 4 and time.time() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode()
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    n_before = len(gstore.stored_keys(killed))
    assert 4 <= n_before < 24
    for p in (killed / "records").glob("*/*.json"):
        json.loads(p.read_text())  # every record file complete
    for args in ((killed, spec), (clean, spec)):
        p = _grid_process(*args, fake=True, delay=0.0)
        assert p.wait(timeout=120) == 0, p.stdout.read().decode()
    a, b = grid.load_records(killed), grid.load_records(clean)
    assert len(a) == 24 and a["key"].is_unique
    pd.testing.assert_frame_equal(_comparable(a), _comparable(b))
    for key in a.loc[a["status"] == "ok", "key"]:
        np.testing.assert_array_equal(grid.load_embedding(killed, key, "mu"),
                                      grid.load_embedding(clean, key, "mu"))
    assert not list(killed.glob("*/*/.*.tmp"))


# ----------------------------------------------------------------------------- real fit, ray

TINY_TRAIN = {"max_epochs": 6, "min_epochs": 2, "hidden": 32, "batch_size": 32}


@pytest.mark.slow
def test_real_fit_local_processes_match_in_process(tmp_path):
    adata = tiny_cohort(150, 40)
    configs = grid.expand({"model": ["vanilla", "iwae"], "lr": [1e-3], "train": TINY_TRAIN})
    seq = grid.run(configs, adata, tmp_path / "seq", n_workers=1, progress=False,
                   keep=("z", "mu", "logvar"))
    assert (seq["status"] == "ok").all() and (seq["epochs"] >= 2).all()
    assert seq["val_loss"].notna().all() and (seq["active_units"] >= 0).all()
    assert grid.load_embedding(tmp_path / "seq", seq["key"][0], "logvar").shape == (150, 10)
    par = grid.run(configs, adata, tmp_path / "par", n_workers=2, progress=False,
                   keep=("z", "mu", "logvar"))
    cols = ["key", "status", "epochs", "val_loss", "best_val_loss", "active_units"]
    pd.testing.assert_frame_equal(seq[cols], par[cols], rtol=1e-4)


@pytest.mark.slow
def test_ray_executor_gives_the_same_numbers_as_local(monkeypatch, tmp_path):
    ray = pytest.importorskip("ray")
    from vae_core import plugins

    # a plugin loaded in the driver is loaded in the Ray workers too (it logs its pid)
    marker, plugin = tmp_path / "marker.txt", tmp_path / "ray_plugin.py"
    plugin.write_text("import os\npath = os.environ.get('VAE_TEST_RAY_MARKER')\n"
                      "if path:\n    open(path, 'a').write(f'{os.getpid()}\\n')\n")
    monkeypatch.setattr(plugins, "_LOADED", [])  # this test's plugins only
    monkeypatch.setenv("VAE_TEST_RAY_MARKER", str(marker))
    plugins.load([str(plugin)])
    adata = tiny_cohort(150, 40)
    configs = grid.expand({"model": ["vanilla", "cat"], "lr": [1e-3], "train": TINY_TRAIN})
    local = grid.run(configs, adata, tmp_path / "local", n_workers=1, progress=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = grid.run(configs, adata, tmp_path / "ray", executor="ray", progress=False)
    finally:
        ray.shutdown()
    pd.testing.assert_frame_equal(_comparable(local), _comparable(remote))
    pids = {int(p) for p in marker.read_text().split()}
    assert os.getpid() in pids and len(pids) >= 2, pids  # the driver and the Ray worker(s)
    for key in local["key"]:
        np.testing.assert_array_equal(grid.load_embedding(tmp_path / "local", key),
                                      grid.load_embedding(tmp_path / "ray", key))
