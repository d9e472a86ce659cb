"""Reading and writing cohorts: h5ad files and a user's own tables (SPEC 2.1, 2.5).

- :func:`write_h5ad` / :func:`read_h5ad`: atomic write (temporary file + ``os.replace``);
  ``uns["provenance"]`` and ``uns["ground_truth"]`` are stored as JSON strings (h5ad cannot hold
  ``None`` or lists of mixed types) and decoded again on reading, so they round-trip exactly.
- :func:`load_table`: expression + sample annotation TSV/CSV(.gz) -> canonical AnnData.
- :func:`load_source`: the one entry point notebook 01 uses for every source.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from ..keys import CANONICAL_OBS, GENDER_CATEGORIES, OBS, UNS_GROUND_TRUTH, UNS_PROVENANCE

#: ``uns`` entries stored as JSON text inside the h5ad file.
JSON_UNS_KEYS: tuple[str, ...] = (UNS_PROVENANCE, UNS_GROUND_TRUTH)
_JSON_PREFIX = "json:"

SOURCES = ("simulated", "tcga", "gtex", "table", "h5ad", "none")


# ---------------------------------------------------------------------------------- h5ad files
def _to_jsonable(obj):
    if isinstance(obj, Mapping):
        return {str(k): _to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_h5ad(adata: ad.AnnData, path: str | os.PathLike) -> Path:
    """Write ``adata`` to ``path`` atomically (parents created) and return the path.

    The file is written to a temporary name in the same directory and renamed into place, so a
    reader never sees a half-written file. ``uns["provenance"]`` and ``uns["ground_truth"]`` are
    serialised as JSON (None, nested and mixed lists survive); ``adata`` itself is not modified.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.h5ad")
    saved = {}
    try:
        for key in JSON_UNS_KEYS:
            if key in adata.uns:
                saved[key] = adata.uns[key]
                adata.uns[key] = _JSON_PREFIX + json.dumps(_to_jsonable(saved[key]))
        adata.write_h5ad(tmp)
        os.replace(tmp, path)
    finally:
        adata.uns.update(saved)
        if tmp.exists():
            tmp.unlink()
    return path


def read_h5ad(path: str | os.PathLike) -> ad.AnnData:
    """Read an h5ad file written by :func:`write_h5ad` (or any AnnData file).

    JSON-encoded ``uns`` entries (provenance, ground truth) are decoded back to dicts.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no h5ad file at {path}; check the path (for the pipeline's "
                                "cohorts, run notebook 01 first).")
    adata = ad.read_h5ad(path)
    for key in JSON_UNS_KEYS:
        val = adata.uns.get(key)
        if isinstance(val, str) and val.startswith(_JSON_PREFIX):
            adata.uns[key] = json.loads(val[len(_JSON_PREFIX):])
    return adata


# ----------------------------------------------------------------------------- user tables
def _sep(path: Path) -> str:
    name = path.name.lower()
    name = name.removesuffix(".gz")
    return "," if name.endswith(".csv") else "\t"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _file_record(path: Path) -> dict:
    return {"path": str(path), "size": int(path.stat().st_size), "sha256": _sha256(path)}


def _read_with_string_index(path: Path, what: str) -> pd.DataFrame:
    """Read a delimited table whose first column (IDs) stays text (leading zeros kept)."""
    if not path.exists():
        raise FileNotFoundError(f"{what} file not found: {path}; check the path.")
    sep = _sep(path)
    header = pd.read_csv(path, sep=sep, nrows=0)
    if header.shape[1] < 2:
        raise ValueError(f"{what} file {path} has {header.shape[1]} column(s) with separator "
                         f"{sep!r}; expected an ID column and at least one more. Use .csv for "
                         "comma-separated and .tsv/.txt for tab-separated files.")
    first = header.columns[0]
    df = pd.read_csv(path, sep=sep, dtype={first: str}, index_col=0, low_memory=False)
    df.index = df.index.astype(str).str.strip()
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _raw_header(path: Path) -> list[str]:
    """The header fields as written (pandas renames duplicated column names)."""
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt") as fh:
        line = fh.readline().rstrip("\r\n")
    return [f.strip().strip('"') for f in line.split(_sep(path))]


def _check_unique(index: pd.Index, what: str, path: Path) -> None:
    dup = index[index.duplicated()].unique()
    if len(dup):
        raise ValueError(f"duplicated {what} in {path}: {list(dup[:5])}"
                         f"{' ...' if len(dup) > 5 else ''} ({len(dup)} duplicated); make the IDs "
                         "unique (e.g. keep one row per sample) and load again.")


def _numeric_expression(df: pd.DataFrame, path: Path, genes_as_rows: bool) -> np.ndarray:
    """float32 samples x genes matrix; the first non-numeric cell raises with its position."""
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
    X = df.to_numpy(dtype=np.float32)
    return X.T.copy() if genes_as_rows else X


def _canonical_gender(s: pd.Series) -> pd.Categorical:
    norm = s.astype("string").str.strip().str.lower()
    norm = norm.replace({"f": "female", "m": "male", "woman": "female", "man": "male"})
    bad = norm.notna() & ~norm.isin(GENDER_CATEGORIES)
    if bad.any():
        raise ValueError(f"gender column has values {sorted(set(s[bad].astype(str)))[:5]}; use "
                         "female/male (or F/M) and leave unknown ones empty.")
    return pd.Categorical(norm.to_numpy(dtype=object, na_value=np.nan),
                          categories=list(GENDER_CATEGORIES))


def canonical_obs(obs: pd.DataFrame) -> pd.DataFrame:
    """Return ``obs`` with every canonical column (SPEC 2.1) present and typed.

    Missing canonical columns are filled with NaN; ``label`` becomes categorical, ``gender``
    categorical female/male, the other canonical columns float (a non-numeric value raises).
    Extra columns are kept after the canonical ones.
    """
    obs = obs.copy()
    for c in CANONICAL_OBS:
        if c not in obs:
            obs[c] = np.nan
    lab = obs[OBS.LABEL]
    lab = lab.where(lab.notna(), None).astype(object)
    lab = pd.Series([None if v is None or str(v).strip() == "" else str(v).strip() for v in lab],
                    index=obs.index, dtype=object)
    obs[OBS.LABEL] = pd.Categorical(lab)
    obs[OBS.GENDER] = _canonical_gender(obs[OBS.GENDER])
    for c in CANONICAL_OBS:
        if c in (OBS.LABEL, OBS.GENDER):
            continue
        num = pd.to_numeric(obs[c], errors="coerce")
        bad = num.isna() & obs[c].notna()
        if bad.any():
            raise ValueError(f"obs column {c!r} must be numeric; sample {bad.idxmax()!r} has "
                             f"{obs[c][bad].iloc[0]!r}. Fix it or leave it empty (NA).")
        obs[c] = num.astype(float)
    extra = [c for c in obs.columns if c not in CANONICAL_OBS]
    return obs[list(CANONICAL_OBS) + extra]


def load_table(expression: str | os.PathLike, obs: str | os.PathLike, label: str,
               genes_as_rows: bool = False,
               columns: Mapping[str, str] | None = None) -> ad.AnnData:
    """Load a user's cohort from an expression table and a sample table (SPEC 2.5).

    Parameters
    ----------
    expression
        TSV/CSV (optionally .gz; ``.csv`` = comma, otherwise tab) of log-expression, samples as
        rows and genes as columns (or the transpose with ``genes_as_rows=True``); first column
        (or header) = IDs. Empty/``NA`` cells are missing values (handled by ``preprocess``).
    obs
        TSV/CSV(.gz) of sample annotation, first column = sample ID (read as text: leading zeros
        are kept).
    label
        Column of ``obs`` holding the label (cancer type / tissue); becomes ``obs["label"]``.
    genes_as_rows
        True when the expression table is genes x samples (like the Xena matrix).
    columns
        Mapping user column -> canonical ``obs`` name (e.g. ``{"Age": "age", "OS.time":
        "os_time"}``).

    Returns
    -------
    AnnData: ``X`` float32 samples x genes (samples present in both tables, in expression
    order), canonical ``obs`` (missing columns NaN), ``uns["provenance"]`` with the input files'
    sizes and SHA-256.

    Raises/warns: duplicated sample IDs, a non-numeric expression cell, a missing label column,
    no shared sample ID -> ``ValueError``/``KeyError``; partially overlapping IDs -> warning with
    counts, then the intersection; genes missing in every sample -> dropped with a warning.
    """
    expression, obs_path = Path(expression), Path(obs)
    columns = dict(columns or {})
    expr = _read_with_string_index(expression, "expression")
    if genes_as_rows:
        _check_unique(pd.Index(_raw_header(expression)[1:]), "sample IDs (columns)", expression)
    else:
        _check_unique(expr.index, "sample IDs (rows)", expression)
    X = _numeric_expression(expr, expression, genes_as_rows)
    samples = pd.Index(expr.columns if genes_as_rows else expr.index, dtype=str)
    genes = pd.Index(expr.index if genes_as_rows else expr.columns, dtype=str)
    del expr

    ann = _read_with_string_index(obs_path, "sample annotation")
    _check_unique(ann.index, "sample IDs", obs_path)
    if label not in ann.columns:
        raise KeyError(f"label column {label!r} not found in {obs_path}; available columns: "
                       f"{list(ann.columns)}. Set table_label to one of them.")
    rename = {u: c for u, c in columns.items() if u in ann.columns}
    unknown_targets = sorted(set(columns.values()) - set(CANONICAL_OBS))
    if unknown_targets:
        raise ValueError(f"columns maps to {unknown_targets}, which are not canonical obs names; "
                         f"use names from {list(CANONICAL_OBS)}.")
    ann = ann.rename(columns={**rename, label: OBS.LABEL})

    common = samples.intersection(ann.index, sort=False)
    if len(common) == 0:
        raise ValueError(f"no sample ID is shared by {expression} ({len(samples)} samples, e.g. "
                         f"{list(samples[:3])}) and {obs_path} ({len(ann)} samples, e.g. "
                         f"{list(ann.index[:3])}); check genes_as_rows and that both tables use "
                         "the same IDs.")
    n_expr_only = len(samples) - len(common)
    n_obs_only = len(ann) - len(common)
    if n_expr_only or n_obs_only:
        warnings.warn(f"sample IDs overlap only partly: {n_expr_only} expression samples have no "
                      f"annotation and {n_obs_only} annotated samples have no expression; keeping "
                      f"the {len(common)} samples present in both.", UserWarning, stacklevel=2)
        keep = samples.get_indexer(common)
        X = X[keep]
        samples = common

    all_na = np.isnan(X).all(axis=0)
    if all_na.any():
        warnings.warn(f"{int(all_na.sum())} gene(s) have no value in any sample and were dropped: "
                      f"{list(genes[all_na][:5])}{' ...' if all_na.sum() > 5 else ''}",
                      UserWarning, stacklevel=2)
        X = X[:, ~all_na]
        genes = genes[~all_na]
    if genes.duplicated().any():
        warnings.warn(f"{int(genes.duplicated().sum())} duplicated gene names (e.g. "
                      f"{list(genes[genes.duplicated()][:3])}); made unique with suffixes.",
                      UserWarning, stacklevel=2)

    obs_df = canonical_obs(ann.loc[samples])
    obs_df.index.name = "sample"
    adata = ad.AnnData(X=np.ascontiguousarray(X, dtype=np.float32), obs=obs_df,
                       var=pd.DataFrame(index=pd.Index(genes, name="gene")))
    if genes.duplicated().any():
        adata.var_names_make_unique()
    adata.uns[UNS_PROVENANCE] = {
        "source": "table",
        "files": {"expression": _file_record(expression), "obs": _file_record(obs_path)},
        "label_column": label, "genes_as_rows": bool(genes_as_rows), "columns": columns,
        "n_samples_expression": int(len(samples) + n_expr_only),
        "n_samples_obs": len(ann), "n_samples_kept": len(samples),
        "n_genes_all_missing_dropped": int(all_na.sum()),
    }
    return adata


# ------------------------------------------------------------------------------ notebook 01
def load_source(source: str, *, kind: str = "tcga", n_samples: int | None = None,
                n_genes: int | None = None, seed: int = 0, data_dir=None,
                table_expression=None, table_obs=None, table_label=None,
                table_genes_as_rows: bool = False, table_columns=None,
                h5ad_path=None) -> ad.AnnData | None:
    """The raw cohort of notebook 01 for a ``source`` parameter (None for ``"none"``).

    ``"simulated"``: :func:`~vae_core.data.simulate` (``kind``, sizes, seed; defaults 3000/2000
    samples and 2000 genes); ``"tcga"`` / ``"gtex"``: the real loaders reading ``data_dir``;
    ``"table"``: :func:`load_table`; ``"h5ad"``: :func:`read_h5ad` + canonical ``obs``.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; choose one of {list(SOURCES)}.")
    if source == "none":
        return None
    if source == "simulated":
        from .simulate import simulate

        n_default = 3000 if kind == "tcga" else 2000
        return simulate(kind, n_samples=int(n_samples or n_default),
                        n_genes=int(n_genes or 2000), seed=int(seed))
    if source in ("tcga", "gtex"):
        from . import real

        return real.load_tcga(data_dir) if source == "tcga" else real.load_gtex(data_dir)
    if source == "table":
        missing = [n for n, v in (("table_expression", table_expression),
                                  ("table_obs", table_obs), ("table_label", table_label))
                   if not v]
        if missing:
            raise ValueError(f"source='table' needs the parameters {missing}; set them in the "
                             "params file or with papermill -p.")
        return load_table(table_expression, table_obs, table_label,
                          genes_as_rows=bool(table_genes_as_rows), columns=table_columns)
    if not h5ad_path:
        raise ValueError("source='h5ad' needs h5ad_path (an AnnData file with obs['label']).")
    adata = read_h5ad(h5ad_path)
    if OBS.LABEL not in adata.obs:
        raise KeyError(f"{h5ad_path} has no obs['label']; available obs columns: "
                       f"{list(adata.obs.columns)}. Rename the label column to 'label'.")
    adata.obs = canonical_obs(adata.obs)
    prov = dict(adata.uns.get(UNS_PROVENANCE, {}) or {})
    prov.setdefault("source", "h5ad")
    prov["input_h5ad"] = _file_record(Path(h5ad_path))
    adata.uns[UNS_PROVENANCE] = prov
    return adata
