"""run_all.sh argument handling and the notebook-failure report (no notebook execution here)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from vae_core import nbreport

REPO = Path(__file__).resolve().parent.parent


def _run(*args, cwd="/"):
    return subprocess.run(["bash", str(REPO / "run_all.sh"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=False)


def test_unknown_profile_lists_valid_ones():
    r = _run("--profile", "bogus")
    assert r.returncode == 2
    assert "bogus" in r.stderr and "quick" in r.stderr and "smoke" in r.stderr


def test_unknown_argument_rejected():
    r = _run("--frobnicate")
    assert r.returncode == 2 and "--frobnicate" in r.stderr


def test_missing_data_dir_rejected(tmp_path):
    r = _run("--data-dir", str(tmp_path / "nope"))
    assert r.returncode == 2 and "not a directory" in r.stderr


def test_params_profiles_exist_and_share_keys():
    import yaml

    keys = {}
    for prof in ("smoke", "quick", "paper"):
        p = yaml.safe_load((REPO / "params" / f"{prof}.yaml").read_text())
        assert p["profile"] == prof
        keys[prof] = set(p)
    assert keys["smoke"] == keys["quick"] == keys["paper"]


def test_failing_cell_is_named(tmp_path):
    nb = {"cells": [
        {"cell_type": "markdown", "source": "# t"},
        {"cell_type": "code", "execution_count": 1, "source": "x = 1", "outputs": []},
        {"cell_type": "code", "execution_count": 2, "source": "# comment\nraise ValueError('bad n_top_genes')",
         "outputs": [{"output_type": "error", "ename": "ValueError", "evalue": "bad n_top_genes",
                      "traceback": []}]},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    msg = nbreport.failing_cell(path)
    assert "#2" in msg and "ValueError: bad n_top_genes" in msg and "raise ValueError" in msg
