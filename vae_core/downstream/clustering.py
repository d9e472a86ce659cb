"""Leiden clustering of an embedding and its agreement with known labels (paper Fig 2-4, 6;
``docs/design.md``, "Downstream").

The paper builds scanpy's neighbourhood graph on the latent embedding (15 nearest neighbours,
Euclidean) and clusters it with Leiden, then scores the partition against the cancer type (TCGA)
or tissue (GTEx) with the adjusted Rand index. Every argument of ``scanpy.pp.neighbors`` and
``scanpy.tl.leiden`` is passed explicitly because scanpy's defaults are drifting (scanpy 1.11.5:
flavor ``"leidenalg"`` on the *directed* kNN graph with ``RBConfigurationVertexPartition``
is the default the paper ran; ``flavor="igraph"`` is announced as the future default).

Deviations from the paper's defaults:

- the kNN search is exact (``transformer="sklearn"``) instead of scanpy's approximate pynndescent
  search above 8,192 samples (slow to compile, breaks with current scipy; exact neighbours are
  what the approximation approximates);
- Leiden runs a bounded number of iterations, ``n_iterations=2`` (leidenalg's own default,
  ``LEIDEN_N_ITERATIONS``) instead of iterating to convergence (``-1``, the value the paper's
  scanpy passed). On weakly structured embeddings convergence is slow at the paper's cohort
  sizes, while the iterations after the first change the partition's quality very little.
  ``python -m benchmarks downstream --compare`` measures the ARI difference to the converged
  partition (target |difference| <= 0.02; ``docs/design.md``, "Deviations from the paper");
  pass ``n_iterations=-1`` for the paper's setting.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

#: The exact scanpy arguments used (recorded in ``adata.uns`` by scanpy, and here for readers).
NEIGHBORS_ARGS: dict = {
    "knn": True, "method": "umap", "transformer": "sklearn", "metric": "euclidean",
    "metric_kwds": {},
}
#: Leiden iterations by default: leidenalg's own default (2); -1 iterates to convergence.
LEIDEN_N_ITERATIONS: int = 2
LEIDEN_ARGS: dict = {
    "flavor": "leidenalg", "directed": True, "use_weights": True,
    "n_iterations": LEIDEN_N_ITERATIONS,
}
#: ``flavor="igraph"``: igraph's C implementation of the same algorithm (modularity with a
#: resolution = RBConfiguration) on the *undirected* graph; much faster than leidenalg on
#: unstructured embeddings (README, "Benchmarks").
LEIDEN_IGRAPH_ARGS: dict = {
    "flavor": "igraph", "directed": False, "use_weights": True,
    "n_iterations": LEIDEN_N_ITERATIONS, "objective_function": "modularity",
}
LEIDEN_FLAVORS: tuple[str, ...] = ("leidenalg", "igraph")


def check_embedding(embedding: np.ndarray, name: str = "embedding") -> np.ndarray:
    """``embedding`` as float32 C-contiguous [n, d]; ``ValueError`` if misshapen or not finite."""
    emb = np.asarray(embedding)
    if emb.ndim == 1:
        emb = emb[:, None]
    if emb.ndim != 2 or emb.shape[0] == 0 or emb.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array [n_samples, n_dims]; got shape "
                         f"{np.shape(embedding)}.")
    emb = np.ascontiguousarray(emb, dtype=np.float32)
    bad = ~np.isfinite(emb)
    if bad.any():
        raise ValueError(
            f"{name} has {int(bad.sum())} non-finite values (NaN/inf) in "
            f"{int(bad.any(axis=0).sum())} of {emb.shape[1]} dims (a diverged model?). Clustering "
            "needs a finite embedding; record this configuration as NaN instead."
        )
    return emb


def neighbors_adata(embedding: np.ndarray, n_neighbors: int = 15, seed: int = 0):
    """AnnData holding ``embedding`` in ``obsm["X_emb"]`` with scanpy's kNN graph computed on it.

    ``scanpy.pp.neighbors(use_rep="X_emb", n_neighbors, knn=True, method="umap",
    transformer="sklearn", metric="euclidean", random_state=seed)``: exact Euclidean neighbours,
    UMAP-style connectivities (scanpy's default weighting, which Leiden uses).
    """
    import anndata as ad
    import scanpy as sc

    emb = check_embedding(embedding)
    n = emb.shape[0]
    if n <= n_neighbors:
        raise ValueError(f"need more samples than n_neighbors={n_neighbors} for a kNN graph; got "
                         f"{n}. Lower n_neighbors or pass more samples.")
    adata = ad.AnnData(obs=pd.DataFrame(index=pd.RangeIndex(n).astype(str)))
    adata.obsm["X_emb"] = emb
    from scipy.sparse import SparseEfficiencyWarning

    with warnings.catch_warnings():
        # scanpy's sklearn-transformer path edits a CSR matrix's structure (harmless, noisy)
        warnings.filterwarnings("ignore", category=SparseEfficiencyWarning)
        sc.pp.neighbors(adata, n_neighbors=int(n_neighbors), n_pcs=None, use_rep="X_emb",
                        random_state=int(seed), key_added=None, copy=False, **NEIGHBORS_ARGS)
    return adata


def check_n_iterations(n_iterations: int) -> int:
    """``n_iterations`` as an int: a positive bound or -1 (to convergence); ``ValueError`` else."""
    if isinstance(n_iterations, bool) or not isinstance(n_iterations, (int, np.integer)) or (
            int(n_iterations) < 1 and int(n_iterations) != -1):
        raise ValueError(f"n_iterations must be a positive integer (a bound on Leiden's "
                         f"iterations) or -1 (iterate to convergence); got {n_iterations!r}. "
                         f"The default is {LEIDEN_N_ITERATIONS}.")
    return int(n_iterations)


def leiden_args(flavor: str = "leidenalg", n_iterations: int = LEIDEN_N_ITERATIONS) -> dict:
    """The explicit ``scanpy.tl.leiden`` arguments besides resolution/seed (``docs/design.md``,
    "Downstream").

    ``flavor="leidenalg"`` (the paper's scanpy default): ``LEIDEN_ARGS`` with
    ``RBConfigurationVertexPartition``; ``"igraph"``: ``LEIDEN_IGRAPH_ARGS`` (faster, undirected).
    ``n_iterations`` replaces the default bound (-1: to convergence).
    """
    if flavor not in LEIDEN_FLAVORS:
        raise ValueError(f"unknown Leiden flavor {flavor!r}; valid flavors are "
                         f"{list(LEIDEN_FLAVORS)} (the paper's is 'leidenalg').")
    n_iterations = check_n_iterations(n_iterations)
    if flavor == "leidenalg":
        import leidenalg

        return dict(LEIDEN_ARGS, n_iterations=n_iterations,
                    partition_type=leidenalg.RBConfigurationVertexPartition)
    return dict(LEIDEN_IGRAPH_ARGS, n_iterations=n_iterations, partition_type=None)


def leiden_on_graph(adata, resolution: float = 1.0, seed: int = 0, flavor: str = "leidenalg",
                    n_iterations: int = LEIDEN_N_ITERATIONS) -> np.ndarray:
    """Leiden clusters (int [n]) of an AnnData that already holds scanpy's kNN graph.

    ``adata`` from ``neighbors_adata``; the same graph can be clustered with several
    ``n_iterations`` (the benchmark compares bounded and converged this way).
    """
    import scanpy as sc

    args = leiden_args(flavor, n_iterations)
    with warnings.catch_warnings():
        # scanpy warns that its future default will be flavor="igraph"; we pin leidenalg.
        warnings.filterwarnings("ignore", message=".*default backend for leiden.*",
                                category=FutureWarning)
        sc.tl.leiden(adata, resolution=float(resolution), restrict_to=None,
                     random_state=int(seed), key_added="leiden", adjacency=None,
                     neighbors_key=None, obsp=None, copy=False, **args)
    return adata.obs["leiden"].astype(int).to_numpy()


def leiden_labels(
    embedding: np.ndarray, n_neighbors: int = 15, resolution: float = 1.0, seed: int = 0,
    flavor: str = "leidenalg", n_iterations: int = LEIDEN_N_ITERATIONS,
) -> np.ndarray:
    """Leiden cluster of every sample (int [n]) on the kNN graph of ``embedding``.

    ``flavor="leidenalg"`` (the paper's scanpy default): ``LEIDEN_ARGS`` with
    ``RBConfigurationVertexPartition``; ``"igraph"``: ``LEIDEN_IGRAPH_ARGS`` (faster, undirected).
    ``n_iterations``: bound on Leiden's iterations (default ``LEIDEN_N_ITERATIONS`` = 2,
    leidenalg's default); -1 iterates until the partition stops changing (the paper's scanpy).
    """
    leiden_args(flavor, n_iterations)  # validate before the (costly) kNN graph
    adata = neighbors_adata(embedding, n_neighbors=n_neighbors, seed=seed)
    return leiden_on_graph(adata, resolution=resolution, seed=seed, flavor=flavor,
                           n_iterations=n_iterations)


def leiden_ari(
    embedding: np.ndarray,
    labels: np.ndarray | pd.Series,
    n_neighbors: int = 15,
    resolution: float = 1.0,
    seed: int = 0,
    flavor: str = "leidenalg",
    n_iterations: int = LEIDEN_N_ITERATIONS,
) -> tuple[float, int]:
    """Adjusted Rand index of Leiden clusters of ``embedding`` vs ``labels``, and the cluster count.

    Parameters
    ----------
    embedding
        float [n_samples, n_dims] latent embedding (paper: one sample of q(z|x) per sample).
    labels
        [n_samples] known classes (cancer type / tissue). Samples with a missing label are
        clustered but left out of the ARI.
    n_neighbors, resolution, seed
        kNN size (paper: 15), Leiden resolution (1.0), seed of the Leiden optimiser.
    flavor
        ``"leidenalg"`` (the paper's; default) or ``"igraph"`` (same objective, undirected graph,
        much faster on embeddings without structure; see ``leiden_labels``).
    n_iterations
        Bound on Leiden's iterations: ``LEIDEN_N_ITERATIONS`` (2, leidenalg's default) or -1 to
        iterate to convergence as the paper's scanpy did (much slower on weakly structured
        embeddings; ARI difference measured by ``python -m benchmarks downstream
        --compare``).

    Returns ``(ari, n_clusters)``: ARI (scikit-learn ``adjusted_rand_score``; 1 = the
    partition equals the labels, ~0 = chance) and the number of Leiden clusters found.
    Raises ``ValueError`` for a non-finite embedding or a length mismatch.
    """
    from sklearn.metrics import adjusted_rand_score

    lab = pd.Series(np.asarray(labels, dtype=object))
    n = np.shape(embedding)[0] if np.ndim(embedding) else 0
    if len(lab) != n:
        raise ValueError(f"labels has {len(lab)} entries but the embedding has {n} samples; "
                         "pass one label per embedded sample, in the same order.")
    clusters = leiden_labels(embedding, n_neighbors=n_neighbors, resolution=resolution,
                             seed=seed, flavor=flavor, n_iterations=n_iterations)
    known = lab.notna().to_numpy()
    if known.sum() == 0:
        raise ValueError("every label is missing; ARI needs known classes.")
    ari = float(adjusted_rand_score(lab[known].astype(str).to_numpy(), clusters[known]))
    return ari, len(np.unique(clusters))


def umap_coordinates(embedding: np.ndarray, n_neighbors: int = 15, seed: int = 0) -> np.ndarray:
    """2-D UMAP (float32 [n, 2]) of ``embedding`` for Fig 2C/D: scanpy's ``tl.umap`` on the same
    kNN graph as the clustering, ``random_state=seed`` (deterministic), min_dist 0.5, spread 1."""
    import scanpy as sc

    adata = neighbors_adata(embedding, n_neighbors=n_neighbors, seed=seed)
    sc.tl.umap(adata, min_dist=0.5, spread=1.0, n_components=2, maxiter=None, alpha=1.0,
               gamma=1.0, negative_sample_rate=5, init_pos="spectral", random_state=int(seed),
               a=None, b=None, method="umap", neighbors_key="neighbors", copy=False)
    return np.asarray(adata.obsm["X_umap"], dtype=np.float32)
