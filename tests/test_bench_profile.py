"""The profile benchmark's projection arithmetic on hand-made measurements.

The benchmark itself trains at the paper's size (minutes per training) and is run by hand; here
its projection is checked against a total computed by hand from the formula in its docstring.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import profile

PARAMS = Path(__file__).resolve().parents[1] / "params"


def _meas() -> dict:
    row = {"epochs": 10, "n_train": 7710, "n_genes": 5000, "status": "ok"}
    return {"trainings": [dict(row, cohort="tcga", train_s=100.0, downstream_s=5.0),
                          dict(row, cohort="tcga", train_s=300.0, downstream_s=7.0),
                          dict(row, cohort="gtex", train_s=250.0, downstream_s=8.0)],
            "data_s": 10.0, "warmup_s": 2.0}


def test_projection_matches_hand_computed_total():
    params = profile.load_profile("paper_lite", PARAMS)
    params["grid_tcga"]["fraction"] = 6
    params["grid_gtex"]["fraction"] = 12
    p = profile.project(params, _meas(), "paper_lite", cores=2, seed=0)
    # 6 models x N configurations, one repeat; notebook 05: 6 models x 6 latent dims
    assert p["counts"] == {"grid_tcga": 36, "grid_gtex": 72}
    assert p["n05"] == 36
    assert p["per_training"] == {"tcga": 200.0, "gtex": 250.0}
    core = (36 * 200 + 72 * 250 + 36 * 200          # trainings: TCGA grid, GTEx grid, nb 05
            + 36 * 6.0 + 72 * 8.0                   # downstream: mean of 5 and 7 s; 8 s
            + 36 * profile.WSEPIN_S_200)            # nb 05 scoring bound, 10,000 MC samples
    assert p["core_s"] == pytest.approx(core)
    wall = core / 2 + 10.0 + profile.LOAD_REAL_S + 3 * 2.0
    assert p["wall_s"] == pytest.approx(wall)


def test_projection_scales_scoring_with_mc_samples_and_skips_loading_on_simulated_data():
    params = profile.load_profile("quick", PARAMS)
    p = profile.project(params, _meas(), "quick", cores=2, seed=0)
    assert p["load_s"] == 0.0  # simulated cohorts: nothing to load
    n_mc = params["wsepin_samples"]
    assert p["parts_core_s"]["notebook 05 scoring (bound)"] == pytest.approx(
        p["n05"] * profile.WSEPIN_S_200 * n_mc / 10000)


def test_unknown_profile_names_the_valid_ones():
    with pytest.raises(ValueError, match="valid: .*paper_lite"):
        profile.load_profile("nightly", PARAMS)


def test_worst_case_uses_the_highest_cost_per_epoch_of_each_model():
    params = profile.load_profile("paper_lite", PARAMS)
    params["grid_tcga"]["fraction"] = params["grid_gtex"]["fraction"] = 6
    params["train"]["max_epochs"] = 10
    models = params["grid_tcga"]["model"]
    meas = _meas()
    meas["trainings"][0]["config"] = "vanilla/d10/lr0.001/normal/adam/relu"  # 100 s / 10 epochs
    for r in meas["trainings"][1:]:
        r["config"] = "beta/d10/lr0.001/normal/adam/relu"
    meas["per_epoch"] = {"tcga": {m: 2.0 for m in models}, "gtex": {m: 3.0 for m in models}}
    b = profile.bound(params, meas, seed=0)
    # vanilla's sampled TCGA training (10 s/epoch) and beta's (30 s/epoch) beat the 2 s measured
    assert b["per_epoch"]["tcga"]["vanilla"] == 10.0 and b["per_epoch"]["tcga"]["beta"] == 30.0
    assert b["per_epoch"]["gtex"]["beta"] == 25.0 and b["per_epoch"]["gtex"]["cat"] == 3.0
    tcga = 6 * (10.0 + 30.0 + 4 * 2.0) * 10           # 6 configurations per model, 10 epochs
    gtex = 6 * (3.0 + 25.0 + 4 * 3.0) * 10
    nb05 = 6 * (10.0 + 30.0 + 4 * 2.0) * 10           # 6 latent dims per model, TCGA costs
    assert b["parts_core_s"] == pytest.approx(
        {"grid_tcga": tcga, "grid_gtex": gtex, "notebook 05": nb05})
    assert b["core_s"] == pytest.approx(tcga + gtex + nb05)
    assert profile.bound(params, _meas(), seed=0) is None  # no per-epoch measurements
