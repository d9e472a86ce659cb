"""Benchmark: Leiden ARI + Cox AIC for one configuration at the paper's size.

Target (``docs/design.md``, "Profiles and targets"): <= 10 s for 11,000-17,000 samples x 200
latent dims with 33 cancer types, on one core.

    python -m benchmarks downstream [--n 11000] [--dims 200] [--types 33] [--threads 1]
                                    [--repeats 2] [--lifelines] [--scale 0.6]
                                    [--flavor leidenalg|igraph] [--n-iterations 2]
    python -m benchmarks downstream --compare [--source trained|scale] [--iters 2,5]
                                    [--models 8] [--epochs 6] [--sizes 11000,17000]
                                    [--dims-list 10,50,200] [--scales 0,0.15,1]

``--compare`` validates the bounded Leiden (``docs/design.md``, "Downstream") against the
converged partition (``n_iterations=-1``) on the same kNN graph: per embedding the time of the
graph, of converged Leiden and of each bound in ``--iters``, the ARIs and |ARI difference|, then
the worst difference per bound (acceptance: <= 0.02). ``--source trained`` (default) embeds
``--models`` configurations drawn (seeded) from the quick grid's axes, trained with
``vae_core.train.fit`` for ``--epochs`` epochs on a simulated TCGA-side cohort of
``--n-cohort`` (11,014) samples x ``--genes`` (500) selected genes: embeddings of the structure
strengths a quick run produces, from collapsed to well separated. ``--source scale`` uses the
synthetic embeddings of ``--scale`` for every size x dims x scale (converged Leiden without
structure takes minutes at the larger sizes, see the README's Benchmarks: pick the grid
accordingly).

Prints the time of each part (kNN graph, Leiden, ARI, Cox fit, of which the Cox design) for
``--repeats`` configurations in one process, after the one-time load (or compilation) of the
numba kernels of scanpy's UMAP-weighted kNN graph, which is printed apart: it is paid once per
process, i.e. once per notebook or worker, and every configuration's time excludes it.
``--lifelines`` also times the lifelines reference fit of the same design. ``--scale 0`` gives an
embedding without any type structure (a collapsed or untrained model): there leidenalg's
iterate-to-convergence (``n_iterations=-1``) is the slow part; ``--flavor igraph`` shows the
alternative.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd


def _cohort(n: int, dims: int, types: int, scale: float, seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    """Embedding with type structure plus a planted risk, and canonical survival obs."""
    rng = np.random.default_rng(seed)
    lab = rng.integers(0, types, n)
    centres = rng.normal(size=(types, dims)) * scale
    emb = (centres[lab] + rng.normal(size=(n, dims))).astype(np.float32)
    age = rng.normal(60, 12, n)
    male = rng.integers(0, 2, n)
    eta = 0.4 * emb[:, 0] + 0.02 * (age - 60) + 0.05 * (lab % 7)
    t_event = rng.exponential(np.exp(-eta)) * 900
    t_cens = rng.exponential(1500, n)
    obs = pd.DataFrame({
        "age": age,
        "gender": pd.Categorical(np.array(["female", "male"])[male]),
        "label": pd.Categorical([f"T{i:02d}" for i in lab]),
        "os_time": np.round(np.minimum(t_event, t_cens)),   # whole days: tied times, as in TCGA
        "os_event": (t_event <= t_cens).astype(float),
    })
    return emb, obs


def _ints(text: str) -> list[int]:
    return [int(v) for v in str(text).split(",") if v.strip()]


def _floats(text: str) -> list[float]:
    return [float(v) for v in str(text).split(",") if v.strip()]


def trained_embeddings(n_models: int, epochs: int, n_cohort: int, genes: int,
                       seed: int = 0, threads: int = 1) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(name, embedding, labels)`` of ``n_models`` quick-grid configurations trained briefly.

    Cohort: ``simulate("tcga", n_cohort, 4 * genes)`` then ``preprocess(n_top_genes=genes)``.
    Configurations: a seeded sample (without replacement) of the product of the quick profile's
    axes (6 models x latent {10, 50} x lr {1e-1, 1e-3} x init {uniform, kaiming_uniform} x
    optimizer {adam, sgd} x activation {tanh, relu}), trained with ``fit`` for ``epochs`` epochs
    (``min_epochs`` = ``epochs``) on one thread and embedded with one sample of q(z|x) on every
    sample (``docs/design.md``, "Training protocol"). Failed (NaN) trainings are skipped with a note.
    """
    import itertools

    from vae_core.data import preprocess, simulate
    from vae_core.models import MODELS
    from vae_core.train import TrainConfig, encode, fit, training_matrix

    t = time.perf_counter()
    adata = preprocess(simulate("tcga", n_samples=n_cohort, n_genes=4 * genes, seed=seed),
                       n_top_genes=genes)
    print(f"cohort: simulated TCGA-side {adata.n_obs} x {adata.n_vars} genes in "
          f"{time.perf_counter() - t:.1f} s")
    grid = list(itertools.product(MODELS, (10, 50), (1e-1, 1e-3), ("uniform", "kaiming_uniform"),
                                  ("adam", "sgd"), ("tanh", "relu")))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(grid))
    labels = adata.obs["label"].astype(str).to_numpy()
    X = training_matrix(adata)
    out = []
    for i in order:
        if len(out) >= n_models:
            break
        model, dim, lr, init, opt, act = grid[i]
        cfg = TrainConfig(model=model, latent_dim=dim, lr=lr, init=init, optimizer=opt,
                          activation=act, seed=int(seed) + int(i), max_epochs=int(epochs),
                          min_epochs=int(epochs), n_threads=int(threads), device="cpu")
        t = time.perf_counter()
        res = fit(cfg, adata)
        name = f"{model}/d{dim}/lr{lr:g}/{init}/{opt}/{act}"
        if res.status != "ok":
            print(f"  {name}: training failed ({res.reason}); skipped")
            continue
        z = encode(res.model, X, mode="sample", seed=int(seed))["z"]
        if not np.isfinite(z).all():
            print(f"  {name}: non-finite embedding; skipped")
            continue
        print(f"  trained {name}: {res.epochs} epochs in {time.perf_counter() - t:.1f} s")
        out.append((name, z, labels))
    return out


def scale_embeddings(sizes: list[int], dims: list[int], scales: list[float], types: int
                     ) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(name, embedding, labels)`` of ``_cohort``'s synthetic embeddings for every combination."""
    out = []
    for n in sizes:
        for d in dims:
            for sc_ in scales:
                emb, obs = _cohort(n, d, types, sc_)
                out.append((f"n{n}/d{d}/scale{sc_:g}", emb, obs["label"].astype(str).to_numpy()))
    return out


def compare(embeddings: list[tuple[str, np.ndarray, np.ndarray]], iters: list[int],
            flavor: str = "leidenalg", seed: int = 0) -> pd.DataFrame:
    """Bounded vs converged Leiden on the same kNN graph of every embedding (the bound's acceptance
    test, ``docs/design.md``, "Downstream").

    Returns one row per embedding and bound: name, n, dims, graph_s, converged_s, bounded_s
    (wall) and converged_cpu_s, bounded_cpu_s (this process's CPU time), ari_converged, ari_bounded, abs_diff, clusters_converged, clusters_bounded.
    """
    from sklearn.metrics import adjusted_rand_score

    from vae_core.downstream import clustering

    rows = []
    for name, emb, labels in embeddings:
        t = time.perf_counter()
        adata = clustering.neighbors_adata(emb, n_neighbors=15, seed=seed)
        graph_s = time.perf_counter() - t
        t, c = time.perf_counter(), time.process_time()
        conv = clustering.leiden_on_graph(adata, seed=seed, flavor=flavor, n_iterations=-1)
        conv_s, conv_cpu = time.perf_counter() - t, time.process_time() - c
        ari_c = adjusted_rand_score(labels, conv)
        for it in iters:
            t, c = time.perf_counter(), time.process_time()
            bnd = clustering.leiden_on_graph(adata, seed=seed, flavor=flavor, n_iterations=it)
            bnd_s, bnd_cpu = time.perf_counter() - t, time.process_time() - c
            ari_b = adjusted_rand_score(labels, bnd)
            rows.append({"embedding": name, "n": emb.shape[0], "dims": emb.shape[1],
                         "n_iterations": it, "graph_s": graph_s, "converged_s": conv_s,
                         "bounded_s": bnd_s, "converged_cpu_s": conv_cpu,
                         "bounded_cpu_s": bnd_cpu, "ari_converged": ari_c, "ari_bounded": ari_b,
                         "abs_diff": abs(ari_b - ari_c),
                         "clusters_converged": len(np.unique(conv)),
                         "clusters_bounded": len(np.unique(bnd))})
            r = rows[-1]
            print(f"  {name:44s} n_iter={it:3d}: graph {graph_s:5.1f} s, converged "
                  f"{conv_s:6.1f} s (cpu {conv_cpu:5.1f}), bounded {bnd_s:5.1f} s (cpu {bnd_cpu:5.1f}); ARI {ari_c:.4f} vs {ari_b:.4f} "
                  f"(|diff| {r['abs_diff']:.4f}); clusters {r['clusters_converged']} vs "
                  f"{r['clusters_bounded']}", flush=True)
    return pd.DataFrame(rows)


def _run_compare(args) -> int:
    from threadpoolctl import threadpool_limits

    iters = _ints(args.iters)
    t0 = time.perf_counter()
    with threadpool_limits(limits=args.threads):
        import numba

        numba.set_num_threads(max(1, min(args.threads, numba.config.NUMBA_NUM_THREADS)))
        if args.source == "trained":
            embs = trained_embeddings(args.models, args.epochs, args.n_cohort, args.genes,
                                      seed=args.seed, threads=args.threads)
        else:
            embs = scale_embeddings(_ints(args.sizes), _ints(args.dims_list),
                                    _floats(args.scales), args.types)
        from vae_core.downstream import clustering

        clustering.neighbors_adata(embs[0][1][:200])  # numba JIT outside the timings
        print(f"bounded vs converged Leiden ({args.flavor}, seed {args.seed}, threads="
              f"{args.threads}) on {len(embs)} embeddings:")
        df = compare(embs, iters, flavor=args.flavor, seed=args.seed)
    print("summary per bound (acceptance: max |ARI difference| <= 0.02):")
    for it, g in df.groupby("n_iterations"):
        print(f"  n_iterations={it}: max |diff| {g['abs_diff'].max():.4f}, mean "
              f"{g['abs_diff'].mean():.4f} over {len(g)} embeddings; Leiden time mean "
              f"{g['bounded_s'].mean():.1f} s (max {g['bounded_s'].max():.1f}; cpu max "
              f"{g['bounded_cpu_s'].max():.1f}) vs converged mean {g['converged_s'].mean():.1f} s "
              f"(max {g['converged_s'].max():.1f}); kNN "
              f"graph mean {g['graph_s'].mean():.1f} s; "
              f"{'PASS' if g['abs_diff'].max() <= 0.02 else 'FAIL'}")
    if args.out:
        df.to_csv(args.out, index=False)
        print(f"rows written to {args.out}")
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks downstream",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=11000)
    ap.add_argument("--dims", type=int, default=200)
    ap.add_argument("--types", type=int, default=33)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--lifelines", action="store_true")
    ap.add_argument("--scale", type=float, default=0.6,
                    help="cluster-centre scale: 0.6 = clear types (ARI ~1), 0 = no structure")
    ap.add_argument("--flavor", default="leidenalg", choices=("leidenalg", "igraph"))
    ap.add_argument("--n-iterations", type=int, default=None,
                    help="Leiden iterations (default: clustering.LEIDEN_N_ITERATIONS; -1 = "
                         "to convergence)")
    ap.add_argument("--compare", action="store_true",
                    help="bounded vs converged Leiden over a set of embeddings")
    ap.add_argument("--source", default="trained", choices=("trained", "scale"))
    ap.add_argument("--iters", default="2", help="bounds to compare, e.g. 2,5,10")
    ap.add_argument("--models", type=int, default=8, help="--source trained: configurations")
    ap.add_argument("--epochs", type=int, default=6, help="--source trained: epochs each")
    ap.add_argument("--n-cohort", type=int, default=11014)
    ap.add_argument("--genes", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sizes", default="11000,17000", help="--source scale: sample counts")
    ap.add_argument("--dims-list", default="10,50,200", help="--source scale: dims")
    ap.add_argument("--scales", default="0,0.15,1", help="--source scale: centre scales")
    ap.add_argument("--out", default=None, help="CSV of the --compare rows")
    args = ap.parse_args(argv)
    if args.compare:
        return _run_compare(args)

    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    import leidenalg  # noqa: F401  (timed with the other imports)
    import numba
    import scanpy  # noqa: F401  (timed with the other imports)
    from sklearn.metrics import adjusted_rand_score

    from vae_core.downstream import clustering, survival

    n_iter = clustering.LEIDEN_N_ITERATIONS if args.n_iterations is None else args.n_iterations
    numba.set_num_threads(max(1, min(args.threads, numba.config.NUMBA_NUM_THREADS)))
    t_import = time.perf_counter() - t0
    emb, obs = _cohort(args.n, args.dims, args.types, args.scale)
    print(f"downstream benchmark: {args.n} samples x {args.dims} dims, {args.types} types, "
          f"{int(obs['os_event'].sum())} events, {obs['os_time'].nunique()} distinct times; "
          f"centre scale {args.scale}; threads={args.threads} (cpus here: {os.cpu_count()}); "
          f"Leiden n_iterations={n_iter}")
    print(f"import scanpy/leidenalg/sklearn: {t_import:.2f} s")
    with threadpool_limits(limits=args.threads):
        t = time.perf_counter()
        clustering.neighbors_adata(emb[:300], n_neighbors=15, seed=0)
        print(f"one-time per process (numba kernels of the kNN graph loaded/compiled): "
              f"{time.perf_counter() - t:.2f} s")
        for rep in range(args.repeats):
            e = emb if rep == 0 else emb + np.float32(0.01) * np.random.default_rng(rep).normal(
                size=emb.shape).astype(np.float32)
            times = {}
            t = time.perf_counter()
            adata = clustering.neighbors_adata(e, n_neighbors=15, seed=0)
            times["knn graph (exact, sklearn)"] = time.perf_counter() - t
            t = time.perf_counter()
            clusters = clustering.leiden_on_graph(adata, resolution=1.0, seed=0,
                                                  flavor=args.flavor, n_iterations=n_iter)
            times[f"leiden ({args.flavor})"] = time.perf_counter() - t
            t = time.perf_counter()
            ari = adjusted_rand_score(obs["label"].astype(str), clusters)
            times["ari"] = time.perf_counter() - t
            t = time.perf_counter()
            survival.cox_design(e, obs)
            design_s = time.perf_counter() - t
            t = time.perf_counter()
            cox = survival.cox_fit(e, obs)
            times["cox fit (design + Efron Newton)"] = time.perf_counter() - t
            total = sum(times.values())
            label = f"configuration {rep + 1}"
            print(f"-- {label}")
            for k, v in times.items():
                print(f"   {k:32s} {v:6.2f} s")
            print(f"   {'  of which cox design (one-hot)':32s} {design_s:6.2f} s   (timed apart; "
                  "cox_fit builds the same design)")
            print(f"   {'TOTAL ARI + AIC':32s} {total:6.2f} s   (ARI {ari:.3f}, "
                  f"{len(np.unique(clusters))} clusters, AIC {cox.aic:.1f}, k={cox.n_params}, "
                  f"{cox.n_iter} Newton steps, converged={cox.converged})")
        if args.lifelines:
            t = time.perf_counter()
            res = survival.cox_fit(emb, obs, method="lifelines")
            print(f"-- reference: lifelines CoxPHFitter on the same design: "
                  f"{time.perf_counter() - t:.2f} s, AIC {res.aic:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
