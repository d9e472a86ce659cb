"""Real cohorts: verified download and loaders for TCGA (UCSC Xena PANCAN) and GTEx v8.

See ``docs/design.md``, "Data". ``download(cohort, data_dir)`` fetches the public files
(resumable, size + SHA-256 checked); ``load_tcga`` / ``load_gtex`` read them into the canonical
AnnData: ``X`` float32 samples x genes of raw log-expression, the canonical ``obs`` columns
(``keys.CANONICAL_OBS``) and ``uns["provenance"]`` (input files with sizes and SHA-256, sample
counts at each selection step).

Command line::

    python -m vae_core.data download tcga --data-dir DIR
    python -m vae_core.data download gtex --data-dir DIR
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .. import keys
from ..keys import OBS
from . import _download as dl
from ._download import Fetcher, MissingDataError, RemoteFile
from ._files import open_binary
from ._matrix import (
    MatrixFormatError,
    check_complete_plain,
    looks_numeric,
    read_header_line,
    read_matrix,
)
from ._provenance import file_record, package_versions

log = logging.getLogger(__name__)

TCGA_EXPRESSION = "EB++AdjustPANCAN_IlluminaHiSeq_RNASeqV2.geneExp.xena.gz"
TCGA_CLINICAL = "Survival_SupplementalTable_S1_20171025_xena_sp"
TCGA_SIGNATURES = "TCGA_WES_sigProfiler_SBS_signatures_in_samples.csv"
GTEX_TPM = "GTEx_Analysis_2017-06-05_v8_RNASeQCv1.1.9_gene_tpm.gct.gz"
GTEX_ATTRIBUTES = "GTEx_Analysis_v8_Annotations_SampleAttributesDS.txt"

#: TCGA-CDR column (Liu et al. 2018) for each canonical obs column.
LABEL_COLUMN = "cancer type abbreviation"
CLINICAL_COLUMNS: dict[str, str] = {
    OBS.AGE: "age_at_initial_pathologic_diagnosis",
    OBS.GENDER: "gender",
    OBS.OS_TIME: "OS.time",
    OBS.OS_EVENT: "OS",
    OBS.METASTASIS: "new_tumor_event_dx_days_to",
}
#: SigProfiler column for each canonical SBS share column.
SBS_SOURCE: dict[str, str] = {c: "SBS" + c.split("_")[1] for c in keys.SBS_COLUMNS}
SIGNATURE_SAMPLE_COLUMN = "Sample Names"
BARCODE_PREFIX = 15  # TCGA-XX-XXXX-NN: participant + sample type
GTEX_SAMPLE_COLUMN = "SAMPID"
GTEX_TISSUE_COLUMN = "SMTS"

#: Strings in the clinical/attribute tables that mean "unknown".
_CLINICAL_NA = ["", "NA", "#N/A", "N/A", "nan", "NaN", "[Not Available]", "[Not Applicable]",
                "[Unknown]", "[Not Evaluated]", "[Discrepancy]", "[Not Reported]"]


# --------------------------------------------------------------------------------------- download
def download(cohort: str, data_dir: str | Path | None = None, *, fetch: Fetcher | None = None,
             progress: bool = True) -> list[Path]:
    """Download and verify the public input files of ``cohort`` ("tcga" or "gtex") into
    ``data_dir`` (default ``paths.default_data_dir()``) and return their paths.

    Files already present and verified are kept; a ``.part`` left by an interrupted download is
    resumed (HTTP Range); a file with the wrong size or SHA-256 is fetched again. ``fetch``
    replaces the HTTP layer (``fetch(url, start) -> FetchResponse``; tests pass a local fake).
    Raises :class:`MissingDataError` with ONE message listing every file that could not be
    obtained, its URL and the exact path to put it at. The Synapse signature CSV (TCGA) needs a
    login: it is never fetched, a warning says where to get it and where to put it.
    """
    return dl.download_cohort(cohort, _data_dir(data_dir), fetch=fetch, progress=progress)


def _data_dir(data_dir: str | Path | None) -> Path:
    if data_dir is None:
        from ..paths import default_data_dir

        return default_data_dir()
    return Path(data_dir).expanduser().resolve()


def _candidates(data_dir: Path, name: str) -> list[Path]:
    alt = name[:-3] if name.endswith(".gz") else name + ".gz"
    return [data_dir / name, data_dir / alt]


def _locate(cohort: str, data_dir: Path) -> dict[str, Path | None]:
    """Path of each input file of ``cohort`` (``.gz`` or plain); raise one error for the missing
    required ones."""
    found: dict[str, Path | None] = {}
    missing: list[tuple[RemoteFile, Path, str]] = []
    for remote in dl.remote_files(cohort):
        path = next((p for p in _candidates(data_dir, remote.name) if p.is_file()), None)
        found[remote.name] = path
        if path is None and not remote.optional:
            missing.append((remote, data_dir / remote.name, "not found"))
    if missing:
        raise MissingDataError(dl.format_missing(
            missing, f"python -m vae_core.data download {cohort} --data-dir {data_dir}"))
    return found


def _provenance(source: str, files: dict[str, Path | None], counts: dict, **extra) -> dict:
    recs = {}
    for name, path in files.items():
        if path is not None:
            recs[name] = file_record(path)
    return {
        "source": source,
        "loader": f"vae_core.data.real.load_{source}",
        "files": recs,
        "counts": {k: int(v) for k, v in counts.items()},
        "package_versions": package_versions(("numpy", "pandas", "anndata")),
        **extra,
    }


def _step(counts: dict, key: str, value: int, what: str) -> None:
    counts[key] = int(value)
    log.info("%s: %d", what, value)


# -------------------------------------------------------------------------------------- gene names
def _gene_names(raw: list[str]) -> tuple[pd.Index, list[str], int]:
    """Var names from Xena gene IDs ("SYMBOL|ENTREZ" or plain symbols).

    The symbol is used when unique; an ambiguous symbol keeps its full ID ("SLC35E2|9906");
    identical IDs get "-1", "-2" suffixes. Returns (names, symbols, number of renamed rows).
    """
    symbols = [r.split("|", 1)[0] if "|" in r else r for r in raw]
    symbols = [r if s in ("?", "") else s for s, r in zip(symbols, raw, strict=True)]
    dup_symbol = pd.Index(symbols).duplicated(keep=False)
    names = [r if d else s for s, r, d in zip(symbols, raw, dup_symbol, strict=True)]
    idx = pd.Index(names)
    renamed = int(dup_symbol.sum())
    if idx.has_duplicates:
        seen: dict[str, int] = {}
        out = []
        for n, d in zip(names, idx.duplicated(keep=False), strict=True):
            if d:
                k = seen.get(n, 0)
                seen[n] = k + 1
                out.append(n if k == 0 else f"{n}-{k}")
            else:
                out.append(n)
        renamed += int(idx.duplicated().sum())
        idx = pd.Index(out)
    return idx, symbols, renamed


# ---------------------------------------------------------------------------------- immune score
def immune_genes() -> pd.DataFrame:
    """The shipped immune marker list (Danaher et al. 2017, J Immunother Cancer 5:18, Table 1):
    60 rows with ``symbol``, ``cell_type`` and ``aliases`` (previous symbols, comma-separated)."""
    return pd.read_csv(dl.RESOURCES / "immune_genes_danaher2017.tsv", sep="\t", comment="#",
                       dtype=str, keep_default_na=False)


def immune_score(X: np.ndarray, symbols: list[str] | pd.Index) -> tuple[np.ndarray, list[str]]:
    """Immune infiltration score per sample (``docs/design.md``, "Data"): the mean over the
    immune marker genes (:func:`immune_genes`, matched by symbol or alias) of each gene's
    expression z-scored over the samples (population sd; NaN cells skipped; constant genes
    dropped).

    ``X`` [n_samples, n_genes] log-expression, ``symbols`` [n_genes]. Returns (score [n_samples]
    float32, list of the matched gene symbols as found in ``symbols``).
    """
    table = immune_genes()
    wanted = set(table["symbol"])
    for aliases in table["aliases"]:
        wanted.update(a.strip() for a in aliases.split(",") if a.strip())
    cols = [j for j, s in enumerate(symbols) if s in wanted]
    if not cols:
        return np.full(X.shape[0], np.nan, dtype=np.float32), []
    sub = np.asarray(X[:, cols], dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.nanmean(sub, axis=0)
        sd = np.nanstd(sub, axis=0)
    ok = np.isfinite(sd) & (sd > 0)
    if not ok.any():
        return np.full(X.shape[0], np.nan, dtype=np.float32), []
    z = (sub[:, ok] - mu[ok]) / sd[ok]
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(z).sum(axis=1)
        score = np.where(valid > 0, np.nansum(z, axis=1) / np.maximum(valid, 1), np.nan)
    used = [str(symbols[j]) for j, k in zip(cols, ok, strict=True) if k]
    return score.astype(np.float32), used


# ------------------------------------------------------------------------------------------- TCGA
def _read_table(path: Path, what: str, sep: str = "\t") -> pd.DataFrame:
    try:
        with open_binary(path) as fh:
            df = pd.read_csv(fh, sep=sep, dtype=str, na_values=_CLINICAL_NA,
                             keep_default_na=False, engine="c")
    except (EOFError, OSError) as exc:
        raise MatrixFormatError(f"{path} ({what}) is truncated or corrupt ({exc}); download it "
                                "again.") from exc
    except pd.errors.ParserError as exc:
        raise MatrixFormatError(f"{path} ({what}) is not a valid table: {exc}") from exc
    if df.shape[1] < 2:
        raise MatrixFormatError(f"{path} ({what}) has {df.shape[1]} column(s); expected a "
                                f"{'tab' if sep == chr(9) else 'comma'}-separated table.")
    return df


def _require(df: pd.DataFrame, path: Path, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MatrixFormatError(
            f"{path} ({what}) lacks column(s) {missing}; found {list(df.columns)[:12]}"
            f"{' ...' if df.shape[1] > 12 else ''}. Is this the right file?")


def read_tcga_clinical(path: str | Path) -> pd.DataFrame:
    """TCGA-CDR clinical table (Xena ``Survival_SupplementalTable_S1_20171025_xena_sp``) mapped to
    canonical columns, indexed by sample barcode (first column, e.g. ``TCGA-OR-A5J1-01``).

    Columns: ``label`` (cancer type abbreviation), ``age`` (years), ``gender`` (female/male),
    ``os_time`` (days), ``os_event`` (0/1), ``metastasis_days`` (days to new tumour event).
    A missing optional column gives NaN with a warning; a missing label column is an error.
    """
    path = Path(path)
    df = _read_table(path, "TCGA clinical")
    _require(df, path, [LABEL_COLUMN], "TCGA clinical")
    ids = df.iloc[:, 0].astype(str).str.strip()
    df.index = pd.Index(ids, name="sample")
    if df.index.has_duplicates:
        log.warning("%s: %d duplicated sample IDs; keeping the first row of each", path,
                    int(df.index.duplicated().sum()))
        df = df[~df.index.duplicated()]
    out = pd.DataFrame(index=df.index)
    out[OBS.LABEL] = df[LABEL_COLUMN].str.strip()
    for key, col in CLINICAL_COLUMNS.items():
        if col not in df.columns:
            log.warning("%s lacks column %r: %s set to NaN", path, col, key)
            out[key] = np.nan
        elif key == OBS.GENDER:
            g = df[col].str.strip().str.lower()
            out[key] = g.where(g.isin(keys.GENDER_CATEGORIES))
        else:
            out[key] = pd.to_numeric(df[col], errors="coerce").astype(float)
    return out


def read_signature_shares(path: str | Path) -> pd.DataFrame:
    """SigProfiler SBS exposures (``TCGA_WES_sigProfiler_SBS_signatures_in_samples.csv``) as
    shares: per sample, count / total over all ``SBS*`` columns (Alexandrov et al. 2020).

    Indexed by the first 15 characters of ``Sample Names`` (several aliquots of one sample are
    averaged); columns ``keys.SBS_COLUMNS`` (a signature absent from the file is NaN).
    """
    path = Path(path)
    df = _read_table(path, "SBS signatures", sep=",")
    _require(df, path, [SIGNATURE_SAMPLE_COLUMN], "SBS signatures")
    sbs = [c for c in df.columns if re.fullmatch(r"SBS\d+[a-zA-Z]*", str(c))]
    if not sbs:
        raise MatrixFormatError(f"{path} has no SBS<n> columns; found {list(df.columns)[:12]}")
    counts = df[sbs].apply(pd.to_numeric, errors="coerce").astype(float)
    total = counts.sum(axis=1, min_count=1)
    shares = counts.div(total.where(total > 0), axis=0)
    out = pd.DataFrame(index=df.index)
    for col, src in SBS_SOURCE.items():
        if src in shares.columns:
            out[col] = shares[src]
        else:
            log.warning("%s lacks column %s: %s set to NaN", path, src, col)
            out[col] = np.nan
    out.index = df[SIGNATURE_SAMPLE_COLUMN].astype(str).str.strip().str[:BARCODE_PREFIX]
    n_dup = int(out.index.duplicated().sum())
    if n_dup:
        log.info("%s: %d aliquot rows share a 15-character barcode; averaging them", path, n_dup)
        out = out.groupby(level=0, sort=False).mean()
    return out


def _match(ids: pd.Index, table: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``table`` for each of ``ids``: exact match first, then on 15-character prefix."""
    exact = table.reindex(ids)
    found = ids.isin(table.index)
    if not found.all():
        by_prefix = table[~table.index.str[:BARCODE_PREFIX].duplicated()]
        by_prefix.index = by_prefix.index.str[:BARCODE_PREFIX]
        alt = by_prefix.reindex(ids.str[:BARCODE_PREFIX])
        alt.index = ids
        rows = np.flatnonzero(~np.asarray(found))
        for col in exact.columns:
            values = exact[col].to_numpy(dtype=object, copy=True)
            values[rows] = alt[col].to_numpy(dtype=object)[rows]
            exact[col] = pd.Series(values, index=exact.index).infer_objects()
    return exact


def _xena_header(path: Path, fh) -> list[str]:
    header = read_header_line(fh, path)
    if len(header) < 2:
        raise MatrixFormatError(
            f"{path}: header has {len(header)} field(s); expected 'sample<TAB>TCGA-...' (genes x "
            "samples, tab-separated). Is this the Xena expression matrix?")
    if any(looks_numeric(h) for h in header[1:4]):
        raise MatrixFormatError(
            f"{path}: the first line looks like data ({header[:3]}...), not a header of sample "
            "IDs. Expected 'sample<TAB>TCGA-...'.")
    return header


def load_tcga(data_dir: str | Path | None = None, *, signatures: bool = True,
              block_values: int = 20_000_000):
    """Load the TCGA Pan-Cancer cohort as the canonical AnnData (``docs/design.md``, "Data").

    Reads from ``data_dir`` (see :func:`download`): the Xena EB++ expression matrix (genes x
    samples, log2(normalized count + 1), ``.gz`` or plain, NA cells kept as NaN), the TCGA-CDR
    clinical table (label = cancer type abbreviation, age, gender, OS, OS.time, days to new
    tumour event), the optional SigProfiler SBS CSV (shares, barcodes matched on 15 characters;
    absent: SBS columns NaN with a warning) and the immune score (:func:`immune_score`, Danaher
    et al. 2017 markers). Keeps the samples with expression AND a cancer type, as the paper
    (11,014 samples, 33 types). Returns AnnData: X float32 [n_samples, n_genes], obs canonical
    columns, var ``gene_id``/``symbol``, ``uns["provenance"]`` (files with size + SHA-256,
    counts at each step).
    """
    import anndata as ad

    data_dir = _data_dir(data_dir)
    files = _locate("tcga", data_dir)
    counts: dict[str, int] = {}
    expr_path = files[TCGA_EXPRESSION]
    check_complete_plain(expr_path)

    clin = read_tcga_clinical(files[TCGA_CLINICAL])
    _step(counts, "clinical_rows", len(clin), "clinical rows")

    with open_binary(expr_path) as fh:
        header = _xena_header(expr_path, fh)
        samples = pd.Index([s.strip() for s in header[1:]])
        _step(counts, "expression_samples", len(samples), "samples with expression")
        first = ~samples.duplicated()
        if not first.all():
            log.warning("%s: %d duplicated sample columns; keeping the first", expr_path,
                        int((~first).sum()))
        obs = _match(samples, clin)
        has_clin = samples.isin(clin.index) | samples.str[:BARCODE_PREFIX].isin(
            clin.index.str[:BARCODE_PREFIX])
        _step(counts, "expression_with_clinical", int((has_clin & first).sum()),
              "samples with expression and a clinical row")
        keep = first & obs[OBS.LABEL].notna().to_numpy()
        _step(counts, "expression_with_cancer_type", int(keep.sum()),
              "samples with expression and a cancer type (kept)")
        _step(counts, "clinical_only", int(len(clin) - clin.index.isin(samples[first]).sum()),
              "clinical rows without expression (dropped)")
        if keep.sum() == 0:
            raise MatrixFormatError(
                f"no expression sample of {expr_path} matches a clinical row with a cancer type "
                f"in {files[TCGA_CLINICAL]} (first expression IDs {list(samples[:3])}, first "
                f"clinical IDs {list(clin.index[:3])}).")
        m = read_matrix(expr_path, fh, list(samples), n_prefix=1, keep=keep,
                        block_values=block_values)
    _step(counts, "genes", m.X.shape[1], "genes")
    _step(counts, "missing_values", m.n_missing, "NA cells in the kept samples")
    var_names, symbols, renamed = _gene_names(m.row_names[0])
    if renamed:
        log.warning("%d gene rows have an ambiguous or duplicated name; kept as full IDs / "
                    "suffixed (var['gene_id'] holds the original)", renamed)
    counts["genes_renamed"] = renamed

    obs = obs.loc[keep].copy()
    obs.index = pd.Index(m.columns, name=None)
    obs[OBS.LABEL] = pd.Categorical(obs[OBS.LABEL])
    obs[OBS.GENDER] = pd.Categorical(obs[OBS.GENDER], categories=list(keys.GENDER_CATEGORIES))
    _step(counts, "cancer_types", obs[OBS.LABEL].nunique(), "cancer types")

    score, used = immune_score(m.X, symbols)
    obs[OBS.IMMUNE] = score
    n_list = len(immune_genes())
    log.info("immune score from %d of %d Danaher et al. 2017 marker genes", len(used), n_list)
    if not used:
        log.warning("no immune marker gene found in %s: immune score is NaN", expr_path)
    counts["immune_genes_used"] = len(used)

    sig_path = files.get(TCGA_SIGNATURES)
    sig_note = "absent"
    if signatures and sig_path is not None:
        shares = read_signature_shares(sig_path)
        sbs = shares.reindex(obs.index.str[:BARCODE_PREFIX])
        for c in keys.SBS_COLUMNS:
            obs[c] = sbs[c].to_numpy(dtype=float)
        n_sig = int(obs[list(keys.SBS_COLUMNS)].notna().any(axis=1).sum())
        _step(counts, "samples_with_signatures", n_sig, "kept samples with SBS signatures")
        sig_note = "matched on 15-character barcodes; share = count / total per sample"
    else:
        remote = next(r for r in dl.remote_files("tcga") if r.name == TCGA_SIGNATURES)
        log.warning("%s not found: SBS columns are NaN. To add them, %s Put it at %s.",
                    TCGA_SIGNATURES, remote.instructions, data_dir / TCGA_SIGNATURES)
        for c in keys.SBS_COLUMNS:
            obs[c] = np.nan
        counts["samples_with_signatures"] = 0
    obs = obs[list(keys.CANONICAL_OBS)]

    var = pd.DataFrame({"gene_id": m.row_names[0], "symbol": symbols}, index=var_names)
    adata = ad.AnnData(X=m.X, obs=obs, var=var)
    adata.uns[keys.UNS_PROVENANCE] = _provenance(
        "tcga", files, counts,
        immune_genes={"list": "Danaher et al. 2017, J Immunother Cancer 5:18, Table 1",
                      "n_list": n_list, "used": used},
        signatures=sig_note,
        selection="samples with expression and a cancer type (paper: 11,014 samples, 33 types)",
    )
    return adata


# ------------------------------------------------------------------------------------------- GTEx
def read_gtex_attributes(path: str | Path) -> pd.Series:
    """GTEx v8 sample attributes: tissue type (``SMTS``) indexed by ``SAMPID``."""
    path = Path(path)
    df = _read_table(path, "GTEx sample attributes")
    _require(df, path, [GTEX_SAMPLE_COLUMN, GTEX_TISSUE_COLUMN], "GTEx sample attributes")
    s = df.set_index(df[GTEX_SAMPLE_COLUMN].astype(str).str.strip())[GTEX_TISSUE_COLUMN]
    s = s.str.strip()
    return s[~s.index.duplicated()]


def _gct_header(path: Path, fh) -> tuple[int, int, list[str]]:
    first = read_header_line(fh, path)
    if not first[0].startswith("#1.2"):
        raise MatrixFormatError(
            f"{path}: first line is {first[0][:20]!r}, expected '#1.2' (GCT version 1.2). Is this "
            "the GTEx TPM file?")
    dims = read_header_line(fh, path)
    try:
        n_rows, n_cols = int(dims[0]), int(dims[1])
    except (ValueError, IndexError):
        raise MatrixFormatError(
            f"{path}: second line {dims[:3]} should be '<n genes><TAB><n samples>'") from None
    header = read_header_line(fh, path)
    if header[:2] != ["Name", "Description"]:
        raise MatrixFormatError(
            f"{path}: third line starts {header[:2]}, expected ['Name', 'Description'].")
    samples = header[2:]
    if len(samples) != n_cols:
        raise MatrixFormatError(
            f"{path}: the dimension line declares {n_cols} samples, the header has {len(samples)}")
    return n_rows, n_cols, samples


def _log2p1(block: np.ndarray) -> np.ndarray:
    np.add(block, 1.0, out=block)
    np.log2(block, out=block)
    return block


def load_gtex(data_dir: str | Path | None = None, *, block_values: int = 20_000_000):
    """Load GTEx v8 as the canonical AnnData (``docs/design.md``, "Data").

    Reads the gene TPM GCT (``#1.2``, dimension line, ``Name``, ``Description``, samples; ``.gz``
    or plain) and the sample attributes (tissue = ``SMTS``); keeps samples with a tissue
    (paper: 17,382 samples, 30 tissues); X = log2(TPM + 1) float32 [n_samples, n_genes];
    var_names = Ensembl IDs (``Name``), var ``symbol`` = ``Description``. obs ``label`` = tissue;
    the other canonical columns are NaN (not in these files).
    """
    import anndata as ad

    data_dir = _data_dir(data_dir)
    files = _locate("gtex", data_dir)
    counts: dict[str, int] = {}
    tpm_path = files[GTEX_TPM]
    check_complete_plain(tpm_path)
    tissue = read_gtex_attributes(files[GTEX_ATTRIBUTES])
    _step(counts, "attribute_rows", len(tissue), "sample attribute rows")
    with open_binary(tpm_path) as fh:
        n_rows, n_cols, samples = _gct_header(tpm_path, fh)
        sidx = pd.Index(samples)
        _step(counts, "expression_samples", n_cols, "samples with expression")
        label = tissue.reindex(sidx)
        keep = label.notna().to_numpy() & ~sidx.duplicated()
        _step(counts, "expression_with_tissue", int(keep.sum()),
              "samples with expression and a tissue (kept)")
        if keep.sum() == 0:
            raise MatrixFormatError(
                f"no sample of {tpm_path} has a tissue in {files[GTEX_ATTRIBUTES]} (first IDs "
                f"{samples[:3]} vs {list(tissue.index[:3])}).")
        m = read_matrix(tpm_path, fh, samples, n_prefix=2, keep=keep, n_rows=n_rows,
                        transform=_log2p1, block_values=block_values, header_lines=3)
    _step(counts, "genes", m.X.shape[1], "genes")
    _step(counts, "missing_values", m.n_missing, "missing cells in the kept samples")
    names = pd.Index(m.row_names[0])
    if names.has_duplicates:
        log.warning("%s: %d duplicated gene IDs; suffixing them", tpm_path,
                    int(names.duplicated().sum()))
        names, _, _ = _gene_names(list(names))
    obs = pd.DataFrame(index=pd.Index(m.columns))
    for c in keys.CANONICAL_OBS:
        obs[c] = np.nan
    obs[OBS.LABEL] = pd.Categorical(label.to_numpy()[keep])
    obs[OBS.GENDER] = pd.Categorical([np.nan] * len(obs), categories=list(keys.GENDER_CATEGORIES))
    _step(counts, "tissues", obs[OBS.LABEL].nunique(), "tissues")
    var = pd.DataFrame({"gene_id": m.row_names[0], "symbol": m.row_names[1]}, index=names)
    adata = ad.AnnData(X=m.X, obs=obs, var=var)
    adata.uns[keys.UNS_PROVENANCE] = _provenance(
        "gtex", files, counts, transform="log2(TPM + 1)",
        selection="samples with expression and a tissue (SMTS) (paper: 17,382 samples, 30 "
                  "tissues)")
    return adata


# -------------------------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    """``python -m vae_core.data download tcga|gtex [--data-dir DIR]``."""
    p = argparse.ArgumentParser(prog="python -m vae_core.data",
                                description="Download the real TCGA / GTEx input files.")
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("download", help="download and verify a cohort's files")
    d.add_argument("cohort", choices=["tcga", "gtex", "both"])
    d.add_argument("--data-dir", default=None, help="target directory (default: ./data or "
                   "$VAE_BENCH_DATA)")
    d.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    cohorts = ["tcga", "gtex"] if args.cohort == "both" else [args.cohort]
    try:
        for c in cohorts:
            for path in download(c, args.data_dir, progress=not args.no_progress):
                print(path)
    except MissingDataError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
