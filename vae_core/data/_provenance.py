"""What every cohort records about its inputs: file fingerprints and package versions.

- :func:`sha256_of` / :func:`file_record`: ``{"path", "size", "sha256"}`` of an input file. With
  ``cache=True`` (the downloaded real files) the hash is kept in a ``<name>.sha256.json`` sidecar
  and reused while the file's size and modification time are unchanged (hashing 2 GB takes a
  while); the download layer (``_download``) reads and writes the same sidecar to verify files.
- :func:`package_versions`: versions of the packages that shaped a cohort.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as _md
import json
import os
from collections.abc import Iterable
from pathlib import Path

_CHUNK = 1 << 20


def sha256_of(path: str | Path) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def sidecar_path(path: Path) -> Path:
    """The hash sidecar of ``path``: ``<name>.sha256.json`` beside it."""
    return path.with_name(path.name + ".sha256.json")


def read_sidecar(path: Path) -> dict | None:
    """The sidecar record of ``path`` (``sha256``, ``size``, ``mtime_ns``, ``verified_download``),
    or None when there is none or it cannot be read."""
    try:
        return json.loads(sidecar_path(path).read_text())
    except (OSError, ValueError):
        return None


def write_sidecar(path: Path, digest: str, verified: bool) -> None:
    """Record ``digest`` for ``path`` at its current size and modification time (atomic)."""
    st = path.stat()
    record = {"sha256": digest, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
              "verified_download": verified}
    tmp = sidecar_path(path).with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, sidecar_path(path))


def file_record(path: str | Path, *, cache: bool = True) -> dict:
    """``{"path", "size", "sha256"}`` of a file for provenance.

    ``cache=True`` reuses the sidecar hash when the file's size and mtime are unchanged since it
    was hashed, and writes the sidecar otherwise (silently skipped in a read-only folder);
    ``cache=False`` always hashes and writes nothing (a user's own files).
    """
    path = Path(path)
    st = path.stat()
    if not cache:
        return {"path": str(path), "size": int(st.st_size), "sha256": sha256_of(path)}
    side = read_sidecar(path)
    if side and side.get("size") == st.st_size and side.get("mtime_ns") == st.st_mtime_ns:
        digest = side["sha256"]
    else:
        digest = sha256_of(path)
        try:
            write_sidecar(path, digest, verified=bool(side and side.get("verified_download")))
        except OSError:  # read-only data directory: fine, just no cache
            pass
    return {"path": str(path), "size": int(st.st_size), "sha256": digest}


def package_versions(names: Iterable[str]) -> dict[str, str]:
    """name -> installed version for each package (``"unknown"`` when not installed)."""
    out = {}
    for name in names:
        try:
            out[name] = _md.version(name)
        except _md.PackageNotFoundError:  # pragma: no cover
            out[name] = "unknown"
    return out
