"""Known-answer tests of the bounded Leiden iterations (``docs/design.md``, "Downstream").

``leiden_ari(n_iterations=2)`` (the default, leidenalg's own) must find planted clusters, give the
same partition for the same seed, and agree with the converged partition (``n_iterations=-1``)
on a strong structure. Speed is measured by ``python -m benchmarks downstream --compare``,
never here.
"""

from __future__ import annotations

import numpy as np
import pytest

from vae_core.downstream import clustering as cl


def _planted(n_per: int = 120, k: int = 6, d: int = 20, sep: float = 3.0, seed: int = 0):
    """k Gaussian clusters of n_per samples in d dims, centres sep standard deviations apart."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)) * sep
    labels = np.repeat(np.arange(k), n_per)
    emb = centres[labels] + rng.normal(size=(k * n_per, d))
    return emb.astype(np.float32), np.array([f"c{i}" for i in labels])


def test_default_is_bounded_and_recorded():
    assert cl.LEIDEN_N_ITERATIONS == 2
    assert cl.LEIDEN_ARGS["n_iterations"] == cl.LEIDEN_N_ITERATIONS
    assert cl.LEIDEN_IGRAPH_ARGS["n_iterations"] == cl.LEIDEN_N_ITERATIONS
    args = cl.leiden_args("leidenalg", -1)
    assert args["n_iterations"] == -1 and args["flavor"] == "leidenalg"
    assert args["directed"] is True and args["use_weights"] is True
    assert args["partition_type"].__name__ == "RBConfigurationVertexPartition"


def test_bounded_finds_planted_clusters():
    emb, labels = _planted()
    for it in (1, 2):
        ari, n_clusters = cl.leiden_ari(emb, labels, n_iterations=it)
        assert ari > 0.9, (it, ari)
        assert n_clusters == 6


def test_bounded_same_seed_same_partition():
    rng = np.random.default_rng(3)
    emb = rng.normal(size=(700, 8)).astype(np.float32)  # ambiguous graph: many optima
    a = cl.leiden_labels(emb, seed=0, n_iterations=2)
    b = cl.leiden_labels(emb, seed=0, n_iterations=2)
    np.testing.assert_array_equal(a, b)


def test_bounded_equals_converged_on_strong_structure():
    emb, labels = _planted(n_per=150, k=8, d=30, sep=1.5, seed=1)
    adata = cl.neighbors_adata(emb)
    from sklearn.metrics import adjusted_rand_score

    conv = adjusted_rand_score(labels, cl.leiden_on_graph(adata, n_iterations=-1))
    bnd = adjusted_rand_score(labels, cl.leiden_on_graph(adata, n_iterations=2))
    assert conv > 0.9
    assert abs(bnd - conv) <= 0.02


def test_more_iterations_do_not_lower_quality():
    """Each Leiden iteration starts from the previous partition: quality is non-decreasing."""
    import leidenalg
    from scanpy._utils import get_igraph_from_adjacency

    rng = np.random.default_rng(5)
    emb = rng.normal(size=(800, 6)).astype(np.float32)
    g = get_igraph_from_adjacency(cl.neighbors_adata(emb).obsp["connectivities"], directed=True)
    q = [leidenalg.find_partition(g, leidenalg.RBConfigurationVertexPartition,
                                  weights=np.array(g.es["weight"]), n_iterations=it,
                                  seed=0).quality() for it in (1, 2, -1)]
    assert q[0] <= q[1] + 1e-9 <= q[2] + 2e-9


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_bad_n_iterations_raises_naming_value(bad):
    emb, labels = _planted(n_per=20, k=2)
    with pytest.raises(ValueError, match="n_iterations must be a positive integer"):
        cl.leiden_ari(emb, labels, n_iterations=bad)
