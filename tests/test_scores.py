"""Scores kept per training in the grid store (``docs/design.md``, "Scores"): cache hits and
misses, SIGKILL and resume, damaged cells, executors, score after train, ``to_anndata``.

The stores are filled with the fake ``fit``/``encode`` of ``test_grid`` (random embeddings
from each configuration's seed), so the tests exercise the score store, not the training; the
embeddings are scored with the real metrics (Leiden ARI, Cox AIC) and toy registered ones.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_grid import fake_encode, fake_fit, tiny_cohort

from vae_core import downstream, grid, plugins, train
from vae_core.downstream import metric_registry
from vae_core.grid import scores
from vae_core.grid import store as gstore

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

# 8 configurations, 2 of them failing (lr 0.1 with sgd: fake_fit's divergence)
GRID_SPEC = {"model": ["vanilla", "cat"], "latent_dim": [10], "lr": [1e-1, 1e-3],
        "optimizer": ["adam", "sgd"], "repeats": 1}


def cohort(n: int = 120, seed: int = 0):
    """``tiny_cohort`` with the survival columns and covariates of a TCGA-like cohort."""
    adata = tiny_cohort(n, 30, seed)
    rng = np.random.default_rng(seed)
    adata.obs["age"] = rng.normal(60, 10, n)
    adata.obs["gender"] = pd.Categorical(rng.choice(["female", "male"], n))
    adata.obs["os_time"] = rng.exponential(1000, n)
    adata.obs["os_event"] = rng.integers(0, 2, n)
    return adata


@pytest.fixture
def clean_metrics():
    """Metrics a test registers are removed afterwards (the registry is process-wide)."""
    mets = dict(metric_registry._METRICS)
    yield
    metric_registry._METRICS.clear()
    metric_registry._METRICS.update(mets)


@pytest.fixture
def fake_store(monkeypatch, tmp_path):
    """A store of GRID_SPEC trained with the fake fit (6 ok, 2 failed), its cohort and records."""
    monkeypatch.setattr(train, "fit", fake_fit)
    monkeypatch.setattr(train, "encode", fake_encode, raising=False)
    adata = cohort()
    store = tmp_path / "store"
    records = grid.run(grid.expand(GRID_SPEC), adata, store, n_workers=1, progress=False,
                       keep=("z", "mu"))
    assert (records["status"] == "ok").sum() == 6
    return store, adata, records


def counting(calls: list):
    """A registered metric that counts its calls (``seed`` is one of its parameters)."""
    def fn(embedding, obs, *, seed=0):
        calls.append(seed)
        return {"mean_abs": float(np.abs(embedding).mean()) + 0 * seed}
    return fn


def _line(out: str) -> tuple[int, int]:
    m = re.search(r"downstream: (\d+) cached, (\d+) to compute", out)
    assert m, out
    return int(m.group(1)), int(m.group(2))


def _cells(store: Path) -> list[Path]:
    return sorted((store / scores.SCORES).glob("*/*/*.json"))


# ----------------------------------------------------------------------------- cache

def test_cached_rerun_computes_nothing_and_equals_evaluate_runs(fake_store, clean_metrics,
                                                                 capsys):
    store, adata, records = fake_store
    calls: list = []
    downstream.register_metric("mean_abs", counting(calls), higher_is_better=None)
    first = grid.score(store, adata, records=records)
    assert _line(capsys.readouterr().out) == (0, 6 * 3)  # 6 ok keys x (ari, aic, mean_abs)
    assert len(calls) == 6
    assert len(_cells(store)) == 18
    # the same table as evaluate_runs, which scores from scratch
    ref = downstream.evaluate_runs(
        records, lambda k: grid.load_embedding(store, k), adata.obs,
        load_mu=lambda k: grid.load_embedding(store, k, "mu"), progress=False)
    pd.testing.assert_frame_equal(first, ref)
    assert first["ari"].notna().sum() == 6 and first["aic"].notna().sum() == 6
    assert list(first.columns) == list(ref.columns)
    # an unchanged store re-scores nothing and gives the same table
    del calls[:]
    again = grid.score(store, adata, records=records)
    assert _line(capsys.readouterr().out) == (18, 0)
    assert calls == []
    pd.testing.assert_frame_equal(again, first)


def test_a_metric_registered_later_computes_only_its_own_cells(fake_store, clean_metrics,
                                                               capsys):
    store, adata, records = fake_store
    grid.score(store, adata, records=records, progress=False)
    calls: list = []
    downstream.register_metric("mean_abs", counting(calls), higher_is_better=None)
    runs = grid.score(store, adata, records=records)
    assert _line(capsys.readouterr().out) == (12, 6)
    assert len(calls) == 6
    assert runs["mean_abs"].notna().sum() == 6


def test_a_changed_parameter_misses_the_cache(fake_store, clean_metrics, capsys):
    store, adata, records = fake_store
    calls: list = []
    downstream.register_metric("mean_abs", counting(calls), higher_is_better=None)
    grid.score(store, adata, records=records, progress=False)
    # seed reaches the metrics that take it (ari, mean_abs), not aic
    grid.score(store, adata, records=records, seed=1)
    assert _line(capsys.readouterr().out) == (6, 12)
    assert calls == [0] * 6 + [1] * 6
    # Leiden iterations reach only ari; survival only aic
    grid.score(store, adata, records=records, metric_params={"ari": {"n_iterations": -1}})
    assert _line(capsys.readouterr().out) == (12, 6)
    gtex_like = grid.score(store, adata, records=records, survival=False)
    assert _line(capsys.readouterr().out) == (12, 6)
    assert (gtex_like.loc[gtex_like.status == "ok", "aic_reason"]
            == downstream.SURVIVAL_OFF).all()
    # the obs columns a metric reads are in its hash: new survival times miss aic (it reads
    # them) and mean_abs (a plugin metric: every obs column counts), not ari
    changed = adata.copy()
    changed.obs["os_time"] = changed.obs["os_time"] * 2
    grid.score(store, changed, records=records)
    assert _line(capsys.readouterr().out) == (6, 12)
    # and the same parameters again hit every cell
    grid.score(store, adata, records=records, seed=1)
    assert _line(capsys.readouterr().out) == (18, 0)


def test_another_cohort_or_kind_is_refused_or_missed(fake_store, capsys):
    store, adata, records = fake_store
    with pytest.raises(ValueError, match="trained on another cohort.*Pass the cohort"):
        grid.score(store, cohort(seed=1), records=records)
    with pytest.raises(ValueError, match="obs has 60 rows"):
        grid.score(store, adata.obs.iloc[:60], records=records)
    with pytest.raises(ValueError, match="unknown executor 'dask'"):
        grid.score(store, adata, executor="dask")
    grid.score(store, adata, records=records, progress=False)
    grid.score(store, adata.obs, records=records, kind="mu")  # obs alone is enough
    assert _line(capsys.readouterr().out) == (0, 12)


def test_a_retrained_key_is_scored_again(fake_store, capsys):
    store, adata, records = fake_store
    grid.score(store, adata, records=records, progress=False)
    key = records.loc[records.status == "ok", "key"].iloc[0]
    path = gstore.record_path(store, key)
    rec = json.loads(path.read_text())
    rec["provenance"]["time_utc"] = "2099-01-01T00:00:00+00:00"  # trained again, later
    gstore.atomic_write_bytes(path, json.dumps(rec, sort_keys=True).encode())
    grid.score(store, adata)
    assert _line(capsys.readouterr().out) == (10, 2)


def test_a_damaged_score_file_is_quarantined_and_recomputed(fake_store, capsys):
    store, adata, records = fake_store
    first = grid.score(store, adata, records=records, progress=False)
    cells = _cells(store)
    broken, wrong = cells[0], cells[1]
    broken.write_bytes(broken.read_bytes()[:40])  # torn (e.g. a bad copy)
    data = json.loads(wrong.read_text())
    del data["values"]
    wrong.write_text(json.dumps(data))
    with pytest.warns(gstore.DamagedStoreWarning) as caught:
        again = grid.score(store, adata, records=records)
    said = " ".join(str(w.message) for w in caught)
    assert str(broken) in said and str(wrong) in said and "no values" in said
    assert _line(capsys.readouterr().out) == (10, 2)
    pd.testing.assert_frame_equal(again, first)
    moved = sorted((store / "quarantine" / scores.SCORES).rglob("*.json"))
    assert [p.name for p in moved] == sorted([broken.name, wrong.name])
    json.loads(broken.read_text())  # written again, whole
    grid.score(store, adata, records=records)
    assert _line(capsys.readouterr().out) == (12, 0)


def test_a_metric_bug_is_reported_but_not_persisted(fake_store, clean_metrics, capsys):
    store, adata, records = fake_store
    downstream.register_metric("buggy", lambda e, o: {"buggy": 1 / 0})
    runs = grid.score(store, adata, records=records, metrics=["ari", "buggy"])
    assert _line(capsys.readouterr().out) == (0, 12)
    ok = runs[runs.status == "ok"]
    assert ok["buggy_reason"].str.startswith("ZeroDivisionError").all()
    assert ok["buggy"].isna().all()
    grid.score(store, adata, records=records, metrics=["ari", "buggy"])
    assert _line(capsys.readouterr().out) == (6, 6)  # the bug is computed again, ari cached


# ----------------------------------------------------------------------------- kill and resume

_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from vae_core import grid, plugins
import test_scores as t
plugins.load([{plugin!r}])
grid.score({store!r}, t.cohort(), progress=False).to_pickle({out!r})
"""

_SLOW_PLUGIN = """
import time
import numpy as np
from vae_core.downstream import register_metric

def slow(embedding, obs, *, seed=0):
    time.sleep(0.4)
    return {"slow": float(np.abs(embedding[:, 1]).mean())}

register_metric("slow", slow, higher_is_better=None)
"""


def _score_process(store: Path, plugin: Path, out: Path) -> subprocess.Popen:
    code = _SCRIPT.format(tests=str(TESTS), plugin=str(plugin), store=str(store), out=str(out))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env,
                            start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


@pytest.mark.slow
def test_sigkill_mid_scoring_then_rerun_equals_an_uninterrupted_run(monkeypatch, tmp_path):
    monkeypatch.setattr(train, "fit", fake_fit)
    monkeypatch.setattr(train, "encode", fake_encode, raising=False)
    spec = {"model": ["vanilla", "beta", "cat"], "lr": [1e-3], "optimizer": ["adam", "sgd"],
            "latent_dim": [10, 20]}  # 12 trainings, all ok
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    grid.run(grid.expand(spec), cohort(), killed, n_workers=1, progress=False)
    shutil.copytree(killed, clean)
    plugin = tmp_path / "slow_metric.py"
    plugin.write_text(_SLOW_PLUGIN)

    proc = _score_process(killed, plugin, tmp_path / "killed.pkl")
    deadline = time.time() + 120
    while len(list((killed / scores.SCORES).glob("*/*/slow-*.json"))) < 3:
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.time() < deadline, "scoring did not start"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    n_slow = len(list((killed / scores.SCORES).glob("*/*/slow-*.json")))
    assert 3 <= n_slow < 12
    for p in _cells(killed):
        json.loads(p.read_text())  # every cell file complete
    for store, out in ((killed, "killed.pkl"), (clean, "clean.pkl")):
        p = _score_process(store, plugin, tmp_path / out)
        assert p.wait(timeout=180) == 0, p.stdout.read().decode()
    a = pd.read_pickle(tmp_path / "killed.pkl")
    b = pd.read_pickle(tmp_path / "clean.pkl")
    assert len(a) == 12 and a["slow"].notna().all()
    pd.testing.assert_frame_equal(a, b)
    # one file per (key, metric), no partial or temporary file left
    for key_dir in (killed / scores.SCORES).glob("*/*"):
        names = sorted(p.name.split("-")[0] for p in key_dir.iterdir())
        assert names == ["aic", "ari", "slow"], (key_dir, names)
    assert not list((killed / scores.SCORES).rglob(".*.tmp"))


# ----------------------------------------------------------------------------- score after train

def test_run_with_score_after_train_leaves_nothing_to_compute(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(train, "fit", fake_fit)
    monkeypatch.setattr(train, "encode", fake_encode, raising=False)
    adata = cohort()
    store = tmp_path / "store"
    records = grid.run(grid.expand(GRID_SPEC), adata, store, n_workers=1, progress=False,
                       score={"seed": 0})
    assert len(_cells(store)) == 6 * 2
    runs = grid.score(store, adata, records=records)
    assert _line(capsys.readouterr().out) == (12, 0)
    # the same numbers as scoring afterwards from the stored (float16) embeddings
    fresh = tmp_path / "fresh"
    shutil.copytree(store, fresh)
    shutil.rmtree(fresh / scores.SCORES)
    pd.testing.assert_frame_equal(runs, grid.score(fresh, adata, records=records,
                                                   progress=False))
    with pytest.raises(ValueError, match="unknown scoring parameter.*'sed'"):
        grid.run(grid.expand(GRID_SPEC), adata, store, n_workers=1, score={"sed": 0})
    with pytest.raises(ValueError, match="'mu'.*does not store"):
        grid.run(grid.expand(GRID_SPEC), adata, store, n_workers=1, score={"kind": "mu"})


# ----------------------------------------------------------------------------- to_anndata

def test_to_anndata_best_explicit_and_several(fake_store, tmp_path):
    store, adata, records = fake_store
    with pytest.raises(ValueError, match="no persisted 'ari' scores.*grid.score"):
        grid.to_anndata(store, adata)
    runs = grid.score(store, adata, records=records, progress=False)
    ok = runs[runs.status == "ok"]

    best = grid.to_anndata(store, adata)
    want = ok.loc[ok["ari"].idxmax()]
    vae = best.uns["vae"]
    assert vae["key"] == want["key"] and vae["selected_by"]["rule"] == "max"
    np.testing.assert_array_equal(best.obsm["X_vae"], grid.load_embedding(store, want["key"]))
    assert "X_vae" not in adata.obsm  # a copy
    run = vae["runs"][want["key"]]
    assert run["config"]["model"] == want["model"] and run["record"]["status"] == "ok"
    assert run["scores"]["ari"]["ari"] == pytest.approx(want["ari"])
    assert run["scores"]["aic"]["aic"] == pytest.approx(want["aic"])
    assert run["provenance"]["host"]
    json.dumps(vae, allow_nan=False)  # JSON-able
    best.write_h5ad(tmp_path / "best.h5ad")  # and writable

    lowest_aic = grid.to_anndata(store, adata, metric="aic")
    assert lowest_aic.uns["vae"]["key"] == ok.loc[ok["aic"].idxmin(), "key"]

    k1, k2 = ok["key"].iloc[0], ok["key"].iloc[1]
    one = grid.to_anndata(store, adata, key=k1)
    assert one.uns["vae"]["key"] == k1 and one.uns["vae"]["selected_by"] == {}
    two = grid.to_anndata(store, adata, key=[k1, k2])
    m1, m2 = (ok.set_index("key").loc[k, "model"] for k in (k1, k2))
    assert {f"X_{m1}_{k1}", f"X_{m2}_{k2}", "X_vae"} <= set(two.obsm)
    np.testing.assert_array_equal(two.obsm["X_vae"], two.obsm[f"X_{m1}_{k1}"])
    with pytest.raises(KeyError, match="no training"):
        grid.to_anndata(store, adata, key="0123456789abcdef")
    import scanpy as sc

    sc.pp.neighbors(best, use_rep="X_vae", transformer="sklearn")
    assert "connectivities" in best.obsp


# ----------------------------------------------------------------------------- executors

def _plugin_metric(tmp_path: Path, monkeypatch) -> None:
    plugin = tmp_path / "pid_metric.py"
    plugin.write_text(textwrap.dedent("""
        import numpy as np
        from vae_core.downstream import register_metric

        def spread(embedding, obs, *, seed=0):
            return {"spread": float(embedding.std())}

        register_metric("spread", spread, higher_is_better=None)
    """))
    monkeypatch.setattr(plugins, "_LOADED", [])
    plugins.load([str(plugin)])


@pytest.mark.slow
def test_local_worker_processes_give_the_in_process_table(monkeypatch, tmp_path, clean_metrics,
                                                          capsys):
    monkeypatch.setattr(train, "fit", fake_fit)
    monkeypatch.setattr(train, "encode", fake_encode, raising=False)
    _plugin_metric(tmp_path, monkeypatch)
    adata = cohort()
    spec = {**GRID_SPEC, "latent_dim": [10, 20], "repeats": 2}  # 24 ok keys: enough for 2 workers
    store = tmp_path / "store"
    grid.run(grid.expand(spec), adata, store, n_workers=1, progress=False)
    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    here = grid.score(store, adata, n_jobs=1, progress=False)
    pooled = grid.score(copy, adata, n_jobs=2)
    assert "n_jobs=2" in capsys.readouterr().out
    pd.testing.assert_frame_equal(here, pooled)
    assert pooled["spread"].notna().sum() == 24
    # score after train in the grid's worker processes (real fit: workers do not see the fake)
    from test_grid import TINY_TRAIN

    monkeypatch.undo()
    _plugin_metric(tmp_path, monkeypatch)
    configs = grid.expand({"model": ["vanilla", "cat"], "lr": [1e-3], "train": TINY_TRAIN})
    trained = tmp_path / "trained"
    grid.run(configs, adata, trained, n_workers=2, progress=False, score=True)
    assert len(_cells(trained)) == 2 * 3
    after = grid.score(trained, adata)
    assert _line(capsys.readouterr().out) == (6, 0)
    fresh = tmp_path / "fresh"
    shutil.copytree(trained, fresh)
    shutil.rmtree(fresh / scores.SCORES)
    pd.testing.assert_frame_equal(after, grid.score(fresh, adata, progress=False))


@pytest.mark.slow
def test_ray_executor_scores_like_local_and_scores_after_train(monkeypatch, tmp_path,
                                                              clean_metrics, capsys):
    ray = pytest.importorskip("ray")
    from test_grid import TINY_TRAIN

    _plugin_metric(tmp_path, monkeypatch)
    adata = cohort(150)
    configs = grid.expand({"model": ["vanilla", "cat"], "lr": [1e-3], "train": TINY_TRAIN})
    local = tmp_path / "local"
    grid.run(configs, adata, local, n_workers=1, progress=False)
    on_ray = tmp_path / "ray"
    shutil.copytree(local, on_ray)
    ref = grid.score(local, adata, progress=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = grid.score(on_ray, adata, executor="ray")
        assert _line(capsys.readouterr().out) == (0, 6)
        trained = tmp_path / "trained_on_ray"
        grid.run(configs, adata, trained, executor="ray", progress=False, score=True)
    finally:
        ray.shutdown()
    pd.testing.assert_frame_equal(ref, remote)
    assert ref["spread"].notna().all()
    after = grid.score(trained, adata)
    assert _line(capsys.readouterr().out) == (6, 0)
    cols = ["key", "ari", "n_clusters", "aic", "spread"]
    pd.testing.assert_frame_equal(after[cols], ref[cols])


# ----------------------------------------------------------------------------- README

def _readme_block() -> str:
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    found = [b for b in blocks if "grid.to_anndata" in b]
    assert len(found) == 1, "README: expected one python block using grid.to_anndata"
    return found[0]


@pytest.mark.slow
def test_the_readme_to_anndata_example_runs_as_a_script(tmp_path):
    script = tmp_path / "example.py"
    script.write_text(_readme_block())
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, str(script)], check=False, cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert (tmp_path / "results" / "mine" / "grid" / "tcga" / scores.SCORES).is_dir()
    assert "X_umap" in res.stdout
