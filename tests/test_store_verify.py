"""Damaged files in a grid store (``docs/design.md``, "Grid and store", "Damaged files"):
``verify`` finds them and moves them into ``quarantine/``, readers name them, and a resumed
``grid.run`` trains exactly the damaged configurations again.

A tiny grid (4 configurations, 2 epochs, the real ``fit`` in this process) is trained once per
module; each test damages a copy of that store.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import anndata
import numpy as np
import pandas as pd
import pytest

from vae_core import grid, train
from vae_core.grid import store as gstore
from vae_core.grid.store import DamagedStoreWarning

TINY = {"max_epochs": 2, "min_epochs": 1, "hidden": 16, "batch_size": 32}
GRID_SPEC = {"model": ["vanilla", "beta"], "lr": [1e-3], "optimizer": ["adam", "sgd"], "train": TINY}


def _cohort(n: int = 90, g: int = 20, seed: int = 0) -> anndata.AnnData:
    rng = np.random.default_rng(seed)
    labels = np.repeat(["a", "b", "c"], n // 3)
    centers = rng.normal(0, 2, size=(3, g))
    X = centers[np.searchsorted(["a", "b", "c"], labels)] + rng.normal(size=(n, g))
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    obs = pd.DataFrame({"label": pd.Categorical(labels)}, index=[f"S{i:04d}" for i in range(n)])
    return anndata.AnnData(X=X, obs=obs)


ADATA = _cohort()
CONFIGS = grid.expand(GRID_SPEC)
KEYS = [grid.config_key(c) for c in CONFIGS]


def _run(store: Path) -> pd.DataFrame:
    return grid.run(CONFIGS, ADATA, store, n_workers=1, keep=("z", "mu"), progress=False)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("pristine") / "store"
    df = _run(store)
    assert len(df) == 4 and (df["status"] == "ok").all()
    return store


@pytest.fixture
def store(pristine, tmp_path) -> Path:
    """A fresh copy of the trained store."""
    return Path(shutil.copytree(pristine, tmp_path / "store"))


@pytest.fixture
def trained(monkeypatch) -> list[str]:
    """Keys trained from now on (the real ``fit``, counted)."""
    calls: list[str] = []
    real_fit = train.fit

    def fit(config, adata):
        calls.append(grid.config_key(config))
        return real_fit(config, adata)

    monkeypatch.setattr(train, "fit", fit)
    return calls


def _bytes(store: Path) -> dict[str, bytes]:
    return {k: gstore.record_path(store, k).read_bytes() for k in KEYS}


def _log(store: Path) -> list[dict]:
    return [json.loads(line) for line in (store / "quarantine" / "log.jsonl").read_text()
            .splitlines()]


def _resume_without_warnings(store: Path) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DamagedStoreWarning)
        return _run(store)


def _same_numbers(a: dict, b: dict) -> None:
    assert (a["status"], a["epochs"], a["seed"]) == (b["status"], b["epochs"], b["seed"])
    for col in ("val_loss", "best_val_loss", "active_units"):
        assert a[col] == pytest.approx(b[col], rel=1e-6), col


# ----------------------------------------------------------------------------- the three cases

def test_truncated_record_is_named_quarantined_and_retrained_alone(store, pristine, trained):
    key = KEYS[1]
    rec, art = gstore.record_path(store, key), gstore.artifact_path(store, key)
    data = rec.read_bytes()
    rec.write_bytes(data[: len(data) // 2])  # cut in the middle
    before = _bytes(store)

    # the table keeps the other three records and names the damaged file and the fix
    with pytest.warns(DamagedStoreWarning, match="1 of 4 record files are damaged") as rec_w:
        df = grid.load_records(store)
    text = str(rec_w[0].message)
    assert str(rec) in text and "not valid JSON" in text and "grid.verify(store)" in text
    assert sorted(df["key"]) == sorted(KEYS[:1] + KEYS[2:])

    with pytest.warns(DamagedStoreWarning, match="1 damaged configuration") as ver_w:
        report = grid.verify(store)
    assert str(rec) in str(ver_w[0].message) and "next grid.run" in str(ver_w[0].message)
    q = store / "quarantine"
    moved_rec = q / "records" / key[:2] / f"{key}.json"
    moved_art = q / "artifacts" / key[:2] / f"{key}.npz"
    assert (report.n_records, report.n_ok) == (4, 3)
    assert [p for p, _ in report.damaged] == [rec] and "not valid JSON" in report.damaged[0][1]
    assert report.quarantined == [moved_rec, moved_art]
    assert not rec.exists() and not art.exists()
    assert moved_rec.read_bytes() == data[: len(data) // 2] and moved_art.is_file()
    log = _log(store)
    assert [e["file"] for e in log] == [f"records/{key[:2]}/{key}.json",
                                         f"artifacts/{key[:2]}/{key}.npz"]
    assert all("not valid JSON" in e["reason"] and e["time_utc"].endswith("+00:00") for e in log)
    assert not trained

    df = _resume_without_warnings(store)
    assert trained == [key]  # exactly the damaged configuration trained again
    assert list(df["key"]) == KEYS and len(grid.load_records(store)) == 4
    after = _bytes(store)
    assert {k for k in KEYS if after[k] != before[k]} == {key}  # the others untouched
    _same_numbers(json.loads(after[key]),
                  json.loads(gstore.record_path(pristine, key).read_text()))
    assert grid.verify(store).n_ok == 4


def test_garbage_artifact_raises_naming_it_then_is_quarantined_and_retrained(store, trained):
    key = KEYS[2]
    rec, art = gstore.record_path(store, key), gstore.artifact_path(store, key)
    art.write_bytes(b"\x00garbage, not an npz archive" * 10)

    for load in (lambda: grid.load_embedding(store, key, "mu"),
                 lambda: grid.load_history(store, key)):
        with pytest.raises(ValueError, match="not an npz archive") as err:
            load()
        assert str(art) in str(err.value) and "grid.verify(store)" in str(err.value)
        assert "allow_pickle" not in str(err.value)
    grid.load_embedding(store, KEYS[0], "mu")  # the others still load

    with pytest.warns(DamagedStoreWarning, match="Nothing was moved"):
        dry = grid.verify(store, repair=False)
    assert (dry.n_ok, [p for p, _ in dry.damaged], dry.quarantined) == (3, [art], [])
    assert rec.exists() and art.exists()

    with pytest.warns(DamagedStoreWarning, match=str(art)):
        report = grid.verify(store)
    assert report.n_ok == 3 and report.damaged == dry.damaged
    assert [p.relative_to(store / "quarantine") for p in report.quarantined] == [
        rec.relative_to(store), art.relative_to(store)]
    assert not rec.exists() and not art.exists()

    df = _resume_without_warnings(store)
    assert trained == [key] and list(df["key"]) == KEYS
    assert grid.load_embedding(store, key, "mu").shape == (ADATA.n_obs, 10)
    assert len(grid.load_history(store, key)) == int(df.loc[df["key"] == key, "epochs"].iloc[0])


def test_intact_store_verifies_ok_and_moves_nothing(store):
    before = sorted(p.relative_to(store) for p in store.rglob("*"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = grid.verify(store)
        df = grid.load_records(store)
    assert (report.n_records, report.n_ok, report.damaged, report.quarantined) == (4, 4, [], [])
    assert report.ok and "4 records, 4 ok, 0 damaged" in str(report)
    assert sorted(p.relative_to(store) for p in store.rglob("*")) == before
    assert not (store / "quarantine").exists() and sorted(df["key"]) == sorted(KEYS)


# ----------------------------------------------------------------------------- more damage

def test_run_alone_repairs_a_damaged_store(store, trained):
    """No manual verify: grid.run quarantines at its start, warns, and retrains."""
    rec_key, art_key = KEYS[0], KEYS[3]
    gstore.record_path(store, rec_key).write_text('{"key": "' + rec_key)
    gstore.artifact_path(store, art_key).write_bytes(
        gstore.artifact_path(store, art_key).read_bytes()[:100])  # truncated archive
    with pytest.warns(DamagedStoreWarning, match="2 damaged configuration") as w:
        df = _run(store)
    text = str(w[0].message)
    assert str(gstore.record_path(store, rec_key)) in text
    assert str(gstore.artifact_path(store, art_key)) in text and "truncated" in text
    assert sorted(trained) == sorted([rec_key, art_key]) and list(df["key"]) == KEYS
    assert len(_log(store)) == 4


def test_wrong_key_missing_artifact_and_history_entry_are_damage(store):
    k0, k1, k2 = KEYS[:3]
    rec0 = gstore.record_path(store, k0)
    rec0.write_text(json.dumps({**json.loads(rec0.read_text()), "key": k1}))
    gstore.artifact_path(store, k1).unlink()
    art2 = gstore.artifact_path(store, k2)
    with np.load(art2) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "__history__"}
    with open(art2, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(ValueError, match="is missing although its record exists"):
        grid.load_embedding(store, k1)
    with pytest.raises(ValueError, match="has no history entry"):
        grid.load_history(store, k2)

    with pytest.warns(DamagedStoreWarning):
        report = grid.verify(store, repair=False)
    reasons = {p.relative_to(store).as_posix(): why for p, why in report.damaged}
    assert reasons[f"records/{k0[:2]}/{k0}.json"] == f"has key {k1!r}, not its file name's {k0!r}"
    assert reasons[f"artifacts/{k1[:2]}/{k1}.npz"] == "is missing"
    assert reasons[f"artifacts/{k2[:2]}/{k2}.npz"].startswith("has no history entry")
    assert report.n_ok == 1
    with pytest.warns(DamagedStoreWarning, match="has key"):
        assert k0 not in set(grid.load_records(store)["key"])


def test_record_damaged_during_a_run_raises_naming_file_and_fix(store, monkeypatch):
    victim, todo = KEYS[0], KEYS[1]
    gstore.record_path(store, todo).unlink()  # one configuration left to train
    real_fit = train.fit

    def fit(config, adata):  # another process damages a finished record meanwhile
        gstore.record_path(store, victim).write_text("{")
        return real_fit(config, adata)

    monkeypatch.setattr(train, "fit", fit)
    with pytest.raises(RuntimeError, match="1 of 4 records are missing or damaged") as err:
        _run(store)
    assert str(gstore.record_path(store, victim)) in str(err.value)
    assert "grid.verify(store)" in str(err.value)
    monkeypatch.setattr(train, "fit", real_fit)
    with pytest.warns(DamagedStoreWarning):
        assert list(_run(store)["key"]) == KEYS


def test_quarantine_keeps_the_relative_path_numbers_repeats_and_logs(tmp_path):
    store = tmp_path / "store"
    f = store / "scores" / "ab" / "x.parquet"
    f.parent.mkdir(parents=True)
    moved = []
    for i in range(3):
        f.write_text(f"bad {i}")
        moved.append(gstore.quarantine(store, f, f"reason {i}"))
        assert not f.exists()
    q = store / "quarantine" / "scores" / "ab"
    assert moved == [q / "x.parquet", q / "x.1.parquet", q / "x.2.parquet"]
    assert [p.read_text() for p in moved] == ["bad 0", "bad 1", "bad 2"]
    assert [(e["file"], e["to"], e["reason"]) for e in _log(store)] == [
        ("scores/ab/x.parquet", f"quarantine/scores/ab/{p.name}", f"reason {i}")
        for i, p in enumerate(moved)]
    outside = tmp_path / "elsewhere.json"
    outside.write_text("{}")
    with pytest.raises(ValueError, match="is not inside the grid store"):
        gstore.quarantine(store, outside, "x")
    with pytest.raises(ValueError, match="already in the quarantine folder"):
        gstore.quarantine(store, moved[0], "x")
    with pytest.raises(FileNotFoundError, match="no file"):
        gstore.quarantine(store, f, "x")


def test_verify_of_an_empty_or_missing_store(tmp_path):
    report = grid.verify(tmp_path / "nothing")
    assert (report.n_records, report.n_ok, report.damaged) == (0, 0, [])


def test_temp_files_of_dead_writers_are_removed_live_and_foreign_ones_kept(tmp_path):
    import socket
    import subprocess

    from vae_core.grid import scores

    host = socket.gethostname().replace(".", "_")
    dead = subprocess.Popen(["true"])
    dead.wait()   # a pid that no longer runs
    live = os.getpid()
    files = {
        f"records/ab/.k1.json.{host}.{dead.pid}.x1.tmp": False,
        f"artifacts/ab/.k1.npz.{host}.{live}.x2.tmp": True,
        f"records/ab/.k2.json.otherhost.{dead.pid}.x3.tmp": True,
        f"scores/ab/k1/.ari-0.json.{host}.{dead.pid}.x4.tmp": False,
    }
    for rel in files:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"partial")
    assert gstore.clean_stale_tmp(tmp_path) == 1        # records/artifacts: the dead writer's
    assert scores.clean_stale_tmp(tmp_path) == 1       # scores/: the dead writer's
    assert {rel: (tmp_path / rel).exists() for rel in files} == files
