"""Cohort input and output under one name, for callers that import ``vae_core.data.io``.

The functions live in modules named for what they hold: ``h5ad`` (h5ad files), ``annotations``
(storing and typing ``obs``), ``delimited`` (reading a user's text tables), ``user``
(``load_table``) and ``cohorts`` (``load_source``, notebook 01's entry point). See
``docs/design.md``, "Data" and "Bring your own cohort".
"""

from .annotations import canonical_obs, sanitize_obs
from .cohorts import SOURCES, load_source
from .delimited import TableFileError
from .h5ad import JSON_UNS_KEYS, read_h5ad, write_h5ad
from .user import load_table

__all__ = [
    "JSON_UNS_KEYS", "SOURCES", "TableFileError", "canonical_obs", "load_source", "load_table",
    "read_h5ad", "sanitize_obs", "write_h5ad",
]
