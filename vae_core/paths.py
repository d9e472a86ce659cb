"""Every path the project reads or writes, owned by one module (phenoplier style).

The root of outputs is ``VAE_BENCH_ROOT`` (environment) or the repository root; every
function takes an explicit override so notebooks can pass papermill parameters.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def root(override: str | os.PathLike | None = None) -> Path:
    """Directory under which ``results/`` and ``figures/`` live."""
    if override is not None:
        return Path(override).expanduser().resolve()
    env = os.environ.get("VAE_BENCH_ROOT")
    return Path(env).expanduser().resolve() if env else REPO_ROOT


def results_dir(profile: str, base: str | os.PathLike | None = None) -> Path:
    """``results/<profile>/``: data, grid stores, tables, executed notebooks."""
    return root(base) / "results" / profile


def data_path(profile: str, cohort: str, base: str | os.PathLike | None = None) -> Path:
    """``results/<profile>/data/<cohort>.h5ad``: a preprocessed cohort (``docs/design.md``,
    "Data")."""
    return results_dir(profile, base) / "data" / f"{cohort}.h5ad"


def store_dir(profile: str, name: str, base: str | os.PathLike | None = None) -> Path:
    """``results/<profile>/grid/<name>/``: one grid store (records + embeddings)."""
    return results_dir(profile, base) / "grid" / name


def tables_dir(profile: str, base: str | os.PathLike | None = None) -> Path:
    """``results/<profile>/tables/``: tidy CSV tables that notebook 06 plots from."""
    return results_dir(profile, base) / "tables"


def figures_dir(profile: str, base: str | os.PathLike | None = None) -> Path:
    """``figures/<profile>/``: figures (PNG + PDF), tables (CSV + MD), scorecard."""
    return root(base) / "figures" / profile


def default_data_dir() -> Path:
    """Where downloads of real TCGA/GTEx go unless the user names a directory."""
    env = os.environ.get("VAE_BENCH_DATA")
    return Path(env).expanduser().resolve() if env else REPO_ROOT / "data"
