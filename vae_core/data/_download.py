"""Resumable, verified downloads of the real cohort files (``docs/design.md``, "Data").

The HTTP layer is one injectable function, ``fetch(url, start) -> FetchResponse``, so tests run
against a local fake and never touch the network. A download writes ``<name>.part`` (resumed with
an HTTP Range request on the next call), checks size and SHA-256, then renames to ``<name>``.
A corrupt or truncated file (wrong size or hash) is detected and fetched again from scratch.

Known sizes/hashes live in ``vae_core/resources/remote_files.json``. Where a value is unknown
(``null``) the size the server announces is checked, and the SHA-256 of the first complete download
is recorded in a ``<name>.sha256.json`` sidecar (``_provenance``); later verifications compare
against it (trust on first download, stated in the README).
"""

from __future__ import annotations

import json
import logging
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from ._provenance import read_sidecar, sha256_of, sidecar_path, write_sidecar

log = logging.getLogger(__name__)

_CHUNK = 1 << 20

#: ``vae_core/resources/`` (shipped as package data).
RESOURCES = Path(__file__).resolve().parent.parent / "resources"


@dataclass(frozen=True)
class RemoteFile:
    """One input file: where it comes from and what it must look like once downloaded."""

    cohort: str
    role: str
    name: str
    url: str | None
    size: int | None = None
    sha256: str | None = None
    manual: bool = False
    optional: bool = False
    instructions: str = ""


class FetchResponse(NamedTuple):
    """What a fetcher returns: the byte ``offset`` where ``chunks`` start in the full file
    (``start`` when the range request was honoured, 0 when the server sends the whole file),
    the full file size ``total`` if known, and an iterable of byte chunks."""

    offset: int
    total: int | None
    chunks: Iterable[bytes]


Fetcher = Callable[[str, int], FetchResponse]


class MissingDataError(FileNotFoundError):
    """One or more input files are missing and could not be downloaded."""


class DownloadError(OSError):
    """A downloaded file failed verification even after a fresh download."""


def remote_files(cohort: str | None = None) -> list[RemoteFile]:
    """The registry of input files (``resources/remote_files.json``), optionally one cohort."""
    text = (RESOURCES / "remote_files.json").read_text()
    entries = [RemoteFile(**e) for e in json.loads(text)["files"]]
    if cohort is None:
        return entries
    cohorts = sorted({e.cohort for e in entries})
    if cohort not in cohorts:
        raise ValueError(f"unknown cohort {cohort!r}; choose one of {cohorts}")
    return [e for e in entries if e.cohort == cohort]


def http_fetch(url: str, start: int = 0, timeout: float = 60.0) -> FetchResponse:
    """Default fetcher: GET ``url`` from byte ``start`` (HTTP Range) with urllib.

    Works for ``file://`` URLs too (without range support: the whole file is returned).
    """
    req = urllib.request.Request(url, headers={"User-Agent": "vae-benchmark"})
    if start > 0:
        req.add_header("Range", f"bytes={start}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start > 0:  # range beyond the end: the .part may be complete
            m = re.search(r"/(\d+)\s*$", exc.headers.get("Content-Range", "") or "")
            return FetchResponse(start, int(m.group(1)) if m else None, ())
        raise
    status = getattr(resp, "status", None)
    length = resp.headers.get("Content-Length")
    total: int | None = None
    if status == 206:
        offset = start
        m = re.search(r"/(\d+)\s*$", resp.headers.get("Content-Range", ""))
        total = int(m.group(1)) if m else None
    else:
        offset = 0
        total = int(length) if length is not None else None

    def chunks() -> Iterator[bytes]:
        with resp:
            while True:
                block = resp.read(_CHUNK)
                if not block:
                    return
                yield block

    return FetchResponse(offset, total, chunks())


def verify(path: Path, remote: RemoteFile, expected_size: int | None = None) -> str | None:
    """Return None when ``path`` matches the known size/SHA-256 (or the recorded first-download
    hash), else a sentence saying what is wrong."""
    size = path.stat().st_size
    want_size = remote.size if remote.size is not None else expected_size
    side = read_sidecar(path)
    if want_size is None and side and side.get("verified_download"):
        want_size = side.get("size")
    if want_size is not None and size != want_size:
        return f"size {size} bytes, expected {want_size}"
    want_hash = remote.sha256 or (side.get("sha256") if side and side.get("verified_download")
                                  else None)
    if want_hash is not None:
        digest = sha256_of(path)
        if digest != want_hash:
            return f"SHA-256 {digest}, expected {want_hash}"
    return None


def fetch_file(remote: RemoteFile, data_dir: Path, fetch: Fetcher, progress: bool = True) -> Path:
    """Download one file into ``data_dir`` (resuming a ``.part``), verify it and return its path.

    An existing file that fails verification is deleted and fetched again; a fresh download that
    still fails raises :class:`DownloadError`. Network errors propagate (the ``.part`` is kept so
    the next call resumes).
    """
    from tqdm.auto import tqdm

    dest = data_dir / remote.name
    if dest.exists():
        problem = verify(dest, remote)
        if problem is None:
            log.info("%s present and verified", dest)
            if read_sidecar(dest) is None:
                write_sidecar(dest, sha256_of(dest), verified=remote.sha256 is not None)
            return dest
        log.warning("%s failed verification (%s); fetching it again", dest, problem)
        dest.unlink()
        sidecar_path(dest).unlink(missing_ok=True)
    part = dest.with_name(dest.name + ".part")
    problem = ""
    for attempt in range(2):
        start = part.stat().st_size if part.exists() else 0
        resp = fetch(remote.url, start)
        if resp.offset not in (0, start):
            raise DownloadError(f"{remote.url}: server resumed at byte {resp.offset}, asked {start}")
        if start and resp.offset == start:
            log.info("resuming %s at byte %d", remote.name, start)
        mode = "ab" if resp.offset == start and start > 0 else "wb"
        expected = remote.size if remote.size is not None else resp.total
        with open(part, mode) as fh, tqdm(
            total=expected, initial=resp.offset, unit="B", unit_scale=True, unit_divisor=1024,
            desc=remote.name[:40], disable=not progress, leave=False,
        ) as bar:
            for block in resp.chunks:
                fh.write(block)
                bar.update(len(block))
        problem = verify(part, remote, expected_size=expected)
        if problem is None:
            os.replace(part, dest)
            digest = remote.sha256 or sha256_of(dest)
            write_sidecar(dest, digest, verified=True)
            if remote.sha256 is None:
                log.info("%s downloaded; SHA-256 %s recorded (no published hash known)",
                         remote.name, digest)
            return dest
        log.warning("%s failed verification (%s) on attempt %d; restarting from scratch",
                    remote.name, problem, attempt + 1)
        part.unlink()
    raise DownloadError(
        f"{remote.name} from {remote.url} failed verification twice ({problem}). The server copy "
        f"may have changed; download it by hand to {dest} and check it."
    )


def format_missing(items: list[tuple[RemoteFile, Path, str]], command: str) -> str:
    """One message listing every missing file, its URL and the exact path to put it at."""
    lines = [f"{len(items)} input file(s) missing or not downloadable:"]
    for remote, dest, reason in items:
        lines.append(f"  - {remote.name} ({remote.role})")
        if remote.url:
            lines.append(f"      URL:       {remote.url}")
        if remote.instructions:
            lines.append(f"      how:       {remote.instructions}")
        lines.append(f"      put it at: {dest}")
        if reason:
            lines.append(f"      reason:    {reason}")
    lines.append(f"Download with `{command}` when online, or copy the files to the paths above.")
    return "\n".join(lines)


def download_cohort(cohort: str, data_dir: str | Path, fetch: Fetcher | None = None,
                    progress: bool = True) -> list[Path]:
    """Fetch and verify every downloadable file of ``cohort``; see :func:`vae_core.data.download`."""
    fetch = http_fetch if fetch is None else fetch
    data_dir = Path(data_dir).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    got: list[Path] = []
    missing: list[tuple[RemoteFile, Path, str]] = []
    notes: list[str] = []
    for remote in remote_files(cohort):
        dest = data_dir / remote.name
        if remote.manual:
            if dest.exists():
                got.append(dest)
            else:
                log.warning("%s (%s) is not downloadable automatically: %s Put it at %s.%s",
                            remote.name, remote.role, remote.instructions, dest,
                            " Without it the dependent columns are NaN." if remote.optional
                            else "")
                notes.append(f"Not downloadable automatically{' (optional)' * remote.optional}: "
                             f"{remote.name}: {remote.instructions} Put it at {dest}.")
            continue
        try:
            got.append(fetch_file(remote, data_dir, fetch, progress))
        except (OSError, ValueError) as exc:  # URLError, HTTPError, timeouts, DownloadError
            missing.append((remote, dest, f"{type(exc).__name__}: {exc}"))
    if missing:
        raise MissingDataError("\n".join([format_missing(
            missing, f"python -m vae_core.data download {cohort} --data-dir {data_dir}"),
            *notes]))
    return got
