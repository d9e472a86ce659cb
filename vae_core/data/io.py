"""Reading and writing cohorts: h5ad files and a user's own tables (SPEC 2.1, 2.5).

- :func:`write_h5ad` / :func:`read_h5ad`: atomic write (temporary file + ``os.replace``);
  ``uns["provenance"]`` and ``uns["ground_truth"]`` are stored as JSON strings (h5ad cannot hold
  ``None`` or lists of mixed types) and decoded again on reading, so they round-trip exactly.
- :func:`sanitize_obs`: the one place annotation columns are made storable (lossless: booleans
  with gaps, text with gaps, dates as text, numbers with NA, mixed text and numbers; a column
  named like the index is renamed with a note). ``load_table``, ``load_source`` and
  ``write_h5ad`` all use it.
- :func:`load_table`: expression + sample annotation TSV/CSV(.gz) -> canonical AnnData; an
  unreadable file (empty, truncated .gz, binary, ragged) is a :class:`TableFileError` naming the
  file and the fix; an ``inf``/``-inf`` expression cell is an error (count + first location).
- :func:`load_source`: the one entry point notebook 01 uses for every source.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import warnings
import zlib
from collections.abc import Collection, Mapping
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from ..keys import CANONICAL_OBS, GENDER_CATEGORIES, OBS, UNS_GROUND_TRUTH, UNS_PROVENANCE

#: ``uns`` entries stored as JSON text inside the h5ad file.
JSON_UNS_KEYS: tuple[str, ...] = (UNS_PROVENANCE, UNS_GROUND_TRUTH)
_JSON_PREFIX = "json:"

SOURCES = ("simulated", "tcga", "gtex", "table", "h5ad", "none")


# ------------------------------------------------------------------------ lossless annotation
#: Text cells read as ``True`` / ``False`` in a column made only of these (and gaps).
_BOOL_TEXT = {"true": True, "false": False}
#: Label cells that mean "no label" (besides NaN / None / empty text).
_NO_LABEL_TEXT = frozenset({"", "nan", "na", "n/a", "none", "null", "<na>"})
#: Column names anndata refuses in a dataframe.
_RESERVED_COLUMNS = frozenset({"_index"})


def _unique_name(name: str, taken: set[str], suffix: str = "_orig") -> str:
    new = f"{name}{suffix}"
    k = 2
    while new in taken:
        new = f"{name}{suffix}{k}"
        k += 1
    return new


def _sanitize_values(s: pd.Series) -> tuple[pd.Series | pd.api.extensions.ExtensionArray, str]:
    """One column in a dtype h5ad stores losslessly, and what was done ("" when nothing)."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = s.cat.categories
        if cats.dtype == object and not all(isinstance(c, str) for c in cats):
            text = s.astype(object).map(lambda v: None if pd.isna(v) else str(v))
            return (pd.Series(pd.Categorical(text), index=s.index),
                    "categories of mixed types stored as text")
        return s, ""
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return s, ""                       # bool, int, float and their nullable forms
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        text = s.astype(str).where(s.notna(), None)
        return pd.Series(pd.Categorical(text), index=s.index), "dates stored as ISO text"
    # object / string: look at the values that are present
    present = s[s.notna()]
    vals = present.tolist()
    if not vals:
        return s.astype(float), "empty column stored as float NaN"
    if all(isinstance(v, bool | np.bool_) for v in vals):
        return s.astype("boolean"), "booleans with gaps stored as nullable boolean"
    if all(isinstance(v, str) for v in vals):
        low = {v.strip().lower() for v in vals}
        if low <= set(_BOOL_TEXT):
            arr = pd.array([_BOOL_TEXT[v.strip().lower()] if isinstance(v, str) else None
                            for v in s.where(s.notna(), None)], dtype="boolean")
            return pd.Series(arr, index=s.index), "TRUE/FALSE text stored as nullable boolean"
        return (pd.Series(pd.Categorical(s.astype(object).where(s.notna(), None)), index=s.index),
                "")
    if all(isinstance(v, int | float | np.integer | np.floating) and not isinstance(
            v, bool | np.bool_) for v in vals):
        return pd.to_numeric(s.astype(object), errors="coerce").astype(float), ""
    text = s.astype(object).where(s.notna(), None).map(lambda v: None if v is None else str(v))
    return pd.Series(pd.Categorical(text), index=s.index), "mixed types stored as text"


def sanitize_obs(df: pd.DataFrame, what: str = "obs") -> tuple[pd.DataFrame, list[str]]:
    """Return a copy of an annotation frame that h5ad stores losslessly, and notes on renames.

    Used by :func:`load_table`, :func:`load_source` and :func:`write_h5ad` (so a user's own
    AnnData, the simulated cohorts and the real ones all pass through it; SPEC 2.5, issue 13 A).

    Values are kept, only their container changes: an object column of True/False with gaps (or
    ``TRUE``/``FALSE`` text with gaps) becomes pandas' nullable ``boolean``; text (with or without
    gaps, e.g. m/d/yyyy dates) becomes ``categorical`` of the same strings, NaN where missing;
    an object column of numbers becomes float; a column mixing text and numbers keeps every value
    as its text (``1005``, ``LAL5``, ``12.5``); datetime columns become ISO text. Bool, numeric
    and nullable numeric/boolean columns are unchanged. Column names are kept (dots, brackets,
    ``t(4;11)``), except: a ``/`` becomes ``_`` (HDF5 separates groups with it); a name equal to
    the index name (``sample``) or reserved by anndata (``_index``) gets the suffix ``_orig``;
    these renames are returned as notes ("obs column 'sample' renamed to 'sample_orig': ...").
    The index becomes text. Canonical columns are typed by :func:`canonical_obs`, not here.
    """
    out = df.copy()
    out.index = out.index.astype(str)
    notes: list[str] = []
    taken = {str(c) for c in out.columns}
    new_names, new_cols = [], {}
    for col in out.columns:
        name = str(col)
        if "/" in name:
            fixed = name.replace("/", "_")
            if fixed in taken:
                fixed = _unique_name(fixed, taken)
            notes.append(f"{what} column {name!r} renamed to {fixed!r}: h5ad does not allow '/' "
                         "in a column name.")
            name = fixed
        reason = ""
        if out.index.name is not None and name == str(out.index.name):
            reason = f"the index (sample IDs) is named {name!r}"
        elif name in _RESERVED_COLUMNS:
            reason = f"anndata reserves the name {name!r}"
        if reason:
            fixed = _unique_name(name, taken | set(new_names))
            notes.append(f"{what} column {name!r} renamed to {fixed!r}: {reason}; its values are "
                         "kept under the new name.")
            name = fixed
        taken.add(name)
        new_names.append(name)
        values, _ = _sanitize_values(out[col])
        new_cols[name] = (values.set_axis(out.index) if isinstance(values, pd.Series)
                          else pd.Series(values, index=out.index))
    res = pd.DataFrame(new_cols, index=out.index)
    res.columns = pd.Index(new_names, dtype=object)
    return res, notes


def _note(notes: list[str], prov: dict | None = None, key: str = "annotation_notes") -> None:
    """Warn each note once and append it to ``prov[key]``."""
    for n in notes:
        warnings.warn(n, UserWarning, stacklevel=3)
    if prov is not None and notes:
        prov.setdefault(key, [])
        prov[key] = list(prov[key]) + list(notes)


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
    ``obs`` and ``var`` are written through :func:`sanitize_obs` (lossless; a column renamed
    there, e.g. ``sample`` -> ``sample_orig``, is warned about and noted in the written
    provenance's ``annotation_notes``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.h5ad")
    if adata.is_view:
        adata = adata.copy()
    obs, obs_notes = sanitize_obs(adata.obs, "obs")
    var, var_notes = sanitize_obs(adata.var, "var")
    notes = obs_notes + var_notes
    saved = {}
    saved_frames = (adata.obs, adata.var)
    try:
        if notes:
            prov = dict(adata.uns.get(UNS_PROVENANCE, {}) or {})
            _note(notes, prov)
            saved.setdefault(UNS_PROVENANCE, adata.uns.get(UNS_PROVENANCE))
            adata.uns[UNS_PROVENANCE] = prov
        adata.obs, adata.var = obs, var
        for key in JSON_UNS_KEYS:
            if key in adata.uns:
                saved.setdefault(key, adata.uns[key])
                adata.uns[key] = _JSON_PREFIX + json.dumps(_to_jsonable(adata.uns[key]))
        adata.write_h5ad(tmp)
        os.replace(tmp, path)
    finally:
        adata.obs, adata.var = saved_frames
        for key, val in saved.items():
            if val is None:
                adata.uns.pop(key, None)
            else:
                adata.uns[key] = val
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
class TableFileError(ValueError):
    """A user's table file cannot be read as a table; the message names the file and the fix."""


_GZIP_MAGIC = b"\x1f\x8b"
#: Leading bytes of formats that are not text tables, with the fix to suggest.
_NOT_A_TABLE = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"%PDF", "a PDF document"),
    (b"\x89HDF", "an HDF5 file (an .h5ad? load it with source: h5ad / h5ad_path)"),
    (b"PK\x03\x04", "a zip archive (an .xlsx workbook is one: save the sheet as CSV/TSV)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel/Office file (save the sheet as CSV/TSV)"),
    (b"BZh", "a bzip2 archive (decompress it, or recompress with gzip as .gz)"),
    (b"\xfd7zXZ", "an xz archive (decompress it, or recompress with gzip as .gz)"),
    (b"7z\xbc\xaf", "a 7-Zip archive (extract it)"),
    (b"RDX", "an R data file (.rds/.RData: write.table() it to TSV/CSV in R)"),
)
_TABLE_FIX = ("expected a TSV/CSV text table (optionally gzip-compressed as .gz), first column = "
              "IDs; export the table again (e.g. R: write.table(x, sep='\\t', quote=FALSE, "
              "col.names=NA))")


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


def _corrupt_gz(path: Path, what: str, exc: BaseException) -> TableFileError:
    return TableFileError(
        f"{what} file {path} is a truncated or corrupt gzip file ({type(exc).__name__}: {exc}); "
        f"`gzip -t {path.name}` confirms it. Download or export it again (or gunzip what is "
        "left and check the last line).")


def _sniff(path: Path, what: str) -> tuple[str | None, str]:
    """(compression, encoding) of a table file; a clear error for what is not a text table."""
    if not path.exists():
        raise FileNotFoundError(f"{what} file not found: {path}; check the path.")
    if path.is_dir():
        raise TableFileError(f"{what} path {path} is a folder; give the table file inside it.")
    if path.stat().st_size == 0:
        raise TableFileError(f"{what} file {path} is empty (0 bytes); {_TABLE_FIX}.")
    with open(path, "rb") as fh:
        head = fh.read(8)
    compression = "gzip" if head.startswith(_GZIP_MAGIC) else None
    for magic, kind in _NOT_A_TABLE:
        if head.startswith(magic):
            raise TableFileError(f"{what} file {path} is {kind}, not a text table; {_TABLE_FIX}.")
    try:
        if compression:
            with gzip.open(path, "rb") as fh:
                sample = fh.read(1 << 16)
        else:
            with open(path, "rb") as fh:
                sample = fh.read(1 << 16)
    except (EOFError, OSError, zlib.error) as exc:
        raise _corrupt_gz(path, what, exc) from exc
    if not sample.strip():
        raise TableFileError(f"{what} file {path} holds no text (only blank lines"
                             f"{' once decompressed' if compression else ''}); {_TABLE_FIX}.")
    for magic, kind in _NOT_A_TABLE:
        if compression and sample.startswith(magic):
            raise TableFileError(f"{what} file {path} is {kind} inside gzip, not a text table; "
                                 f"{_TABLE_FIX}.")
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in sample or control > 0.02 * len(sample):
        raise TableFileError(
            f"{what} file {path} is binary, not a text table ({control} control bytes in its "
            f"first {len(sample)}{' decompressed' if compression else ''} bytes); {_TABLE_FIX}.")
    try:
        sample[:-4].decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        encoding = "latin-1"
    return compression, encoding


def _read_table(path: Path, what: str) -> pd.DataFrame:
    """Read a delimited table; the first column (IDs) stays text (leading zeros kept).

    Every read failure becomes :class:`TableFileError` naming the file and the fix.
    """
    compression, encoding = _sniff(path, what)
    sep = _sep(path)
    kw = {"sep": sep, "compression": compression, "encoding": encoding}
    try:
        header = pd.read_csv(path, nrows=1, **kw)
        names = [str(c) for c in pd.read_csv(path, nrows=0, **kw).columns]
        if header.shape[1] < 2:
            raise TableFileError(
                f"{what} file {path} has {header.shape[1]} column(s) with separator {sep!r}; "
                "expected an ID column and at least one more. Use .csv for comma-separated and "
                ".tsv/.txt for tab-separated files.")
        implicit_index = isinstance(header.index, pd.MultiIndex) or \
            not isinstance(header.index, pd.RangeIndex)
        if implicit_index:        # R's write.table default: the header lacks the row-name field
            names = ["\x00id"] + names
        else:
            names[0] = "\x00id"
        df = pd.read_csv(path, header=0, names=names, index_col=0, dtype={"\x00id": str},
                         low_memory=False, **kw)
    except TableFileError:
        raise
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise _corrupt_gz(path, what, exc) from exc
    except pd.errors.EmptyDataError as exc:
        raise TableFileError(f"{what} file {path} has no columns to read ({exc}); "
                             f"{_TABLE_FIX}.") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise TableFileError(f"{what} file {path} cannot be parsed as a table with separator "
                             f"{sep!r}: {str(exc).strip()}. Check that every row has as many "
                             "fields as the header (a cut-off last line means an incomplete file); "
                             f"{_TABLE_FIX}.") from exc
    if df.shape[0] == 0:
        raise TableFileError(f"{what} file {path} has a header but no data rows; "
                             f"{_TABLE_FIX}.")
    if df.index.isna().any():
        row = int(np.argmax(df.index.isna())) + 2
        raise TableFileError(f"{what} file {path} has an empty ID in its first column (line "
                             f"{row}); give every row an ID (or delete the row).")
    df.index = pd.Index(df.index.astype(str).str.strip(), dtype=object)
    df.index.name = None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _raw_header(path: Path) -> list[str]:
    """The header fields as written (pandas renames duplicated column names)."""
    compression, encoding = _sniff(path, "expression")
    opener = gzip.open if compression else open
    with opener(path, "rt", encoding=encoding) as fh:
        line = fh.readline().rstrip("\r\n")
    return [f.strip().strip('"') for f in line.split(_sep(path))]


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


def _canonical_gender(s: pd.Series) -> pd.Categorical:
    norm = s.astype("string").str.strip().str.lower()
    norm = norm.replace({"f": "female", "m": "male", "woman": "female", "man": "male"})
    bad = norm.notna() & ~norm.isin(GENDER_CATEGORIES)
    if bad.any():
        raise ValueError(f"gender column has values {sorted(set(s[bad].astype(str)))[:5]}; use "
                         "female/male (or F/M) and leave unknown ones empty.")
    return pd.Categorical(norm.to_numpy(dtype=object, na_value=np.nan),
                          categories=list(GENDER_CATEGORIES))


def _canonical_label(s: pd.Series) -> pd.Categorical:
    vals = [None if v is None or (not isinstance(v, str) and pd.isna(v))
            or str(v).strip().lower() in _NO_LABEL_TEXT else str(v).strip()
            for v in s.astype(object)]
    return pd.Categorical(pd.Series(vals, index=s.index, dtype=object))


def _canonical_numeric(s: pd.Series, c: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype(float)
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() & s.notna()
    if bad.any():
        raise ValueError(f"obs column {c!r} must be numeric; sample {bad.idxmax()!r} has "
                         f"{s[bad].iloc[0]!r}. Fix it or leave it empty (NA).")
    return num.astype(float)


def _canonical_obs(obs: pd.DataFrame, lenient: Collection[str] = ()) -> tuple[pd.DataFrame,
                                                                            list[str]]:
    obs = obs.copy()
    notes: list[str] = []
    for c in CANONICAL_OBS:
        if c not in obs:
            obs[c] = np.nan
    obs[OBS.LABEL] = _canonical_label(obs[OBS.LABEL])
    for c in CANONICAL_OBS:
        if c == OBS.LABEL:
            continue
        try:
            obs[c] = _canonical_gender(obs[c]) if c == OBS.GENDER else \
                _canonical_numeric(obs[c], c)
        except ValueError as exc:
            if c not in lenient:
                raise
            new = _unique_name(c, {str(k) for k in obs.columns})
            obs[new] = obs[c]
            obs[c] = _canonical_gender(pd.Series(np.nan, index=obs.index)) if c == OBS.GENDER \
                else np.nan
            notes.append(f"obs column {c!r} is not a canonical {c} ({exc}); kept as {new!r} and "
                         f"{c!r} left empty. Map the right column to {c!r} (table_columns) if "
                         "there is one.")
    extra = [c for c in obs.columns if c not in CANONICAL_OBS]
    return obs[list(CANONICAL_OBS) + extra], notes


def canonical_obs(obs: pd.DataFrame, lenient: Collection[str] = ()) -> pd.DataFrame:
    """Return ``obs`` with every canonical column (SPEC 2.1) present and typed.

    Missing canonical columns are filled with NaN; ``label`` becomes categorical of text
    (``""``, ``NA``, ``nan``, ``None`` cells mean no label), ``gender`` categorical female/male
    (F/M accepted), the other canonical columns float. A value that does not fit raises, except
    in the columns named in ``lenient`` (columns that only happen to carry a canonical name): those
    are kept under ``<name>_orig`` with a warning and the canonical column is left empty.
    Extra columns are kept after the canonical ones.
    """
    out, notes = _canonical_obs(obs, lenient)
    _note(notes)
    return out


def _id_hint(samples: pd.Index, genes: pd.Index, ann_index: pd.Index,
             genes_as_rows: bool) -> str:
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


def load_table(expression: str | os.PathLike, obs: str | os.PathLike, label: str,
               genes_as_rows: bool = False,
               columns: Mapping[str, str] | None = None) -> ad.AnnData:
    """Load a user's cohort from an expression table and a sample table (SPEC 2.5).

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
    unknown_targets = sorted(set(columns.values()) - set(CANONICAL_OBS))
    if unknown_targets:
        raise ValueError(f"columns maps to {unknown_targets}, which are not canonical obs names; "
                         f"use names from {list(CANONICAL_OBS)}.")
    expr = _read_table(expression, "expression")
    if genes_as_rows:
        _check_unique(pd.Index(_raw_header(expression)[1:]), "sample IDs (columns)", expression)
    else:
        _check_unique(expr.index, "sample IDs (rows)", expression)
    X = _numeric_expression(expr, expression, genes_as_rows)
    samples = pd.Index(expr.columns if genes_as_rows else expr.index, dtype=str)
    genes = pd.Index(expr.index if genes_as_rows else expr.columns, dtype=str)
    del expr

    ann = _read_table(obs_path, "sample annotation")
    _check_unique(ann.index, "sample IDs", obs_path)
    if label not in ann.columns:
        raise KeyError(f"label column {label!r} not found in {obs_path}; available columns: "
                       f"{list(ann.columns)}. Set table_label to one of them.")
    notes: list[str] = []
    targets = {u: c for u, c in columns.items() if u in ann.columns}
    targets[label] = OBS.LABEL
    missing_sources = sorted(set(columns) - set(ann.columns))
    if missing_sources:
        notes.append(f"table_columns names {missing_sources}, not found in {obs_path.name}; "
                     f"available columns: {list(ann.columns)}.")
    dup_targets = {c for c in targets.values() if list(targets.values()).count(c) > 1}
    if dup_targets:
        raise ValueError(f"several columns map to {sorted(dup_targets)} ({targets}); map one "
                         "column to each canonical name.")
    taken = set(ann.columns) | set(targets.values())
    clash = {}
    for user_col in ann.columns:
        if user_col in CANONICAL_OBS and user_col in targets.values() and \
                targets.get(user_col) != user_col:
            src = next(u for u, c in targets.items() if c == user_col)
            clash[user_col] = _unique_name(user_col, taken | set(clash.values()))
            notes.append(f"obs column {user_col!r} of {obs_path.name} renamed to "
                         f"{clash[user_col]!r}: {user_col!r} is filled from column {src!r}; its "
                         "values are kept under the new name.")
    ann = ann.rename(columns=clash).rename(columns=targets)
    implicit = [c for c in CANONICAL_OBS if c in ann.columns and c not in targets.values()]

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

    obs_df, canon_notes = _canonical_obs(ann.loc[samples], lenient=implicit)
    notes += canon_notes
    obs_df.index.name = "sample"
    obs_df, san_notes = sanitize_obs(obs_df)
    notes += san_notes
    n_no_label = int(obs_df[OBS.LABEL].isna().sum())
    from .preprocess import check_label_classes

    check_label_classes(obs_df[OBS.LABEL], column=label, where=str(obs_path), annotation=ann)
    adata = ad.AnnData(X=np.ascontiguousarray(X, dtype=np.float32), obs=obs_df,
                       var=pd.DataFrame(index=pd.Index(genes, name="gene")))
    if genes.duplicated().any():
        adata.var_names_make_unique()
    prov = {
        "source": "table",
        "files": {"expression": _file_record(expression), "obs": _file_record(obs_path)},
        "label_column": label, "genes_as_rows": bool(genes_as_rows), "columns": columns,
        "n_samples_expression": int(len(samples) + n_expr_only),
        "n_samples_obs": len(ann), "n_samples_kept": len(samples),
        "n_samples_no_label": n_no_label,
        "n_genes_all_missing_dropped": int(all_na.sum()),
    }
    _note(notes, prov)
    adata.uns[UNS_PROVENANCE] = prov
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
    ``"table"``: :func:`load_table`; ``"h5ad"``: :func:`read_h5ad` + canonical ``obs`` +
    :func:`sanitize_obs` (a user's AnnData with any column kinds; a non-fitting column that only
    carries a canonical name is kept as ``<name>_orig`` with a warning).
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
    obs, notes = _canonical_obs(adata.obs, lenient=[c for c in CANONICAL_OBS if c != OBS.LABEL])
    obs, san_notes = sanitize_obs(obs)
    adata.obs = obs
    prov = dict(adata.uns.get(UNS_PROVENANCE, {}) or {})
    prov.setdefault("source", "h5ad")
    prov["input_h5ad"] = _file_record(Path(h5ad_path))
    prov["n_samples_no_label"] = int(obs[OBS.LABEL].isna().sum())
    _note(notes + san_notes, prov)
    from .preprocess import check_label_classes

    check_label_classes(obs[OBS.LABEL], column="label", where=str(h5ad_path))
    adata.uns[UNS_PROVENANCE] = prov
    return adata
