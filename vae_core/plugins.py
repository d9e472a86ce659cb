"""User code without editing the package: the params key ``plugins:``.

A plugin is a Python file or an importable module whose top level registers things
(``vae_core.models.register``, ``vae_core.downstream.register_metric``, ...). Every notebook
calls ``load(plugins)`` first, and the grid hands ``loaded()`` to each worker process (local pool
and Ray), which calls ``load`` before it trains or scores, so a registered model or metric exists
wherever it is used. See ``docs/design.md``, "Plugins".

    >>> from vae_core import plugins
    >>> plugins.load(["examples/huber_vae.py"])      # a file (absolute, or relative: see load)
    >>> plugins.load(["my_lab.vae_models"])          # or a module on sys.path

Loading is idempotent: a plugin already loaded in this process is not executed again.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable
from pathlib import Path

#: Environment variable naming the directory relative plugin paths are resolved against first
#: (``run_all.sh`` sets it to the params file's directory).
PARAMS_DIR_ENV = "VAE_BENCH_PARAMS_DIR"

_LOADED: list[str] = []


def _repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def _looks_like_file(spec: str) -> bool:
    return spec.endswith(".py") or os.sep in spec or "/" in spec


def resolve(spec: str | os.PathLike, base: str | os.PathLike | None = None) -> str:
    """The canonical form of one plugin entry: an absolute file path for a ``.py`` file, else
    the module name. A relative file path is looked up in ``base``, then in the directory named
    by ``$VAE_BENCH_PARAMS_DIR``, then the current directory, then the repository root."""
    s = os.fspath(spec).strip()
    if not s:
        raise ValueError("plugins: an empty entry; give a .py file or a module name.")
    if not _looks_like_file(s):
        return s
    p = Path(s).expanduser()
    if p.is_absolute():
        tried = [p]
    else:
        bases = [b for b in (base, os.environ.get(PARAMS_DIR_ENV), os.getcwd(), _repo_root())
                 if b]
        tried = [Path(b) / p for b in bases]
    for cand in tried:
        if cand.is_file():
            return str(cand.resolve())
    raise FileNotFoundError(
        f"plugins: file {s!r} not found (looked in: {', '.join(str(t) for t in tried)}). "
        "Give an absolute path, or a path relative to the params file.")


def _module_name(path: str) -> str:
    digest = hashlib.sha1(path.encode()).hexdigest()[:8]
    stem = "".join(c if c.isalnum() else "_" for c in Path(path).stem)
    return f"vae_plugin_{stem}_{digest}"


def _import(canonical: str) -> None:
    if not canonical.endswith(".py"):
        importlib.import_module(canonical)
        return
    name = _module_name(canonical)
    if name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(name, canonical)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a loader
        raise ImportError(f"plugins: cannot import {canonical!r}.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module   # so pickling classes defined in the plugin works (workers)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise


def load(specs: Iterable[str | os.PathLike] | str | None,
         base: str | os.PathLike | None = None) -> list[str]:
    """Import each plugin once (files by path, others by module name); return their canonical
    names. ``None`` or an empty list loads nothing. An error names the plugin that failed."""
    if specs is None:
        return []
    if isinstance(specs, (str, os.PathLike)):
        specs = [specs]
    done = []
    for spec in specs:
        canonical = resolve(spec, base)
        if canonical not in _LOADED:
            try:
                _import(canonical)
            except Exception as exc:
                raise ImportError(
                    f"plugins: loading {canonical!r} failed: {type(exc).__name__}: {exc}. Fix "
                    "the plugin (or remove it from the params' 'plugins:' list).") from exc
            _LOADED.append(canonical)
        done.append(canonical)
    return done


def loaded() -> list[str]:
    """Canonical names of the plugins loaded in this process, in load order (what the grid's
    workers load before they start)."""
    return list(_LOADED)
