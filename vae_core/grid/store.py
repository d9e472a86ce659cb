"""The grid's results store: one atomic file per training, resumable by key (``docs/design.md``,
"Grid and store").

Layout of a store directory (``paths.store_dir(profile, name, base_dir)``)::

    cohort.json                    fingerprint of the cohort the store was trained on
    records/<k[:2]>/<key>.json     the record: config fields + keys.RECORD_COLUMNS + provenance
    artifacts/<k[:2]>/<key>.npz    embeddings kept (float16) + per-epoch history (JSON string)
    quarantine/                    damaged files moved aside by ``verify``/``quarantine``, under
                                   their relative path, and ``log.jsonl`` (one line per move)

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

Damaged files (``docs/design.md``, "Grid and store", "Damaged files"): atomic writes rule out
partial files from this code, but a bad copy, a full disk on another tool's write or a hand edit
can still leave a truncated record or a garbage artifact. ``verify`` (run by ``grid.run`` at its
start) finds them and moves each damaged record together with its artifact into ``quarantine/``,
so the configuration counts as not trained and is trained again; readers never drop or misread a
damaged file silently (``load_records`` warns naming it, ``load_embedding``/``load_history``
raise ``ValueError`` naming it). ``verify`` reads every record but only the zip directory of each
artifact, so a member damaged *inside* an intact archive is found when it is read.

Embeddings are float16 (half the size of float32; ~3 significant digits, far finer than any
downstream metric needs). An array whose values overflow float16 (|x| > 65504) is kept as float32.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import math
import os
import socket
import uuid
import warnings
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..keys import RECORD_COLUMNS, STATUS_OK
from ..provenance import FIELDS as _PROVENANCE_FIELDS
from ..provenance import utc_now as _utc_now
from ..tables import CONFIG_COLUMNS
from ..train.config import TrainConfig

RECORDS = "records"
ARTIFACTS = "artifacts"
COHORT_FILE = "cohort.json"
QUARANTINE = "quarantine"
QUARANTINE_LOG = "log.jsonl"
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


def remove_dead_tmp(paths: Iterable[Path]) -> int:
    """Remove those temp files (``.<name>.<host>.<pid>.<rand>.tmp``, ``_tmp_name``) whose
    writer was on this host and is dead; return how many were removed."""
    host = socket.gethostname().replace(".", "_")
    removed = 0
    for tmp in paths:
        parts = tmp.name.rsplit(".", 4)
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


def clean_stale_tmp(store: str | os.PathLike) -> int:
    """Remove temp files left by dead writers on this host; return how many were removed."""
    root = Path(store)
    return sum(remove_dead_tmp((root / sub).glob("*/.*.tmp")) for sub in (RECORDS, ARTIFACTS)
               if (root / sub).is_dir())


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


# --------------------------------------------------------------------------- damaged files

class DamagedStoreWarning(UserWarning):
    """A grid store holds damaged files (``verify``, ``load_records``)."""


#: How many damaged files a warning lists by name (the count is always given).
_SHOWN = 5
_ZIP_SIGNATURE = b"PK\x03\x04"
_MISSING = "is missing"


def _read_checked(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """``(record, None)`` for a sound record file, ``(None, what is wrong)`` for a damaged one.

    Sound: valid JSON holding an object whose ``key`` equals the file name, in the shard folder
    of that key. Raises FileNotFoundError when the file vanished (moved by another process).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    if not data.strip():
        return None, "is empty"
    try:
        rec = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return None, f"is not valid JSON (truncated or overwritten?): {exc}"
    if not isinstance(rec, dict):
        return None, f"holds a JSON {type(rec).__name__}, not a record object"
    if "key" not in rec:
        return None, "has no 'key' field"
    if rec["key"] != path.stem:
        return None, f"has key {rec['key']!r}, not its file name's {path.stem!r}"
    if path.parent.name != path.stem[:2]:
        return None, f"lies in shard folder {path.parent.name!r}, not {path.stem[:2]!r}"
    return rec, None


def _artifact_problem(path: Path) -> str | None:
    """What is wrong with the artifact file ``path`` (``_MISSING`` when absent), or None.

    Reads the first bytes and the zip directory (what ``np.load`` opens), never the arrays, and
    checks that the history entry is listed.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(len(_ZIP_SIGNATURE))
            if not head:
                return "is empty"
            if head != _ZIP_SIGNATURE:
                return (f"is not an npz archive (starts with {head!r}, not the zip signature "
                        f"{_ZIP_SIGNATURE!r}: overwritten?)")
            f.seek(0)
            with zipfile.ZipFile(f) as zf:
                names = zf.namelist()
    except FileNotFoundError:
        return _MISSING
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        return f"is not a readable npz archive (truncated?): {exc}"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if f"{_HISTORY}.npy" not in names:
        return f"has no history entry {_HISTORY!r} (entries: {sorted(names)})"
    return None


def _relative_to(root: Path, path: Path) -> Path | None:
    """``path`` relative to the folder ``root``, or None when it lies outside."""
    for a, b in ((os.path.abspath(path), os.path.abspath(root)),
                 (os.path.realpath(path), os.path.realpath(root))):
        rel = Path(os.path.relpath(a, b))
        if rel.parts and rel.parts[0] != os.pardir and rel != Path("."):
            return rel
    return None


def quarantine(store: str | os.PathLike, path: str | os.PathLike, reason: str) -> Path:
    """Move the damaged file ``path`` of ``store`` into ``<store>/quarantine/``; return its new path.

    The file keeps its path relative to the store (``records/ab/<key>.json`` goes to
    ``quarantine/records/ab/<key>.json``; when that name is taken, ``<key>.1.json``, ``.2``, ...),
    is moved with ``os.replace`` (atomic: readers see the file in one place or the other), and one
    JSON line ``{"file", "to", "reason", "time_utc"}`` is appended to
    ``<store>/quarantine/log.jsonl``. A record moved away counts as not trained, so the next
    ``grid.run`` trains its configuration again (``docs/design.md``, "Grid and store").

    Raises ValueError when ``path`` is not inside ``store`` or already in its quarantine, and
    FileNotFoundError when ``path`` does not exist (e.g. another process moved it first).
    """
    root = Path(store)
    src = Path(path)
    rel = _relative_to(root, src)
    if rel is None:
        raise ValueError(f"quarantine: {src} is not inside the grid store {root}; pass a file of "
                         "that store (records/, artifacts/, ...).")
    if rel.parts[0] == QUARANTINE:
        raise ValueError(f"quarantine: {src} is already in the quarantine folder of {root}.")
    if not os.path.lexists(src):
        raise FileNotFoundError(f"quarantine: no file {src} in grid store {root} (moved or "
                                "removed already?).")
    dest = root / QUARANTINE / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    stem, suffix = dest.stem, dest.suffix
    n = 0
    while os.path.lexists(dest):
        n += 1
        dest = dest.with_name(f"{stem}.{n}{suffix}")
    os.replace(src, dest)
    _fsync_dir(src.parent)
    _fsync_dir(dest.parent)
    line = json.dumps({"file": rel.as_posix(), "to": dest.relative_to(root).as_posix(),
                       "reason": str(reason), "time_utc": _utc_now()})
    with open(root / QUARANTINE / QUARANTINE_LOG, "a", encoding="utf-8") as log:
        log.write(line + "\n")
        log.flush()
        os.fsync(log.fileno())
    return dest


@dataclasses.dataclass
class VerifyReport:
    """What ``verify`` found in a store.

    ``n_records``: record files checked; ``n_ok``: records sound with their artifact;
    ``damaged``: ``(path, what is wrong)`` per damaged configuration (the record file, or its
    artifact when only that is damaged); ``quarantined``: the new paths of the files moved into
    ``quarantine/`` (a damaged configuration's record and its artifact; empty with
    ``repair=False``).
    """

    n_records: int
    n_ok: int
    damaged: list[tuple[Path, str]] = dataclasses.field(default_factory=list)
    quarantined: list[Path] = dataclasses.field(default_factory=list)
    store: Path | None = None

    @property
    def ok(self) -> bool:
        """True when nothing is damaged."""
        return not self.damaged

    def __str__(self) -> str:
        head = (f"grid store {self.store}: {self.n_records} records, {self.n_ok} ok, "
                f"{len(self.damaged)} damaged")
        if self.quarantined:
            head += f" ({len(self.quarantined)} files moved to {QUARANTINE}/)"
        return "\n".join([head] + [f"  {p}: {why}" for p, why in self.damaged])


def _damage_lines(damaged: list[tuple[Path, str]]) -> str:
    lines = [f"  {p}: {why}" for p, why in damaged[:_SHOWN]]
    if len(damaged) > _SHOWN:
        lines.append(f"  ... and {len(damaged) - _SHOWN} more")
    return "\n".join(lines)


def verify(store: str | os.PathLike, *, repair: bool = True) -> VerifyReport:
    """Check every record of ``store`` and its artifact; move damaged ones into quarantine.

    A record is sound when it parses as a JSON object whose ``key`` equals its file name (in the
    key's shard folder); a record whose status is ok, and any record that has an artifact, also
    needs an artifact that opens as an npz archive listing the history entry. Only the zip
    directory of an artifact is read, never the embeddings, so this stays cheap enough to run at
    every ``grid.run`` start; a member damaged inside an intact archive is found when
    ``load_embedding``/``load_history`` read it (``ValueError`` naming the file).

    With ``repair=True`` a damaged record and its artifact, or a damaged or missing artifact and
    its record, are moved with ``quarantine`` into ``<store>/quarantine/`` (logged in its
    ``log.jsonl``): the configuration then counts as not trained, and the next ``grid.run``
    trains it again. With ``repair=False`` nothing moves. Either way a ``DamagedStoreWarning``
    names the damaged files (the first few) and their count. ``grid.run`` calls this at its
    start. Orphan artifacts (no record: a writer killed between the two writes) are not damage:
    the next training of the key overwrites them.
    """
    root = Path(store)
    n_records = 0
    damaged: list[tuple[Path, str]] = []
    moved: list[Path] = []
    for rec_path in _record_files(root):
        try:
            rec, reason = _read_checked(rec_path)
        except FileNotFoundError:
            continue  # moved away meanwhile (another process verifying the same store)
        n_records += 1
        art_path = artifact_path(root, rec_path.stem)
        bad = rec_path
        if rec is not None:
            reason = _artifact_problem(art_path)
            if reason == _MISSING and rec.get("status") != STATUS_OK:
                reason = None  # failed records written before failures kept their history
            bad = art_path
        if reason is None:
            continue
        damaged.append((bad, reason))
        if not repair:
            continue
        why = f"{bad.relative_to(root).as_posix()} {reason}"
        for f in (rec_path, art_path):
            with contextlib.suppress(FileNotFoundError):
                moved.append(quarantine(root, f, why))
    if damaged:
        if repair:
            tail = (f"Each was moved, with the other file of its configuration (record or "
                    f"artifact), to {root / QUARANTINE} (listed in {QUARANTINE}/{QUARANTINE_LOG}): "
                    f"these {len(damaged)} configuration(s) count as not trained, and the next "
                    "grid.run on this store trains them again.")
        else:
            tail = ("Nothing was moved (repair=False): grid.verify(store) moves them to "
                    f"{QUARANTINE}/, and the next grid.run on this store does so itself and trains "
                    "these configurations again.")
        warnings.warn(f"grid store {root}: {len(damaged)} damaged configuration(s) among "
                      f"{n_records} records:\n{_damage_lines(damaged)}\n{tail}",
                      DamagedStoreWarning, stacklevel=2)
    return VerifyReport(n_records=n_records, n_ok=n_records - len(damaged), damaged=damaged,
                        quarantined=moved, store=root)


def _damaged_artifact(store: str | os.PathLike, key: str, path: Path, what: str) -> ValueError:
    return ValueError(
        f"grid store {store}: the artifact {path} of key {key!r} {what}. Run "
        "grid.verify(store) to move it and its record to quarantine/, then grid.run(...) on this "
        "store to train this configuration again."
    )


_READ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile)


@contextlib.contextmanager
def _open_artifact(store: str | os.PathLike, key: str):
    """The artifact of ``key`` as an open ``NpzFile``; ValueError naming the file if damaged."""
    path = artifact_path(store, key)
    try:
        npz = np.load(path, allow_pickle=False)
    except FileNotFoundError as exc:
        raise _damaged_artifact(store, key, path, "is missing although its record exists") \
            from exc
    except _READ_ERRORS as exc:
        what = _artifact_problem(path) or f"cannot be read ({type(exc).__name__}: {exc})"
        raise _damaged_artifact(store, key, path, what) from exc
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise _damaged_artifact(store, key, path, "holds a single array, not an npz archive")
    with npz:
        if _HISTORY not in npz.files:
            raise _damaged_artifact(store, key, path, f"has no history entry {_HISTORY!r}")
        try:
            yield npz
        except _READ_ERRORS as exc:
            raise _damaged_artifact(store, key, path, f"has a damaged entry "
                                    f"({type(exc).__name__}: {exc})") from exc


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

    A damaged record file (not valid JSON, not an object, or a ``key`` other than its file name:
    impossible with atomic writes, but e.g. after a bad copy) is left out of the table and
    reported by a ``DamagedStoreWarning`` that names it (the first few, and the count) and the
    fix: ``grid.verify(store)`` moves it to ``quarantine/`` and the next ``grid.run`` trains its
    configuration again (``grid.run`` verifies the store at its start). Nothing is dropped
    without that warning. Artifacts are not opened here (``verify`` checks them).
    """
    root = Path(store)
    records, damaged = [], []
    for p in _record_files(root):
        try:
            rec, reason = _read_checked(p)
        except FileNotFoundError:
            continue  # moved away meanwhile (another process's verify)
        if rec is None:
            damaged.append((p, reason))
        else:
            records.append(rec)
    if damaged:
        warnings.warn(
            f"grid store {root}: {len(damaged)} of {len(records) + len(damaged)} record files are "
            f"damaged and left out of this table:\n{_damage_lines(damaged)}\n"
            f"grid.verify(store) moves them with their artifacts to {QUARANTINE}/, and the next "
            "grid.run on this store (which verifies it first) trains these configurations again.",
            DamagedStoreWarning, stacklevel=2)
    df = records_frame(records)
    if len(df):
        df = df.sort_values("key", kind="stable").reset_index(drop=True)
    return df


def load_embedding(store: str | os.PathLike, key: str, kind: str = "z") -> np.ndarray:
    """Stored embedding ``kind`` ("z", "mu", "logvar", "logits") of ``key`` as float32 [n, d].

    KeyError when ``key`` has no record or ``kind`` was not kept; ValueError naming the file when
    the artifact is missing or damaged (fix: ``grid.verify(store)``, then ``grid.run`` again).
    """
    if kind not in EMBEDDING_KINDS:
        raise ValueError(f"unknown embedding kind {kind!r}; valid kinds are {list(EMBEDDING_KINDS)}.")
    if not record_path(store, key).exists():
        raise KeyError(f"no record for key {key!r} in store {store}; train it first (grid.run).")
    with _open_artifact(store, key) as npz:
        if kind not in npz.files:
            kept = [k for k in npz.files if k != _HISTORY]
            raise KeyError(
                f"embedding {kind!r} of key {key!r} was not kept (kept: {kept}); failed runs keep "
                f"none. Re-run the grid with keep=(..., {kind!r}) into a fresh store."
            )
        return np.asarray(npz[kind], dtype=np.float32)


def load_history(store: str | os.PathLike, key: str) -> pd.DataFrame:
    """Per-epoch history of ``key`` (columns epoch, train_loss, val_loss, per-term losses).

    KeyError when ``key`` has no record; ValueError naming the file when the artifact is missing
    or damaged (fix: ``grid.verify(store)``, then ``grid.run`` again).
    """
    if not record_path(store, key).exists():
        raise KeyError(f"no record for key {key!r} in store {store}; train it first (grid.run).")
    with _open_artifact(store, key) as npz:
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
