"""Streaming readers for the two large text matrices (Xena genes x samples, GCT 1.2).

Both formats are tab-separated, one gene per line, a few leading name columns and then one value
per sample. The readers stream the file (plain or gzip, opened with ``_files.open_binary``) in
blocks of lines and parse every block's values as ONE column with pandas' C parser (the tab
separators are turned into line breaks), which is several times faster than a 17,000-column
``read_csv`` and keeps memory at the float32 result plus one block. The output is written straight
into a samples x genes float32 array (the canonical layout, ``docs/design.md``, "Data").
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ._files import GZIP_ERRORS, is_gzip

log = logging.getLogger(__name__)

#: Cell strings read as missing (the Xena matrix writes ``NA``; an empty cell is missing too).
NA_STRINGS = ("NA", "NaN", "nan", "N/A", "null", "")


class MatrixFormatError(ValueError):
    """A matrix file is malformed (wrong header, ragged row, non-number, truncated)."""


@dataclass
class Matrix:
    """A parsed matrix: ``X`` [n_kept_columns, n_rows] float32 (samples x genes).

    ``row_names[k]`` lists the k-th leading name column of every row (genes), ``columns`` the
    kept column (sample) names in file order.
    """

    X: np.ndarray
    row_names: list[list[str]]
    columns: list[str]
    n_missing: int


def check_complete_plain(path: str | Path) -> None:
    """Raise when a plain (non-gzip) text file does not end with a newline (cut-off download)."""
    path = Path(path)
    if is_gzip(path):
        return
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        if size == 0:
            raise MatrixFormatError(f"{path} is empty; delete it and download it again.")
        fh.seek(size - 1)
        if fh.read(1) != b"\n":
            raise MatrixFormatError(
                f"{path} does not end with a newline: the file looks truncated. Delete it and run "
                "the download again (python -m vae_core.data download ...)."
            )


def _truncated(path: Path, exc: BaseException) -> MatrixFormatError:
    return MatrixFormatError(
        f"{path} is truncated or corrupt ({type(exc).__name__}: {exc}). Delete it and run the "
        "download again (python -m vae_core.data download ...)."
    )


def read_matrix(
    path: str | Path,
    fh: io.BufferedIOBase,
    columns: Sequence[str],
    n_prefix: int,
    *,
    keep: np.ndarray | None = None,
    n_rows: int | None = None,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    block_values: int = 20_000_000,
    header_lines: int = 1,
) -> Matrix:
    """Parse the body of a genes x samples text matrix from the open handle ``fh``.

    ``fh`` is positioned after the header; ``columns`` are the sample names of the header (after
    the ``n_prefix`` name columns). ``keep`` (bool mask or int index over ``columns``) selects the
    samples to return; ``n_rows`` (when known, as in GCT) preallocates the output and is checked
    against the number of rows found. ``transform`` is applied in place to each float32 block
    (e.g. log2(x + 1)); ``header_lines`` counts the lines before the body (for error messages).
    Returns :class:`Matrix` with X [n_kept, n_rows] float32.
    Raises :class:`MatrixFormatError` naming the file and line for a ragged row, a non-number,
    an ``inf``/``-inf`` cell (count and first gene/sample; an error, as in ``load_table``) or a
    truncated file.
    """
    path = Path(path)
    n_cols = len(columns)
    keep_idx = np.arange(n_cols) if keep is None else np.asarray(keep)
    if keep_idx.dtype == bool:
        keep_idx = np.flatnonzero(keep_idx)
    n_keep = int(keep_idx.size)
    all_kept = n_keep == n_cols
    block_rows = max(1, block_values // max(n_cols, 1))
    names: list[list[str]] = [[] for _ in range(n_prefix)]
    out = np.empty((n_keep, n_rows), dtype=np.float32) if n_rows is not None else None
    blocks: list[np.ndarray] = []
    n_missing = 0
    row = 0
    line_no = header_lines
    expected_tabs = n_prefix + n_cols - 1

    def flush(bodies: list[bytes], start_line: int) -> None:
        nonlocal row, n_missing, out
        if not bodies:
            return
        text = b"".join(bodies).replace(b"\t", b"\n")
        try:
            values = pd.read_csv(
                io.BytesIO(text), header=None, names=["v"], dtype=np.float32, engine="c",
                na_values=list(NA_STRINGS), keep_default_na=False, skip_blank_lines=False,
                lineterminator="\n",
            )["v"].to_numpy(dtype=np.float32)
        except ValueError as exc:
            raise MatrixFormatError(
                f"{path}: a non-numeric value between lines {start_line} and "
                f"{start_line + len(bodies) - 1} ({exc}). Values must be numbers or NA."
            ) from exc
        k = len(bodies)
        if values.size != k * n_cols:  # pragma: no cover - guarded by the per-line tab count
            raise MatrixFormatError(f"{path}: expected {k * n_cols} values near line {start_line}")
        block = values.reshape(k, n_cols)
        if not all_kept:
            block = block[:, keep_idx]
        n_missing += int(np.isnan(block).sum())
        inf = np.isinf(block)
        if inf.any():
            r, c = np.argwhere(inf)[0]
            gene = names[0][row + r] if n_prefix else f"data row {row + r + 1}"
            raise MatrixFormatError(
                f"{path}: {int(inf.sum())} infinite value(s) (inf/-inf) between lines "
                f"{start_line} and {start_line + k - 1}; the first at gene {gene!r}, sample "
                f"{columns[keep_idx[c]]!r}. Values must be finite numbers or NA; download the "
                "file again or write those cells as NA."
            )
        if transform is not None:
            block = transform(block)
        if out is not None:
            if row + k > out.shape[1]:
                raise MatrixFormatError(
                    f"{path}: more data rows than the {out.shape[1]} the header declares."
                )
            out[:, row:row + k] = block.T
        else:
            blocks.append(np.ascontiguousarray(block))
        row += k

    bodies: list[bytes] = []
    block_start = line_no + 1
    try:
        for raw in fh:
            line_no += 1
            if raw.endswith(b"\n"):
                raw = raw[:-1]
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if not raw:
                continue
            ntab = raw.count(b"\t")
            if ntab != expected_tabs:
                raise MatrixFormatError(
                    f"{path}, line {line_no}: {ntab + 1} fields, expected {expected_tabs + 1} "
                    f"({n_prefix} name column(s) + {n_cols} samples of the header). The file is "
                    "ragged or truncated; download it again."
                )
            parts = raw.split(b"\t", n_prefix)
            for k in range(n_prefix):
                names[k].append(parts[k].decode())
            bodies.append(parts[n_prefix] + b"\n")
            if len(bodies) >= block_rows:
                flush(bodies, block_start)
                bodies = []
                block_start = line_no + 1
        flush(bodies, block_start)
    except GZIP_ERRORS as exc:
        raise _truncated(path, exc) from exc
    if out is not None:
        if row != out.shape[1]:
            raise MatrixFormatError(
                f"{path}: {row} data rows but the header declares {out.shape[1]}; the file is "
                "truncated or the dimension line is wrong. Download it again."
            )
        X = out
    else:
        X = np.empty((n_keep, row), dtype=np.float32)
        pos = 0
        while blocks:
            b = blocks.pop(0)
            X[:, pos:pos + b.shape[0]] = b.T
            pos += b.shape[0]
    return Matrix(X=X, row_names=names, columns=[columns[i] for i in keep_idx],
                  n_missing=n_missing)


def read_header_line(fh: io.BufferedIOBase, path: Path) -> list[str]:
    """Read one tab-separated header line (no trailing newline) as strings."""
    try:
        raw = fh.readline()
    except GZIP_ERRORS as exc:
        raise _truncated(path, exc) from exc
    if not raw:
        raise MatrixFormatError(f"{path} is empty; download it again.")
    return raw.rstrip(b"\r\n").decode().split("\t")


def looks_numeric(token: str) -> bool:
    """True when ``token`` parses as a float (used to spot a data row where a header belongs)."""
    try:
        float(token)
    except ValueError:
        return False
    return True
