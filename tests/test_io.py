"""h5ad round trip and a user's own tables (``docs/design.md``, "Bring your own cohort"): bad
input gives a clear error."""

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


# ------------------------------------------------------------ file errors name the file (13 F)
def _expr_text(n_genes=400):
    rng = np.random.default_rng(0)
    head = "sample\t" + "\t".join(f"G{j}" for j in range(n_genes))
    rows = [s + "\t" + "\t".join(f"{v:.5f}" for v in rng.uniform(2, 14, n_genes))
            for s in ("001", "002", "010")]
    return "\n".join([head] + rows) + "\n"


def test_truncated_and_corrupt_gz_name_the_file(tmp_path, tables):
    raw = gzip.compress(_expr_text().encode())
    cut = tmp_path / "cut.tsv.gz"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"expression file .*cut\.tsv\.gz is a truncated or "
                                         r"corrupt gzip file.*gzip -t cut\.tsv\.gz.*again"):
        load_table(cut, tables[1], label="type")
    bad = tmp_path / "bad.tsv.gz"
    bad.write_bytes(raw[:30] + bytes(40) + raw[70:])
    with pytest.raises(ValueError, match=r"bad\.tsv\.gz is a truncated or corrupt gzip"):
        load_table(bad, tables[1], label="type")
    obs_cut = tmp_path / "obs.tsv.gz"
    obs_raw = gzip.compress(OBS_TSV.encode() * 200)
    obs_cut.write_bytes(obs_raw[:-12])
    with pytest.raises(ValueError, match=r"sample annotation file .*obs\.tsv\.gz is a truncated"):
        load_table(tables[0], obs_cut, label="type")


def test_empty_and_blank_files_name_the_file(tmp_path, tables):
    from vae_core.data import TableFileError

    empty = tmp_path / "empty.tsv"
    empty.write_bytes(b"")
    with pytest.raises(TableFileError, match=r"expression file .*empty\.tsv is empty \(0 bytes\)"
                                             r".*expected a TSV/CSV text table"):
        load_table(empty, tables[1], label="type")
    blank = _write(tmp_path / "blank.csv.gz", "\n\n\n")
    with pytest.raises(TableFileError, match=r"blank\.csv\.gz holds no text"):
        load_table(tables[0], blank, label="type")
    head = _write(tmp_path / "head.tsv", "sample\tGA\tGB\n")
    with pytest.raises(TableFileError, match=r"head\.tsv has a header but no data rows"):
        load_table(head, tables[1], label="type")


def test_binary_files_are_not_tables(tmp_path, tables):
    rand = tmp_path / "random.tsv"
    rand.write_bytes(np.random.default_rng(0).bytes(4000))
    with pytest.raises(ValueError, match=r"random\.tsv is binary, not a text table.*expected a "
                                         r"TSV/CSV"):
        load_table(rand, tables[1], label="type")
    png = tmp_path / "plot.tsv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    with pytest.raises(ValueError, match=r"plot\.tsv is a PNG image, not a text table"):
        load_table(png, tables[1], label="type")
    h5 = tmp_path / "cohort.tsv"
    h5.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(200))
    with pytest.raises(ValueError, match=r"cohort\.tsv is an HDF5 file.*source: h5ad"):
        load_table(tables[0], h5, label="type")
    gz_bin = tmp_path / "bin.tsv.gz"
    gz_bin.write_bytes(gzip.compress(np.random.default_rng(1).bytes(4000)))
    with pytest.raises(ValueError, match=r"bin\.tsv\.gz is binary"):
        load_table(gz_bin, tables[1], label="type")


def test_ragged_table_names_the_file_and_line(tmp_path, tables):
    rag = _write(tmp_path / "rag.tsv", "sample\tGA\tGB\n001\t1\t2\n002\t1\t2\t3\t4\n010\t1\t1\n")
    with pytest.raises(ValueError, match=r"rag\.tsv cannot be parsed.*line 3.*every row has as "
                                         r"many fields"):
        load_table(rag, tables[1], label="type")


def test_inf_cell_is_an_error_with_count_and_first_location(tmp_path, tables):
    expr = _write(tmp_path / "inf.tsv", "sample\tGA\tGB\tGC\n001\t1\t2\t3\n002\t2\t-Inf\t1\n"
                                        "010\tinf\t4\t0.5\n")
    with pytest.raises(ValueError, match=r"2 infinite expression value\(s\) \(inf/-inf\) in "
                                         r".*inf\.tsv; the first is -inf at sample '002', gene "
                                         r"'GB'.*log2\(x \+ 1\).*NA"):
        load_table(expr, tables[1], label="type")
    t = _write(tmp_path / "inf_t.tsv", "gene\t001\t002\nGA\t1\t1e39\nGB\t2\t-Inf\n")
    with pytest.raises(ValueError, match=r"2 infinite.*first is inf at sample '002', gene 'GA'"):
        load_table(t, tables[1], label="type", genes_as_rows=True)


def test_r_style_header_and_mislabelled_gz(tmp_path, tables):
    """R's write.table header (no row-name field) and a plain file named .gz both load."""
    expr = _write(tmp_path / "r.tsv", "GA\tGB\n001\t1\t2\n002\t3\t4\n010\t5\t6\n")
    a = load_table(expr, tables[1], label="type")
    assert list(a.obs_names) == ["001", "002", "010"] and list(a.var_names) == ["GA", "GB"]
    plain = tmp_path / "plain.tsv.gz"
    plain.write_text(EXPR)
    assert load_table(plain, tables[1], label="type").shape == (3, 3)


def test_no_overlap_hints_genes_as_rows(tmp_path, tables):
    expr = _write(tmp_path / "t.tsv", "gene\tGA\tGB\n001\t1\t2\n002\t3\t4\n010\t5\t6\n")
    with pytest.raises(ValueError, match=r"no sample ID is shared.*t\.tsv.*obs\.tsv.*set "
                                         r"genes_as_rows=False.*table_genes_as_rows: false"):
        load_table(expr, tables[1], label="type", genes_as_rows=True)
    obs = _write(tmp_path / "o.tsv", "id\ttype\n1\tA\n2\tB\n10\tA\n")
    with pytest.raises(ValueError, match=r"3 IDs match after ignoring case, leading zeros"):
        load_table(tables[0], obs, label="type")


def test_streaming_matrix_reader_rejects_inf(tmp_path):
    """The Xena/GCT reader (vae_core.data._matrix) treats inf like load_table: an error."""
    from vae_core.data._files import open_binary
    from vae_core.data._matrix import MatrixFormatError, read_header_line, read_matrix

    path = _write(tmp_path / "m.tsv", "gene\tS1\tS2\tS3\nGA\t1\t2\t3\nGB\t4\t-Inf\tinf\n")
    with open_binary(path) as fh:
        header = read_header_line(fh, path)
        with pytest.raises(MatrixFormatError, match=r"m\.tsv: 2 infinite value\(s\).*first at "
                                                    r"gene 'GB', sample 'S2'"):
            read_matrix(path, fh, header[1:], 1)
