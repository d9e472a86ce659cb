"""Data layer: simulated cohorts, real TCGA/GTEx loaders, user tables, preprocessing, splits.

Every source returns the canonical AnnData of SPEC 2.1 (raw log-expression, canonical ``obs``);
``preprocess`` then applies the identical path of SPEC 2.2 to all of them.
"""

from .io import TableFileError, load_source, load_table, read_h5ad, sanitize_obs, write_h5ad
from .preprocess import preprocess
from .real import download, load_gtex, load_tcga
from .simulate import simulate
from .split import stratified_split

__all__ = [
    "TableFileError", "download", "load_gtex", "load_source", "load_table", "load_tcga",
    "preprocess", "read_h5ad", "sanitize_obs", "simulate", "stratified_split", "write_h5ad",
]
