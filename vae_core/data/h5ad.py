"""Cohort files: atomic, lossless h5ad writing and reading.

:func:`write_h5ad` writes to a temporary file and renames it into place (``os.replace``), so a
reader never sees half a file. ``uns["provenance"]`` and ``uns["ground_truth"]`` are stored as
JSON strings (h5ad cannot hold ``None`` or lists of mixed types) and :func:`read_h5ad` decodes
them again, so they round-trip exactly. ``obs`` and ``var`` go through
:func:`~vae_core.data.annotations.sanitize_obs`, so every annotation column kind is stored
without loss (``docs/design.md``, "Data" and "Bring your own cohort").
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import anndata as ad
import numpy as np

from ..keys import UNS_GROUND_TRUTH, UNS_PROVENANCE
from .annotations import report_notes, sanitize_obs

#: ``uns`` entries stored as JSON text inside the h5ad file.
JSON_UNS_KEYS: tuple[str, ...] = (UNS_PROVENANCE, UNS_GROUND_TRUTH)
_JSON_PREFIX = "json:"


def _to_jsonable(obj):
    if isinstance(obj, Mapping):
        return {str(k): _to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_h5ad(adata: ad.AnnData, path: str | os.PathLike) -> Path:
    """Write ``adata`` to ``path`` atomically (parents created) and return the path.

    The file is written to a temporary name in the same directory and renamed into place, so a
    reader never sees a half-written file. ``uns["provenance"]`` and ``uns["ground_truth"]`` are
    serialised as JSON (None, nested and mixed lists survive); ``adata`` itself is not modified.
    ``obs`` and ``var`` are written through :func:`sanitize_obs` (lossless; a column renamed
    there, e.g. ``sample`` -> ``sample_orig``, is warned about and noted in the written
    provenance's ``annotation_notes``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.h5ad")
    if adata.is_view:
        adata = adata.copy()
    obs, obs_notes = sanitize_obs(adata.obs, "obs")
    var, var_notes = sanitize_obs(adata.var, "var")
    notes = obs_notes + var_notes
    saved = {}
    saved_frames = (adata.obs, adata.var)
    try:
        if notes:
            prov = dict(adata.uns.get(UNS_PROVENANCE, {}) or {})
            report_notes(notes, prov)
            saved.setdefault(UNS_PROVENANCE, adata.uns.get(UNS_PROVENANCE))
            adata.uns[UNS_PROVENANCE] = prov
        adata.obs, adata.var = obs, var
        for key in JSON_UNS_KEYS:
            if key in adata.uns:
                saved.setdefault(key, adata.uns[key])
                adata.uns[key] = _JSON_PREFIX + json.dumps(_to_jsonable(adata.uns[key]))
        adata.write_h5ad(tmp)
        os.replace(tmp, path)
    finally:
        adata.obs, adata.var = saved_frames
        for key, val in saved.items():
            if val is None:
                adata.uns.pop(key, None)
            else:
                adata.uns[key] = val
        if tmp.exists():
            tmp.unlink()
    return path


def read_h5ad(path: str | os.PathLike) -> ad.AnnData:
    """Read an h5ad file written by :func:`write_h5ad` (or any AnnData file).

    JSON-encoded ``uns`` entries (provenance, ground truth) are decoded back to dicts.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no h5ad file at {path}; check the path (for the pipeline's "
                                "cohorts, run notebook 01 first).")
    adata = ad.read_h5ad(path)
    for key in JSON_UNS_KEYS:
        val = adata.uns.get(key)
        if isinstance(val, str) and val.startswith(_JSON_PREFIX):
            adata.uns[key] = json.loads(val[len(_JSON_PREFIX):])
    return adata
