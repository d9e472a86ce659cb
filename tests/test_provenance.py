"""Provenance of results (``vae_core.provenance``; ``docs/design.md``, "Grid and store").

- ``environment()`` and ``record_provenance(device)`` give plausible values (versions, commit,
  host, CPU, device, UTC time) and never import torch themselves;
- every record the grid writes carries a ``provenance`` dict, spread into ``prov_*`` columns by
  ``load_records``; records written before (no provenance) still load, with NaN there.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import re
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_grid import fake_train, tiny_cohort  # noqa: F401 - fake_train is a fixture

import vae_core
from vae_core import grid, provenance
from vae_core.grid import store as gstore

REPO = Path(vae_core.__file__).resolve().parent.parent
COMMIT = re.compile(r"^[0-9a-f]{40}(\+dirty)?$")


def _auto() -> str:
    """What device="auto" (the fakes' device) resolves to."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _assert_recent(text: str) -> None:
    when = dt.datetime.fromisoformat(text)
    assert when.utcoffset() == dt.timedelta(0), text
    age = dt.datetime.now(dt.UTC) - when
    assert dt.timedelta(seconds=-5) <= age < dt.timedelta(minutes=10), text


def _assert_plausible(prov: dict, device_prefix: str = "cpu") -> None:
    assert sorted(prov) == sorted(provenance.FIELDS)
    assert prov["vae_core"] == vae_core.__version__
    assert prov["python"] == platform.python_version()
    assert prov["host"] == socket.gethostname()
    import torch

    assert prov["torch"] == torch.__version__
    if (REPO / ".git").exists():
        assert prov["commit"] is not None and COMMIT.match(prov["commit"]), prov["commit"]
    else:  # pragma: no cover - tests run from a copy without git
        assert prov["commit"] is None
    assert prov["cpu"] and prov["cpu"] != "unknown"
    assert prov["device"].startswith(f"{device_prefix} (") and prov["device"].endswith(")")
    _assert_recent(prov["time_utc"])


def test_environment_and_record_provenance_are_plausible():
    env = provenance.environment()
    assert sorted(env) == ["commit", "cpu", "host", "python", "torch", "vae_core"]
    prov = provenance.record_provenance("cpu")
    assert list(prov) == list(provenance.FIELDS)
    _assert_plausible(prov)
    assert prov["device"] == f"cpu ({provenance.cpu_name()})"
    assert {k: prov[k] for k in env} == env
    json.dumps(prov)  # stored as JSON


def test_git_commit_is_computed_once_per_process_and_matches_git():
    provenance.git_commit()
    hits = provenance.git_commit.cache_info().hits
    commit = provenance.git_commit()
    assert provenance.git_commit.cache_info().hits == hits + 1
    if not (REPO / ".git").exists():  # pragma: no cover
        pytest.skip("not a git checkout")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                          text=True, check=True).stdout.strip()
    assert commit.split("+")[0] == head


def test_provenance_module_does_not_import_torch():
    code = ("import sys; from vae_core import provenance; provenance.record_provenance('cpu'); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO).stdout
    assert out.strip() == "False"


def test_grid_records_carry_provenance(fake_train, tmp_path):  # noqa: F811
    store = tmp_path / "store"
    configs = grid.expand({"model": ["vanilla", "cat"], "lr": [1e-1, 1e-3],
                           "optimizer": ["adam", "sgd"]})
    df = grid.run(configs, tiny_cohort(), store, n_workers=1, progress=False)
    assert len(df) == 8 and (df["status"] == "failed").sum() == 2
    for key in df["key"]:
        rec = json.loads(gstore.record_path(store, key).read_text())
        _assert_plausible(rec["provenance"], _auto())
    assert set(gstore.PROVENANCE_COLUMNS) <= set(df.columns)
    assert list(df.columns[-len(gstore.PROVENANCE_COLUMNS):]) == list(gstore.PROVENANCE_COLUMNS)
    assert "provenance" not in df.columns
    assert (df["prov_python"] == platform.python_version()).all()
    assert (df["prov_host"] == socket.gethostname()).all()
    assert df["prov_device"].str.startswith(f"{_auto()} ").all()
    for text in df["prov_time_utc"]:
        _assert_recent(text)
    pd.testing.assert_frame_equal(grid.load_records(store),
                                  df.sort_values("key").reset_index(drop=True))


def test_records_without_provenance_still_load(fake_train, tmp_path):  # noqa: F811
    store = tmp_path / "store"
    configs = grid.expand({"model": ["vanilla", "beta", "cat"]})
    grid.run(configs, tiny_cohort(), store, n_workers=1, progress=False)
    old_key = grid.config_key(configs[1])
    path = gstore.record_path(store, old_key)
    rec = json.loads(path.read_text())
    del rec["provenance"]  # a record as written before records carried provenance
    path.write_text(json.dumps(rec, sort_keys=True))
    df = grid.load_records(store).set_index("key")
    assert len(df) == 3
    assert df.loc[old_key, list(gstore.PROVENANCE_COLUMNS)].isna().all()
    others = df.drop(index=old_key)
    assert others[list(gstore.PROVENANCE_COLUMNS)].notna().all().all()
    # resuming over the old record keeps it and trains nothing
    fake_train.clear()
    again = grid.run(configs, tiny_cohort(), store, n_workers=1, progress=False)
    assert fake_train == [] and len(again) == 3

    # a store of old records only: the columns exist, all NaN
    for key in list(df.index):
        p = gstore.record_path(store, key)
        r = json.loads(p.read_text())
        r.pop("provenance", None)
        p.write_text(json.dumps(r, sort_keys=True))
    old = grid.load_records(store)
    assert len(old) == 3 and old[list(gstore.PROVENANCE_COLUMNS)].isna().all().all()
