"""Sample annotation (``obs``): storing any column losslessly and typing the canonical columns.

See ``docs/design.md``, "Data" (the canonical columns) and "Bring your own cohort" (a user's
annotation).

- :func:`sanitize_obs`: the one place annotation columns are made storable in h5ad (booleans
  with gaps, text with gaps, dates as text, numbers with NA, mixed text and numbers; a column
  named like the index is renamed with a note). ``load_table``, ``load_source`` and
  ``write_h5ad`` all use it.
- :func:`canonical_obs` / :func:`canonicalize_obs`: every canonical column present and typed.
- :func:`map_user_columns`: a user's columns renamed to the canonical names they are mapped to.
- :func:`report_notes`: warn each note and keep it in the provenance.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Mapping

import numpy as np
import pandas as pd

from ..keys import CANONICAL_OBS, GENDER_CATEGORIES, OBS

#: Text cells read as ``True`` / ``False`` in a column made only of these (and gaps).
_BOOL_TEXT = {"true": True, "false": False}
#: Label cells that mean "no label" (besides NaN / None / empty text).
_NO_LABEL_TEXT = frozenset({"", "nan", "na", "n/a", "none", "null", "<na>"})
#: Column names anndata refuses in a dataframe.
_RESERVED_COLUMNS = frozenset({"_index"})


def unique_name(name: str, taken: set[str], suffix: str = "_orig") -> str:
    """``<name><suffix>``, or ``<name><suffix>2``, ``3``... when that is taken."""
    new = f"{name}{suffix}"
    k = 2
    while new in taken:
        new = f"{name}{suffix}{k}"
        k += 1
    return new


def report_notes(notes: list[str], prov: dict | None = None, key: str = "annotation_notes",
                 stacklevel: int = 3) -> None:
    """Warn each note once and append it to ``prov[key]``.

    ``stacklevel`` 3 points the warning at the caller of the function that reports.
    """
    for n in notes:
        warnings.warn(n, UserWarning, stacklevel=stacklevel)
    if prov is not None and notes:
        prov.setdefault(key, [])
        prov[key] = list(prov[key]) + list(notes)


# ------------------------------------------------------------------------ lossless storage
def _sanitize_values(s: pd.Series) -> tuple[pd.Series | pd.api.extensions.ExtensionArray, str]:
    """One column in a dtype h5ad stores losslessly, and what was done ("" when nothing)."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = s.cat.categories
        if cats.dtype == object and not all(isinstance(c, str) for c in cats):
            text = s.astype(object).map(lambda v: None if pd.isna(v) else str(v))
            return (pd.Series(pd.Categorical(text), index=s.index),
                    "categories of mixed types stored as text")
        return s, ""
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return s, ""                       # bool, int, float and their nullable forms
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        text = s.astype(str).where(s.notna(), None)
        return pd.Series(pd.Categorical(text), index=s.index), "dates stored as ISO text"
    # object / string: look at the values that are present
    present = s[s.notna()]
    vals = present.tolist()
    if not vals:
        return s.astype(float), "empty column stored as float NaN"
    if all(isinstance(v, bool | np.bool_) for v in vals):
        return s.astype("boolean"), "booleans with gaps stored as nullable boolean"
    if all(isinstance(v, str) for v in vals):
        low = {v.strip().lower() for v in vals}
        if low <= set(_BOOL_TEXT):
            arr = pd.array([_BOOL_TEXT[v.strip().lower()] if isinstance(v, str) else None
                            for v in s.where(s.notna(), None)], dtype="boolean")
            return pd.Series(arr, index=s.index), "TRUE/FALSE text stored as nullable boolean"
        return (pd.Series(pd.Categorical(s.astype(object).where(s.notna(), None)), index=s.index),
                "")
    if all(isinstance(v, int | float | np.integer | np.floating) and not isinstance(
            v, bool | np.bool_) for v in vals):
        return pd.to_numeric(s.astype(object), errors="coerce").astype(float), ""
    text = s.astype(object).where(s.notna(), None).map(lambda v: None if v is None else str(v))
    return pd.Series(pd.Categorical(text), index=s.index), "mixed types stored as text"


def _storable_name(name: str, index_name, taken: set[str], new_names: list[str], what: str,
                   notes: list[str]) -> str:
    """A column name h5ad accepts: no ``/``, not the index name, not reserved (notes appended)."""
    if "/" in name:
        fixed = name.replace("/", "_")
        if fixed in taken:
            fixed = unique_name(fixed, taken)
        notes.append(f"{what} column {name!r} renamed to {fixed!r}: h5ad does not allow '/' "
                     "in a column name.")
        name = fixed
    reason = ""
    if index_name is not None and name == str(index_name):
        reason = f"the index (sample IDs) is named {name!r}"
    elif name in _RESERVED_COLUMNS:
        reason = f"anndata reserves the name {name!r}"
    if reason:
        fixed = unique_name(name, taken | set(new_names))
        notes.append(f"{what} column {name!r} renamed to {fixed!r}: {reason}; its values are "
                     "kept under the new name.")
        name = fixed
    return name


def sanitize_obs(df: pd.DataFrame, what: str = "obs") -> tuple[pd.DataFrame, list[str]]:
    """Return a copy of an annotation frame that h5ad stores losslessly, and notes on renames.

    Used by ``load_table``, ``load_source`` and ``write_h5ad`` (so a user's own AnnData, the
    simulated cohorts and the real ones all pass through it; ``docs/design.md``, "Bring your own
    cohort").

    Values are kept, only their container changes: an object column of True/False with gaps (or
    ``TRUE``/``FALSE`` text with gaps) becomes pandas' nullable ``boolean``; text (with or without
    gaps, e.g. m/d/yyyy dates) becomes ``categorical`` of the same strings, NaN where missing;
    an object column of numbers becomes float; a column mixing text and numbers keeps every value
    as its text (``1005``, ``LAL5``, ``12.5``); datetime columns become ISO text. Bool, numeric
    and nullable numeric/boolean columns are unchanged. Column names are kept (dots, brackets,
    ``t(4;11)``), except: a ``/`` becomes ``_`` (HDF5 separates groups with it); a name equal to
    the index name (``sample``) or reserved by anndata (``_index``) gets the suffix ``_orig``;
    these renames are returned as notes ("obs column 'sample' renamed to 'sample_orig': ...").
    The index becomes text. Canonical columns are typed by :func:`canonical_obs`, not here.
    """
    out = df.copy()
    out.index = out.index.astype(str)
    notes: list[str] = []
    taken = {str(c) for c in out.columns}
    new_names, new_cols = [], {}
    for col in out.columns:
        name = _storable_name(str(col), out.index.name, taken, new_names, what, notes)
        taken.add(name)
        new_names.append(name)
        values, _ = _sanitize_values(out[col])
        new_cols[name] = (values.set_axis(out.index) if isinstance(values, pd.Series)
                          else pd.Series(values, index=out.index))
    res = pd.DataFrame(new_cols, index=out.index)
    res.columns = pd.Index(new_names, dtype=object)
    return res, notes


# ------------------------------------------------------------------------ canonical columns
def _canonical_gender(s: pd.Series) -> pd.Categorical:
    norm = s.astype("string").str.strip().str.lower()
    norm = norm.replace({"f": "female", "m": "male", "woman": "female", "man": "male"})
    bad = norm.notna() & ~norm.isin(GENDER_CATEGORIES)
    if bad.any():
        raise ValueError(f"gender column has values {sorted(set(s[bad].astype(str)))[:5]}; use "
                         "female/male (or F/M) and leave unknown ones empty.")
    return pd.Categorical(norm.to_numpy(dtype=object, na_value=np.nan),
                          categories=list(GENDER_CATEGORIES))


def _canonical_label(s: pd.Series) -> pd.Categorical:
    vals = [None if v is None or (not isinstance(v, str) and pd.isna(v))
            or str(v).strip().lower() in _NO_LABEL_TEXT else str(v).strip()
            for v in s.astype(object)]
    return pd.Categorical(pd.Series(vals, index=s.index, dtype=object))


def _canonical_numeric(s: pd.Series, c: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype(float)
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() & s.notna()
    if bad.any():
        raise ValueError(f"obs column {c!r} must be numeric; sample {bad.idxmax()!r} has "
                         f"{s[bad].iloc[0]!r}. Fix it or leave it empty (NA).")
    return num.astype(float)


def canonicalize_obs(obs: pd.DataFrame, lenient: Collection[str] = ()
                     ) -> tuple[pd.DataFrame, list[str]]:
    """:func:`canonical_obs` without warning: the typed frame and the notes to report."""
    obs = obs.copy()
    notes: list[str] = []
    for c in CANONICAL_OBS:
        if c not in obs:
            obs[c] = np.nan
    obs[OBS.LABEL] = _canonical_label(obs[OBS.LABEL])
    for c in CANONICAL_OBS:
        if c == OBS.LABEL:
            continue
        try:
            obs[c] = _canonical_gender(obs[c]) if c == OBS.GENDER else \
                _canonical_numeric(obs[c], c)
        except ValueError as exc:
            if c not in lenient:
                raise
            new = unique_name(c, {str(k) for k in obs.columns})
            obs[new] = obs[c]
            obs[c] = _canonical_gender(pd.Series(np.nan, index=obs.index)) if c == OBS.GENDER \
                else np.nan
            notes.append(f"obs column {c!r} is not a canonical {c} ({exc}); kept as {new!r} and "
                         f"{c!r} left empty. Map the right column to {c!r} (table_columns) if "
                         "there is one.")
    extra = [c for c in obs.columns if c not in CANONICAL_OBS]
    return obs[list(CANONICAL_OBS) + extra], notes


def canonical_obs(obs: pd.DataFrame, lenient: Collection[str] = ()) -> pd.DataFrame:
    """Return ``obs`` with every canonical column (``docs/design.md``, "Data") present and typed.

    Missing canonical columns are filled with NaN; ``label`` becomes categorical of text
    (``""``, ``NA``, ``nan``, ``None`` cells mean no label), ``gender`` categorical female/male
    (F/M accepted), the other canonical columns float. A value that does not fit raises, except
    in the columns named in ``lenient`` (columns that only happen to carry a canonical name): those
    are kept under ``<name>_orig`` with a warning and the canonical column is left empty.
    Extra columns are kept after the canonical ones.
    """
    out, notes = canonicalize_obs(obs, lenient)
    report_notes(notes)
    return out


# ------------------------------------------------------------------------ a user's columns
def check_column_targets(columns: Mapping[str, str]) -> None:
    """Raise unless every value of ``columns`` (user column -> canonical name) is canonical."""
    unknown_targets = sorted(set(columns.values()) - set(CANONICAL_OBS))
    if unknown_targets:
        raise ValueError(f"columns maps to {unknown_targets}, which are not canonical obs names; "
                         f"use names from {list(CANONICAL_OBS)}.")


def map_user_columns(ann: pd.DataFrame, label: str, columns: Mapping[str, str],
                     file_name: str) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Rename a user's annotation columns to the canonical names they are mapped to.

    ``label`` becomes ``label``; ``columns`` maps user column -> canonical name (names absent
    from ``ann`` give a note). A user column that carries a canonical name filled from another
    column (``gender`` when ``sex`` is mapped to gender) is kept as ``<name>_orig`` with a note.
    Returns (renamed frame, the canonical columns present only by name, i.e. not mapped, which
    :func:`canonicalize_obs` treats leniently, notes).
    """
    notes: list[str] = []
    targets = {u: c for u, c in columns.items() if u in ann.columns}
    targets[label] = OBS.LABEL
    missing_sources = sorted(set(columns) - set(ann.columns))
    if missing_sources:
        notes.append(f"table_columns names {missing_sources}, not found in {file_name}; "
                     f"available columns: {list(ann.columns)}.")
    dup_targets = {c for c in targets.values() if list(targets.values()).count(c) > 1}
    if dup_targets:
        raise ValueError(f"several columns map to {sorted(dup_targets)} ({targets}); map one "
                         "column to each canonical name.")
    taken = set(ann.columns) | set(targets.values())
    clash = {}
    for user_col in ann.columns:
        if user_col in CANONICAL_OBS and user_col in targets.values() and \
                targets.get(user_col) != user_col:
            src = next(u for u, c in targets.items() if c == user_col)
            clash[user_col] = unique_name(user_col, taken | set(clash.values()))
            notes.append(f"obs column {user_col!r} of {file_name} renamed to "
                         f"{clash[user_col]!r}: {user_col!r} is filled from column {src!r}; its "
                         "values are kept under the new name.")
    ann = ann.rename(columns=clash).rename(columns=targets)
    implicit = [c for c in CANONICAL_OBS if c in ann.columns and c not in targets.values()]
    return ann, implicit, notes
