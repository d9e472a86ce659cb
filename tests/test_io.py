"""h5ad round trip and a user's own tables (SPEC 2.5): bad input gives a clear error."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from vae_core.data import load_table, preprocess, read_h5ad, write_h5ad
from vae_core.data.io import load_source
from vae_core.keys import CANONICAL_OBS


def _write(path, text):
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


EXPR = "sample\tGA\tGB\tGC\n001\t1.0\t2.0\t3.5\n002\t2.0\tNA\t1.5\n010\t3.0\t4.0\t0.5\n"
OBS_TSV = ("id\ttype\tAge\tsex\tOS.time\n001\tBRCA\t50\tF\t100\n002\tLUAD\t61\tmale\t200\n"
           "010\tBRCA\t\tfemale\t300\n")


@pytest.fixture
def tables(tmp_path):
    return _write(tmp_path / "expr.tsv", EXPR), _write(tmp_path / "obs.tsv", OBS_TSV)


def test_load_table_canonical_and_leading_zeros(tables):
    expr, obs = tables
    a = load_table(expr, obs, label="type", columns={"Age": "age", "sex": "gender",
                                                     "OS.time": "os_time"})
    assert list(a.obs_names) == ["001", "002", "010"]     # leading zeros kept
    assert list(a.var_names) == ["GA", "GB", "GC"]
    assert a.X.dtype == np.float32 and np.isnan(a.X[1, 1])
    assert list(a.obs.columns[: len(CANONICAL_OBS)]) == list(CANONICAL_OBS)
    assert a.obs["label"].tolist() == ["BRCA", "LUAD", "BRCA"]
    assert a.obs["gender"].tolist() == ["female", "male", "female"]
    assert np.isnan(a.obs["age"].iloc[2]) and a.obs["age"].iloc[0] == 50
    assert a.obs["os_event"].isna().all() and a.obs["sbs_2"].isna().all()
    prov = a.uns["provenance"]
    assert prov["source"] == "table" and len(prov["files"]["expression"]["sha256"]) == 64


def test_genes_as_rows_csv_gz(tmp_path):
    expr = _write(tmp_path / "e.csv.gz", "gene,007,008\nGA,1,2\nGB,3,4\n")
    obs = _write(tmp_path / "o.csv", "sample,tissue\n007,Lung\n008,Liver\n")
    a = load_table(expr, obs, label="tissue", genes_as_rows=True)
    assert list(a.obs_names) == ["007", "008"]
    np.testing.assert_array_equal(a.X, [[1, 3], [2, 4]])


def test_duplicated_sample_ids(tmp_path, tables):
    _, obs = tables
    expr = _write(tmp_path / "dup.tsv", EXPR + "001\t9\t9\t9\n")
    with pytest.raises(ValueError, match=r"duplicated sample IDs.*\['001'\].*make the IDs unique"):
        load_table(expr, obs, label="type")
    expr2 = _write(tmp_path / "dup2.tsv", "gene\tS1\tS1\nGA\t1\t2\n")
    with pytest.raises(ValueError, match=r"duplicated sample IDs \(columns\).*'S1'"):
        load_table(expr2, obs, label="type", genes_as_rows=True)
    obs2 = _write(tmp_path / "obsdup.tsv", OBS_TSV + "002\tLUAD\t1\tF\t5\n")
    with pytest.raises(ValueError, match=r"duplicated sample IDs.*'002'"):
        load_table(tables[0], obs2, label="type")


def test_non_numeric_cell_named(tmp_path, tables):
    expr = _write(tmp_path / "bad.tsv", EXPR.replace("4.0", "high"))
    with pytest.raises(ValueError, match=r"non-numeric expression value 'high'.*gene 'GB', "
                                         r"sample '010'"):
        load_table(expr, tables[1], label="type")


def test_missing_label_column_lists_available(tables):
    with pytest.raises(KeyError, match=r"'cancer'.*available columns: \['type', 'Age'"):
        load_table(*tables, label="cancer")


def test_partial_overlap_warns_with_counts(tmp_path, tables):
    obs = _write(tmp_path / "o.tsv", "id\ttype\n001\tA\n002\tB\n999\tC\n")
    with pytest.warns(UserWarning, match=r"1 expression samples have no annotation and 1 "
                                         r"annotated samples have no expression; keeping the 2"):
        a = load_table(tables[0], obs, label="type")
    assert list(a.obs_names) == ["001", "002"]
    np.testing.assert_array_equal(a.X[:, 0], [1.0, 2.0])


def test_no_overlap_is_an_error(tmp_path, tables):
    obs = _write(tmp_path / "o.tsv", "id\ttype\n1\tA\n2\tB\n")
    with pytest.raises(ValueError, match=r"no sample ID is shared.*'001'.*'1'"):
        load_table(tables[0], obs, label="type")


def test_all_na_gene_dropped_with_warning(tmp_path, tables):
    expr = _write(tmp_path / "na.tsv", "sample\tGA\tGB\n001\t1\tNA\n002\t2\t\n010\t3\tNA\n")
    with pytest.warns(UserWarning, match=r"1 gene\(s\) have no value.*\['GB'\]"):
        a = load_table(expr, tables[1], label="type")
    assert list(a.var_names) == ["GA"]


def test_bad_gender_and_column_mapping(tmp_path, tables):
    obs = _write(tmp_path / "o.tsv", "id\ttype\tsex\n001\tA\tF\n002\tB\tunknown\n010\tA\tM\n")
    with pytest.raises(ValueError, match=r"gender column has values \['unknown'\]"):
        load_table(tables[0], obs, label="type", columns={"sex": "gender"})
    with pytest.raises(ValueError, match=r"\['years'\], which are not canonical obs names"):
        load_table(*tables, label="type", columns={"Age": "years"})


def test_h5ad_round_trip(tmp_path, sim_tcga):
    a = sim_tcga[:50].copy()
    a.uns["provenance"]["nested"] = {"none": None, "mixed": [1, "a", None, [2.5, "b"]]}
    path = write_h5ad(a, tmp_path / "deep" / "dir" / "tcga.h5ad")
    assert path.exists() and not list(path.parent.glob(".*tmp*"))
    assert isinstance(a.uns["provenance"], dict)               # caller's object untouched
    b = read_h5ad(path)
    assert b.X.tobytes() == a.X.tobytes()
    pd.testing.assert_frame_equal(b.obs, a.obs)
    assert b.uns["provenance"]["nested"] == {"none": None, "mixed": [1, "a", None, [2.5, "b"]]}
    assert b.uns["provenance"]["preprocess"] == a.uns["provenance"]["preprocess"]
    assert b.uns["ground_truth"]["programs"] == list(a.uns["ground_truth"]["programs"])
    np.testing.assert_array_equal(b.obsm["ground_truth_programs"], a.obsm["ground_truth_programs"])
    # overwrite in place works (atomic replace)
    write_h5ad(b, path)
    assert read_h5ad(path).n_obs == 50


def test_read_missing_h5ad(tmp_path):
    with pytest.raises(FileNotFoundError, match="no h5ad file"):
        read_h5ad(tmp_path / "nope.h5ad")


def test_load_source_variants(tmp_path, tables, sim_gtex_raw):
    assert load_source("none") is None
    a = load_source("simulated", kind="gtex", n_samples=300, n_genes=80, seed=1)
    assert a.shape == (300, 80) and a.obs["label"].nunique() == 30
    t = load_source("table", table_expression=tables[0], table_obs=tables[1], table_label="type")
    assert t.n_obs == 3
    write_h5ad(sim_gtex_raw[:40].copy(), tmp_path / "g.h5ad")
    h = load_source("h5ad", h5ad_path=tmp_path / "g.h5ad")
    assert h.n_obs == 40 and "input_h5ad" in h.uns["provenance"]
    assert preprocess(h, n_top_genes=10).n_vars == 10
    with pytest.raises(ValueError, match=r"needs the parameters \['table_expression'"):
        load_source("table")
    with pytest.raises(ValueError, match="unknown source 'xena'"):
        load_source("xena")
