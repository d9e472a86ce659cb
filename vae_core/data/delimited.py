"""Reading a user's TSV/CSV(.gz) text tables, with an error that names the file and the fix.

An unreadable file (missing, a folder, empty, truncated or corrupt gzip, binary, an image, an
archive, a spreadsheet, ragged rows) is a :class:`TableFileError` saying what the file is and how
to export it again (``docs/design.md``, "Bring your own cohort"). Compression is detected from
the bytes (``_files``); the separator from the name (``.csv`` = comma, otherwise tab).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ._files import GZIP_ERRORS, GZIP_MAGIC, open_binary, open_text


class TableFileError(ValueError):
    """A user's table file cannot be read as a table; the message names the file and the fix."""


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
TABLE_FIX = ("expected a TSV/CSV text table (optionally gzip-compressed as .gz), first column = "
             "IDs; export the table again (e.g. R: write.table(x, sep='\\t', quote=FALSE, "
             "col.names=NA))")
#: Bytes looked at to tell a text table from anything else.
_SNIFF_BYTES = 1 << 16
_ID = "\x00id"


def separator(path: Path) -> str:
    """``","`` for a ``.csv``/``.csv.gz`` name, else tab."""
    name = path.name.lower()
    name = name.removesuffix(".gz")
    return "," if name.endswith(".csv") else "\t"


def _corrupt_gz(path: Path, what: str, exc: BaseException) -> TableFileError:
    return TableFileError(
        f"{what} file {path} is a truncated or corrupt gzip file ({type(exc).__name__}: {exc}); "
        f"`gzip -t {path.name}` confirms it. Download or export it again (or gunzip what is "
        "left and check the last line).")


def _not_a_table(head: bytes) -> str | None:
    return next((kind for magic, kind in _NOT_A_TABLE if head.startswith(magic)), None)


def _check_is_file(path: Path, what: str) -> None:
    if not path.exists():
        raise FileNotFoundError(f"{what} file not found: {path}; check the path.")
    if path.is_dir():
        raise TableFileError(f"{what} path {path} is a folder; give the table file inside it.")
    if path.stat().st_size == 0:
        raise TableFileError(f"{what} file {path} is empty (0 bytes); {TABLE_FIX}.")


def _check_text(sample: bytes, path: Path, what: str, compressed: bool) -> None:
    if not sample.strip():
        raise TableFileError(f"{what} file {path} holds no text (only blank lines"
                             f"{' once decompressed' if compressed else ''}); {TABLE_FIX}.")
    kind = _not_a_table(sample) if compressed else None
    if kind:
        raise TableFileError(f"{what} file {path} is {kind} inside gzip, not a text table; "
                             f"{TABLE_FIX}.")
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in sample or control > 0.02 * len(sample):
        raise TableFileError(
            f"{what} file {path} is binary, not a text table ({control} control bytes in its "
            f"first {len(sample)}{' decompressed' if compressed else ''} bytes); {TABLE_FIX}.")


def sniff(path: Path, what: str) -> tuple[str | None, str]:
    """(compression, encoding) of a table file; a clear error for what is not a text table."""
    _check_is_file(path, what)
    with open(path, "rb") as fh:
        head = fh.read(8)
    compression = "gzip" if head.startswith(GZIP_MAGIC) else None
    kind = _not_a_table(head)
    if kind:
        raise TableFileError(f"{what} file {path} is {kind}, not a text table; {TABLE_FIX}.")
    try:
        with open_binary(path) as fh:
            sample = fh.read(_SNIFF_BYTES)
    except (*GZIP_ERRORS, OSError) as exc:
        raise _corrupt_gz(path, what, exc) from exc
    _check_text(sample, path, what, compressed=compression is not None)
    try:
        sample[:-4].decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        encoding = "latin-1"
    return compression, encoding


def _header_names(path: Path, what: str, sep: str, kw: dict) -> list[str]:
    """Column names for ``read_csv``, the ID column first (also when R left out its name)."""
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
        return [_ID] + names
    names[0] = _ID
    return names


def _clean_ids(df: pd.DataFrame, path: Path, what: str) -> pd.DataFrame:
    if df.shape[0] == 0:
        raise TableFileError(f"{what} file {path} has a header but no data rows; "
                             f"{TABLE_FIX}.")
    if df.index.isna().any():
        row = int(np.argmax(df.index.isna())) + 2
        raise TableFileError(f"{what} file {path} has an empty ID in its first column (line "
                             f"{row}); give every row an ID (or delete the row).")
    df.index = pd.Index(df.index.astype(str).str.strip(), dtype=object)
    df.index.name = None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def read_table(path: Path, what: str) -> pd.DataFrame:
    """Read a delimited table; the first column (IDs) stays text (leading zeros kept).

    Every read failure becomes :class:`TableFileError` naming the file and the fix.
    """
    compression, encoding = sniff(path, what)
    sep = separator(path)
    kw = {"sep": sep, "compression": compression, "encoding": encoding}
    try:
        names = _header_names(path, what, sep, kw)
        df = pd.read_csv(path, header=0, names=names, index_col=0, dtype={_ID: str},
                         low_memory=False, **kw)
    except TableFileError:
        raise
    except GZIP_ERRORS as exc:
        raise _corrupt_gz(path, what, exc) from exc
    except pd.errors.EmptyDataError as exc:
        raise TableFileError(f"{what} file {path} has no columns to read ({exc}); "
                             f"{TABLE_FIX}.") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise TableFileError(f"{what} file {path} cannot be parsed as a table with separator "
                             f"{sep!r}: {str(exc).strip()}. Check that every row has as many "
                             "fields as the header (a cut-off last line means an incomplete file); "
                             f"{TABLE_FIX}.") from exc
    return _clean_ids(df, path, what)


def raw_header(path: Path, what: str) -> list[str]:
    """The header fields as written (pandas renames duplicated column names)."""
    _, encoding = sniff(path, what)
    with open_text(path, encoding=encoding) as fh:
        line = fh.readline().rstrip("\r\n")
    return [f.strip().strip('"') for f in line.split(separator(path))]
