"""Balanced fractional designs for ``fraction: N`` grid specs (docs/design.md, "Designs").

``balanced_design(levels, n, seed)`` picks ``n`` distinct rows of the full factorial product of
``levels`` (level indices, one column per axis) such that

- every level of every axis appears equally often (counts differ by at most 1), by
  construction: each column starts as a balanced multiset of levels and is only ever changed by
  swapping two of its entries;
- pairs of axes are as balanced as ``n`` allows: a seeded coordinate-exchange search minimises
  the pairwise imbalance ``sum over axis pairs (i, j) and cells (a, b) of (n_ab - E_ab)^2`` with
  ``E_ab = m_a m_b / n`` (``m`` the level counts; ``E_ab = n / (L_i L_j)`` when ``n`` is a
  multiple of both level counts). When the search reaches ``n_ab = E_ab`` everywhere the design
  is an orthogonal array of strength 2; otherwise its worst cell deviation is reported
  (``DesignReport.worst_pair_imbalance``; below 1 means every cell count is ``floor`` or
  ``ceil`` of its expectation, the best any design of that size can do);
- it is a deterministic function of ``(levels, n, seed)``.

``n`` equal to the full product returns the product itself (an orthogonal array); ``n`` above
half the product is built as the complement of a balanced design of ``prod - n`` rows (the full
product is balanced, so the complement's level and pair deviations are those of the removed
rows, negated), which keeps the search in the sparse regime where distinct rows are easy.

Speed: the search evaluates, for one row and one axis, every swap partner at once (numpy over
the rows), so a pass costs O(n * axes^2) vector operations; measured with
``python -m benchmarks design`` (see ``benchmarks/design.py``).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import time
from collections.abc import Sequence

import numpy as np

__all__ = ["DesignReport", "balanced_design", "pair_tables"]

#: Restarts of the search (from new seeded random starts) when a start ends above the bound.
N_STARTS = 4
#: Full passes over (axis, row) per start; the search stops earlier when a pass improves nothing.
MAX_PASSES = 30
#: Passes of cost-neutral swaps allowed in a row when a pass finds no strict improvement.
SIDEWAYS = 3


@dataclasses.dataclass(frozen=True)
class DesignReport:
    """What a balanced design achieved (the worst pairwise imbalance is reported; docs/design.md, "Designs").

    levels            number of levels per axis (the axes the design varies)
    n                 rows (configurations per model)
    seed              design seed
    level_counts      per axis, the count of each level (differ by at most 1)
    worst_level_spread  max over axes of (max count - min count): 0 or 1
    pair_imbalance    per axis pair (i, j): max over cells |n_ab - E_ab|
    worst_pair_imbalance  max of ``pair_imbalance`` (0 for an orthogonal array)
    pair_sse          the objective: sum of squared cell deviations over all pairs
    orthogonal        every pair table equals its expectation exactly (strength-2 OA)
    pair_optimal      every cell count is floor or ceil of its expectation
    build_seconds     wall time of the construction (informative only)
    axes              axis names (set by ``grid.design_report``; empty from ``balanced_design``)
    """

    levels: tuple[int, ...]
    n: int
    seed: int
    level_counts: tuple[tuple[int, ...], ...]
    worst_level_spread: int
    pair_imbalance: dict[tuple[int, int], float]
    worst_pair_imbalance: float
    pair_sse: float
    orthogonal: bool
    pair_optimal: bool
    build_seconds: float
    axes: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line: N, levels, worst pairwise imbalance and what it means."""
        names = self.axes or tuple(f"axis{i}" for i in range(len(self.levels)))
        shape = " x ".join(f"{a} {L}" for a, L in zip(names, self.levels, strict=True))
        kind = ("an orthogonal array (every pair of axes exactly balanced)" if self.orthogonal
                else "every pair cell within 1 of its expected count" if self.pair_optimal
                else "pairs not fully balanced")
        return (f"{self.n} configurations of {shape}, design seed {self.seed}: level counts "
                f"differ by at most {self.worst_level_spread}; worst pairwise imbalance "
                f"{self.worst_pair_imbalance:.3f} ({kind})")


def pair_tables(x: np.ndarray, levels: Sequence[int]) -> dict[tuple[int, int], np.ndarray]:
    """Count table ``[L_i, L_j]`` of every axis pair ``i < j`` of design ``x`` ([n, axes])."""
    out = {}
    for i, j in itertools.combinations(range(len(levels)), 2):
        t = np.zeros((levels[i], levels[j]))
        np.add.at(t, (x[:, i], x[:, j]), 1.0)
        out[(i, j)] = t
    return out


def _expected(x: np.ndarray, levels: Sequence[int], i: int, j: int) -> np.ndarray:
    n = x.shape[0]
    mi = np.bincount(x[:, i], minlength=levels[i]).astype(float)
    mj = np.bincount(x[:, j], minlength=levels[j]).astype(float)
    return np.outer(mi, mj) / n


def _report(x: np.ndarray, levels: tuple[int, ...], seed: int, seconds: float) -> DesignReport:
    n = x.shape[0]
    counts = tuple(tuple(int(c) for c in np.bincount(x[:, j], minlength=L))
                   for j, L in enumerate(levels))
    spread = max((max(c) - min(c) for c in counts), default=0)
    imb: dict[tuple[int, int], float] = {}
    sse, optimal = 0.0, True
    for (i, j), t in pair_tables(x, levels).items():
        dev = t - _expected(x, levels, i, j)
        imb[(i, j)] = float(np.abs(dev).max())
        sse += float((dev ** 2).sum())
        optimal &= bool(np.all(np.abs(dev) < 1 - 1e-9))
    worst = max(imb.values(), default=0.0)
    return DesignReport(levels, n, seed, counts, int(spread), imb, worst, sse,
                        bool(worst < 1e-9), bool(optimal), seconds)


def _balanced_column(rng: np.random.Generator, n: int, L: int) -> np.ndarray:
    """``n`` level indices in which each of ``L`` levels appears floor or ceil of n/L times."""
    extra = rng.choice(L, size=n % L, replace=False)
    col = np.concatenate([np.repeat(np.arange(L), n // L), np.sort(extra)])
    return rng.permutation(col)


class _Search:
    """Coordinate exchange on one design: swaps inside a column keep every level count."""

    def __init__(self, x: np.ndarray, levels: tuple[int, ...]):
        self.x = x
        self.levels = levels
        self.n, self.m = x.shape
        self.cols = [j for j in range(self.m) if levels[j] > 1]
        strides = np.ones(self.m, dtype=np.int64)
        for j in range(self.m - 2, -1, -1):
            strides[j] = strides[j + 1] * levels[j + 1]
        self.strides = strides
        self.code = x @ strides
        self.occ = np.bincount(self.code, minlength=int(np.prod(levels))).astype(np.int64)
        lmax = self.lmax = max(levels)
        # D[i, j] = pair table of axes (i, j) minus its expectation, zero-padded to lmax x lmax;
        # D[j, i] is kept equal to D[i, j].T
        self.D = np.zeros((self.m, self.m, lmax, lmax))
        for i, j in itertools.combinations(self.cols, 2):
            t = np.zeros((levels[i], levels[j]))
            np.add.at(t, (x[:, i], x[:, j]), 1.0)
            d = t - _expected(x, levels, i, j)
            self.D[i, j, :levels[i], :levels[j]] = d
            self.D[j, i, :levels[j], :levels[i]] = d.T
        self.others = {j: np.array([k for k in self.cols if k != j], dtype=np.int64)
                       for j in self.cols}

    def deltas(self, j: int, r1: int) -> np.ndarray:
        """Change of the objective for swapping ``x[r1, j]`` with ``x[r2, j]``, every r2
        (``inf`` where the swap is a no-op or would duplicate a row)."""
        x = self.x
        a = x[r1, j]
        b = x[:, j]
        ks = self.others[j]
        if ks.size:
            dj = self.D[j].reshape(-1)                     # flat [m * lmax * lmax]
            base = ks * (self.lmax * self.lmax)            # [K]
            c1 = x[r1, ks]                                 # [K]
            c2 = x[:, ks]                                  # [n, K]
            bb = base + b[:, None] * self.lmax             # [n, K]
            aa = base + a * self.lmax                      # [K]
            t = (dj[bb + c1] - dj[bb + c2]) + (dj[aa + c2] - dj[aa + c1])
            delta = np.where(c2 != c1, 2.0 * t + 4.0, 0.0).sum(axis=1)
        else:
            delta = np.zeros(self.n)
        step = (b - a) * self.strides[j]
        feasible = (b != a) & (self.occ[self.code[r1] + step] == 0) \
            & (self.occ[self.code - step] == 0)
        return np.where(feasible, delta, np.inf)

    def swap(self, j: int, r1: int, r2: int) -> None:
        x = self.x
        a, b = x[r1, j], x[r2, j]
        for k in self.others[j]:
            c1, c2 = x[r1, k], x[r2, k]
            if c1 != c2:
                for (p, q), v in (((a, c1), -1), ((b, c1), 1), ((b, c2), -1), ((a, c2), 1)):
                    self.D[j, k, p, q] += v
                    self.D[k, j, q, p] += v
        step = (b - a) * self.strides[j]
        for r, s in ((r1, step), (r2, -step)):
            self.occ[self.code[r]] -= 1
            self.code[r] += s
            self.occ[self.code[r]] += 1
        x[r1, j], x[r2, j] = b, a

    def repair(self, rng: np.random.Generator) -> bool:
        """Swap duplicated rows onto free ones (cheapest feasible swap); True when all distinct."""
        for _ in range(4 * self.n):
            dup = np.flatnonzero(self.occ[self.code] > 1)
            if not dup.size:
                return True
            r1 = int(dup[0])
            best = (np.inf, -1, -1)
            for j in self.cols:
                d = self.deltas(j, r1)
                r2 = int(np.argmin(d))
                if d[r2] < best[0]:
                    best = (float(d[r2]), j, r2)
            if not np.isfinite(best[0]):
                return False
            self.swap(best[1], r1, best[2])
        return bool(np.all(self.occ[self.code] == 1))

    def optimal(self) -> bool:
        """Every pair cell is floor or ceil of its expectation: no design of this size and
        these level counts has a smaller objective."""
        return bool(np.abs(self.D).max() < 1 - 1e-9)

    def improve(self, rng: np.random.Generator, max_passes: int, sideways: int) -> int:
        """Best-partner swaps until the bound is reached or nothing improves; passes used.

        A pass without a strict improvement is followed by up to ``sideways`` passes of
        cost-neutral swaps (a random partner among those of zero cost), which walk the plateau
        of a local optimum until a strict improvement appears again.
        """
        flat = 0
        for p in range(max_passes):
            if self.optimal():
                return p
            improved = False
            moved = False
            for j in self.cols:
                for r1 in rng.permutation(self.n):
                    d = self.deltas(j, int(r1))
                    r2 = int(np.argmin(d))
                    if d[r2] < -1e-9:
                        self.swap(j, int(r1), r2)
                        improved = True
                    elif flat and d[r2] < 1e-9:
                        zero = np.flatnonzero(d < 1e-9)
                        self.swap(j, int(r1), int(zero[rng.integers(zero.size)]))
                        moved = True
                if improved and self.optimal():
                    return p + 1
            if improved:
                flat = 0
            elif flat < sideways and (moved or not flat):
                flat += 1
            else:
                return p + 1
        return max_passes


def _sparse_design(levels: tuple[int, ...], n: int, seed: int) -> np.ndarray:
    """Search for ``n <= prod/2`` distinct rows; best of up to ``N_STARTS`` seeded starts."""
    best, best_score = None, None
    ss = np.random.SeedSequence([int(seed), n, *levels])
    for child in ss.spawn(N_STARTS):
        rng = np.random.default_rng(child)
        x = np.stack([_balanced_column(rng, n, L) for L in levels], axis=1).astype(np.int64)
        s = _Search(x, levels)
        if not s.repair(rng):
            continue
        s.improve(rng, MAX_PASSES, SIDEWAYS)
        rep = _report(s.x, levels, seed, 0.0)
        score = (round(rep.worst_pair_imbalance, 9), round(rep.pair_sse, 9))
        if best_score is None or score < best_score:
            best, best_score = s.x.copy(), score
        if rep.pair_optimal:
            break
    if best is None:
        raise RuntimeError(
            f"balanced_design: no {n} distinct rows found for levels {list(levels)} "
            f"(seed {seed}); try another design seed.")
    return best


@functools.lru_cache(maxsize=64)
def _design_cached(levels: tuple[int, ...], n: int, seed: int
                   ) -> tuple[tuple[tuple[int, ...], ...], DesignReport]:
    t0 = time.perf_counter()
    total = math.prod(levels)
    if n == total:
        x = np.array(list(itertools.product(*(range(L) for L in levels))),
                     dtype=np.int64).reshape(total, len(levels))
    elif 2 * n > total:
        removed = _sparse_design(levels, total - n, seed)
        strides = np.cumprod((1, *levels[::-1]))[:-1][::-1]
        gone = set((removed @ strides).tolist())
        x = np.array([row for row in itertools.product(*(range(L) for L in levels))
                      if int(np.dot(row, strides)) not in gone],
                     dtype=np.int64).reshape(n, len(levels))
    else:
        x = _sparse_design(levels, n, seed)
    order = np.lexsort(x.T[::-1])                   # product order (last axis fastest)
    x = x[order]
    rep = _report(x, levels, seed, time.perf_counter() - t0)
    return tuple(map(tuple, x.tolist())), rep


def balanced_design(levels: Sequence[int], n: int, seed: int = 0
                    ) -> tuple[np.ndarray, DesignReport]:
    """``(rows [n, len(levels)] of level indices in product order, report)`` (module doc).

    ``levels``: number of levels of each axis (>= 1 each); ``n``: 1 <= n <= prod(levels);
    ``seed``: the design seed (same inputs, same rows). Raises ``ValueError`` otherwise.
    """
    levels = tuple(int(L) for L in levels)
    if not levels or min(levels) < 1:
        raise ValueError(f"balanced_design: levels must be >= 1 per axis, got {list(levels)}.")
    total = math.prod(levels)
    if isinstance(n, bool) or int(n) != n or not 1 <= int(n) <= total:
        raise ValueError(f"balanced_design: n must be an integer in [1, {total}] (the full "
                         f"product of {list(levels)}), got {n!r}.")
    rows, rep = _design_cached(levels, int(n), int(seed))
    return np.array(rows, dtype=np.int64).reshape(len(rows), len(levels)), rep
