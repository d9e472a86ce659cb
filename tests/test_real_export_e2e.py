"""A cohort shaped like a real public export, through run_all.sh end to end.

The cohort (``tests/export_fixture.py::make_public_export``: probe-set IDs, log2 array values,
genes as rows, an annotation of every pandas column kind, no survival) runs with a smoke-sized
params file of its own (``run_all.sh --params FILE``), ``gtex_source: none``. Known answers:
run_all.sh exits 0, every file of ``EXPECTED_FILES`` exists, and the degraded outputs carry
their reasons: AIC "n/a: no survival data in this cohort" (notebook 03, run table, Fig 3B),
"n/a: no GTEx-side cohort" (notebook 04, Fig 6), the small-cohort KL-weight note (notebook 02),
the absent disentanglement features (notebook 05, Table 1) and the scorecard's n/a rows.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from export_fixture import make_public_export

from vae_core import paths
from vae_core.plots import EXPECTED_FILES

REPO = Path(__file__).resolve().parent.parent
PROFILE = "export_smoke"
NO_SURV = "no survival data in this cohort"
NO_GTEX = "no GTEx-side cohort"


def _export(out_dir: Path) -> dict:
    """The public-export cohort of ``export_fixture`` and how notebook 01 reads it."""
    expression, obs = make_public_export(out_dir)
    return {"expression": expression, "obs": obs, "label": "BT",
            "columns": {"age": "age", "sex": "gender"}, "genes_as_rows": True}


def _params(tmp_path: Path, export: dict) -> Path:
    p = yaml.safe_load((REPO / "params" / "smoke.yaml").read_text())
    p.update(profile=PROFILE, source="table", gtex_source="none",
             table_expression=str(export["expression"]), table_obs=str(export["obs"]),
             table_label=export["label"], table_genes_as_rows=export["genes_as_rows"],
             table_columns=export["columns"])
    # smoke-sized: four models on the grid (the CAT-VAE path included), the two of Fig 8 in
    # the disentanglement study; the other panels say "no data"
    p["grid_tcga"]["model"] = ["vanilla", "beta", "dip", "cat"]
    p["disentangle_models"] = ["vanilla", "beta"]
    p["wsepin_samples"] = 200
    path = tmp_path / "export.yaml"
    path.write_text(yaml.safe_dump(p, sort_keys=False))
    return path


def _outputs(nb: Path) -> str:
    cells = json.loads(nb.read_text())["cells"]
    text = []
    for c in cells:
        for o in c.get("outputs", []):
            text.append("".join(o.get("text", "")))
            text.append("".join(o.get("data", {}).get("text/plain", "")))
    return "\n".join(text)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_public_export_runs_through_every_notebook(tmp_path):
    export = _export(tmp_path / "cohort")
    params = _params(tmp_path, export)
    env = dict(os.environ, VAE_BENCH_ROOT=str(tmp_path), MPLBACKEND="Agg",
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    t0 = time.perf_counter()
    r = subprocess.run(["bash", str(REPO / "run_all.sh"), "--params", str(params)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=580,
                       check=False)
    print(f"public export end to end: {time.perf_counter() - t0:.0f} s\n{r.stdout[-3000:]}")
    assert r.returncode == 0, f"run_all.sh --params failed:\n{r.stdout[-3000:]}\n" \
                              f"{r.stderr[-3000:]}"

    fig_dir = paths.figures_dir(PROFILE, tmp_path)
    missing = [f for f in EXPECTED_FILES
               if not (fig_dir / f).is_file() or (fig_dir / f).stat().st_size == 0]
    assert not missing, f"missing outputs in {fig_dir}: {missing}"

    res = paths.results_dir(PROFILE, tmp_path)
    nbs = {p.stem[:2]: _outputs(p) for p in (res / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert sorted(nbs) == ["01", "02", "03", "04", "05", "06"]
    assert "loss_scale: elbo" in nbs["02"] and "B/N = 64/" in nbs["02"]
    assert f"n/a: {NO_SURV}" in nbs["03"]
    assert f"n/a: {NO_GTEX}" in nbs["04"]
    assert "n/a: feature absent" in nbs["05"]

    runs = pd.read_csv(paths.tables_dir(PROFILE, tmp_path) / "runs_tcga.csv",
                       keep_default_na=False)
    ok = runs[runs["status"] == "ok"]
    assert len(ok) and (ok["aic"] == "").all() and (ok["aic_reason"] == NO_SURV).all()
    assert (ok["ari"] != "").all()                          # clustering still scored
    base = pd.read_csv(paths.tables_dir(PROFILE, tmp_path) / "baseline_aic.csv",
                       keep_default_na=False)
    assert base["aic_reason"].iloc[0] == NO_SURV
    assert "n/a: feature absent" in (fig_dir / "table1_disentangled_features.md").read_text()

    card = (fig_dir / "scorecard.md").read_text()
    assert "n/a: no survival data" in card, card[-2000:]
    assert f"n/a: {NO_GTEX}" in card, card[-2000:]


def test_run_all_params_option_rejects_a_missing_file(tmp_path):
    r = subprocess.run(["bash", str(REPO / "run_all.sh"), "--params", str(tmp_path / "no.yaml")],
                       cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 2
    assert "no.yaml" in r.stderr and "is not a file" in r.stderr
