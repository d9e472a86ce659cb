"""Opening input files that may be gzip-compressed: the one place the gzip magic is checked.

Compression is detected from the first bytes, never from the name (a ``.gz`` name on a plain file,
or a gzip file without the suffix, both read correctly). Used by the user-table reader
(``delimited``), the streaming matrix reader (``_matrix``) and the real loaders (``real``).
"""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path

#: First two bytes of every gzip stream.
GZIP_MAGIC = b"\x1f\x8b"

#: What reading a truncated or corrupt gzip stream raises.
GZIP_ERRORS: tuple[type[BaseException], ...] = (EOFError, zlib.error, gzip.BadGzipFile)

_BUFFER = 1 << 22


def is_gzip(path: str | Path) -> bool:
    """True when the file at ``path`` starts with the gzip magic bytes."""
    with open(path, "rb") as fh:
        return fh.read(len(GZIP_MAGIC)) == GZIP_MAGIC


def open_binary(path: str | Path) -> io.BufferedIOBase:
    """Open ``path`` for binary reading, transparently gunzipping when it starts with gzip magic."""
    path = Path(path)
    if is_gzip(path):
        return io.BufferedReader(gzip.open(path, "rb"), buffer_size=_BUFFER)
    return open(path, "rb", buffering=_BUFFER)


def open_text(path: str | Path, encoding: str = "utf-8") -> io.TextIOBase:
    """:func:`open_binary` decoded as text (universal newlines)."""
    return io.TextIOWrapper(open_binary(path), encoding=encoding)
