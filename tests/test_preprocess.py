"""Preprocessing (``docs/design.md``, "Preprocessing") against a hand-computed example, plus
NA/constant/provenance rules."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from vae_core.data import preprocess
from vae_core.data.preprocess import deviation_curve, gene_statistics

# 4 samples x 5 genes. By hand (mean absolute deviation around the mean, NaN skipped):
#   g0: 0 2 4 6       mean 3,  |dev| 3 1 1 3          -> MAD 2.0,  population sd sqrt(5)
#   g1: 1 1 1 1       constant                          -> excluded
#   g2: 0 0 0 8       mean 2,  |dev| 2 2 2 6          -> MAD 3.0,  sd sqrt(12)
#   g3: 1 NA 3 5      mean 3 (3 values), |dev| 2 . 0 2 -> MAD 4/3, sd sqrt(8/3)
#   g4: 0 1 2 3       mean 1.5, |dev| 1.5 .5 .5 1.5   -> MAD 1.0
# Median absolute deviation from the median: g0 med 3 -> |dev| 3 1 1 3 -> 2; g2 med 0 -> 0 0 0 8
#   -> 0; g3 med 3 -> 2 0 2 -> 2; g4 med 1.5 -> 1.
X = np.array([[0, 1, 0, 1, 0],
              [2, 1, 0, np.nan, 1],
              [4, 1, 0, 3, 2],
              [6, 1, 8, 5, 3]], dtype=np.float32)


def _adata(X=X, labels=("a", "b", "a", "b")):
    obs = pd.DataFrame({"label": pd.Categorical(labels)},
                       index=[f"s{i}" for i in range(X.shape[0])])
    var = pd.DataFrame(index=[f"g{j}" for j in range(X.shape[1])])
    a = ad.AnnData(X=X.copy(), obs=obs, var=var)
    a.uns["provenance"] = {"source": "hand"}
    a.obsm["ground_truth_programs"] = np.arange(X.shape[0] * 2, dtype=np.float32).reshape(-1, 2)
    a.varm["ground_truth_loadings"] = np.arange(X.shape[1] * 2, dtype=np.float32).reshape(-1, 2)
    return a


def test_hand_computed_mean_deviation_and_zscores():
    st = gene_statistics(X, "mean")
    np.testing.assert_allclose(st["deviation"], [2.0, 0.0, 3.0, 4 / 3, 1.0], rtol=1e-6)
    assert st["constant"].tolist() == [False, True, False, False, False]
    assert st["n_missing"].tolist() == [0, 0, 0, 1, 0]

    p = preprocess(_adata(), n_top_genes=3)
    assert list(p.var_names) == ["g0", "g2", "g3"]     # top 3 by MAD, original order
    assert p.var["deviation_rank"].tolist() == [2, 1, 3]
    assert p.X.dtype == np.float32
    z0 = (np.array([0, 2, 4, 6]) - 3) / np.sqrt(5)
    z2 = (np.array([0, 0, 0, 8]) - 2) / np.sqrt(12)
    z3 = np.array([1 - 3, 0, 3 - 3, 5 - 3]) / np.sqrt(8 / 3)   # NA cell -> 0 (the mean)
    np.testing.assert_allclose(p.X, np.c_[z0, z2, z3], atol=1e-6)
    prov = p.uns["provenance"]["preprocess"]
    assert prov["n_missing_cells_input"] == 1 and prov["n_missing_cells_selected"] == 1
    assert prov["n_constant_genes"] == 1 and prov["deviation"] == "mean"
    assert prov["n_top_genes"] == 3 and prov["deviation_cutoff"] == pytest.approx(4 / 3)
    assert p.uns["provenance"]["source"] == "hand"
    # ground truth subset consistently
    np.testing.assert_array_equal(p.varm["ground_truth_loadings"][:, 0], [0, 4, 6])
    assert p.obsm["ground_truth_programs"].shape == (4, 2)


def test_median_option_differs_where_it_should():
    st = gene_statistics(X, "median")
    np.testing.assert_allclose(st["deviation"], [2.0, 0.0, 0.0, 2.0, 1.0])
    p = preprocess(_adata(), n_top_genes=2, deviation="median")
    assert list(p.var_names) == ["g0", "g3"]   # g2 (one outlier) drops out under the median
    assert list(preprocess(_adata(), n_top_genes=2).var_names) == ["g0", "g2"]
    assert p.uns["provenance"]["preprocess"]["deviation"] == "median"


def test_constant_gene_never_reaches_zscore_and_warns():
    with pytest.warns(UserWarning, match="n_top_genes=5 exceeds the 4 non-constant genes"):
        p = preprocess(_adata(), n_top_genes=5)
    assert "g1" not in p.var_names and p.n_vars == 4
    assert np.isfinite(p.X).all()
    np.testing.assert_allclose(p.X.mean(axis=0), 0, atol=1e-6)
    # population sd 1 for genes without missing cells
    np.testing.assert_allclose(p.X[:, [0, 1, 3]].std(axis=0, ddof=0), 1, atol=1e-6)


def test_all_na_gene_is_excluded():
    Xn = X.copy()
    Xn[:, 4] = np.nan
    with pytest.warns(UserWarning):
        p = preprocess(_adata(Xn), n_top_genes=5)
    assert "g4" not in p.var_names and np.isfinite(p.X).all()


def test_unlabelled_samples_dropped():
    p = preprocess(_adata(labels=("a", None, "a", "b")), n_top_genes=2)
    assert list(p.obs_names) == ["s0", "s2", "s3"]
    assert p.uns["provenance"]["preprocess"]["n_samples_dropped_no_label"] == 1
    assert p.obsm["ground_truth_programs"].shape == (3, 2)
    np.testing.assert_allclose(p.X.mean(axis=0), 0, atol=1e-6)


def test_input_unchanged_and_bad_arguments():
    a = _adata()
    before = a.X.copy()
    preprocess(a, n_top_genes=2)
    np.testing.assert_array_equal(a.X, before)
    assert "preprocess" not in a.uns["provenance"]
    with pytest.raises(ValueError, match="deviation must be one of.*'mode'"):
        preprocess(a, deviation="mode")
    with pytest.raises(ValueError, match="positive integer.*0"):
        preprocess(a, n_top_genes=0)
    b = _adata()
    del b.obs["label"]
    with pytest.raises(KeyError, match="no 'label' column"):
        preprocess(b)


def test_blocks_agree_with_numpy_reference(monkeypatch):
    """Block-wise statistics equal a plain numpy computation (block size forced small)."""
    import importlib

    pp = importlib.import_module("vae_core.data.preprocess")  # the module, not the function
    monkeypatch.setattr(pp, "_BLOCK", 7)
    rng = np.random.default_rng(1)
    M = rng.normal(size=(50, 40)).astype(np.float32) * rng.uniform(0.1, 3, 40).astype(np.float32)
    M[rng.random(M.shape) < 0.05] = np.nan
    st = pp.gene_statistics(M, "mean")
    ref = np.nanmean(np.abs(M - np.nanmean(M, axis=0)), axis=0)
    np.testing.assert_allclose(st["deviation"], ref, rtol=1e-5)
    st = pp.gene_statistics(M, "median")
    ref = np.nanmedian(np.abs(M - np.nanmedian(M, axis=0)), axis=0)
    np.testing.assert_allclose(st["deviation"], ref, rtol=1e-5)
    obs = pd.DataFrame({"label": ["x"] * 50}, index=[str(i) for i in range(50)])
    p = pp.preprocess(ad.AnnData(M, obs=obs), n_top_genes=15)
    sel = np.argsort(-np.nanmean(np.abs(M - np.nanmean(M, 0)), 0), kind="stable")[:15]
    assert sorted(p.var_names.astype(int)) == sorted(sel.tolist())
    Z = (M - np.nanmean(M, 0)) / np.nanstd(M, 0)
    np.testing.assert_allclose(p.X, np.nan_to_num(Z[:, np.sort(sel)]), atol=1e-5)


def test_simulated_cohort(sim_tcga, sim_tcga_raw):
    assert sim_tcga.shape == (1200, 300) and sim_tcga.X.dtype == np.float32
    np.testing.assert_allclose(sim_tcga.X.std(axis=0), 1, atol=1e-3)
    # never-expressed genes of the simulator are constant: never selected
    assert not set(sim_tcga_raw.uns["ground_truth"]["unexpressed_genes"]) & set(sim_tcga.var_names)
    curve = deviation_curve(sim_tcga_raw)
    assert np.all(np.diff(curve) <= 0)
    assert curve[299] == pytest.approx(sim_tcga.uns["provenance"]["preprocess"]["deviation_cutoff"])


@pytest.mark.slow
def test_notebook01_smoke(tmp_path):
    """Notebook 01 runs on the smoke profile and writes both preprocessed cohorts."""
    import papermill as pm
    import yaml

    from vae_core import paths
    from vae_core.data import read_h5ad

    params = yaml.safe_load((paths.REPO_ROOT / "params" / "smoke.yaml").read_text())
    params["base_dir"] = str(tmp_path)
    pm.execute_notebook(str(paths.REPO_ROOT / "notebooks" / "01_preprocess.ipynb"),
                        str(tmp_path / "01_out.ipynb"), parameters=params,
                        cwd=str(paths.REPO_ROOT / "notebooks"), kernel_name="python3",
                        progress_bar=False)
    for cohort, n in (("tcga", params["n_samples_tcga"]), ("gtex", params["n_samples_gtex"])):
        a = read_h5ad(paths.data_path("smoke", cohort, tmp_path))
        assert a.shape == (n, params["n_top_genes"])
        assert a.uns["provenance"]["preprocess"]["n_top_genes"] == params["n_top_genes"]


def test_sparse_and_float64_input_give_the_same_result():
    import scipy.sparse as sp

    Xc = np.nan_to_num(X)
    ref = preprocess(_adata(Xc), n_top_genes=3)
    a64 = _adata(Xc)
    a64.X = Xc.astype(np.float64)
    asp = _adata(Xc)
    asp.X = sp.csr_matrix(Xc)
    for other in (a64, asp):
        out = preprocess(other, n_top_genes=3)
        assert list(out.var_names) == list(ref.var_names) and out.X.dtype == np.float32
        np.testing.assert_allclose(out.X, ref.X, atol=1e-6)
