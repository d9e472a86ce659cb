"""Where and with what a result was computed: versions, commit, host, device, time.

Every training record the grid writes carries ``record_provenance(device)`` under
``provenance`` (``docs/design.md``, "Grid and store"); ``grid.load_records`` spreads it into
``prov_*`` columns. Notebooks and the results page can call :func:`environment` for the same
description of the running process.

A run as a whole (``run_all.sh``) is described by :func:`run_provenance`, written to
``results/<profile>/provenance.json`` by the results page (``nbreport index``): params as used,
versions, git state, cohort files with their SHA-256, the machine, and each notebook's wall time
and peak memory, which ``python -m vae_core.provenance time --log FILE --name NB -- papermill
...`` measures around each notebook (``time_command``; ``docs/design.md``, "Results page and
provenance").

Light on purpose: standard library only (psutil and h5py, when installed, are used inside
functions for the memory samples and the cohort files' own records). Package versions are read
from the installed metadata (torch is not imported for its version), the git commit is asked of
``git`` once per process (short timeouts; None when the package is not a git checkout), and only a CUDA device's
name needs torch (already imported by whoever trained on it).

    >>> from vae_core import provenance
    >>> sorted(provenance.environment())
    ['commit', 'cpu', 'host', 'python', 'torch', 'vae_core']
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
import os
import platform
import socket
import subprocess
import sys
from collections.abc import Mapping
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


# --------------------------------------------------------------------------- run provenance
#
# What a whole run (``run_all.sh``) was computed with, for ``results/<profile>/provenance.json``
# and the results page (``docs/design.md``, "Results page and provenance"): the params as used,
# versions, git state, the cohort files with their SHA-256, the machine, and each notebook's
# wall time and peak memory, measured by ``python -m vae_core.provenance time`` around papermill.

#: Packages whose versions a run records (besides ``vae_core`` and Python).
RUN_PACKAGES: tuple[str, ...] = ("torch", "scanpy", "anndata", "leidenalg", "lifelines",
                                 "numpy", "pandas")
#: Keys of :func:`run_provenance`, in order.
RUN_FIELDS: tuple[str, ...] = ("profile", "date_utc", "vae_core", "git", "versions", "machine",
                               "params", "data", "notebooks", "wall_s_total")
#: The run log ``run_all.sh`` appends one JSON line per notebook to (in ``results/<profile>/``).
RUN_LOG = "run_log.jsonl"
#: Seconds between two samples of the notebook process tree's total memory.
SAMPLE_S = 1.0


def git_state() -> dict[str, Any] | None:
    """``{"commit": <HEAD>, "modified": <work tree differs from HEAD or has untracked files>}``
    of the checkout holding this package; None when it is not a git checkout of its own (or git
    is missing). Same rules as :func:`git_commit`."""
    text = git_commit()
    if text is None:
        return None
    return {"commit": text.removesuffix("+dirty"), "modified": text.endswith("+dirty")}


def versions() -> dict[str, str | None]:
    """``vae_core``, ``python`` and every package of ``RUN_PACKAGES`` -> version (None when not
    installed), read from the installed metadata (nothing is imported)."""
    out: dict[str, str | None] = {"vae_core": _vae_core_version(),
                                  "python": platform.python_version()}
    for name in RUN_PACKAGES:
        out[name] = _package_version(name)
    return out


def _memory_gb() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024**2, 1)
    except (OSError, ValueError, IndexError):
        pass
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
    except (ValueError, OSError, AttributeError):
        return None


def _gpus() -> list[dict[str, Any]] | None:
    """NVIDIA GPUs from ``nvidia-smi`` (name, memory in GB, driver); None when there is none."""
    try:
        proc = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                               "--format=csv,noheader,nounits"], capture_output=True, text=True,
                              timeout=_GIT_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    gpus = []
    for line in proc.stdout.splitlines() if proc.returncode == 0 else []:
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 3 and parts[0]:
            try:
                mem = round(float(parts[1]) / 1024, 1)
            except ValueError:
                mem = None
            gpus.append({"name": parts[0], "memory_gb": mem, "driver": parts[2]})
    return gpus or None


def machine() -> dict[str, Any]:
    """The machine: ``host``, ``os``, ``cpu`` (model name), ``cores`` (logical CPUs),
    ``usable_cores`` (those this process may run on), ``memory_gb`` (physical memory) and
    ``gpu`` (a list of ``{name, memory_gb, driver}`` from ``nvidia-smi``; None without one)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return {"host": socket.gethostname(), "os": platform.platform(), "cpu": cpu_name(),
            "cores": os.cpu_count(), "usable_cores": usable, "memory_gb": _memory_gb(),
            "gpu": _gpus()}


def _h5ad_provenance(path: Path) -> dict[str, Any]:
    """``uns["provenance"]`` of a cohort file written by ``data.write_h5ad`` (a JSON string
    there), read with h5py without loading the matrix; {} when absent or unreadable."""
    try:
        import h5py

        with h5py.File(path, "r") as f:
            raw = f["uns"]["provenance"][()]
    except Exception:  # noqa: BLE001 - provenance must never fail a report
        return {}
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    text = text.removeprefix("json:")
    try:
        out = json.loads(text)
    except ValueError:
        return {}
    return out if isinstance(out, dict) else {}


#: params key naming the source of each cohort file of notebook 01.
_SOURCE_KEYS = {"tcga": "source", "gtex": "gtex_source"}


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def data_sources(data_dir: str | os.PathLike, params: Mapping[str, Any] | None = None,
                 relative_to: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """One entry per cohort file ``<data_dir>/*.h5ad`` (notebook 01's output): ``cohort``,
    ``file`` (relative to ``relative_to`` when given), ``bytes``, ``sha256``, ``source`` (the
    params' ``source`` / ``gtex_source``, else the file's own record), ``origin`` ("simulated,
    seed N" for a simulated cohort, N from the params' ``seed``, else the file's; otherwise the
    source) and ``inputs`` (the input files the cohort was read from, with their SHA-256, from
    the file's ``uns["provenance"]``; [] for a simulated cohort)."""
    params = params or {}
    out = []
    order = list(_SOURCE_KEYS)
    files = sorted(Path(data_dir).glob("*.h5ad"),
                   key=lambda f: (order.index(f.stem) if f.stem in order else len(order), f.stem))
    for path in files:
        cohort = path.stem
        prov = _h5ad_provenance(path)
        src = params.get(_SOURCE_KEYS.get(cohort, ""), None) or prov.get("source")
        simulated = str(src or "").lower().startswith("simulated")
        if simulated:
            seed = params.get("seed", (prov.get("params") or {}).get("seed"))
            origin = f"simulated, seed {seed}" if seed is not None else "simulated"
        else:
            origin = str(src) if src else "unknown"
        inputs = [{"name": str(k), **{kk: v.get(kk) for kk in ("path", "size", "sha256")}}
                  for k, v in (prov.get("files") or {}).items() if isinstance(v, dict)]
        rel = (Path(os.path.relpath(path, relative_to)).as_posix() if relative_to is not None
               else str(path))
        out.append({"cohort": cohort, "file": rel, "bytes": path.stat().st_size,
                    "sha256": sha256_file(path), "source": None if src is None else str(src),
                    "origin": origin, "inputs": inputs})
    return out


def read_run_log(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The notebooks of a run log (JSON lines), the latest entry per notebook, in notebook
    order; unreadable lines are skipped, a missing file gives []."""
    latest: dict[str, dict[str, Any]] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("notebook"):
            latest[str(entry["notebook"])] = entry
    return [latest[k] for k in sorted(latest)]


def run_provenance(profile: str, results_dir: str | os.PathLike, *,
                   params_file: str | os.PathLike | None = None,
                   params: Mapping[str, Any] | None = None,
                   overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The provenance of a run (keys ``RUN_FIELDS``) from what lies in ``results_dir``
    (``results/<profile>/``: ``data/*.h5ad`` and the run log) and the params: ``params_file``
    (its text is kept verbatim as ``params.content``, with its SHA-256), ``params`` (its parsed
    values; the caller parses, this module is standard library only) and ``overrides`` (values
    ``run_all.sh`` passed on the command line, e.g. ``profile``, ``data_dir``)."""
    res = Path(results_dir)
    par = None
    if params_file is not None:
        p = Path(params_file)
        text = p.read_text(encoding="utf-8")
        values = {**(params or {}), **(overrides or {})}
        par = {"file": str(p.resolve()),
               "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
               "content": text, "overrides": dict(overrides or {}), "values": values}
    values = par["values"] if par else dict(params or {})
    notebooks = read_run_log(res / RUN_LOG)
    walls = [e.get("wall_s") for e in notebooks if isinstance(e.get("wall_s"), (int, float))]
    env = {"profile": profile, "date_utc": utc_now(), "vae_core": _vae_core_version(),
           "git": git_state(), "versions": versions(), "machine": machine(), "params": par,
           "data": data_sources(res / "data", values, relative_to=res),
           "notebooks": notebooks, "wall_s_total": round(sum(walls), 1) if walls else None}
    return {k: env[k] for k in RUN_FIELDS}


def write_run_provenance(profile: str, results_dir: str | os.PathLike, **kwargs) -> Path:
    """Write :func:`run_provenance` to ``<results_dir>/provenance.json`` (indented, atomic)
    and return its path."""
    res = Path(results_dir)
    res.mkdir(parents=True, exist_ok=True)
    out = res / "provenance.json"
    tmp = res / f".provenance.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(run_provenance(profile, res, **kwargs), indent=1, default=str)
                   + "\n", encoding="utf-8")
    os.replace(tmp, out)
    return out


def _tree_rss(pid: int) -> int | None:
    """Resident memory (bytes) of process ``pid`` and all its descendants; None without psutil
    or when the process is gone."""
    try:
        import psutil
    except ImportError:
        return None
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return None
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def time_command(argv: list[str], log: str | os.PathLike, name: str) -> int:
    """Run ``argv``, then append one JSON line to ``log``: ``notebook`` (``name``), ``argv``,
    ``start_utc``, ``end_utc``, ``wall_s``, ``exit_code``, ``max_rss_mb`` (the largest resident
    set of any process of the command's tree that was waited for, from
    ``getrusage(RUSAGE_CHILDREN)``: the kernel or a worker) and ``peak_total_rss_mb`` (the
    largest sum over the whole tree, sampled every ``SAMPLE_S`` seconds; None without psutil).
    Returns the command's exit code (130 after Ctrl-C)."""
    import resource
    import threading
    import time

    start_utc, t0 = utc_now(), time.perf_counter()
    proc = subprocess.Popen(argv)
    peak = [None]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss = _tree_rss(proc.pid)
            if rss is not None and (peak[0] is None or rss > peak[0]):
                peak[0] = rss
            done.wait(SAMPLE_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        rc = proc.wait()
    except KeyboardInterrupt:
        rc = proc.wait()
        rc = rc if rc else 130
    done.set()
    sampler.join(timeout=5)
    maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    maxrss_mb = maxrss / 1024 if sys.platform != "darwin" else maxrss / 1024**2
    entry = {"notebook": name, "argv": [str(a) for a in argv], "start_utc": start_utc,
             "end_utc": utc_now(), "wall_s": round(time.perf_counter() - t0, 1),
             "exit_code": rc, "max_rss_mb": round(maxrss_mb, 1),
             "peak_total_rss_mb": None if peak[0] is None else round(peak[0] / 1024**2, 1)}
    path = Path(log)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\n")
    return rc


def main(argv: list[str] | None = None) -> int:
    """``python -m vae_core.provenance time --log FILE --name NAME -- COMMAND ...``: run
    COMMAND and append its wall time and peak memory to FILE (``time_command``)."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m vae_core.provenance")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("time", help="run a command, log its wall time and peak memory")
    t.add_argument("--log", required=True)
    t.add_argument("--name", required=True)
    t.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        ap.error("time: give the command after --")
    return time_command(command, args.log, args.name)


if __name__ == "__main__":
    sys.exit(main())
