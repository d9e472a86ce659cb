"""The grid's results store: one atomic file per training, resumable by key (``docs/design.md``,
"Grid and store").

Layout of a store directory (``paths.store_dir(profile, name, base_dir)``)::

    cohort.json                    fingerprint of the cohort the store was trained on
    records/<k[:2]>/<key>.json     the record: config fields + keys.RECORD_COLUMNS + provenance
    artifacts/<k[:2]>/<key>.npz    embeddings kept (float16) + per-epoch history (JSON string)

Why this is atomic: every file is written to a temporary name in its final directory, flushed and
``fsync``-ed, then moved into place with ``os.replace`` (an atomic rename on POSIX and on NFS),
and the directory is ``fsync``-ed. A reader therefore sees either no file or a complete one, never
a partial one; a process killed mid-write leaves only a hidden ``.*.tmp`` file that every reader
ignores (and ``run`` removes when its writer is dead). The artifacts are written *before* the
record, so a record always implies its embedding and history exist; an orphan artifact (killed
between the two writes) is simply overwritten when the key is trained again. "Done" means "record
file exists", so resuming skips exactly the finished keys: nothing lost, nothing duplicated.

One file per key (rather than one append-only JSONL file) because it stays correct with several
writers at once (two drivers, cluster job arrays on a shared network filesystem, where
``O_APPEND`` is not atomic), needs no partial-line repair, and lets one training be re-run by
deleting its record. Records are sharded by the first two hex digits of the key (256 folders,
~250 files each for the 64,800-training paper grid).

A record's ``provenance`` is a dict (``vae_core.provenance.record_provenance``: versions, git
commit, device, host, UTC time); tables spread it into ``PROVENANCE_COLUMNS`` (``prov_<field>``),
NaN for records written before records carried it.

Embeddings are float16 (half the size of float32; ~3 significant digits, far finer than any
downstream metric needs). An array whose values overflow float16 (|x| > 65504) is kept as float32.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import socket
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..keys import RECORD_COLUMNS
from ..provenance import FIELDS as _PROVENANCE_FIELDS
from ..tables import CONFIG_COLUMNS
from ..train.config import TrainConfig

RECORDS = "records"
ARTIFACTS = "artifacts"
COHORT_FILE = "cohort.json"
EMBEDDING_KINDS: tuple[str, ...] = ("z", "mu", "logvar", "logits")
_HISTORY = "__history__"
_F16_MAX = float(np.finfo(np.float16).max)

#: Key of a record's provenance dict, and the prefix of its columns in a records table.
PROVENANCE = "provenance"
PROVENANCE_COLUMNS: tuple[str, ...] = tuple(f"prov_{k}" for k in _PROVENANCE_FIELDS)

#: Column order of a records table: grid axes, record columns, the other TrainConfig fields,
#: then the provenance columns.
RECORD_TABLE_COLUMNS: tuple[str, ...] = (
    CONFIG_COLUMNS
    + RECORD_COLUMNS
    + tuple(f for f in TrainConfig.__dataclass_fields__ if f not in CONFIG_COLUMNS + RECORD_COLUMNS)
    + PROVENANCE_COLUMNS
)


def _shard(root: Path, sub: str, key: str, suffix: str) -> Path:
    return root / sub / key[:2] / f"{key}{suffix}"


def record_path(store: str | os.PathLike, key: str) -> Path:
    """Path of the record file of ``key``."""
    return _shard(Path(store), RECORDS, key, ".json")


def artifact_path(store: str | os.PathLike, key: str) -> Path:
    """Path of the artifact file (embeddings + history) of ``key``."""
    return _shard(Path(store), ARTIFACTS, key, ".npz")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _tmp_name(path: Path) -> Path:
    host = socket.gethostname().replace(".", "_")
    return path.with_name(f".{path.name}.{host}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same folder, fsync, os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def clean_stale_tmp(store: str | os.PathLike) -> int:
    """Remove temp files left by dead writers on this host; return how many were removed."""
    root = Path(store)
    host = socket.gethostname().replace(".", "_")
    removed = 0
    for sub in (RECORDS, ARTIFACTS):
        base = root / sub
        if not base.is_dir():
            continue
        for tmp in base.glob("*/.*.tmp"):
            parts = tmp.name.rsplit(".", 4)  # .<name>.<host>.<pid>.<rand>.tmp
            if len(parts) != 5 or parts[1] != host:
                continue
            try:
                os.kill(int(parts[2]), 0)
                continue  # writer still alive
            except ProcessLookupError:
                pass
            except (PermissionError, ValueError):
                continue
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else value
    return value


def _compact(array: np.ndarray) -> np.ndarray:
    a = np.asarray(array, dtype=np.float32)
    if a.size and float(np.nanmax(np.abs(a))) > _F16_MAX:
        return a
    return a.astype(np.float16)


def write_training(
    store: str | os.PathLike,
    record: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray | None] | None = None,
    history: list[dict] | None = None,
) -> None:
    """Store one finished training: artifacts first, then the record (both atomic).

    ``arrays`` maps embedding kinds ("z", "mu", "logvar", "logits") to float arrays
    [n_samples, latent_dim] (None entries skipped; stored float16); ``history`` is the per-epoch
    list of dicts of ``FitResult.history``.
    """
    key = str(record["key"])
    buf = io.BytesIO()
    payload = {k: _compact(v) for k, v in (arrays or {}).items() if v is not None}
    payload[_HISTORY] = np.array(json.dumps([{k: _jsonable(v) for k, v in row.items()}
                                             for row in (history or [])]))
    np.savez(buf, **payload)
    atomic_write_bytes(artifact_path(store, key), buf.getvalue())
    rec = {k: _jsonable(v) for k, v in record.items()}
    atomic_write_bytes(record_path(store, key), json.dumps(rec, sort_keys=True).encode())


def _record_files(store: Path) -> Iterable[Path]:
    base = store / RECORDS
    if not base.is_dir():
        return []
    return sorted(p for p in base.glob("*/*.json") if not p.name.startswith("."))


def stored_keys(store: str | os.PathLike) -> set[str]:
    """Keys that have a record in ``store`` (finished trainings, ok or failed)."""
    return {p.stem for p in _record_files(Path(store))}


def read_record(store: str | os.PathLike, key: str) -> dict[str, Any] | None:
    """The record of ``key`` as a dict, or None when absent or unreadable."""
    try:
        return json.loads(record_path(store, key).read_text())
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def _flat(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record with its ``provenance`` dict spread into ``prov_<field>`` entries."""
    out = {k: v for k, v in record.items() if k != PROVENANCE}
    prov = record.get(PROVENANCE)
    if isinstance(prov, Mapping):
        out.update({f"prov_{k}": v for k, v in prov.items()})
    return out


def records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Records as a DataFrame with the canonical column order (extra columns at the end); the
    ``provenance`` dict becomes ``PROVENANCE_COLUMNS`` (NaN where a record has none)."""
    records = [_flat(r) for r in records]
    df = pd.DataFrame.from_records(records)
    cols = [c for c in RECORD_TABLE_COLUMNS
            if c in df.columns or not records or c in PROVENANCE_COLUMNS]
    cols += [c for c in df.columns if c not in cols]
    df = df.reindex(columns=cols)
    for c in ("ari", "aic", "n_clusters", "active_units", "val_loss", "best_val_loss",
              "wall_time"):
        if c in df.columns:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    if "reason" in df.columns:
        df["reason"] = df["reason"].fillna("").astype(str)
    return df


def load_records(store: str | os.PathLike) -> pd.DataFrame:
    """Every record in ``store`` as a DataFrame (one row per training), sorted by key.

    Columns: the grid axes, ``keys.RECORD_COLUMNS``, the remaining TrainConfig fields, then
    ``PROVENANCE_COLUMNS`` (NaN for records written before records carried provenance).
    Unreadable record files (impossible with atomic writes, but e.g. after a bad copy) are
    skipped with a warning, so ``run`` trains those keys again.
    """
    import warnings

    records = []
    for p in _record_files(Path(store)):
        try:
            records.append(json.loads(p.read_text()))
        except (json.JSONDecodeError, UnicodeDecodeError):
            warnings.warn(f"grid store: skipping unreadable record {p}", stacklevel=2)
    df = records_frame(records)
    if len(df):
        df = df.sort_values("key", kind="stable").reset_index(drop=True)
    return df


def load_embedding(store: str | os.PathLike, key: str, kind: str = "z") -> np.ndarray:
    """Stored embedding ``kind`` ("z", "mu", "logvar", "logits") of ``key`` as float32 [n, d]."""
    if kind not in EMBEDDING_KINDS:
        raise ValueError(f"unknown embedding kind {kind!r}; valid kinds are {list(EMBEDDING_KINDS)}.")
    path = artifact_path(store, key)
    if not record_path(store, key).exists():
        raise KeyError(f"no record for key {key!r} in store {store}; train it first (grid.run).")
    with np.load(path, allow_pickle=False) as npz:
        if kind not in npz.files:
            kept = [k for k in npz.files if k != _HISTORY]
            raise KeyError(
                f"embedding {kind!r} of key {key!r} was not kept (kept: {kept}); failed runs keep "
                f"none. Re-run the grid with keep=(..., {kind!r}) into a fresh store."
            )
        return np.asarray(npz[kind], dtype=np.float32)


def load_history(store: str | os.PathLike, key: str) -> pd.DataFrame:
    """Per-epoch history of ``key`` (columns epoch, train_loss, val_loss, per-term losses)."""
    if not record_path(store, key).exists():
        raise KeyError(f"no record for key {key!r} in store {store}; train it first (grid.run).")
    with np.load(artifact_path(store, key), allow_pickle=False) as npz:
        rows = json.loads(str(npz[_HISTORY]))
    return pd.DataFrame.from_records(rows).astype(float, errors="ignore")


def cohort_fingerprint(X: np.ndarray, labels: np.ndarray, cohort: str) -> dict[str, Any]:
    """Shape and SHA-1 of the training matrix and labels, to stop a store mixing cohorts."""
    h = hashlib.sha1()
    h.update(np.ascontiguousarray(X, dtype=np.float32).data)
    h.update("\x1f".join(map(str, labels)).encode())
    return {"cohort": cohort, "n_samples": int(X.shape[0]), "n_genes": int(X.shape[1]),
            "sha1": h.hexdigest()}


def check_cohort(store: str | os.PathLike, fingerprint: dict[str, Any]) -> None:
    """Write the cohort fingerprint on first use; raise if the store holds another cohort."""
    path = Path(store) / COHORT_FILE
    if path.exists():
        old = json.loads(path.read_text())
        if old != fingerprint:
            raise ValueError(
                f"grid store {store} was trained on another cohort ({old['cohort']}: "
                f"{old['n_samples']} x {old['n_genes']}, sha1 {old['sha1'][:10]}) than the one "
                f"given ({fingerprint['cohort']}: {fingerprint['n_samples']} x "
                f"{fingerprint['n_genes']}, sha1 {fingerprint['sha1'][:10]}). Delete the store "
                "folder or pass another store (e.g. another base_dir) to train from scratch."
            )
        return
    atomic_write_bytes(path, json.dumps(fingerprint, sort_keys=True).encode())
