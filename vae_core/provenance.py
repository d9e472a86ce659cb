"""Where and with what a result was computed: versions, commit, host, device, time.

Every training record the grid writes carries ``record_provenance(device)`` under
``provenance`` (``docs/design.md``, "Grid and store"); ``grid.load_records`` spreads it into
``prov_*`` columns. Notebooks and the results page can call :func:`environment` for the same
description of the running process.

Light on purpose: standard library only. Package versions are read from the installed
metadata (torch is not imported for its version), the git commit is asked of ``git`` once per
process (short timeouts; None when the package is not a git checkout), and only a CUDA device's
name needs torch (already imported by whoever trained on it).

    >>> from vae_core import provenance
    >>> sorted(provenance.environment())
    ['commit', 'cpu', 'host', 'python', 'torch', 'vae_core']
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
import platform
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

#: Keys of :func:`record_provenance`, in order (``load_records`` columns are ``prov_<key>``).
FIELDS: tuple[str, ...] = ("vae_core", "commit", "torch", "python", "device", "cpu", "host",
                           "time_utc")

_GIT_TIMEOUT = 5.0  # seconds per git call; a slow or hanging git gives commit None


def _package_version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _vae_core_version() -> str:
    from . import __version__

    return __version__


def _torch_version() -> str | None:
    torch = sys.modules.get("torch")
    if torch is not None:
        return str(torch.__version__)
    return _package_version("torch")


def _git(args: list[str], cwd: Path) -> str | None:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}  # a read must not lock
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=_GIT_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """HEAD of the git checkout holding this package, with ``+dirty`` when ``git status
    --porcelain`` lists anything (changed or untracked files); None when the package is not
    in a git checkout of its own (e.g. installed into site-packages) or git is missing.
    Computed once per process."""
    root = Path(__file__).resolve().parent.parent
    top = _git(["rev-parse", "--show-toplevel"], root)
    if not top or Path(top).resolve() != root:
        return None  # not our checkout (e.g. a virtual environment inside another repository)
    head = _git(["rev-parse", "HEAD"], root)
    if not head:
        return None
    status = _git(["status", "--porcelain"], root)
    return f"{head}+dirty" if status else head


@functools.lru_cache(maxsize=1)
def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else ``platform.processor()``, else the
    machine type."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def device_name(device: Any) -> str:
    """``"cpu (<CPU model>)"`` or ``"cuda:N (<GPU name>)"`` for a device (str or
    ``torch.device``); ``"auto"`` is the device ``train.resolve_device`` would pick."""
    text = str(device) if device is not None else "cpu"
    torch = sys.modules.get("torch")
    if text == "auto":
        text = "cuda" if torch is not None and torch.cuda.is_available() else "cpu"
    if text.startswith("cuda"):
        name = "unknown GPU"
        if torch is not None:
            try:
                dev = torch.device(text)
                index = dev.index if dev.index is not None else torch.cuda.current_device()
                name = torch.cuda.get_device_name(index)
                text = f"cuda:{index}"
            except Exception:  # noqa: BLE001, S110 - a description must never fail a training
                pass
        return f"{text} ({name})"
    return f"{text} ({cpu_name()})"


@functools.lru_cache(maxsize=1)
def _static_environment() -> tuple[tuple[str, Any], ...]:
    return (("vae_core", _vae_core_version()), ("commit", git_commit()),
            ("python", platform.python_version()), ("cpu", cpu_name()),
            ("host", socket.gethostname()))


def environment() -> dict[str, Any]:
    """This process's environment: ``vae_core`` (version), ``commit`` (git HEAD, ``+dirty``
    when modified; None outside a checkout), ``torch`` (version; None if not installed),
    ``python`` (version), ``cpu`` (model name) and ``host`` (host name)."""
    env = dict(_static_environment())
    env["torch"] = _torch_version()
    return {k: env[k] for k in ("vae_core", "commit", "torch", "python", "cpu", "host")}


def utc_now() -> str:
    """The current UTC time, ISO 8601 with seconds and offset (``2024-05-01T12:00:00+00:00``)."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def record_provenance(device: Any) -> dict[str, Any]:
    """Provenance of one result computed on ``device`` and finished now: :func:`environment`
    plus ``device`` (see :func:`device_name`) and ``time_utc`` (ISO 8601, UTC), keys in
    ``FIELDS`` order."""
    env = environment()
    env.update(device=device_name(device), time_utc=utc_now())
    return {k: env[k] for k in FIELDS}
