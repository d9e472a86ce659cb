"""The downstream benchmark's projection arithmetic on hand-made measurements.

The benchmark itself times Leiden ARI and Cox AIC at the paper's sizes (minutes) and is run by
hand (README, "What scoring costs"); here its interpolation, workload and projection are checked
against answers computed by hand from the formulas in its docstrings. No timing is asserted.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from benchmarks import downstream as bench

PARAMS = Path(__file__).resolve().parents[1] / "params"


def _params(name: str) -> dict:
    return yaml.safe_load((PARAMS / f"{name}.yaml").read_text())


def test_interp_is_piecewise_linear_and_extends_the_nearest_segment():
    pts = {10: 1.0, 50: 3.0, 200: 6.0}
    assert bench.interp(pts, 10) == 1.0
    assert bench.interp(pts, 30) == pytest.approx(2.0)
    assert bench.interp(pts, 100) == pytest.approx(4.0)     # 3 + 3 x 50 / 150
    assert bench.interp(pts, 150) == pytest.approx(5.0)
    assert bench.interp(pts, 250) == pytest.approx(7.0)     # segment 50-200 extended
    assert bench.interp(pts, 0) == pytest.approx(0.5)       # segment 10-50 extended
    assert bench.interp({"100": 2.0}, 50) == pytest.approx(1.0)  # one point: proportional
    assert bench.interp({1: 5.0, 2: 1.0}, 10) == 0.0        # clipped at 0


def test_seconds_per_embedding_interpolates_latent_size_then_samples():
    table = {1000: {10: {"ari": 1.0, "aic": 0.5}, 110: {"ari": 3.0, "aic": 1.5}},
             3000: {10: {"ari": 3.0, "aic": 1.5}, 110: {"ari": 6.0, "aic": 3.0}}}
    # d = 60: at 1000 samples ARI 2, AIC 1 (3); at 3000 ARI 4.5, AIC 2.25 (6.75)
    assert bench.seconds_per_embedding(table, 2000, 60) == pytest.approx((3 + 6.75) / 2)
    assert bench.seconds_per_embedding(table, 2000, 60, ("ari",)) == pytest.approx(3.25)
    # keys read back from JSON are strings
    as_json = {str(n): {str(d): v for d, v in row.items()} for n, row in table.items()}
    assert bench.seconds_per_embedding(as_json, 3000, 110) == pytest.approx(9.0)


def test_cost_table_averages_and_takes_the_worst_over_scales():
    rows = [{"n": 100, "d": 10, "ari_cpu_s": 1.0, "aic_cpu_s": 0.2},
            {"n": 100, "d": 10, "ari_cpu_s": 3.0, "aic_cpu_s": 0.4},
            {"n": 100, "d": 50, "ari_cpu_s": 5.0, "aic_cpu_s": 1.0}]
    assert bench.cost_table(rows) == {100: {10: {"ari": 2.0, "aic": pytest.approx(0.3)},
                                            50: {"ari": 5.0, "aic": 1.0}}}
    assert bench.cost_table(rows, "max")[100][10] == {"ari": 3.0, "aic": 0.4}


def test_workload_counts_every_configuration_at_the_profiles_sizes():
    quick = bench.workload(_params("quick"))
    assert quick == {"tcga": {"n": 11014, "dims": {10: 24, 50: 24}},
                     "gtex": {"n": 4500, "dims": {10: 24, 50: 24}}}
    lite = bench.workload(_params("paper_lite"))   # real data: the paper's sizes
    assert lite["tcga"] == {"n": 11014, "dims": {d: 12 for d in (10, 20, 30, 50, 100, 200)}}
    assert lite["gtex"]["n"] == 17382 and sum(lite["gtex"]["dims"].values()) == 72
    paper = bench.workload(_params("paper"))
    assert paper["tcga"]["dims"] == {d: 10800 for d in (10, 20, 30, 50, 100, 200)}
    assert paper["gtex"]["dims"] == {d: 1080 for d in (10, 20, 30, 50, 100, 200)}


WORK = {"tcga": {"n": 1000, "dims": {10: 30, 100: 10}}, "gtex": {"n": 2000, "dims": {10: 40}}}
TABLE = {1000: {10: {"ari": 2.0, "aic": 1.0}, 100: {"ari": 4.0, "aic": 2.0}},
         2000: {10: {"ari": 5.0, "aic": 1.0}, 100: {"ari": 9.0, "aic": 3.0}}}
RAY = {"init_s": 3.0, "warmup_s": 7.0, "overhead_s": 0.25, "driver_s": 0.1}


def _project(**kw):
    args = {"warmup_s": 10.0, "local_overhead_s": 0.5, "cached_s_per_key": 0.01, "ray": RAY,
            "cores": (2, 4), "nodes": (2,), "node_cores": 8, "min_keys_per_job": 12}
    args.update(kw)
    return bench.project(WORK, TABLE, **args)


def test_projection_matches_hand_computed_walls():
    p = _project()
    # TCGA (ARI + AIC at 1000 samples): 30 x 3 s + 10 x 6 s; GTEx (ARI only at 2000): 40 x 5 s
    assert p["counts"] == {"tcga": 40, "gtex": 40}
    assert p["core_s"] == {"tcga": pytest.approx(150.0), "gtex": pytest.approx(200.0)}
    assert p["t_max_s"] == {"tcga": pytest.approx(6.0), "gtex": pytest.approx(5.0)}
    # 2 cores: 40 keys >= 12 x 2, two workers: warm-up + (core + 40 x 0.5) / 2
    assert p["workers"]["2 cores"] == {"tcga": 2, "gtex": 2}
    assert p["walls"]["2 cores"]["tcga"] == pytest.approx(10 + 170 / 2)
    assert p["wall_s"]["2 cores"] == pytest.approx(95 + 120)
    # 4 cores: 40 keys, at most one worker per 12 keys: grid.score starts 3 (40 // 12)
    assert p["workers"]["4 cores"] == {"tcga": 3, "gtex": 3}
    assert p["wall_s"]["4 cores"] == pytest.approx(10 + 170 / 3 + 10 + 220 / 3)
    assert p["best_local"]["4 cores"]["workers"] == {"tcga": 3, "gtex": 3}
    assert p["best_local"]["4 cores"]["wall_s"] == pytest.approx(10 + 170 / 3 + 10 + 220 / 3)
    # Ray, 2 nodes x 8 cores = 16 slots; per embedding 0.5 + 0.25 s of overhead
    assert p["walls"]["2x8 Ray"]["tcga"] == pytest.approx(3 + 7 + (150 + 40 * 0.75) / 16)
    assert p["walls"]["2x8 Ray"]["gtex"] == pytest.approx(3 + 7 + (200 + 40 * 0.75) / 16)
    assert p["cached_s"] == pytest.approx(80 * 0.01)


def test_ray_projection_is_bounded_by_the_driver_and_the_costliest_embedding():
    driver_bound = _project(ray=dict(RAY, driver_s=1.0))
    assert driver_bound["walls"]["2x8 Ray"]["tcga"] == pytest.approx(10 + 40 * 1.0)
    many_slots = _project(nodes=(100,))
    # 800 slots: (150 + 30) / 800 < the 6 s embedding > 40 x 0.1 s of driver time
    assert many_slots["walls"]["100x8 Ray"]["tcga"] == pytest.approx(10 + 6.0)
