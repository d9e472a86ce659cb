"""Shared, session-scoped fixtures: small simulated cohorts (raw and preprocessed).

Fixtures return the same object to every test of a session: do not modify them in place
(``adata.copy()`` first).

- ``sim_tcga_raw``: ``simulate("tcga", n_samples=1200, n_genes=600, seed=0)`` (raw log-expression)
- ``sim_tcga``: ``preprocess(sim_tcga_raw, n_top_genes=300)`` (z-scored, float32)
- ``sim_gtex_raw``: ``simulate("gtex", n_samples=900, n_genes=600, seed=0)``
- ``sim_gtex``: ``preprocess(sim_gtex_raw, n_top_genes=300)``
"""

from __future__ import annotations

import os
import sys

import pytest

# numba's compiled scanpy/UMAP kernels live in the environment (scripts/setup_env.sh fills them)
os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(sys.prefix, "numba_cache"))


@pytest.fixture(scope="session")
def sim_tcga_raw():
    from vae_core.data import simulate

    return simulate("tcga", n_samples=1200, n_genes=600, seed=0)


@pytest.fixture(scope="session")
def sim_tcga(sim_tcga_raw):
    from vae_core.data import preprocess

    return preprocess(sim_tcga_raw, n_top_genes=300)


@pytest.fixture(scope="session")
def sim_gtex_raw():
    from vae_core.data import simulate

    return simulate("gtex", n_samples=900, n_genes=600, seed=0)


@pytest.fixture(scope="session")
def sim_gtex(sim_gtex_raw):
    from vae_core.data import preprocess

    return preprocess(sim_gtex_raw, n_top_genes=300)


@pytest.fixture
def clean_registries():
    """Registrations made by a test (models, metrics, figures, scorecard claims, loaded plugins)
    are undone afterwards: the registries are process-wide."""
    from vae_core import models, plugins, registry
    from vae_core.downstream import metric_registry
    from vae_core.plots import catalog, scorecard

    saved = [(d, dict(d)) for d in (registry._MODELS, models._CLASSES, metric_registry._METRICS,
                                    catalog._OUTPUTS, scorecard._CLAIMS)]
    loaded = list(plugins._LOADED)
    yield
    for d, before in saved:
        d.clear()
        d.update(before)
    plugins._LOADED[:] = loaded
