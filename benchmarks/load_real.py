"""Load time and peak memory of the real-data loaders at real size (``docs/design.md``, "Real
sources").

Writes synthetic files in the exact real formats and shapes into a temporary directory, then
times ``load_tcga`` / ``load_gtex`` on them with :class:`benchmarks._util.PeakMemory`:

- TCGA: Xena ``.gz`` matrix, 20,531 genes x 11,069 samples (values like ``8.1234``, a few ``NA``
  rows), plus a TCGA-CDR-style clinical table (33 types). Target: <= 2 min, <= 6 GB.
- GTEx: GCT 1.2 ``.gz``, 56,200 genes x 17,382 samples, plus sample attributes (30 tissues).
  Target: <= 5 min, <= 12 GB.

Usage: ``python -m benchmarks load_real [--cohort tcga|gtex|both] [--scale 0.1] [--keep]``
(``--scale`` multiplies both dimensions, for quick checks).
"""

from __future__ import annotations

import argparse
import gc
import logging
import shutil
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

from ._util import PeakMemory

TCGA_SHAPE = (20_531, 11_069)
GTEX_SHAPE = (56_200, 17_382)
TARGETS = {"tcga": (120.0, 6.0), "gtex": (300.0, 12.0)}  # seconds, GB
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def _value_block(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """[rows, cols * 7] bytes: fixed-width 'D.DDDD' values, tab-separated, newline-terminated."""
    v = rng.integers(0, 100_000, size=(rows, cols), dtype=np.int32)
    a = np.empty((rows, cols, 7), dtype=np.uint8)
    a[:, :, 0] = _DIGITS[v // 10_000]
    a[:, :, 1] = ord(".")
    a[:, :, 2] = _DIGITS[v // 1000 % 10]
    a[:, :, 3] = _DIGITS[v // 100 % 10]
    a[:, :, 4] = _DIGITS[v // 10 % 10]
    a[:, :, 5] = _DIGITS[v % 10]
    a[:, :, 6] = ord("\t")
    a[:, -1, 6] = ord("\n")
    return a.reshape(rows, cols * 7)


def _write_matrix(path: Path, header: bytes, n_genes: int, n_samples: int, prefix, seed: int,
                  na_every: int = 0) -> None:
    """Stream a genes x samples matrix to ``path`` (gzip level 1) in blocks of rows."""
    rng = np.random.default_rng(seed)
    comp = zlib.compressobj(1, zlib.DEFLATED, 31)  # 31: gzip container
    block = max(1, 4_000_000 // n_samples)
    with open(path, "wb") as fh:
        fh.write(comp.compress(header))
        for g0 in range(0, n_genes, block):
            rows = min(block, n_genes - g0)
            vals = _value_block(rng, rows, n_samples)
            parts = []
            for k in range(rows):
                g = g0 + k
                line = vals[k].tobytes()
                if na_every and g % na_every == 0:  # a gene with NA cells, as in the Xena file
                    cells = line[:-1].split(b"\t")
                    cells[::10] = [b"NA"] * len(cells[::10])
                    line = b"\t".join(cells) + b"\n"
                parts.append(prefix(g) + line)
            fh.write(comp.compress(b"".join(parts)))
        fh.write(comp.flush())


def write_tcga(d: Path, scale: float = 1.0, seed: int = 0) -> dict:
    """Synthetic Xena expression + clinical table of the real shape (times ``scale``)."""
    from vae_core.data import real

    n_genes, n_samples = (max(2, round(x * scale)) for x in TCGA_SHAPE)
    samples = [f"TCGA-{i // 10000:02d}-{i % 10000:04d}-01" for i in range(n_samples)]
    header = ("sample\t" + "\t".join(samples) + "\n").encode()
    t = time.perf_counter()
    immune = list(real.immune_genes()["symbol"])  # so the immune score path runs too
    _write_matrix(d / real.TCGA_EXPRESSION, header, n_genes, n_samples,
                  lambda g: f"{immune[g] if g < len(immune) else 'GENE' + str(g)}|{g + 1}\t"
                  .encode(), seed, na_every=500)
    rng = np.random.default_rng(seed)
    types = [f"T{k:02d}" for k in range(33)]
    lines = [("sample\t_PATIENT\tcancer type abbreviation\tage_at_initial_pathologic_diagnosis\t"
              "gender\tOS\tOS.time\tnew_tumor_event_dx_days_to")]
    for i, s in enumerate(samples):
        lt = types[i % 33] if i % 200 else ""  # 0.5% without a cancer type
        lines.append(f"{s}\t{s[:12]}\t{lt}\t{rng.integers(20, 90)}\t"
                     f"{'FEMALE' if i % 2 else 'MALE'}\t{i % 2}\t{rng.integers(1, 4000)}\t")
    (d / real.TCGA_CLINICAL).write_text("\n".join(lines) + "\n")
    return {"shape": (n_genes, n_samples), "write_s": time.perf_counter() - t,
            "gz_bytes": (d / real.TCGA_EXPRESSION).stat().st_size}


def write_gtex(d: Path, scale: float = 1.0, seed: int = 0) -> dict:
    """Synthetic GTEx TPM GCT + sample attributes of the real shape (times ``scale``)."""
    from vae_core.data import real

    n_genes, n_samples = (max(2, round(x * scale)) for x in GTEX_SHAPE)
    samples = [f"GTEX-{i:05d}-0001-SM-{i:05d}" for i in range(n_samples)]
    header = (f"#1.2\n{n_genes}\t{n_samples}\nName\tDescription\t" + "\t".join(samples)
              + "\n").encode()
    t = time.perf_counter()
    _write_matrix(d / real.GTEX_TPM, header, n_genes, n_samples,
                  lambda g: f"ENSG{g:011d}.1\tGENE{g}\t".encode(), seed)
    lines = ["SAMPID\tSMATSSCR\tSMTS\tSMTSD"]
    lines += [f"{s}\t0\tTissue{i % 30:02d}\tTissue{i % 30:02d} - detail"
              for i, s in enumerate(samples)]
    (d / real.GTEX_ATTRIBUTES).write_text("\n".join(lines) + "\n")
    return {"shape": (n_genes, n_samples), "write_s": time.perf_counter() - t,
            "gz_bytes": (d / real.GTEX_TPM).stat().st_size}


def _measure(cohort: str, d: Path) -> dict:
    from vae_core.data import real

    loader = real.load_tcga if cohort == "tcga" else real.load_gtex
    gc.collect()
    with PeakMemory() as pm:
        adata = loader(d)
    out = {"load_s": pm.seconds, "peak_gb": pm.peak / 1e9, "delta_gb": pm.delta / 1e9,
           "X": adata.X.shape, "dtype": str(adata.X.dtype),
           "labels": int(adata.obs["label"].nunique())}
    del adata
    gc.collect()
    return out


def main(argv: list[str] | None = None) -> int:
    """Write synthetic real-size files, load them, print time and peak memory per cohort."""
    p = argparse.ArgumentParser(prog="python -m benchmarks load_real")
    p.add_argument("--cohort", choices=["tcga", "gtex", "both"], default="both")
    p.add_argument("--scale", type=float, default=1.0, help="multiply both dimensions")
    p.add_argument("--tmp-dir", default=None, help="where to write the synthetic files")
    p.add_argument("--keep", action="store_true", help="keep the synthetic files")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    cohorts = ["tcga", "gtex"] if args.cohort == "both" else [args.cohort]
    ok = True
    for cohort in cohorts:
        d = Path(tempfile.mkdtemp(prefix=f"load_real_{cohort}_", dir=args.tmp_dir))
        try:
            info = (write_tcga if cohort == "tcga" else write_gtex)(d, args.scale)
            n_g, n_s = info["shape"]
            print(f"[{cohort}] wrote {n_g} genes x {n_s} samples, "
                  f"{info['gz_bytes'] / 1e9:.2f} GB gz in {info['write_s']:.0f} s ({d})",
                  flush=True)
            r = _measure(cohort, d)
            t_max, m_max = TARGETS[cohort]
            passed = r["load_s"] <= t_max and r["peak_gb"] <= m_max
            ok &= passed or args.scale != 1.0
            print(f"[{cohort}] load {r['load_s']:.1f} s, peak RSS {r['peak_gb']:.2f} GB "
                  f"(+{r['delta_gb']:.2f} GB over start); X {r['X']} {r['dtype']}, "
                  f"{r['labels']} labels; target <= {t_max:.0f} s and <= {m_max:.0f} GB: "
                  f"{'PASS' if passed else 'FAIL'}{'' if args.scale == 1.0 else ' (scaled)'}",
                  flush=True)
        finally:
            if args.keep:
                print(f"[{cohort}] kept {d}")
            else:
                shutil.rmtree(d, ignore_errors=True)
    return 0 if ok else 1
