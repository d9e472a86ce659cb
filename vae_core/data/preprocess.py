"""Preprocessing: the identical path for every source (``docs/design.md``, "Preprocessing").

1. keep samples with a label (NaN, empty, ``nan``/``NA``/``None`` text mean none; the dropped
   samples are counted in a warning and in provenance, never a "nan" class). Fewer than two
   classes is checked where a user's cohort enters (``load_table`` / ``load_source``, with
   :func:`check_label_classes`), before any training; ``preprocess`` itself accepts one class;
2. per gene, over the non-missing cells: the MEAN absolute deviation around the gene's mean
   (the paper's text and its published code, pandas ``mad``), or, as an explicit option, the
   MEDIAN absolute deviation from the gene's median;
3. constant genes (including all-missing ones) are excluded before ranking, so they never reach
   the z-score; the ``n_top_genes`` genes with the largest deviation are kept (ties broken by
   gene order), in their original order;
4. each kept gene is z-scored over the whole cohort (mean 0, population sd 1, ddof=0) using its
   non-missing cells; missing cells are then set to 0 (the gene's mean), as the published code did.

Everything is recorded in ``uns["provenance"]["preprocess"]``; ``var`` gets ``mean``, ``sd``,
``deviation`` and ``deviation_rank`` (1 = largest) on the raw scale.

Work is done in blocks of genes in float32, so an 11,000 x 20,000 matrix needs little more memory
than the matrix itself (see ``python -m benchmarks preprocess``).
"""

from __future__ import annotations

import copy
import warnings

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..keys import OBS, UNS_PROVENANCE

DEVIATIONS = ("mean", "median")
_BLOCK = 1024


def _nan_median_sorted(s: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Median per column of a column-sorted block whose NaNs sit at the bottom."""
    cnt = np.maximum(count, 1)
    lo = np.take_along_axis(s, ((cnt - 1) // 2)[None, :], axis=0)[0]
    hi = np.take_along_axis(s, (cnt // 2)[None, :], axis=0)[0]
    med = (lo.astype(np.float64) + hi) / 2.0
    med[count == 0] = np.nan
    return med


def _block_stats(B: np.ndarray, deviation: str):
    """(count, mean, population sd, deviation, min, max) per column of a float32 block."""
    nanmask = np.isnan(B)
    has_nan = bool(nanmask.any())
    count = B.shape[0] - nanmask.sum(axis=0)
    if has_nan:
        B0 = np.where(nanmask, np.float32(0), B)
    else:
        B0 = B
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = B0.sum(axis=0, dtype=np.float64) / count
        D = B0 - mean.astype(np.float32)
        if has_nan:
            D[nanmask] = 0
        sd = np.sqrt((D.astype(np.float64) ** 2).sum(axis=0) / count) if D.size else np.zeros(0)
        if deviation == "mean":
            np.abs(D, out=D)
            dev = D.sum(axis=0, dtype=np.float64) / count
        else:
            s = np.sort(B, axis=0)  # NaN last
            med = _nan_median_sorted(s, count)
            absdev = np.abs(B - med.astype(np.float32))  # NaN stays NaN
            absdev.sort(axis=0)
            dev = _nan_median_sorted(absdev, count)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN genes: min/max NaN
            bmin = np.nanmin(B, axis=0) if B.shape[0] else np.full(B.shape[1], np.nan)
            bmax = np.nanmax(B, axis=0) if B.shape[0] else np.full(B.shape[1], np.nan)
    return count, mean, sd, dev, bmin, bmax


def _dense_block(X, rows: np.ndarray | None, a: int, b: int) -> np.ndarray:
    B = X[:, a:b]
    if sp.issparse(B):
        B = B.toarray()
    B = np.asarray(B)
    if rows is not None:
        B = B[rows]
    return np.ascontiguousarray(B, dtype=np.float32)


def gene_statistics(X, deviation: str = "mean", rows: np.ndarray | None = None) -> pd.DataFrame:
    """Per-gene statistics of a samples x genes matrix, NaN-aware.

    Parameters
    ----------
    X
        [n_samples, n_genes] array (dense or scipy sparse; NaN = missing cell).
    deviation
        ``"mean"``: mean absolute deviation around the gene's mean, ``mean_i |x_ig - mean_g|``
        (the paper); ``"median"``: median absolute deviation from the gene's median,
        ``median_i |x_ig - median_g|``. Both over non-missing cells only.
    rows
        Optional sample indices to restrict to.

    Returns
    -------
    DataFrame with one row per gene: ``n_missing``, ``mean``, ``sd`` (population, ddof=0),
    ``deviation``, ``constant`` (all non-missing values equal, or no value at all).
    """
    if deviation not in DEVIATIONS:
        raise ValueError(f"deviation must be one of {DEVIATIONS}, got {deviation!r}; the paper "
                         "uses 'mean'.")
    n_genes = X.shape[1]
    n_rows = X.shape[0] if rows is None else len(rows)
    out = {k: np.empty(n_genes, dtype=np.float64) for k in ("count", "mean", "sd", "dev", "min",
                                                            "max")}
    for a in range(0, n_genes, _BLOCK):
        b = min(a + _BLOCK, n_genes)
        stats = _block_stats(_dense_block(X, rows, a, b), deviation)
        for k, v in zip(("count", "mean", "sd", "dev", "min", "max"), stats, strict=True):
            out[k][a:b] = v
    constant = (out["count"] == 0) | (out["max"] == out["min"]) | ~(out["sd"] > 0)
    return pd.DataFrame({
        "n_missing": (n_rows - out["count"]).astype(np.int64),
        "mean": out["mean"], "sd": out["sd"], "deviation": out["dev"], "constant": constant,
    })


def deviation_curve(adata: ad.AnnData, deviation: str = "mean") -> np.ndarray:
    """Per-gene deviation of the non-constant genes of labelled samples, sorted descending.

    The curve notebook 01 plots with the top-k cut-off (float64 array, length = number of
    non-constant genes).
    """
    rows = _labelled_rows(adata)
    st = gene_statistics(adata.X, deviation, rows)
    dev = st.loc[~st["constant"], "deviation"].to_numpy()
    return np.sort(dev)[::-1]


#: Label text that means "no label" (as well as NaN / None / empty text); never a class.
NO_LABEL_TEXT = frozenset({"", "nan", "na", "n/a", "none", "null", "<na>"})


def _has_label(lab: pd.Series) -> np.ndarray:
    """Boolean mask of samples with a real label (not NaN, empty, ``nan``/``NA``/``None`` text)."""
    text = lab.astype(object).map(lambda v: "" if v is None or (not isinstance(v, str)
                                                                 and pd.isna(v)) else str(v))
    return (~text.str.strip().str.lower().isin(NO_LABEL_TEXT)).to_numpy()


def check_label_classes(labels: pd.Series, column: str | None = None, where: str | None = None,
                        annotation: pd.DataFrame | None = None) -> None:
    """Raise ``ValueError`` unless the labelled samples hold at least two classes.

    Called by ``load_table`` and ``load_source("h5ad")``, i.e. in notebook 01, before any
    training.
    ``column`` and ``where`` name the user's label column and its file in the message;
    ``annotation`` (the sample table) lets the message suggest columns that have 2-50 values.
    """
    keep = _has_label(labels)
    values = pd.Series(labels[keep].astype(str).str.strip().unique())
    col = f"label column {column!r}" if column else "obs['label']"
    src = f" of {where}" if where else ""
    if values.size >= 2:
        return
    hint = ""
    if annotation is not None:
        top = min(50, max(2, len(annotation) // 2))
        cands = [c for c in annotation.columns
                 if c != "label" and 2 <= annotation[c].nunique(dropna=True) <= top]
        if cands:
            hint = f" Columns with 2-50 values in that table: {cands[:10]}."
    if values.size == 0:
        raise ValueError(f"no sample has a label: {col}{src} is empty or NA everywhere; fill it "
                         "(cancer type / tissue) or choose another label column "
                         f"(params: table_label).{hint}")
    raise ValueError(f"{col}{src} has a single class, {values.iloc[0]!r} (all {int(keep.sum())} "
                     "labelled samples): clustering ARI and the benchmark need at least two "
                     "classes. Choose a label column with two or more values (params: "
                     f"table_label), or add samples of another class.{hint}")


def _labelled_rows(adata: ad.AnnData) -> np.ndarray | None:
    if OBS.LABEL not in adata.obs:
        raise KeyError(f"adata.obs has no {OBS.LABEL!r} column (columns: "
                       f"{list(adata.obs.columns)}); the label (cancer type / tissue) is "
                       "required. Rename your label column to 'label'.")
    keep = _has_label(adata.obs[OBS.LABEL])
    return None if keep.all() else np.flatnonzero(keep)


def preprocess(adata: ad.AnnData, n_top_genes: int = 5000,
               deviation: str = "mean") -> ad.AnnData:
    """Select the top-deviation genes and z-score them (paper: 5000 genes, mean deviation).

    Parameters
    ----------
    adata
        Raw canonical AnnData (samples x genes log-expression; NaN = missing cell) with
        ``obs["label"]``.
    n_top_genes
        Number of genes kept. If it exceeds the non-constant genes available, all of those are
        kept and a warning says so.
    deviation
        ``"mean"`` (default, the paper): mean absolute deviation around the gene mean;
        ``"median"``: median absolute deviation from the gene median (an explicit option, never
        the default). Computed over non-missing cells.

    Returns
    -------
    AnnData
        New object: samples with a label x selected genes (original gene order), ``X`` float32
        z-scored (population sd 1), missing cells 0; ``obs``/``obsm``/``varm`` subset
        consistently; ``var`` gets ``mean``, ``sd``, ``deviation``, ``deviation_rank``;
        ``uns["provenance"]["preprocess"]`` records every parameter and count.
    """
    if deviation not in DEVIATIONS:
        raise ValueError(f"deviation must be one of {DEVIATIONS}, got {deviation!r}; the paper "
                         "uses 'mean'.")
    if isinstance(n_top_genes, bool) or int(n_top_genes) != n_top_genes or n_top_genes < 1:
        raise ValueError(f"n_top_genes must be a positive integer, got {n_top_genes!r}.")
    n_top_genes = int(n_top_genes)
    rows = _labelled_rows(adata)
    n_in = adata.n_obs
    n_kept = n_in if rows is None else len(rows)
    if n_kept == 0:
        raise ValueError("no sample has a label: obs['label'] is empty or NaN everywhere; fill "
                         "it (cancer type / tissue) before preprocessing.")
    if n_kept < n_in:
        warnings.warn(f"preprocess: dropped {n_in - n_kept} of {n_in} samples with no label "
                      "(obs['label'] empty or NA); they are not a class. Kept "
                      f"{n_kept}; the count is in uns['provenance']['preprocess']"
                      "['n_samples_dropped_no_label'].", UserWarning, stacklevel=2)

    st = gene_statistics(adata.X, deviation, rows)
    nonconst = np.flatnonzero(~st["constant"].to_numpy())
    if nonconst.size == 0:
        raise ValueError("every gene is constant (or entirely missing) over the labelled "
                         "samples; nothing to select.")
    if n_top_genes > nonconst.size:
        warnings.warn(f"n_top_genes={n_top_genes} exceeds the {nonconst.size} non-constant genes "
                      f"available; using all {nonconst.size}.", UserWarning, stacklevel=2)
    k = min(n_top_genes, nonconst.size)
    order = nonconst[np.argsort(-st["deviation"].to_numpy()[nonconst], kind="stable")]
    rank = np.zeros(adata.n_vars, dtype=np.int64)
    rank[order] = np.arange(1, order.size + 1)
    selected = np.sort(order[:k])

    # z-score the selected genes in blocks (one float32 output matrix, no full copy of the input)
    out = np.empty((n_kept, k), dtype=np.float32)
    mean = st["mean"].to_numpy()[selected]
    sd = st["sd"].to_numpy()[selected]
    n_na = 0
    X = adata.X
    for a in range(0, k, _BLOCK):
        b = min(a + _BLOCK, k)
        cols = selected[a:b]
        B = X[:, cols]
        if sp.issparse(B):
            B = B.toarray()
        B = np.asarray(B)
        if rows is not None:
            B = B[rows]
        blk = out[:, a:b]
        blk[...] = B
        blk -= mean[a:b].astype(np.float32)
        blk /= sd[a:b].astype(np.float32)
        na = np.isnan(blk)
        c = int(na.sum())
        if c:
            blk[na] = 0.0
            n_na += c

    sub = adata[rows] if rows is not None else adata
    obs = sub.obs.copy()
    lab = obs[OBS.LABEL]
    if not isinstance(lab.dtype, pd.CategoricalDtype):
        lab = pd.Series(pd.Categorical(lab.astype(str).str.strip()), index=obs.index)
    obs[OBS.LABEL] = lab.cat.remove_unused_categories()
    var = adata.var.iloc[selected].copy()
    var["mean"] = mean
    var["sd"] = sd
    var["deviation"] = st["deviation"].to_numpy()[selected]
    var["deviation_rank"] = rank[selected]
    res = ad.AnnData(X=out, obs=obs, var=var)
    for key, val in adata.obsm.items():
        res.obsm[key] = np.asarray(val)[rows] if rows is not None else np.array(val)
    for key, val in adata.varm.items():
        res.varm[key] = np.asarray(val)[selected]
    res.uns = copy.deepcopy(dict(adata.uns))
    prov = dict(res.uns.get(UNS_PROVENANCE, {}) or {})
    cutoff = float(st["deviation"].to_numpy()[order[k - 1]])
    prov["preprocess"] = {
        "function": "vae_core.data.preprocess",
        "n_top_genes": n_top_genes,
        "n_genes_selected": int(k),
        "deviation": deviation,
        "deviation_definition": ("mean_i |x - mean(x)| over non-missing cells" if deviation ==
                                 "mean" else "median_i |x - median(x)| over non-missing cells"),
        "deviation_cutoff": cutoff,
        "zscore": "per gene over all kept samples, population sd (ddof=0)",
        "missing_fill": "0 after z-scoring (the gene mean)",
        "n_samples_in": int(n_in),
        "n_samples_kept": int(n_kept),
        "n_samples_dropped_no_label": int(n_in - n_kept),
        "n_genes_in": int(adata.n_vars),
        "n_constant_genes": int(adata.n_vars - nonconst.size),
        "n_missing_cells_input": int(st["n_missing"].sum()),
        "n_missing_cells_selected": int(n_na),
    }
    res.uns[UNS_PROVENANCE] = prov
    return res
