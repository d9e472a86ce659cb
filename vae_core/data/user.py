"""A user's own cohort from two text tables: expression and sample annotation.

:func:`load_table` turns an expression table and a sample table (TSV/CSV, optionally gzip) into
the canonical AnnData every source returns (``docs/design.md``, "Bring your own cohort"). Each
stage is a function of its own: read the expression, read the annotation, map the columns,
align the samples, drop genes without values, type the annotation, record the provenance.
An unreadable file is a :class:`~vae_core.data.delimited.TableFileError` naming the file and the
fix; an ``inf``/``-inf`` expression cell is an error (count + first location).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from ..keys import OBS, UNS_PROVENANCE
from ._provenance import file_record
from .annotations import (
    canonicalize_obs,
    check_column_targets,
    map_user_columns,
    report_notes,
    sanitize_obs,
)
from .delimited import raw_header, read_table
from .preprocess import check_label_classes

#: ``warnings.warn`` stacklevel of a stage called by :func:`load_table`: its caller.
_CALLER = 3


def _check_unique(index: pd.Index, what: str, path: Path) -> None:
    dup = index[index.duplicated()].unique()
    if len(dup):
        raise ValueError(f"duplicated {what} in {path}: {list(dup[:5])}"
                         f"{' ...' if len(dup) > 5 else ''} ({len(dup)} duplicated); make the IDs "
                         "unique (e.g. keep one row per sample) and load again.")


def _numeric_expression(df: pd.DataFrame, path: Path, genes_as_rows: bool) -> np.ndarray:
    """float32 samples x genes matrix; the first non-numeric or infinite cell raises.

    ``inf`` / ``-inf`` cells (``Inf``, ``-Inf`` as R writes them, or a number beyond float32) are
    an ERROR, not a warning: they come from log(0) without a pseudo-count or an overflow, and
    treating them as missing would hide a wrong transform. The message gives their count and the
    first (sample, gene).
    """
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_numeric_dtype(s):
            continue
        num = pd.to_numeric(s, errors="coerce")
        bad = num.isna() & s.notna()
        if bad.any():
            row = bad.index[np.argmax(bad.to_numpy())]
            gene, sample = (row, col) if genes_as_rows else (col, row)
            raise ValueError(f"non-numeric expression value {s[row]!r} in {path} at gene "
                             f"{gene!r}, sample {sample!r} (row {row!r}, column {col!r}); fix the "
                             "cell or write it as NA (missing cells are allowed).")
        df[col] = num
    with np.errstate(over="ignore"):
        X = df.to_numpy(dtype=np.float32)
    inf = np.isinf(X)
    if inf.any():
        r, c = np.argwhere(inf)[0]
        row, col = df.index[r], df.columns[c]
        gene, sample = (row, col) if genes_as_rows else (col, row)
        raise ValueError(
            f"{int(inf.sum())} infinite expression value(s) (inf/-inf) in {path}; the first is "
            f"{float(X[r, c])} at sample {sample!r}, gene {gene!r}. Expression must be finite "
            "log-values: -inf usually means log(0) without a pseudo-count, so transform as "
            "log2(x + 1); or write the cells as NA to treat them as missing.")
    return X.T.copy() if genes_as_rows else X


def _id_hint(samples: pd.Index, genes: pd.Index, ann_index: pd.Index,
             genes_as_rows: bool) -> str:
    """Why no sample ID is shared, as far as it can be guessed (a sentence, leading space)."""
    ann = set(ann_index)
    if len(ann.intersection(genes)):
        return (f" The annotation IDs match the expression table's "
                f"{'row' if genes_as_rows else 'column'} names: set genes_as_rows="
                f"{not genes_as_rows} (params: table_genes_as_rows: "
                f"{str(not genes_as_rows).lower()}).")

    def norm(ix):
        out = {}
        for v in ix:
            k = str(v).strip().strip('"').lower()
            for suf in (".cel.gz", ".cel", ".txt"):
                k = k.removesuffix(suf)
            out[k.lstrip("0") or "0"] = v
        return out

    shared = set(norm(samples)) & set(norm(ann_index))
    if shared:
        return (f" {len(shared)} IDs match after ignoring case, leading zeros and .CEL suffixes: "
                "write the same IDs in both files.")
    return " Check genes_as_rows and that both tables use the same IDs."


# ------------------------------------------------------------------------------------ stages
def _read_expression(path: Path, genes_as_rows: bool) -> tuple[np.ndarray, pd.Index, pd.Index]:
    """(X float32 samples x genes, sample IDs, gene names) of the expression table."""
    expr = read_table(path, "expression")
    if genes_as_rows:
        _check_unique(pd.Index(raw_header(path, "expression")[1:]), "sample IDs (columns)", path)
    else:
        _check_unique(expr.index, "sample IDs (rows)", path)
    X = _numeric_expression(expr, path, genes_as_rows)
    samples = pd.Index(expr.columns if genes_as_rows else expr.index, dtype=str)
    genes = pd.Index(expr.index if genes_as_rows else expr.columns, dtype=str)
    return X, samples, genes


def _read_annotation(path: Path, label: str) -> pd.DataFrame:
    """The sample table, unique IDs, with the ``label`` column present."""
    ann = read_table(path, "sample annotation")
    _check_unique(ann.index, "sample IDs", path)
    if label not in ann.columns:
        raise KeyError(f"label column {label!r} not found in {path}; available columns: "
                       f"{list(ann.columns)}. Set table_label to one of them.")
    return ann


def _align_samples(X: np.ndarray, samples: pd.Index, genes: pd.Index, ann: pd.DataFrame,
                   expression: Path, obs_path: Path, genes_as_rows: bool
                   ) -> tuple[np.ndarray, pd.Index, int]:
    """Keep the samples in both tables (expression order): (X, samples, n expression-only)."""
    common = samples.intersection(ann.index, sort=False)
    if len(common) == 0:
        raise ValueError(f"no sample ID is shared by {expression} ({len(samples)} samples, e.g. "
                         f"{list(samples[:3])}) and {obs_path} ({len(ann)} samples, e.g. "
                         f"{list(ann.index[:3])})."
                         + _id_hint(samples, genes, ann.index, genes_as_rows))
    n_expr_only = len(samples) - len(common)
    n_obs_only = len(ann) - len(common)
    if n_expr_only or n_obs_only:
        warnings.warn(f"sample IDs overlap only partly: {n_expr_only} expression samples have no "
                      f"annotation and {n_obs_only} annotated samples have no expression; keeping "
                      f"the {len(common)} samples present in both.", UserWarning,
                      stacklevel=_CALLER)
        keep = samples.get_indexer(common)
        X = X[keep]
        samples = common
    return X, samples, n_expr_only


def _drop_empty_genes(X: np.ndarray, genes: pd.Index) -> tuple[np.ndarray, pd.Index, int]:
    """Drop genes without a value in any sample (warned); warn about duplicated gene names."""
    all_na = np.isnan(X).all(axis=0)
    if all_na.any():
        warnings.warn(f"{int(all_na.sum())} gene(s) have no value in any sample and were dropped: "
                      f"{list(genes[all_na][:5])}{' ...' if all_na.sum() > 5 else ''}",
                      UserWarning, stacklevel=_CALLER)
        X = X[:, ~all_na]
        genes = genes[~all_na]
    if genes.duplicated().any():
        warnings.warn(f"{int(genes.duplicated().sum())} duplicated gene names (e.g. "
                      f"{list(genes[genes.duplicated()][:3])}); made unique with suffixes.",
                      UserWarning, stacklevel=_CALLER)
    return X, genes, int(all_na.sum())


def _typed_annotation(ann: pd.DataFrame, samples: pd.Index, implicit: list[str]
                      ) -> tuple[pd.DataFrame, list[str]]:
    """Canonical, storable ``obs`` of the kept samples, and the notes on what was changed."""
    obs_df, canon_notes = canonicalize_obs(ann.loc[samples], lenient=implicit)
    obs_df.index.name = "sample"
    obs_df, san_notes = sanitize_obs(obs_df)
    return obs_df, canon_notes + san_notes


def _anndata(X: np.ndarray, obs: pd.DataFrame, genes: pd.Index) -> ad.AnnData:
    adata = ad.AnnData(X=np.ascontiguousarray(X, dtype=np.float32), obs=obs,
                       var=pd.DataFrame(index=pd.Index(genes, name="gene")))
    if genes.duplicated().any():
        adata.var_names_make_unique()
    return adata


def load_table(expression: str | os.PathLike, obs: str | os.PathLike, label: str,
               genes_as_rows: bool = False,
               columns: Mapping[str, str] | None = None) -> ad.AnnData:
    """Load a user's cohort from an expression table and a sample table.

    See ``docs/design.md``, "Bring your own cohort".

    Parameters
    ----------
    expression
        TSV/CSV (optionally gzip, detected from the bytes; ``.csv`` = comma, otherwise tab) of
        log-expression, samples as rows and genes as columns (or the transpose with
        ``genes_as_rows=True``); first column (or header) = IDs; R's ``write.table`` header
        without a row-name field is accepted. Empty/``NA`` cells are missing values (handled by
        ``preprocess``); ``inf``/``-inf`` cells are an error (count and first sample/gene named).
    obs
        TSV/CSV(.gz) of sample annotation, first column = sample ID (read as text: leading zeros
        are kept). Every other column is kept losslessly (:func:`sanitize_obs`): booleans with
        gaps, text with gaps, m/d/yyyy dates (as text), numbers with NA, mixed text and numbers,
        dotted names.
    label
        Column of ``obs`` holding the label (cancer type / tissue); becomes ``obs["label"]``.
        Empty cells mean "no label" (``preprocess`` drops those samples with a count); a column
        with a single value is a ``ValueError``.
    genes_as_rows
        True when the expression table is genes x samples (like the Xena matrix or an R export).
    columns
        Mapping user column -> canonical ``obs`` name (e.g. ``{"Age": "age", "sex": "gender"}``).

    Returns
    -------
    AnnData: ``X`` float32 samples x genes (samples present in both tables, in expression
    order), canonical ``obs`` (missing columns NaN) then the user's other columns,
    ``uns["provenance"]`` with the input files' sizes and SHA-256 and ``annotation_notes``.

    A user column named like the obs index (``sample``) or like a canonical column it is not
    mapped to (``label`` when the label is another column, ``gender`` when ``sex`` is mapped to
    gender, a non-numeric ``age``) is kept under ``<name>_orig`` with a warning and a provenance
    note. Raises/warns: an unreadable file (empty, truncated .gz, binary, ragged) ->
    :class:`TableFileError` naming the file and the fix; duplicated sample IDs, a non-numeric or
    infinite expression cell, a missing or single-valued label column, no shared sample ID ->
    ``ValueError``/``KeyError``; partially overlapping IDs -> warning with counts, then the
    intersection; genes missing in every sample -> dropped with a warning.
    """
    expression, obs_path = Path(expression), Path(obs)
    columns = dict(columns or {})
    check_column_targets(columns)
    X, samples, genes = _read_expression(expression, genes_as_rows)
    ann = _read_annotation(obs_path, label)
    ann, implicit, notes = map_user_columns(ann, label, columns, obs_path.name)
    X, samples, n_expr_only = _align_samples(X, samples, genes, ann, expression, obs_path,
                                             genes_as_rows)
    X, genes, n_dropped = _drop_empty_genes(X, genes)
    obs_df, obs_notes = _typed_annotation(ann, samples, implicit)
    notes += obs_notes
    check_label_classes(obs_df[OBS.LABEL], column=label, where=str(obs_path), annotation=ann)
    adata = _anndata(X, obs_df, genes)
    prov = {
        "source": "table",
        "files": {"expression": file_record(expression, cache=False),
                  "obs": file_record(obs_path, cache=False)},
        "label_column": label, "genes_as_rows": bool(genes_as_rows), "columns": columns,
        "n_samples_expression": int(len(samples) + n_expr_only),
        "n_samples_obs": len(ann), "n_samples_kept": len(samples),
        "n_samples_no_label": int(obs_df[OBS.LABEL].isna().sum()),
        "n_genes_all_missing_dropped": n_dropped,
    }
    report_notes(notes, prov)
    adata.uns[UNS_PROVENANCE] = prov
    return adata
