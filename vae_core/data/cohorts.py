"""The raw cohort of notebook 01 for its ``source`` parameter: one entry point for every source.

``simulated`` (``docs/design.md``, "Simulated cohorts"), ``tcga`` / ``gtex`` (the real loaders,
"Data"), ``table`` and ``h5ad`` (a user's own cohort, "Bring your own cohort"), or ``none``.
"""

from __future__ import annotations

from pathlib import Path

import anndata as ad

from ..keys import CANONICAL_OBS, OBS, UNS_PROVENANCE
from . import real
from ._provenance import file_record
from .annotations import canonicalize_obs, report_notes, sanitize_obs
from .h5ad import read_h5ad
from .preprocess import check_label_classes
from .simulate import simulate
from .user import load_table

SOURCES = ("simulated", "tcga", "gtex", "table", "h5ad", "none")


def _simulated(kind: str, n_samples: int | None, n_genes: int | None, seed: int) -> ad.AnnData:
    n_default = 3000 if kind == "tcga" else 2000
    return simulate(kind, n_samples=int(n_samples or n_default), n_genes=int(n_genes or 2000),
                    seed=int(seed))


def _real(source: str, data_dir) -> ad.AnnData:
    return real.load_tcga(data_dir) if source == "tcga" else real.load_gtex(data_dir)


def _user_table(expression, obs, label, genes_as_rows: bool, columns) -> ad.AnnData:
    missing = [n for n, v in (("table_expression", expression), ("table_obs", obs),
                              ("table_label", label)) if not v]
    if missing:
        raise ValueError(f"source='table' needs the parameters {missing}; set them in the "
                         "params file or with papermill -p.")
    return load_table(expression, obs, label, genes_as_rows=bool(genes_as_rows), columns=columns)


def _user_h5ad(h5ad_path) -> ad.AnnData:
    """A user's AnnData: canonical ``obs`` (lenient for columns that only carry a canonical
    name), stored losslessly, the input file in the provenance."""
    if not h5ad_path:
        raise ValueError("source='h5ad' needs h5ad_path (an AnnData file with obs['label']).")
    adata = read_h5ad(h5ad_path)
    if OBS.LABEL not in adata.obs:
        raise KeyError(f"{h5ad_path} has no obs['label']; available obs columns: "
                       f"{list(adata.obs.columns)}. Rename the label column to 'label'.")
    obs, notes = canonicalize_obs(adata.obs,
                                  lenient=[c for c in CANONICAL_OBS if c != OBS.LABEL])
    obs, san_notes = sanitize_obs(obs)
    adata.obs = obs
    prov = dict(adata.uns.get(UNS_PROVENANCE, {}) or {})
    prov.setdefault("source", "h5ad")
    prov["input_h5ad"] = file_record(Path(h5ad_path), cache=False)
    prov["n_samples_no_label"] = int(obs[OBS.LABEL].isna().sum())
    report_notes(notes + san_notes, prov, stacklevel=4)   # the caller of load_source
    check_label_classes(obs[OBS.LABEL], column="label", where=str(h5ad_path))
    adata.uns[UNS_PROVENANCE] = prov
    return adata


def load_source(source: str, *, kind: str = "tcga", n_samples: int | None = None,
                n_genes: int | None = None, seed: int = 0, data_dir=None,
                table_expression=None, table_obs=None, table_label=None,
                table_genes_as_rows: bool = False, table_columns=None,
                h5ad_path=None) -> ad.AnnData | None:
    """The raw cohort of notebook 01 for a ``source`` parameter (None for ``"none"``).

    ``"simulated"``: :func:`~vae_core.data.simulate` (``kind``, sizes, seed; defaults 3000/2000
    samples and 2000 genes); ``"tcga"`` / ``"gtex"``: the real loaders reading ``data_dir``;
    ``"table"``: :func:`load_table`; ``"h5ad"``: :func:`read_h5ad` + canonical ``obs`` +
    :func:`sanitize_obs` (a user's AnnData with any column kinds; a non-fitting column that only
    carries a canonical name is kept as ``<name>_orig`` with a warning).
    """
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; choose one of {list(SOURCES)}.")
    if source == "none":
        return None
    if source == "simulated":
        return _simulated(kind, n_samples, n_genes, seed)
    if source in ("tcga", "gtex"):
        return _real(source, data_dir)
    if source == "table":
        return _user_table(table_expression, table_obs, table_label, table_genes_as_rows,
                           table_columns)
    return _user_h5ad(h5ad_path)
