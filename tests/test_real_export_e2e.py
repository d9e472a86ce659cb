"""A cohort shaped like a real public export, through run_all.sh end to end (issue 13 D).

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

import numpy as np
import pandas as pd
import pytest
import yaml

from vae_core import paths
from vae_core.plots import EXPECTED_FILES

REPO = Path(__file__).resolve().parent.parent
PROFILE = "export_smoke"
NO_SURV = "no survival data in this cohort"
NO_GTEX = "no GTEx-side cohort"


def _fallback_export(out_dir: Path, n_samples: int = 120, n_probes: int = 600,
                     seed: int = 0) -> dict:
    """A minimal public-export-shaped cohort (used only when tests/export_fixture.py is absent).

    Genes-as-rows TSV.gz of log2 array values 2-14 with probe-set IDs, and an annotation with a
    lineage label, sex F/M with gaps, age with gaps, m/d/yyyy dates, dotted names, free text;
    no survival columns.
    """
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    lineage = np.array(["B1", "B2", "B3", "T"])[rng.integers(0, 4, n_samples)]
    samples = [f"{i:02d}{j:03d}" for i, j in zip(rng.integers(1, 60, n_samples),
                                                 range(n_samples), strict=True)]
    probes = [f"{1000 + i}_at" if i % 3 else f"{1000 + i}_s_at" for i in range(n_probes)]
    centre = rng.normal(0, 1.2, (4, n_probes))
    cls = pd.Series(lineage).map({"B1": 0, "B2": 1, "B3": 2, "T": 3}).to_numpy()
    expr = np.clip(7 + 2 * rng.normal(0, 0.6, n_probes) + centre[cls]
                   + rng.normal(0, 0.8, (n_samples, n_probes)), 2, 14)
    ex_path = out_dir / "expression.tsv.gz"
    pd.DataFrame(expr.T, index=pd.Index(probes, name="probe"), columns=samples).round(4).to_csv(
        ex_path, sep="\t", compression="gzip")
    age = rng.integers(1, 60, n_samples).astype(float)
    age[rng.uniform(size=n_samples) < 0.1] = np.nan
    sex = np.where(rng.uniform(size=n_samples) < 0.5, "F", "M").astype(object)
    sex[rng.uniform(size=n_samples) < 0.05] = None
    dates = [f"{m}/{d}/{y}" for m, d, y in zip(rng.integers(1, 13, n_samples),
                                               rng.integers(1, 29, n_samples),
                                               rng.integers(1997, 2001, n_samples), strict=True)]
    obs = pd.DataFrame({"cod": samples, "BT": lineage, "sex": sex, "age": age,
                        "date.cr": dates, "mol.biol": rng.choice(["BCR/ABL", "NEG", "ALL1/AF4"],
                                                                 n_samples),
                        "citog": np.where(rng.uniform(size=n_samples) < 0.2, None,
                                          rng.choice(["normal", "t(9;22)", "complex"],
                                                     n_samples))})
    obs_path = out_dir / "annotation.csv"
    obs.to_csv(obs_path, index=False)
    return {"expression": ex_path, "obs": obs_path, "label": "BT",
            "columns": {"age": "age", "sex": "gender"}, "genes_as_rows": True}


def _export(out_dir: Path) -> dict:
    try:
        from export_fixture import make_public_export
    except ImportError:
        return _fallback_export(out_dir)
    return _normalise_fixture(make_public_export(out_dir), out_dir)


def _normalise_fixture(made, out_dir: Path) -> dict:
    """Accept what ``make_public_export`` returns: a mapping with the expression / obs paths
    (and maybe label / columns), or a (expression, obs) pair."""
    if isinstance(made, tuple | list):
        made = {"expression": made[0], "obs": made[1]}
    made = dict(made)
    aliases = {"expression": ("expression", "table_expression", "expression_path", "expr"),
               "obs": ("obs", "table_obs", "obs_path", "annotation")}
    out = {}
    for key, names in aliases.items():
        for n in names:
            if n in made:
                out[key] = Path(made[n])
                break
        else:
            raise KeyError(f"make_public_export returned {sorted(made)}; need {names[0]}")
    out["label"] = made.get("label", made.get("table_label", "BT"))
    out["columns"] = made.get("columns", made.get("table_columns",
                                                  {"age": "age", "sex": "gender"}))
    out["genes_as_rows"] = bool(made.get("genes_as_rows", made.get("table_genes_as_rows", True)))
    return out


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
