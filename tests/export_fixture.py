"""A cohort shaped like a public microarray export, built in a temporary folder.

``make_public_export(out_dir, n_samples=120, n_genes=600, genes_as_rows=True, seed=0)
-> (expression_path, obs_path)``

Shaped like an R/Bioconductor data package written out with ``write.table`` / ``write.csv``
(for example an acute-lymphoblastic-leukaemia array set):

- expression ``<out_dir>/export_expression.tsv.gz``: log2 array values in [2, 14], probe-set IDs
  (``1000_at``, ``1001_s_at``, ``1002_x_at``, ...) as gene names, sample IDs as text with leading
  zeros (``01005``); genes as rows (the header's first field is empty, as R writes it) or, with
  ``genes_as_rows=False``, samples as rows. Four planted groups (the ``BT`` column: ``B1``,
  ``B2``, ``T1``, ``T2``; B and T share a lineage program, each group has its own) so that
  clustering has a non-trivial answer.
- annotation ``<out_dir>/export_annotation.csv``: comma-separated, quoted, first header field
  empty, every column kind a public export has and no survival columns:

  ==============  ===============================================================
  ``sample``      text, values different from the index (``S5``, ``S12``, ...)
  ``BT``          the label: B1 / B2 / T1 / T2 (``n_missing_label`` of them empty)
  ``sex``         ``M`` / ``F`` with gaps (map it to ``gender``)
  ``age``         whole years with gaps (pandas: float with NaN)
  ``relapse``     ``TRUE`` / ``FALSE`` / empty (pandas: object of True/False/NaN)
  ``ccr``         ``TRUE`` / ``FALSE`` without gaps (pandas: bool)
  ``t(4;11)``     ``TRUE`` / ``FALSE`` / empty, a name with brackets and a semicolon
  ``date.cr``     m/d/yyyy dates as text with gaps
  ``mol.biol``    dotted name; text categories (``BCR/ABL``, ``NEG``, ...)
  ``citog``       free text with gaps
  ``cod``         mixed text and numbers (``1005``, ``LAL5``, ``12.5``) with gaps
  ``mdr``         ``POS`` / ``NEG`` with gaps
  ==============  ===============================================================

Use it with ``load_table(expr, obs, label="BT", genes_as_rows=True,
columns={"age": "age", "sex": "gender"})``. ``truth(out_dir)`` is not needed: the group of each
sample is the ``BT`` column itself.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

GROUPS: tuple[str, ...] = ("B1", "B2", "T1", "T2")
EXPRESSION_NAME = "export_expression.tsv.gz"
OBS_NAME = "export_annotation.csv"


def probe_ids(n_genes: int) -> list[str]:
    """Affymetrix-like probe-set IDs: ``1000_at``, ``1001_s_at``, ``1002_x_at``, ``1003_at``..."""
    suffix = ("_at", "_s_at", "_at", "_x_at", "_at", "_g_at")
    return [f"{1000 + i}{suffix[i % len(suffix)]}" for i in range(n_genes)]


def _with_gaps(values: np.ndarray, rng: np.random.Generator, frac: float) -> np.ndarray:
    out = np.asarray(values, dtype=object).copy()
    out[rng.random(len(out)) < frac] = ""
    return out


def make_public_export(out_dir: str | os.PathLike, n_samples: int = 120, n_genes: int = 600,
                       genes_as_rows: bool = True, seed: int = 0,
                       n_missing_label: int = 0) -> tuple[Path, Path]:
    """Write a public-export-shaped cohort into ``out_dir``; return (expression_path, obs_path).

    Signature: ``make_public_export(out_dir, n_samples=120, n_genes=600, genes_as_rows=True,
    seed=0, n_missing_label=0) -> (expression_path, obs_path)``. Deterministic given ``seed``.
    ``n_missing_label`` samples get an empty ``BT`` (label) cell; they are still in the
    expression table. See the module docstring for the columns. Needs ``n_samples >= 8`` and
    ``n_genes >= 80``.
    """
    if n_samples < 8 or n_genes < 80:
        raise ValueError(f"make_public_export needs n_samples >= 8 and n_genes >= 80, got "
                         f"{n_samples} and {n_genes}.")
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    # sample IDs: text with leading zeros, unique, not sorted
    ids = rng.choice(np.arange(1000, 1000 + 50 * n_samples), n_samples, replace=False)
    samples = [f"{i // 1000:02d}{i % 1000:03d}" for i in ids]
    group = np.resize(np.arange(len(GROUPS)), n_samples)   # balanced-ish, then shuffled
    rng.shuffle(group)
    labels = np.array(GROUPS, dtype=object)[group]

    # expression: gene baseline + lineage program (B vs T) + group program + noise
    probes = probe_ids(n_genes)
    base = rng.uniform(4.0, 10.0, n_genes)
    noise_sd = rng.uniform(0.2, 0.6, n_genes)
    x = base[None, :] + rng.normal(0.0, 1.0, (n_samples, n_genes)) * noise_sd[None, :]
    n_prog = max(10, n_genes // 20)
    lineage_genes = rng.choice(n_genes, n_prog, replace=False)
    is_t = np.isin(group, (2, 3))
    x[np.ix_(is_t, lineage_genes)] += 2.5
    free = np.setdiff1d(np.arange(n_genes), lineage_genes)
    for g in range(len(GROUPS)):
        genes_g = rng.choice(free, n_prog, replace=False)
        x[np.ix_(group == g, genes_g)] += rng.choice((-1.0, 1.0), n_prog) * 2.0
    x = np.clip(x, 2.0, 14.0).round(4)
    if genes_as_rows:
        expr = pd.DataFrame(x.T, index=pd.Index(probes, name=""), columns=samples)
    else:
        expr = pd.DataFrame(x, index=pd.Index(samples, name=""), columns=probes)
    expr_path = out / EXPRESSION_NAME
    expr.to_csv(expr_path, sep="\t", float_format="%.4f")

    # annotation: every column kind of a public export, no survival
    label_cells = labels.copy()
    if n_missing_label:
        label_cells[rng.choice(n_samples, int(n_missing_label), replace=False)] = ""
    tf = np.array(["FALSE", "TRUE"], dtype=object)
    months = rng.integers(1, 13, n_samples)
    days = rng.integers(1, 29, n_samples)
    years = rng.integers(1997, 2001, n_samples)
    dates = np.array([f"{m}/{d}/{y}" for m, d, y in zip(months, days, years, strict=True)],
                     dtype=object)
    mol = np.array(["BCR/ABL", "NEG", "ALL1/AF4", "E2A/PBX1", "NUP-98", "p15/p16"],
                   dtype=object)
    citog = np.array(["normal", "t(9;22)", "del(6q)", "complex alt.", "simple alt.",
                      "hyperd.", "t(12;21)"], dtype=object)
    cod_pool = np.array(["1005", "LAL5", "12.5", "3000", "LAL-R", "7"], dtype=object)
    ann = pd.DataFrame({
        "sample": [f"S{i + 5}" for i in range(n_samples)],
        "BT": label_cells,
        "sex": _with_gaps(np.array(["F", "M"], dtype=object)[rng.integers(0, 2, n_samples)],
                          rng, 0.06),
        "age": _with_gaps(rng.integers(5, 58, n_samples).astype(str), rng, 0.04),
        "relapse": _with_gaps(tf[rng.integers(0, 2, n_samples)], rng, 0.15),
        "ccr": tf[rng.integers(0, 2, n_samples)],
        "t(4;11)": _with_gaps(tf[(rng.random(n_samples) < 0.1).astype(int)], rng, 0.2),
        "date.cr": _with_gaps(dates, rng, 0.2),
        "mol.biol": mol[rng.integers(0, len(mol), n_samples)],
        "citog": _with_gaps(citog[rng.integers(0, len(citog), n_samples)], rng, 0.1),
        "cod": _with_gaps(cod_pool[rng.integers(0, len(cod_pool), n_samples)], rng, 0.1),
        "mdr": _with_gaps(np.array(["NEG", "POS"], dtype=object)[rng.integers(0, 2, n_samples)],
                          rng, 0.1),
    }, index=pd.Index(samples, name=""))
    obs_path = out / OBS_NAME
    ann.to_csv(obs_path, quoting=1)   # csv.QUOTE_ALL, like R's write.csv
    return expr_path, obs_path
