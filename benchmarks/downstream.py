"""Benchmark: what downstream scoring (Leiden ARI + Cox AIC) costs, per embedding and per profile.

Three modes (``docs/design.md``, "Downstream", "Scores", "Executors"; targets in "Profiles and
targets"):

    python -m benchmarks downstream [--sizes 4500,11014,17382] [--dims-list 10,50,200]
                                    [--scales 0,0.3,0.6] [--repeats 1] [--ray] [--ray-keys 24]
                                    [--profiles paper,paper_lite,quick] [--cores 2,16]
                                    [--nodes 4,16] [--node-cores 16] [--cache-keys 100,400]
                                    [--from-measured] [--save PATH]
    python -m benchmarks downstream --one [--n 11000] [--dims 200] [--types 33] [--threads 1]
                                    [--repeats 2] [--lifelines] [--scale 0.6]
                                    [--flavor leidenalg|igraph] [--n-iterations 2]
    python -m benchmarks downstream --compare [--source trained|scale] [--iters 2,5]
                                    [--models 8] [--epochs 6] [--sizes 11000,17000]
                                    [--dims-list 10,50,200] [--scales 0,0.15,1]

**Default: the cost of scoring.** One thread per process (OMP/MKL/OpenBLAS/numba threads = 1),
so CPU seconds are core-seconds; everything but the Ray workers runs in this process:

1. *Per embedding*: after the one-time warm-up of a scoring process (imports, numba kernels of
   scanpy's kNN graph), the CPU and wall seconds of the ``ari`` cell (exact kNN graph, Leiden
   bounded at ``clustering.LEIDEN_N_ITERATIONS`` iterations, leidenalg, seed 0: what notebooks
   03 and 04 pass to ``grid.score``) and of the ``aic`` cell (Cox fit with the covariates) of
   synthetic embeddings (``_cohort``: 33 planted types with centres of scale ``--scales`` x the
   noise, 0 = no structure; canonical survival obs) for every size x latent size. Printed per
   size and latent size, with embeddings per core-hour; the paper grid's other latent sizes are
   interpolated (``interp``, piecewise linear in the latent size) and marked so.
2. *Through the store* (a synthetic store of ``--ray-keys`` records with stored embeddings of
   ``--ray-n`` samples, written with ``grid.store.write_training``): ``grid.score(...,
   executor="local")`` in this process, its per-embedding overhead over the metrics themselves
   (loading the embedding, writing the cells: wall minus the cells' own ``seconds``), and the
   cached re-run, which must compute nothing. With ``--ray`` also ``executor="ray"`` on a local
   one-node Ray with ``--ray-jobs`` CPUs, started once (timed) and then run twice (cold
   workers, then warm): the Ray overhead per embedding is the CPU time of the driver and every
   process it started (Ray's own and its workers, via psutil) minus the local run's CPU time,
   per embedding; the driver's own CPU time per embedding (its serial share: reading the
   embedding, sending the task, writing the cells) plus reading and sending one embedding of
   the largest size at 200 dims bounds how fast one driver can feed a cluster. Then the cached
   re-run through the Ray executor (it starts no task).
3. *Cached re-run at scale*: ``grid.score`` on stores of ``--cache-keys`` keys whose cells are
   all present (written with ``grid.scores.write_payload``): seconds per key to read them.
4. *Projection* (``project``) for each profile in ``--profiles``: the embeddings notebooks 03
   (TCGA, ARI + AIC) and 04 (GTEx, ARI only: no survival) score, from the profile's grid specs
   (``grid.expand``; every configuration counted as a successful training), at the profile's
   cohort sizes (simulated: ``n_samples_*``; real data: 11,014 and 17,382), each at the cost
   interpolated for its size and latent size (mean over ``--scales``); then the wall time on
   ``--cores`` cores (``executor: local``, ``n_jobs`` = cores) and on ``--nodes`` Ray nodes of
   ``--node-cores`` cores, and the cached re-run. The formulas are ``project``'s docstring.

``--from-measured`` skips the measurements and projects from the numbers recorded in
``benchmarks/measured.json`` (``downstream_*`` entries; re-measure with the command recorded
there). Without ``--ray``, the Ray overheads come from there too. ``--save`` writes the
measurements as JSON.

**``--one``**: the time of each part (kNN graph, Leiden, ARI, Cox fit, of which the Cox design)
of one configuration at ``--n`` samples x ``--dims`` for ``--repeats`` configurations in one
process, after the one-time load (or compilation) of the numba kernels, printed apart: it is
paid once per process, i.e. once per notebook or worker. ``--lifelines`` also times the
lifelines reference fit of the same design. ``--scale 0`` gives an embedding without any type
structure (a collapsed or untrained model): there leidenalg's iterate-to-convergence
(``n_iterations=-1``) is the slow part; ``--flavor igraph`` shows the alternative. Giving
``--n``, ``--dims``, ``--lifelines``, ``--flavor`` or ``--n-iterations`` implies ``--one``.

**``--compare``** validates the bounded Leiden (``docs/design.md``, "Downstream") against the
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
"""

from __future__ import annotations

import argparse
import bisect
import collections
import contextlib
import io
import json
import math
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

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


# --------------------------------------------------------------------------- the cost of scoring

#: The paper's cohort sizes: TCGA-side samples after filtering, GTEx-side samples.
PAPER_N: dict[str, int] = {"tcga": 11014, "gtex": 17382}
#: Profiles projected by default.
PROFILES: tuple[str, ...] = ("paper", "paper_lite", "quick")
#: The cells each notebook computes per embedding: 03 (TCGA) ARI + AIC, 04 (GTEx) ARI only
#: (``survival=False``: the ``aic`` cell is a constant NaN, nothing to fit).
METRICS: dict[str, tuple[str, ...]] = {"tcga": ("ari", "aic"), "gtex": ("ari",)}
#: Latent sizes printed in the per-embedding table: the grid's levels (``keys.GRID_AXES``) and
#: 150 (named by the paper's text, not a level of the grid); unmeasured ones are interpolated.
TABLE_DIMS: tuple[int, ...] = (10, 20, 30, 50, 100, 150, 200)
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                "NUMBA_NUM_THREADS")


def interp(points: Mapping[float, float], x: float) -> float:
    """Piecewise-linear interpolation through ``points`` ({x: y}) at ``x``.

    Beyond the measured range the nearest segment is extended (clipped at 0); with a single
    point, ``y`` scales in proportion to ``x``.
    """
    xs = sorted(float(k) for k in points)
    ys = {float(k): float(v) for k, v in points.items()}
    if not xs:
        raise ValueError("interp: no points")
    x = float(x)
    if x in ys:
        return ys[x]
    if len(xs) == 1:
        return ys[xs[0]] * x / xs[0]
    i = min(max(bisect.bisect_left(xs, x), 1), len(xs) - 1)
    x0, x1 = xs[i - 1], xs[i]
    return max(0.0, ys[x0] + (ys[x1] - ys[x0]) * (x - x0) / (x1 - x0))


def seconds_per_embedding(table: Mapping[Any, Mapping[Any, Mapping[str, float]]], n: int,
                          d: int, metrics: Sequence[str] = ("ari", "aic")) -> float:
    """Core-seconds to score one embedding of ``n`` samples x ``d`` latent dims with
    ``metrics``: ``table[size][dims][metric]`` interpolated in the latent size at every
    measured size, then in the sample size (``interp``)."""
    by_n = {}
    for size, row in table.items():
        by_n[float(size)] = sum(interp({float(k): v[m] for k, v in row.items()}, d)
                                for m in metrics)
    return interp(by_n, n)


def cost_table(rows: Sequence[Mapping[str, Any]], stat: str = "mean"
               ) -> dict[int, dict[int, dict[str, float]]]:
    """``{n: {d: {"ari": s, "aic": s}}}``: the ``stat`` ("mean" or "max") of the measured CPU
    seconds of each cell over the centre scales and repeats of ``measure_throughput``."""
    f = np.mean if stat == "mean" else np.max
    out: dict[int, dict[int, dict[str, float]]] = {}
    for n in sorted({int(r["n"]) for r in rows}):
        for d in sorted({int(r["d"]) for r in rows if int(r["n"]) == n}):
            sel = [r for r in rows if int(r["n"]) == n and int(r["d"]) == d]
            out.setdefault(n, {})[d] = {m: float(f([r[f"{m}_cpu_s"] for r in sel]))
                                        for m in ("ari", "aic")}
    return out


def _int_keys(table: Mapping[Any, Any]) -> dict[int, Any]:
    """A cost table read back from JSON (string keys) with integer sizes and latent sizes."""
    return {int(n): {int(d): dict(v) for d, v in row.items()} for n, row in table.items()}


def workload(params: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The embeddings a profile scores: ``{"tcga": {"n": samples, "dims": {d: count}}, "gtex":
    ...}`` from its ``grid_tcga`` / ``grid_gtex`` specs (``grid.expand``), every configuration
    counted as a successful training; ``n`` is ``n_samples_*`` for simulated cohorts, the
    paper's size (``PAPER_N``) for downloaded ones."""
    from vae_core.grid import expand

    out = {}
    for cohort, spec_key, source_key, n_key in (
            ("tcga", "grid_tcga", "source", "n_samples_tcga"),
            ("gtex", "grid_gtex", "gtex_source", "n_samples_gtex")):
        simulated = params.get(source_key) == "simulated"
        n = int(params.get(n_key) or PAPER_N[cohort]) if simulated else PAPER_N[cohort]
        configs = expand(params[spec_key], train=params.get("train"),
                         base_seed=int(params.get("seed") or 0))
        dims = collections.Counter(int(c.latent_dim) for c in configs)
        out[cohort] = {"n": n, "dims": dict(sorted(dims.items()))}
    return out


def project(work: Mapping[str, Mapping[str, Any]], table: Mapping, *, warmup_s: float,
            local_overhead_s: float, cached_s_per_key: float, ray: Mapping[str, float],
            cores: Sequence[int] = (2, 16), nodes: Sequence[int] = (4, 16),
            node_cores: int = 16, min_keys_per_job: int = 12) -> dict[str, Any]:
    """Projected scoring wall time of one profile's ``work`` (``workload``).

    Per cohort c (notebook 03: TCGA, ARI + AIC; notebook 04: GTEx, ARI; they run one after the
    other, so the totals add): ``n_c`` embeddings, ``core_c = sum over latent sizes d of
    count_d x seconds_per_embedding(table, n_c, d, METRICS[c])`` core-seconds and ``t_max_c``,
    the costliest single embedding. Then

    - local, C cores (``executor: local``, ``n_jobs: C``): ``grid.score`` uses C worker
      processes, at most one per ``min_keys_per_job`` embeddings: ``w = max(1, min(C, n_c //
      min_keys_per_job))``;
      ``wall_c = warmup_s + max((core_c + n_c x local_overhead_s) / w, t_max_c)``;
    - Ray, N nodes x ``node_cores`` (S = N x node_cores task slots): ``wall_c = ray["init_s"] +
      ray["warmup_s"] + max((core_c + n_c x (local_overhead_s + ray["overhead_s"])) / S,
      t_max_c, n_c x ray["driver_s"])``: the last term is the driver, which reads every
      embedding, sends it and writes the cells one key at a time;
    - cached re-run (every cell present; the driver reads them, whatever the executor):
      ``n_c x cached_s_per_key``.

    Returns ``{"counts": {c: n_c}, "core_s": {c: core_c}, "walls": {target: {c: s}},
    "wall_s": {target: total s}, "cached_s": total s, "workers": {target: {c: w}},
    "best_local": {target: {"workers": {c: w}, "wall_s": s}}}`` (``best_local``: with ``n_jobs``
    = the most workers ``grid.score`` would use for that cohort, ``min(C, n_c //
    min_keys_per_job)``); the targets are named "C cores" and "NxK Ray".
    """
    counts, core, t_max = {}, {}, {}
    for c, w in work.items():
        metrics = METRICS[c]
        per_d = {int(d): seconds_per_embedding(table, w["n"], int(d), metrics)
                 for d in w["dims"]}
        counts[c] = int(sum(w["dims"].values()))
        core[c] = float(sum(per_d[int(d)] * k for d, k in w["dims"].items()))
        t_max[c] = max(per_d.values()) if per_d else 0.0
    walls: dict[str, dict[str, float]] = {}
    workers: dict[str, dict[str, int]] = {}
    best: dict[str, dict[str, Any]] = {}

    def local(c: str, w: int) -> float:
        return warmup_s + max((core[c] + counts[c] * local_overhead_s) / w, t_max[c])

    for cc in cores:
        name = f"{cc} cores"
        workers[name] = {c: max(1, min(int(cc), counts[c] // min_keys_per_job)) for c in work}
        walls[name] = {c: local(c, workers[name][c]) for c in work}
        usable = {c: max(1, min(int(cc), counts[c] // min_keys_per_job)) for c in work}
        best[name] = {"workers": usable, "wall_s": float(sum(local(c, usable[c])
                                                               for c in work))}
    for nn in nodes:
        name = f"{nn}x{node_cores} Ray"
        slots = int(nn) * int(node_cores)
        workers[name] = {c: slots for c in work}
        per = local_overhead_s + ray["overhead_s"]
        walls[name] = {c: ray["init_s"] + ray["warmup_s"]
                       + max((core[c] + counts[c] * per) / slots, t_max[c],
                             counts[c] * ray["driver_s"]) for c in work}
    return {"counts": counts, "core_s": core, "t_max_s": t_max, "walls": walls,
            "wall_s": {k: float(sum(v.values())) for k, v in walls.items()},
            "cached_s": float(sum(counts[c] * cached_s_per_key for c in work)),
            "workers": workers, "best_local": best}


def _one_thread() -> None:
    """One thread for every numeric library of this process (and the children it starts)."""
    for var in _THREAD_VARS:
        os.environ[var] = "1"


def _warm_up() -> tuple[float, float]:
    """Import the scoring stack and load the numba kernels once: (wall s, CPU s)."""
    t, c = time.perf_counter(), time.process_time()
    import numba

    numba.set_num_threads(1)
    from vae_core.downstream import evaluate

    emb, obs = _cohort(300, 5, 3, 0.6)
    evaluate(emb, obs, seed=0)
    return time.perf_counter() - t, time.process_time() - c


def measure_throughput(sizes: Sequence[int], dims: Sequence[int], scales: Sequence[float],
                       types: int = 33, repeats: int = 1, seed: int = 0) -> dict[str, Any]:
    """CPU and wall seconds of the ``ari`` and ``aic`` cells of one embedding for every size x
    latent size x centre scale x repeat, one thread, after the warm-up (``_warm_up``).

    Each cell is ``downstream.evaluate(embedding, obs, metrics=[name], seed=0)``: what
    ``grid.score`` computes per (key, metric) with the notebooks' arguments. Returns
    ``{"warmup_s", "warmup_cpu_s", "rows": [{"n", "d", "scale", "rep", "ari_cpu_s",
    "ari_wall_s", "aic_cpu_s", "aic_wall_s", "ari", "n_clusters"}]}``.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        warm_s, warm_cpu = _warm_up()
        from vae_core.downstream import evaluate

        print(f"one-time per scoring process (imports, numba kernels of the kNN graph): wall "
              f"{warm_s:.1f} s, cpu {warm_cpu:.1f} s (excluded below)", flush=True)
        rows = []
        for n in sizes:
            for d in dims:
                for scale in scales:
                    for rep in range(repeats):
                        emb, obs = _cohort(int(n), int(d), types, float(scale), seed=seed + rep)
                        row: dict[str, Any] = {"n": int(n), "d": int(d), "scale": float(scale),
                                               "rep": rep}
                        for m in ("ari", "aic"):
                            t, c = time.perf_counter(), time.process_time()
                            res = evaluate(emb, obs, metrics=[m], seed=0)
                            row[f"{m}_cpu_s"] = time.process_time() - c
                            row[f"{m}_wall_s"] = time.perf_counter() - t
                            if m == "ari":
                                row["ari"] = float(res["ari"])
                                row["n_clusters"] = float(res["n_clusters"])
                        rows.append(row)
                        print(f"  n {n:6d} d {d:4d} scale {scale:g}: ari cell {row['ari_cpu_s']:5.2f}"
                              f" cpu-s (wall {row['ari_wall_s']:5.2f}; ARI {row['ari']:.3f}, "
                              f"{row['n_clusters']:.0f} clusters), aic cell "
                              f"{row['aic_cpu_s']:5.2f} cpu-s (wall {row['aic_wall_s']:5.2f})",
                              flush=True)
    return {"warmup_s": warm_s, "warmup_cpu_s": warm_cpu, "rows": rows}


def report_throughput(table: Mapping, worst: Mapping, measured_dims: Sequence[int]) -> None:
    """Print seconds per embedding and embeddings per core-hour, measured and interpolated."""
    print("\nper embedding, one core (CPU s; mean over the centre scales; worst scale in "
          "brackets). TCGA scoring = ARI + AIC, GTEx scoring = ARI only:")
    print(f"  {'samples':>7s} {'dims':>5s} {'':6s} {'ARI s':>13s} {'AIC s':>11s} "
          f"{'total s':>13s} {'TCGA emb/core-h':>16s} {'GTEx emb/core-h':>16s}")
    for n in sorted(table):
        for d in TABLE_DIMS:
            ari = seconds_per_embedding(table, n, d, ("ari",))
            aic = seconds_per_embedding(table, n, d, ("aic",))
            w_ari = seconds_per_embedding(worst, n, d, ("ari",))
            w_aic = seconds_per_embedding(worst, n, d, ("aic",))
            tag = "meas." if d in measured_dims else "interp"
            print(f"  {n:7d} {d:5d} {tag:6s} {ari:6.2f} ({w_ari:5.2f}) {aic:5.2f} ({w_aic:4.2f})"
                  f" {ari + aic:6.2f} ({w_ari + w_aic:5.2f}) {3600 / (ari + aic):16.0f} "
                  f"{3600 / ari:16.0f}")


def _synthetic_store(path: Path, n_keys: int, n: int, dims: Sequence[int], types: int = 33,
                     scale: float = 0.6, seed: int = 0) -> pd.DataFrame:
    """Write a grid store of ``n_keys`` successful trainings with synthetic embeddings
    (``grid.store.write_training``; configurations drawn from the paper's axes at latent sizes
    ``dims``); return the cohort's ``obs`` (pass it to ``grid.score``)."""
    from vae_core.grid import config_key, expand
    from vae_core.grid import store as gstore

    _, obs = _cohort(n, 2, types, scale, seed=seed)
    codes = obs["label"].cat.codes.to_numpy()
    spec = {"model": ["vanilla", "beta", "betatc", "dip", "iwae", "cat"],
            "latent_dim": [int(d) for d in dims],
            "lr": [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6],
            "init": ["normal", "uniform", "xavier_normal", "xavier_uniform", "kaiming_uniform"],
            "optimizer": ["adam", "rmsprop", "sgd"]}
    configs = expand(spec)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(configs), size=min(n_keys, len(configs)), replace=False)
    gstore.check_cohort(path, {"cohort": "tcga", "n_samples": int(n), "n_genes": 0,
                               "sha1": "synthetic"})
    for i, j in enumerate(pick):
        cfg = configs[int(j)]
        d = int(cfg.latent_dim)
        r = np.random.default_rng(seed + 1 + i)
        emb = (r.normal(size=(types, d))[codes] * scale + r.normal(size=(n, d)))
        record = cfg.to_dict()
        record.update(key=config_key(cfg), cohort="tcga", status="ok", epochs=5, val_loss=1.0,
                      best_val_loss=1.0, wall_time=1.0, reason="", ari=math.nan,
                      n_clusters=math.nan, aic=math.nan, active_units=float(d),
                      provenance={"time_utc": f"2000-01-01T00:00:{i % 60:02d}Z"})
        gstore.write_training(path, record, {"z": emb.astype(np.float32)})
    return obs


def _score(store: Path, obs: pd.DataFrame, **kwargs) -> tuple[float, float, list[str]]:
    """``grid.score`` with its progress lines captured: (wall s, this process's CPU s, the
    ``downstream:`` lines)."""
    from vae_core import grid

    out, err = io.StringIO(), io.StringIO()
    t, c = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        grid.score(store, obs, **kwargs)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    return wall, cpu, [ln for ln in out.getvalue().splitlines() if ln.startswith("downstream")]


def _cell_seconds(store: Path) -> float:
    """Sum of the ``seconds`` (the metric's own wall time) of every score cell in ``store``."""
    total = 0.0
    for p in (store / "scores").glob("*/*/*.json"):
        s = json.loads(p.read_text()).get("seconds")
        total += float(s) if isinstance(s, (int, float)) else 0.0
    return total


def _tree_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of this process and every process it started, by pid."""
    import psutil

    me = psutil.Process()
    out = {}
    for p in [me, *me.children(recursive=True)]:
        try:
            ct = p.cpu_times()
            out[p.pid] = ct.user + ct.system
        except psutil.Error:
            pass
    return out


def _tree_delta(before: Mapping[int, float]) -> tuple[float, int]:
    """CPU seconds the process tree spent since ``before`` (``_tree_cpu``), and its size."""
    after = _tree_cpu()
    return float(sum(v - before.get(pid, 0.0) for pid, v in after.items())), len(after)


def measure_cached(base: Path, key_counts: Sequence[int], n: int = 600, repeats: int = 3
                   ) -> dict[str, Any]:
    """Seconds of ``grid.score`` on stores of ``key_counts`` keys whose cells are all present
    (``executor="local"``; best of ``repeats``, file cache warm): ``{"runs": [{"keys",
    "seconds", "lines"}], "per_key_s"}`` (per key: the largest store's time / its keys)."""
    from vae_core.grid import load_records, scores

    runs = []
    for k in key_counts:
        store = base / f"cached-{k}"
        obs = _synthetic_store(store, int(k), n, dims=(10,))
        recs = load_records(store)
        plan = scores.make_plan(store, obs)
        first = recs.iloc[0].to_dict()
        from vae_core.grid import load_embedding

        cells = scores.score_payload(plan, first["key"], load_embedding(store, first["key"]))
        for r in recs.to_dict("records"):
            scores.write_payload(store, plan, r["key"], cells, scores.training_id(r))
        times, lines = [], []
        for _ in range(repeats):
            wall, _, lines = _score(store, obs)
            times.append(wall)
        runs.append({"keys": int(k), "seconds": min(times), "lines": lines})
        print(f"  cached re-run, {k} keys: {min(times):.3f} s (best of {repeats}: "
              f"{', '.join(f'{t:.3f}' for t in times)}); {' | '.join(lines)}", flush=True)
    big = max(runs, key=lambda r: r["keys"])
    return {"runs": runs, "per_key_s": big["seconds"] / big["keys"]}


def measure_executors(base: Path, n_keys: int, n: int, dims: Sequence[int], *, ray: bool,
                      n_jobs: int = 2, big_n: int = PAPER_N["gtex"]) -> dict[str, Any]:
    """``grid.score`` on one synthetic store: local (this process), the cached re-run, and with
    ``ray`` the Ray executor on a local one-node Ray (``n_jobs`` CPUs; started once, timed; a
    cold and a warm run with ``recompute=True``; the cached re-run). See the module doc."""
    from vae_core.grid import load_embedding
    from vae_core.grid import store as gstore

    store = base / "executors"
    obs = _synthetic_store(store, n_keys, n, dims)
    out: dict[str, Any] = {"keys": n_keys, "n": n, "dims": list(map(int, dims)), "n_jobs": n_jobs}
    wall, cpu, lines = _score(store, obs, executor="local", n_jobs=1)
    compute = _cell_seconds(store)
    out["local"] = {"wall_s": wall, "cpu_s": cpu, "cells_s": compute, "lines": lines,
                    "overhead_per_key_s": max(0.0, (wall - compute) / n_keys)}
    print(f"  local (this process): {wall:.2f} s wall, {cpu:.2f} cpu-s for {n_keys} embeddings;"
          f" the metrics {compute:.2f} s -> overhead {out['local']['overhead_per_key_s']:.4f} s "
          f"per embedding; {' | '.join(lines)}", flush=True)
    wall, _, lines = _score(store, obs, executor="local", n_jobs=1)
    out["local_cached"] = {"wall_s": wall, "lines": lines}
    print(f"  local, cached re-run: {wall:.3f} s; {' | '.join(lines)}", flush=True)

    # the driver's serial work at the largest size: read one stored embedding (and send it)
    one = base / "one-big"
    gstore.check_cohort(one, {"cohort": "gtex", "n_samples": big_n, "n_genes": 0,
                              "sha1": "synthetic"})
    rec = {"key": "0" * 16, "status": "ok", "epochs": 1}
    gstore.write_training(one, rec, {"z": np.random.default_rng(0).normal(
        size=(big_n, 200)).astype(np.float32)})
    load_s = []
    for _ in range(5):
        t = time.perf_counter()
        arr = load_embedding(one, "0" * 16)
        load_s.append(time.perf_counter() - t)
    out["big_load_s"] = min(load_s)
    from vae_core.grid import load_records, scores

    recs = load_records(store).to_dict("records")
    plan = scores.make_plan(store, obs)
    cells = scores.score_payload(plan, recs[0]["key"], load_embedding(store, recs[0]["key"]))
    write_s = []
    for r in recs[:10]:
        t = time.perf_counter()
        scores.write_payload(store, plan, r["key"], cells, scores.training_id(r))
        write_s.append(time.perf_counter() - t)
    out["write_s"] = float(np.median(write_s))
    print(f"  driver's I/O per embedding: reading one stored {big_n} x 200 embedding "
          f"{out['big_load_s'] * 1000:.1f} ms, writing one embedding's 2 cells "
          f"{out['write_s'] * 1000:.1f} ms (median of {len(write_s)})", flush=True)
    if not ray:
        return out

    import ray as _ray

    t = time.perf_counter()
    _ray.init(num_cpus=n_jobs, include_dashboard=False, log_to_driver=False)
    out["ray_init_s"] = time.perf_counter() - t
    put_s = []
    for _ in range(5):
        t = time.perf_counter()
        ref = _ray.put(arr)
        put_s.append(time.perf_counter() - t)
        del ref
    out["big_put_s"] = min(put_s)
    print(f"  ray.init (local, {n_jobs} CPUs): {out['ray_init_s']:.2f} s; ray.put of one "
          f"{big_n} x 200 embedding {out['big_put_s'] * 1000:.1f} ms", flush=True)
    try:
        for run in ("cold", "warm"):
            before = _tree_cpu()
            wall, drv, lines = _score(store, obs, executor="ray", n_jobs=n_jobs, recompute=True)
            total, procs = _tree_delta(before)
            out[f"ray_{run}"] = {"wall_s": wall, "driver_cpu_s": drv, "tree_cpu_s": total,
                                 "processes": procs, "lines": lines}
            print(f"  ray ({run} workers): {wall:.2f} s wall; cpu: driver {drv:.2f} s, driver + "
                  f"Ray + workers ({procs} processes) {total:.2f} s; {' | '.join(lines)}",
                  flush=True)
        wall, _, lines = _score(store, obs, executor="ray", n_jobs=n_jobs)
        out["ray_cached"] = {"wall_s": wall, "lines": lines}
        print(f"  ray, cached re-run: {wall:.3f} s; {' | '.join(lines)}", flush=True)
    finally:
        t = time.perf_counter()
        _ray.shutdown()
        out["ray_shutdown_s"] = time.perf_counter() - t
    warm = out["ray_warm"]
    out["ray_overhead"] = {
        "init_s": out["ray_init_s"],
        "warmup_s": max(0.0, out["ray_cold"]["wall_s"] - warm["wall_s"]),
        "overhead_s": max(0.0, (warm["tree_cpu_s"] - out["local"]["cpu_s"]) / n_keys),
        "driver_s": (warm["driver_cpu_s"] / n_keys + out["big_load_s"] + out["big_put_s"]
                     + out["write_s"]),
    }
    o = out["ray_overhead"]
    print(f"  -> Ray over local, per embedding: {o['overhead_s']:.4f} core-s (all processes' cpu,"
          f" warm run minus local run, / {n_keys}); driver's serial share {o['driver_s']:.4f} s "
          f"(its cpu per embedding + reading, sending a {big_n} x 200 one, writing its cells: "
          f"an upper bound); worker start-up "
          f"{o['warmup_s']:.2f} s (cold minus warm run); wall: local {out['local']['wall_s']:.2f}"
          f" s vs Ray {warm['wall_s']:.2f} s ({n_jobs} CPUs, warm)", flush=True)
    return out


def report_projection(name: str, work: Mapping, p: Mapping) -> None:
    """Print one profile's projection (``project``)."""
    c = p["counts"]
    sizes = ", ".join(f"{k.upper()} {c[k]} x {work[k]['n']} samples" for k in c)
    print(f"  {name:10s} ({sizes}; {(p['core_s']['tcga'] + p['core_s']['gtex']) / 3600:.2f} "
          "core-h):")
    for target, wall in p["wall_s"].items():
        w = p["workers"][target]
        extra = ""
        b = p["best_local"].get(target)
        if b and any(w[c] == 1 < b["workers"][c] for c in w):
            jobs = " / ".join(str(b["workers"][c]) for c in w)
            extra = (f" (n_jobs {target.split()[0]}: one process, fewer keys than "
                     f"MIN_KEYS_PER_JOB x n_jobs; n_jobs {jobs}: {b['wall_s'] / 3600:.3f} h)")
        print(f"      {target:12s} {wall / 3600:8.3f} h  ({wall:8.0f} s; TCGA "
              f"{p['walls'][target]['tcga']:.0f} s + GTEx {p['walls'][target]['gtex']:.0f} s)"
              f"{extra}")
    print(f"      {'cached':12s} {p['cached_s'] / 3600:8.3f} h  ({p['cached_s']:8.1f} s: reading "
          f"{c['tcga'] + c['gtex']} x 2 cells, nothing computed)")


def _recorded_ray_overhead() -> dict[str, float]:
    """The Ray overheads recorded in ``benchmarks/measured.json`` (zeros, said so, if none)."""
    from ._util import MEASURED_JSON, measured

    try:
        value = dict(measured("downstream_ray_overhead"))
        print(f"Ray overheads: not measured now (run with --ray); read from {MEASURED_JSON}")
        return value
    except KeyError:
        print("Ray overheads: none measured (run with --ray); the Ray columns leave them out")
        return {"init_s": 0.0, "warmup_s": 0.0, "overhead_s": 0.0, "driver_s": 0.0}


def _run_cost(args) -> int:
    from ._util import MEASURED_JSON, REPO_ROOT, measured

    _one_thread()
    t0 = time.perf_counter()
    cores, nodes = _ints(args.cores), _ints(args.nodes)
    profiles = [p for p in args.profiles.split(",") if p]
    params = {}
    import yaml

    for p in profiles:
        params[p] = yaml.safe_load((REPO_ROOT / "params" / f"{p}.yaml").read_text())
    work = {p: workload(v) for p, v in params.items()}
    sizes = sorted({int(v) for v in _ints(args.sizes)}) if args.sizes else sorted(
        {*PAPER_N.values(), *(w[c]["n"] for w in work.values() for c in w)})
    dims = _ints(args.dims_list)
    scales = _floats(args.scales) if args.scales else [0.0, 0.3, 0.6]
    print(f"downstream cost benchmark: load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cpus; one thread (OMP/MKL/OpenBLAS/numba = 1)")
    meas: dict[str, Any] = {}
    if args.from_measured:
        thr = measured("downstream_seconds_per_embedding")
        table, worst = _int_keys(thr["mean"]), _int_keys(thr["max"])
        dims = sorted({d for row in table.values() for d in row})
        warmup_s = float(measured("downstream_worker_warmup_seconds"))
        store_v = measured("downstream_store_overhead")
        local_o, cached_k = store_v["local_per_key_s"], store_v["cached_read_per_key_s"]
        ray_o = _recorded_ray_overhead()
        print(f"numbers read from {MEASURED_JSON} (nothing measured now)")
    else:
        print(f"1. per embedding: sizes {sizes}, latent sizes {dims}, centre scales {scales}, "
              f"{args.repeats} repeat(s) (measured)")
        thr = measure_throughput(sizes, dims, scales, types=args.types, repeats=args.repeats)
        meas["throughput"] = thr
        table, worst = cost_table(thr["rows"], "mean"), cost_table(thr["rows"], "max")
        warmup_s = thr["warmup_s"]
        from threadpoolctl import threadpool_limits

        with tempfile.TemporaryDirectory(prefix="bench-downstream-") as tmp, \
                threadpool_limits(limits=1):
            print(f"\n2. through the grid store: {args.ray_keys} embeddings of {args.ray_n} "
                  f"samples, latent sizes 10 and 50 (measured)")
            ex = measure_executors(Path(tmp), args.ray_keys, args.ray_n, (10, 50), ray=args.ray,
                                   n_jobs=args.ray_jobs)
            meas["executors"] = ex
            print(f"\n3. cached re-run: stores of {args.cache_keys} keys, every cell present "
                  "(measured)")
            cached = measure_cached(Path(tmp), _ints(args.cache_keys))
            meas["cached"] = cached
        local_o, cached_k = ex["local"]["overhead_per_key_s"], cached["per_key_s"]
        if args.ray:
            ray_o = ex["ray_overhead"]
        else:
            ray_o = _recorded_ray_overhead()
    report_throughput(table, worst, dims)
    meas["table"] = {"mean": table, "max": worst}
    meas["overheads"] = {"warmup_s": warmup_s, "local_per_key_s": local_o,
                         "cached_read_per_key_s": cached_k, "ray": ray_o}
    from vae_core.downstream.evaluate import MIN_KEYS_PER_JOB

    print("\n4. projected scoring wall time (PROJECTED from the numbers above; every grid "
          "configuration counted as a successful training; GTEx: ARI only):")
    print(f"   per-process warm-up {warmup_s:.1f} s; store overhead {local_o * 1000:.1f} ms per "
          f"embedding; Ray: start {ray_o['init_s']:.1f} s, worker start-up "
          f"{ray_o['warmup_s']:.1f} s, {ray_o['overhead_s'] * 1000:.1f} core-ms per embedding, "
          f"driver {ray_o['driver_s'] * 1000:.1f} ms per embedding (serial); cached read "
          f"{cached_k * 1000:.2f} ms per key")
    meas["projection"] = {}
    for name, w in work.items():
        p = project(w, table, warmup_s=warmup_s, local_overhead_s=local_o,
                    cached_s_per_key=cached_k, ray=ray_o, cores=cores, nodes=nodes,
                    node_cores=args.node_cores, min_keys_per_job=MIN_KEYS_PER_JOB)
        meas["projection"][name] = p
        report_projection(name, w, p)
    print("   not modelled: network transfer of the embeddings to other nodes, a cold file "
          "cache or a network file system under the store, other work on the cores")
    if args.save:
        Path(args.save).write_text(json.dumps(meas, indent=1, default=str))
        print(f"measurements saved to {args.save}")
    print(f"benchmark wall time {time.perf_counter() - t0:.0f} s")
    return 0


def _run_one(args) -> int:
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks downstream",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--one", action="store_true",
                    help="time the parts of one configuration (--n x --dims)")
    ap.add_argument("--compare", action="store_true",
                    help="bounded vs converged Leiden over a set of embeddings")
    # the cost of scoring (default)
    ap.add_argument("--sizes", default=None,
                    help="sample counts measured (default: the paper's 11014,17382 and the "
                         "projected profiles' cohort sizes; --compare --source scale: 11000,17000)")
    ap.add_argument("--dims-list", default="10,50,200", help="latent sizes measured")
    ap.add_argument("--scales", default=None,
                    help="centre scales of the planted types (default 0,0.3,0.6; --compare "
                         "--source scale: 0,0.15,1)")
    ap.add_argument("--profiles", default=",".join(PROFILES), help="profiles projected")
    ap.add_argument("--cores", default="2,16", help="cores of one machine (executor: local)")
    ap.add_argument("--nodes", default="4,16", help="Ray cluster sizes in nodes")
    ap.add_argument("--node-cores", type=int, default=16, help="cores per Ray node")
    ap.add_argument("--ray", action="store_true",
                    help="also measure the Ray executor on a local one-node Ray")
    ap.add_argument("--ray-keys", type=int, default=24, help="embeddings in the executor store")
    ap.add_argument("--ray-n", type=int, default=600, help="samples of the executor store")
    ap.add_argument("--ray-jobs", type=int, default=2, help="CPUs of the local Ray")
    ap.add_argument("--cache-keys", default="100,400", help="keys of the cached-read stores")
    ap.add_argument("--from-measured", action="store_true",
                    help="project from benchmarks/measured.json, measuring nothing")
    ap.add_argument("--save", default=None, help="write the measurements (JSON) here")
    # --one
    ap.add_argument("--n", type=int, default=None, help="--one: samples (default 11000)")
    ap.add_argument("--dims", type=int, default=None, help="--one: latent dims (default 200)")
    ap.add_argument("--types", type=int, default=33)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=None,
                    help="--one: configurations (default 2); cost: repeats (default 1)")
    ap.add_argument("--lifelines", action="store_true")
    ap.add_argument("--scale", type=float, default=0.6,
                    help="--one: cluster-centre scale: 0.6 = clear types (ARI ~1), 0 = none")
    ap.add_argument("--flavor", default=None, choices=("leidenalg", "igraph"))
    ap.add_argument("--n-iterations", type=int, default=None,
                    help="Leiden iterations (default: clustering.LEIDEN_N_ITERATIONS; -1 = "
                         "to convergence)")
    # --compare
    ap.add_argument("--source", default="trained", choices=("trained", "scale"))
    ap.add_argument("--iters", default="2", help="bounds to compare, e.g. 2,5,10")
    ap.add_argument("--models", type=int, default=8, help="--source trained: configurations")
    ap.add_argument("--epochs", type=int, default=6, help="--source trained: epochs each")
    ap.add_argument("--n-cohort", type=int, default=11014)
    ap.add_argument("--genes", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="CSV of the --compare rows")
    args = ap.parse_args(argv)
    if args.compare:
        args.sizes = args.sizes or "11000,17000"
        args.scales = args.scales or "0,0.15,1"
        args.flavor = args.flavor or "leidenalg"
        return _run_compare(args)
    if args.one or any(v is not None for v in (args.n, args.dims, args.flavor,
                                               args.n_iterations)) or args.lifelines:
        args.n = 11000 if args.n is None else args.n
        args.dims = 200 if args.dims is None else args.dims
        args.repeats = 2 if args.repeats is None else args.repeats
        args.flavor = args.flavor or "leidenalg"
        return _run_one(args)
    args.repeats = 1 if args.repeats is None else args.repeats
    return _run_cost(args)


if __name__ == "__main__":
    raise SystemExit(main())
