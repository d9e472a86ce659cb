"""Fill numba's on-disk cache for scanpy's kNN connectivities and UMAP once per environment.

``scripts/setup_env.sh`` runs ``python -m vae_core._warmup`` after installing the project, with
``NUMBA_CACHE_DIR`` pointing into the virtual environment. umap-learn's numba kernels (which
``scanpy.pp.neighbors`` uses for its connectivities, and ``scanpy.tl.umap``) take several times
longer to compile in a process with a cold cache than to load from a warm one (see the README's
Benchmarks section); without this step the first notebook of every fresh clone, and every worker
process of notebooks 03-04, pays the cold price. The cache lives with the environment because it
is only valid for the installed package versions.
"""

from __future__ import annotations

import time


def main() -> int:
    t0 = time.perf_counter()
    import anndata as ad
    import numpy as np
    import scanpy as sc

    x = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
    a = ad.AnnData(x)
    sc.pp.neighbors(a, n_neighbors=15, use_rep="X", transformer="sklearn", random_state=0)
    sc.tl.umap(a, random_state=0)
    print(f"[setup] numba kernels of scanpy/UMAP compiled and cached in "
          f"{time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
