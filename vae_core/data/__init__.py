"""Data layer: simulated cohorts, real TCGA/GTEx loaders, user tables, preprocessing, splits.

Every source returns the canonical AnnData (raw log-expression, canonical ``obs``;
``docs/design.md``, "Data"); ``preprocess`` then applies the identical path to all of them
(``docs/design.md``, "Preprocessing").

Modules: ``simulate`` (simulated cohorts), ``real`` (TCGA / GTEx download and loaders), ``user``
(a user's expression + annotation tables), ``cohorts`` (``load_source``: notebook 01's one entry
point), ``h5ad`` (cohort files), ``annotations`` (storing and typing ``obs``), ``delimited``
(reading text tables), ``preprocess``, ``split``; ``io`` re-exports the input/output names.
"""

from .annotations import sanitize_obs
from .cohorts import load_source
from .delimited import TableFileError
from .h5ad import read_h5ad, write_h5ad
from .preprocess import preprocess
from .real import download, load_gtex, load_tcga
from .simulate import simulate
from .split import stratified_split
from .user import load_table

__all__ = [
    "TableFileError", "download", "load_gtex", "load_source", "load_table", "load_tcga",
    "preprocess", "read_h5ad", "sanitize_obs", "simulate", "stratified_split", "write_h5ad",
]
