"""Lossless annotation (``docs/design.md``, "Bring your own cohort"): every column kind of a
public export survives ``load_table -> write_h5ad -> read_h5ad`` with its values and its gaps;
name collisions are renamed with a note; missing labels are dropped with a count; a single class
is an error."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from vae_core.data import load_table, preprocess, read_h5ad, sanitize_obs, write_h5ad
from vae_core.data.io import load_source

SAMPLES = ["001", "002", "003", "004", "005", "006"]

# one column per kind of A; "" = an empty cell in the file
ANNOT = {
    "BT": ["B", "T", "B", "T", "B", "T"],
    "sample": ["x1", "x2", "x3", "x4", "x5", "x6"],                # collides with the index name
    "relapse": ["TRUE", "FALSE", "", "TRUE", "", "FALSE"],           # booleans with gaps
    "ccr": ["TRUE", "FALSE", "FALSE", "TRUE", "TRUE", "FALSE"],      # booleans, no gap
    "subtype": ["ph+", "", "hyperdiploid", "ph+", "", "normal"],     # text with gaps
    "date.cr": ["3/25/1997", "", "12/1/2000", "1/9/1999", "", "7/4/1998"],   # m/d/yyyy text
    "age": ["5", "", "44", "17", "61", ""],                          # numbers with NA
    "cod": ["1005", "LAL5", "", "12.5", "7", "LAL-R"],               # mixed text and numbers
    "mol.biol": ["BCR/ABL", "NEG", "NEG", "", "ALL1/AF4", "NEG"],    # dotted name
    "label": ["p", "q", "p", "q", "p", "q"],                         # canonical name, not mapped
    "sex": ["M", "F", "", "F", "M", "M"],
}


def _write_tables(tmp_path, annot=None, sep="\t", ext="tsv"):
    annot = ANNOT if annot is None else annot
    rng = np.random.default_rng(0)
    X = rng.uniform(2, 14, (len(SAMPLES), 5)).round(3)
    genes = ["1000_at", "1001_s_at", "1002_at", "1003_x_at", "1004_at"]
    lines = [sep.join(["probe"] + SAMPLES)]
    lines += [sep.join([g] + [str(v) for v in X[:, j]]) for j, g in enumerate(genes)]
    expr = tmp_path / f"expr.{ext}"
    expr.write_text("\n".join(lines) + "\n")
    cols = list(annot)
    obs_lines = [sep.join([""] + cols)]
    obs_lines += [sep.join([s] + [annot[c][i] for c in cols]) for i, s in enumerate(SAMPLES)]
    obs = tmp_path / f"obs.{ext}"
    obs.write_text("\n".join(obs_lines) + "\n")
    return expr, obs, X


def _load(expr, obs, **kw):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        a = load_table(expr, obs, label="BT", genes_as_rows=True,
                       columns={"age": "age", "sex": "gender"}, **kw)
    return a, [str(w.message) for w in rec]


def _as_list(s: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in s.astype(object)]


@pytest.mark.parametrize("sep,ext", [("\t", "tsv"), (",", "csv")])
def test_every_column_kind_round_trips(tmp_path, sep, ext):
    expr, obs, X = _write_tables(tmp_path, sep=sep, ext=ext)
    a, msgs = _load(expr, obs)
    b = read_h5ad(write_h5ad(a, tmp_path / "c.h5ad"))
    for o in (a.obs, b.obs):
        assert list(o.index) == SAMPLES                                 # leading zeros kept
        assert _as_list(o["relapse"]) == [True, False, None, True, None, False]
        assert o["relapse"].dtype == "boolean"
        assert o["ccr"].tolist() == [True, False, False, True, True, False]
        assert _as_list(o["subtype"]) == ["ph+", None, "hyperdiploid", "ph+", None, "normal"]
        assert _as_list(o["date.cr"]) == ["3/25/1997", None, "12/1/2000", "1/9/1999", None,
                                          "7/4/1998"]
        assert _as_list(o["age"]) == [5.0, None, 44.0, 17.0, 61.0, None]
        assert o["age"].dtype == np.float64
        assert _as_list(o["cod"]) == ["1005", "LAL5", None, "12.5", "7", "LAL-R"]
        assert _as_list(o["mol.biol"]) == ["BCR/ABL", "NEG", "NEG", None, "ALL1/AF4", "NEG"]
        assert _as_list(o["gender"]) == ["male", "female", None, "female", "male", "male"]
        assert list(o["gender"].cat.categories) == ["female", "male"]
        assert o["label"].tolist() == ["B", "T", "B", "T", "B", "T"]
        assert isinstance(o["label"].dtype, pd.CategoricalDtype)
        assert o["sample_orig"].tolist() == ANNOT["sample"]
        assert o["label_orig"].tolist() == ANNOT["label"]
        assert o["os_time"].isna().all() and o["os_time"].dtype == np.float64
        assert "sample" not in o.columns and o.index.name == "sample"
    pd.testing.assert_frame_equal(b.obs, a.obs)
    np.testing.assert_allclose(b.X, X.astype(np.float32))
    notes = b.uns["provenance"]["annotation_notes"]
    assert any("'sample' renamed to 'sample_orig'" in n for n in notes)
    assert any("'label' of obs" in n and "'label_orig'" in n and "'BT'" in n for n in notes)
    assert any("renamed to 'sample_orig'" in m for m in msgs)           # warned, not silent


def test_sanitize_obs_known_kinds_and_write(tmp_path):
    """A user's own AnnData with raw pandas object columns writes and reads back losslessly."""
    idx = pd.Index(["a", "b", "c", "d"], name="sample")
    obs = pd.DataFrame({
        "flag": pd.Series([True, np.nan, False, True], dtype=object, index=idx),
        "mixed": pd.Series(["x", 3, 2.5, None], dtype=object, index=idx),
        "nums": pd.Series([1, None, 3.5, 4], dtype=object, index=idx),
        "when": pd.to_datetime(["2020-01-02", None, "2021-03-04", "2022-05-06"]).to_series(
            index=idx),
        "a/b": [1.0, 2.0, 3.0, 4.0],
        "sample": ["s1", "s2", "s3", "s4"],
        "empty": pd.Series([None] * 4, dtype=object, index=idx),
        "catmix": pd.Categorical(["a", 1, None, "a"]),
    }, index=idx)
    clean, notes = sanitize_obs(obs)
    assert _as_list(clean["flag"]) == [True, None, False, True]
    assert _as_list(clean["mixed"]) == ["x", "3", "2.5", None]
    assert _as_list(clean["nums"]) == [1.0, None, 3.5, 4.0]
    assert _as_list(clean["when"]) == ["2020-01-02", None, "2021-03-04", "2022-05-06"]
    assert clean["a_b"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert clean["sample_orig"].tolist() == ["s1", "s2", "s3", "s4"]
    assert clean["empty"].isna().all()
    assert _as_list(clean["catmix"]) == ["a", "1", None, "a"]
    assert len(notes) == 2 and any("'a/b' renamed to 'a_b'" in n for n in notes)
    adata = ad.AnnData(np.zeros((4, 2), dtype=np.float32), obs=obs)
    with pytest.warns(UserWarning) as rec:
        path = write_h5ad(adata, tmp_path / "user.h5ad")
    msgs = [str(w.message) for w in rec]
    assert any("'sample' renamed to 'sample_orig'" in m for m in msgs)
    assert any("'a/b' renamed to 'a_b'" in m for m in msgs)
    assert "sample" in adata.obs.columns and adata.obs["flag"].dtype == object  # caller untouched
    b = read_h5ad(path)
    pd.testing.assert_frame_equal(b.obs, clean)
    assert len(b.uns["provenance"]["annotation_notes"]) == 2


def test_user_h5ad_through_load_source(tmp_path):
    """source='h5ad': object columns of a user's AnnData and a non-numeric 'age' that is not a
    canonical age are kept (renamed with a note), never a crash."""
    idx = pd.Index([f"c{i}" for i in range(6)])
    obs = pd.DataFrame({"label": ["x", "y", None, "x", "y", "nan"],
                        "age": ["adult", "child", "adult", None, "adult", "child"],
                        "relapse": pd.Series([True, None, False, True, False, None],
                                             dtype=object, index=idx)}, index=idx)
    a = ad.AnnData(np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32), obs=obs)
    a.obs["relapse"] = a.obs["relapse"].astype("boolean")          # anndata can write this one
    a.obs["age"] = pd.Categorical(a.obs["age"])
    ad.AnnData.write_h5ad(a, tmp_path / "u.h5ad")
    with pytest.warns(UserWarning, match=r"'age' is not a canonical age.*kept as 'age_orig'"):
        h = load_source("h5ad", h5ad_path=tmp_path / "u.h5ad")
    assert h.obs["age"].isna().all()
    assert _as_list(h.obs["age_orig"]) == ["adult", "child", "adult", None, "adult", "child"]
    assert _as_list(h.obs["label"]) == ["x", "y", None, "x", "y", None]   # "nan" is no label
    assert h.uns["provenance"]["n_samples_no_label"] == 2
    b = read_h5ad(write_h5ad(h, tmp_path / "v.h5ad"))
    pd.testing.assert_frame_equal(b.obs, h.obs)


def test_missing_labels_dropped_with_count(tmp_path):
    annot = dict(ANNOT, BT=["B", "", "T", "B", "", "T"])
    expr, obs, _ = _write_tables(tmp_path, annot)
    a, _ = _load(expr, obs)
    assert a.uns["provenance"]["n_samples_no_label"] == 2
    assert list(a.obs["label"].cat.categories) == ["B", "T"]           # no "nan" class
    with pytest.warns(UserWarning, match=r"dropped 2 of 6 samples with no label"):
        p = preprocess(a, n_top_genes=3)
    assert list(p.obs_names) == ["001", "003", "004", "006"]
    assert p.obs["label"].tolist() == ["B", "T", "B", "T"]
    assert list(p.obs["label"].cat.categories) == ["B", "T"]
    assert p.uns["provenance"]["preprocess"]["n_samples_dropped_no_label"] == 2
    b = read_h5ad(write_h5ad(p, tmp_path / "p.h5ad"))
    assert b.obs["label"].notna().all() and "nan" not in b.obs["label"].astype(str).tolist()


def test_nan_text_label_is_not_a_class():
    obs = pd.DataFrame({"label": pd.Categorical(["a", "nan", "b", "NA", "a"])},
                       index=[f"s{i}" for i in range(5)])
    X = np.arange(15, dtype=np.float32).reshape(5, 3) ** 1.5
    with pytest.warns(UserWarning, match="dropped 2 of 5 samples"):
        p = preprocess(ad.AnnData(X, obs=obs), n_top_genes=2)
    assert p.obs["label"].tolist() == ["a", "b", "a"]
    assert list(p.obs["label"].cat.categories) == ["a", "b"]


def test_single_class_label_is_a_clear_error(tmp_path):
    annot = dict(ANNOT, BT=["B"] * 6)
    expr, obs, _ = _write_tables(tmp_path, annot)
    with pytest.raises(ValueError, match=r"label column 'BT' of .*obs\.tsv has a single class, "
                                         r"'B' .*at least two classes.*table_label.*"
                                         r"Columns with 2-50 values.*'relapse'"):
        _load(expr, obs)
    annot = dict(ANNOT, BT=[""] * 6)
    expr, obs, _ = _write_tables(tmp_path, annot)
    with pytest.raises(ValueError, match=r"no sample has a label: label column 'BT'.*table_label"):
        _load(expr, obs)


def test_mapped_canonical_clash_renamed(tmp_path):
    """A user column 'gender' while 'sex' is mapped to gender is kept as 'gender_orig'."""
    annot = {k: v for k, v in ANNOT.items() if k != "label"}
    annot["gender"] = ["1", "2", "1", "2", "1", "2"]
    expr, obs, _ = _write_tables(tmp_path, annot)
    a, msgs = _load(expr, obs)
    assert _as_list(a.obs["gender"]) == ["male", "female", None, "female", "male", "male"]
    assert a.obs["gender_orig"].tolist() == [1, 2, 1, 2, 1, 2]
    assert any("'gender'" in m and "'gender_orig'" in m and "'sex'" in m for m in msgs)


@pytest.mark.parametrize("genes_as_rows", [True, False])
def test_public_export_fixture_round_trips(tmp_path, genes_as_rows):
    """tests/export_fixture.py (used by the end-to-end test) loads in both orientations and
    every column survives the h5ad round trip."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from export_fixture import GROUPS, make_public_export

    expr, obs = make_public_export(tmp_path, n_samples=100, n_genes=200,
                                   genes_as_rows=genes_as_rows, n_missing_label=2)
    with pytest.warns(UserWarning, match="'sample' renamed to 'sample_orig'"):
        a = load_table(expr, obs, label="BT", genes_as_rows=genes_as_rows,
                       columns={"age": "age", "sex": "gender"})
    assert a.shape == (100, 200) and a.var_names[1] == "1001_s_at"
    assert 2.0 <= np.nanmin(a.X) and np.nanmax(a.X) <= 14.0
    assert set(a.obs["label"].dropna()) == set(GROUPS)
    assert a.uns["provenance"]["n_samples_no_label"] == 2
    assert a.obs["relapse"].dtype == "boolean" and a.obs["relapse"].isna().any()
    assert a.obs["gender"].isna().any() and a.obs["os_time"].isna().all()
    raw = pd.read_csv(obs, dtype=str, keep_default_na=False)
    raw = raw.set_index(raw.columns[0])
    raw_dates = raw.loc[a.obs_names, "date.cr"].replace("", None).tolist()
    b = read_h5ad(write_h5ad(a, tmp_path / "fx.h5ad"))
    pd.testing.assert_frame_equal(b.obs, a.obs)
    assert _as_list(b.obs["date.cr"]) == raw_dates
    assert _as_list(b.obs["sample_orig"]) == raw.loc[a.obs_names, "sample"].tolist()
    with pytest.warns(UserWarning, match="dropped 2 of 100 samples with no label"):
        p = preprocess(b, n_top_genes=50)
    assert sorted(p.obs["label"].cat.categories) == sorted(GROUPS)
