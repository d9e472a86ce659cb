"""Real-data loaders and verified download (``docs/design.md``, "Data") on tiny fixtures in the
exact real formats.

Every fixture is written here into tmp_path; the HTTP layer is replaced by a local fake, so no test
touches the network.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import urllib.error
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vae_core import keys
from vae_core.data import _download as dl
from vae_core.data import real
from vae_core.data._download import FetchResponse, MissingDataError, RemoteFile
from vae_core.data._matrix import MatrixFormatError

# ------------------------------------------------------------------------------------ fixtures
S1, S2, S3, S4, S5 = (f"TCGA-AA-000{i}-01" for i in range(1, 6))
S3 = "TCGA-AA-0003-11"  # a normal-tissue sample: kept, it has a cancer type
GENES = [  # (gene id, values for S1..S5)
    ("CD3D|915", ["1", "2", "3", "9", "9"]),
    ("GZMA|3001", ["3", "2", "1", "9", "9"]),
    ("CD8A|925", ["0", "0", "6", "9", "9"]),
    ("PTPRC|5788", ["4", "4", "4", "4", "4"]),  # constant over the kept samples: dropped
    ("SLC35E2|728661", ["1.5", "1.5", "1.5", "1.5", "1.5"]),
    ("SLC35E2|9906", ["2.5", "2.5", "2.5", "2.5", "2.5"]),
    ("?|100130426", ["0", "0.25", "0", "0", "0"]),
    ("TP53|7157", ["NA", "7.125", "8", "8", "8"]),
]
CLINICAL_HEADER = ["sample", "_PATIENT", "cancer type abbreviation",
                   "age_at_initial_pathologic_diagnosis", "gender", "race", "OS", "OS.time",
                   "new_tumor_event_dx_days_to"]
CLINICAL_ROWS = [
    [S1, "TCGA-AA-0001", "BRCA", "50", "FEMALE", "WHITE", "1", "100", "300"],
    ["TCGA-AA-0002-01A", "TCGA-AA-0002", "LUAD", "61", "MALE", "#N/A", "0", "200", "#N/A"],
    [S3, "TCGA-AA-0003", "BRCA", "[Not Available]", "FEMALE", "", "0", "50", ""],
    [S4, "TCGA-AA-0004", "", "70", "MALE", "", "1", "10", ""],  # no cancer type: dropped
    ["TCGA-AA-0009-01", "TCGA-AA-0009", "SKCM", "40", "MALE", "", "1", "5", ""],  # clinical only
]
SIG_HEADER = "Cancer Types,Sample Names,Accuracy,SBS1,SBS2,SBS3,SBS5,SBS13,SBS15,SBS40"
SIG_ROWS = [
    "Breast-AdenoCA,TCGA-AA-0001-01A-11D-A29I-10,0.95,10,20,100,30,40,0,0",
    "Lung-AdenoCA,TCGA-AA-0002-01A-11D-A29I-10,0.9,50,0,0,50,0,0,0",
    "Lung-AdenoCA,TCGA-AA-0002-01B-11D-A29I-10,0.9,0,0,0,100,0,0,0",
    "Skin-Melanoma,TCGA-AA-0009-01A-11D-A29I-10,0.9,1,0,0,1,0,0,0",
]


def _write(path: Path, text: str, gz: bool) -> Path:
    data = text.encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def xena_text(first: str = "sample", genes=GENES) -> str:
    lines = [f"{first}\t{S1}\t{S2}\t{S3}\t{S4}\t{S5}"]
    lines += ["\t".join([g, *v]) for g, v in genes]
    return "\n".join(lines) + "\n"


def write_tcga(d: Path, *, gz: bool = True, first: str = "sample", signatures: bool = True,
               genes=GENES) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    name = real.TCGA_EXPRESSION if gz else real.TCGA_EXPRESSION[:-3]
    _write(d / name, xena_text(first, genes), gz)
    clin = ["\t".join(CLINICAL_HEADER)] + ["\t".join(r) for r in CLINICAL_ROWS]
    (d / real.TCGA_CLINICAL).write_text("\n".join(clin) + "\n")
    if signatures:
        (d / real.TCGA_SIGNATURES).write_text("\n".join([SIG_HEADER, *SIG_ROWS]) + "\n")
    return d


GTEX_SAMPLES = ["GTEX-1117F-0226-SM-5GZZ7", "GTEX-1117F-0426-SM-5EGHI",
                "GTEX-111CU-1826-SM-5GZYN", "K-562-SM-XXXX"]


def gct_text(dims: str = "3\t4", first: str = "#1.2", n_genes: int = 3) -> str:
    rows = [("ENSG00000223972.5", "DDX11L1", ["0", "1", "3", "7"]),
            ("ENSG00000227232.5", "WASH7P", ["15", "0.5", "NA", "1"]),
            ("ENSG00000278267.1", "MIR6859-1", ["0", "0", "0", "0"])][:n_genes]
    lines = [first, dims, "\t".join(["Name", "Description", *GTEX_SAMPLES])]
    lines += ["\t".join([a, b, *v]) for a, b, v in rows]
    return "\n".join(lines) + "\n"


def write_gtex(d: Path, *, gz: bool = True, gct: str | None = None) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    name = real.GTEX_TPM if gz else real.GTEX_TPM[:-3]
    _write(d / name, gct_text() if gct is None else gct, gz)
    attrs = ["SAMPID\tSMATSSCR\tSMTS\tSMTSD",
             f"{GTEX_SAMPLES[0]}\t0\tAdipose Tissue\tAdipose - Subcutaneous",
             f"{GTEX_SAMPLES[1]}\t1\tMuscle\tMuscle - Skeletal",
             f"{GTEX_SAMPLES[2]}\t\tAdipose Tissue\tAdipose - Visceral (Omentum)",
             f"{GTEX_SAMPLES[3]}\t\t\t",  # no tissue: dropped
             "GTEX-ONLY-ATTR\t\tBlood\tWhole Blood"]
    (d / real.GTEX_ATTRIBUTES).write_text("\n".join(attrs) + "\n")
    return d


# ----------------------------------------------------------------------------------- load_tcga
def test_load_tcga_selection_clinical_signatures_immune(tmp_path):
    d = write_tcga(tmp_path / "data")
    a = real.load_tcga(d)
    # expression AND cancer type: S4 (empty type) and S5 (no clinical row) dropped; the
    # clinical row "TCGA-AA-0002-01A" matches S2 on its 15-character prefix.
    assert list(a.obs_names) == [S1, S2, S3]
    assert list(a.obs.columns) == list(keys.CANONICAL_OBS)
    assert a.X.dtype == np.float32 and a.X.shape == (3, len(GENES))
    assert list(a.obs["label"]) == ["BRCA", "LUAD", "BRCA"]
    assert isinstance(a.obs["label"].dtype, pd.CategoricalDtype)
    assert list(a.obs["gender"].cat.categories) == ["female", "male"]
    assert list(a.obs["gender"]) == ["female", "male", "female"]
    np.testing.assert_array_equal(a.obs["age"], [50, 61, np.nan])
    np.testing.assert_array_equal(a.obs["os_event"], [1, 0, 0])
    np.testing.assert_array_equal(a.obs["os_time"], [100, 200, 50])
    np.testing.assert_array_equal(a.obs["metastasis_days"], [300, np.nan, np.nan])
    # SBS shares: S1 total 200; S2 two aliquots (0.5/0.5 and 0/1) averaged; S3 has none.
    np.testing.assert_allclose(a.obs.loc[S1, list(keys.SBS_COLUMNS)].astype(float),
                               [0.05, 0.10, 0.15, 0.20, 0.0, 0.0])
    np.testing.assert_allclose(a.obs.loc[S2, ["sbs_1", "sbs_5", "sbs_2"]].astype(float),
                               [0.25, 0.75, 0.0])
    assert a.obs.loc[S3, list(keys.SBS_COLUMNS)].isna().all()
    # immune: mean z-score of CD3D [1,2,3], GZMA [3,2,1], CD8A [0,0,6]; PTPRC constant, dropped
    r = np.sqrt(1.5)
    expected = [(-r + r - 1 / np.sqrt(2)) / 3, (-1 / np.sqrt(2)) / 3, (np.sqrt(2)) / 3]
    np.testing.assert_allclose(a.obs["immune"], expected, rtol=1e-5)
    assert sorted(a.uns["provenance"]["immune_genes"]["used"]) == ["CD3D", "CD8A", "GZMA"]
    # gene names: symbol when unique, full ID for the duplicated symbol and "?"
    assert list(a.var_names) == ["CD3D", "GZMA", "CD8A", "PTPRC", "SLC35E2|728661",
                                 "SLC35E2|9906", "?|100130426", "TP53"]
    assert a.var.loc["TP53", "gene_id"] == "TP53|7157"
    np.testing.assert_array_equal(a[:, "TP53"].X.ravel(), [np.nan, 7.125, 8])
    np.testing.assert_array_equal(a[:, "?|100130426"].X.ravel(), [0, 0.25, 0])
    prov = a.uns["provenance"]
    c = prov["counts"]
    assert (c["expression_samples"], c["clinical_rows"], c["expression_with_cancer_type"],
            c["clinical_only"], c["missing_values"], c["cancer_types"]) == (5, 5, 3, 2, 1, 2)
    assert c["samples_with_signatures"] == 2
    rec = prov["files"][real.TCGA_EXPRESSION]
    raw = (d / real.TCGA_EXPRESSION).read_bytes()
    assert rec["sha256"] == hashlib.sha256(raw).hexdigest() and rec["size"] == len(raw)


def test_load_tcga_plain_gene_header_without_signatures(tmp_path, caplog):
    d = write_tcga(tmp_path / "data", gz=False, first="gene", signatures=False)
    with caplog.at_level(logging.WARNING):
        a = real.load_tcga(d)
    assert a.n_obs == 3 and a.obs[list(keys.SBS_COLUMNS)].isna().all().all()
    assert "syn11801889" in caplog.text and str(d / real.TCGA_SIGNATURES) in caplog.text


def test_plain_symbols_duplicated_are_suffixed(tmp_path):
    genes = [("A1BG", ["1"] * 5), ("A1BG", ["2"] * 5), ("B2M", ["3"] * 5)]
    a = real.load_tcga(write_tcga(tmp_path / "data", genes=genes))
    assert list(a.var_names) == ["A1BG", "A1BG-1", "B2M"]
    np.testing.assert_array_equal(a[:, "A1BG-1"].X.ravel(), [2, 2, 2])


def test_small_blocks_give_same_matrix(tmp_path):
    d = write_tcga(tmp_path / "data")
    a = real.load_tcga(d)
    b = real.load_tcga(d, block_values=7)  # one gene per block
    np.testing.assert_array_equal(a.X, b.X)


@pytest.mark.parametrize("case, pattern", [
    ("truncated_gz", "truncated or corrupt"),
    ("truncated_plain", "truncated"),
    ("no_header", "looks like data"),
    ("ragged", "line 4: 4 fields, expected 6"),
    ("not_number", "non-numeric value"),
    ("missing_label", "lacks column.*cancer type abbreviation"),
    ("no_overlap", "no expression sample"),
])
def test_tcga_malformed_input_gives_clear_error(tmp_path, case, pattern):
    d = write_tcga(tmp_path / "data", gz=case != "truncated_plain")
    expr = d / (real.TCGA_EXPRESSION if case != "truncated_plain" else real.TCGA_EXPRESSION[:-3])
    if case == "truncated_gz":
        blob = gzip.compress(xena_text().encode() * 50)
        expr.write_bytes(blob[: len(blob) // 2])
    elif case == "truncated_plain":
        expr.write_bytes(xena_text().encode()[:-7])
    elif case == "no_header":
        _write(expr, xena_text().split("\n", 1)[1], gz=True)
    elif case == "ragged":
        lines = xena_text().split("\n")
        lines[3] = lines[3].rsplit("\t", 2)[0]
        _write(expr, "\n".join(lines), gz=True)
    elif case == "not_number":
        _write(expr, xena_text().replace("7.125", "seven"), gz=True)
    elif case == "missing_label":
        clin = (d / real.TCGA_CLINICAL).read_text().replace("cancer type abbreviation", "type")
        (d / real.TCGA_CLINICAL).write_text(clin)
    elif case == "no_overlap":
        _write(expr, xena_text().replace("TCGA-AA", "TCGA-ZZ"), gz=True)
    with pytest.raises(MatrixFormatError, match=pattern):
        real.load_tcga(d)


def test_missing_files_one_message_with_url_and_path(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    with pytest.raises(MissingDataError) as err:
        real.load_tcga(d)
    msg = str(err.value)
    for remote in dl.remote_files("tcga"):
        if not remote.optional:
            assert remote.name in msg and remote.url in msg and str(d / remote.name) in msg
    assert "download tcga --data-dir" in msg


# ----------------------------------------------------------------------------------- load_gtex
@pytest.mark.parametrize("gz", [True, False])
def test_load_gtex_log2_tpm_and_tissue(tmp_path, gz):
    a = real.load_gtex(write_gtex(tmp_path / "data", gz=gz))
    assert list(a.obs_names) == GTEX_SAMPLES[:3]
    assert list(a.obs["label"]) == ["Adipose Tissue", "Muscle", "Adipose Tissue"]
    assert list(a.obs.columns) == list(keys.CANONICAL_OBS)
    assert a.obs.drop(columns=["label"]).isna().all().all()
    assert a.X.dtype == np.float32 and a.X.shape == (3, 3)
    np.testing.assert_allclose(a.X[:, 0], [0, 1, 2])  # log2(TPM + 1) of 0, 1, 3
    np.testing.assert_allclose(a.X[:, 1], [4, np.log2(1.5), np.nan])
    assert a.var_names[0] == "ENSG00000223972.5" and a.var["symbol"].iloc[1] == "WASH7P"
    c = a.uns["provenance"]["counts"]
    assert (c["expression_samples"], c["expression_with_tissue"], c["tissues"]) == (4, 3, 2)


@pytest.mark.parametrize("gct, pattern", [
    (gct_text(first="#1.3"), "expected '#1.2'"),
    (gct_text(dims="3\t5"), "declares 5 samples"),
    (gct_text(dims="4\t4"), "3 data rows but the header declares 4"),
    (gct_text(dims="three\t4"), "should be '<n genes><TAB><n samples>'"),
    (gct_text().replace("Name\tDescription", "Id\tDescription"), "expected \\['Name'"),
])
def test_gtex_malformed_gct(tmp_path, gct, pattern):
    with pytest.raises(MatrixFormatError, match=pattern):
        real.load_gtex(write_gtex(tmp_path / "data", gct=gct))


def test_gtex_attributes_missing_column(tmp_path):
    d = write_gtex(tmp_path / "data")
    p = d / real.GTEX_ATTRIBUTES
    p.write_text(p.read_text().replace("SMTS\t", "TISSUE\t"))
    with pytest.raises(MatrixFormatError, match="lacks column.*SMTS"):
        real.load_gtex(d)


# ------------------------------------------------------------------------------------ download
class FakeServer:
    """In-memory fetcher with HTTP Range support, failure injection and a call log."""

    def __init__(self, files: dict[str, bytes]):
        self.files = dict(files)
        self.calls: list[tuple[str, int]] = []
        self.cut_after: dict[str, int] = {}  # url -> raise after sending this many bytes
        self.short: dict[str, int] = {}  # url -> silently send only this many bytes (once)
        self.ignore_range = False
        self.offline = False

    def __call__(self, url: str, start: int) -> FetchResponse:
        self.calls.append((url, start))
        if self.offline:
            raise urllib.error.URLError("Temporary failure in name resolution")
        data = self.files[url]
        offset = 0 if self.ignore_range else start
        body = data[offset:]
        if url in self.short:
            body = body[: self.short.pop(url) - offset]

        def chunks():
            sent = 0
            for i in range(0, len(body), 7):
                limit = self.cut_after.get(url)
                if limit is not None and offset + sent >= limit:
                    del self.cut_after[url]
                    raise ConnectionResetError("connection reset by peer")
                yield body[i:i + 7]
                sent += len(body[i:i + 7])

        return FetchResponse(offset, len(data), chunks())


PAYLOAD_A = bytes(range(256)) * 4
PAYLOAD_B = b"SAMPID\tSMTS\n" + b"x\ty\n" * 40


@pytest.fixture
def registry(monkeypatch):
    files = [
        RemoteFile("toy", "expression", "a.gz", "fake://hub/a.gz",
                   size=len(PAYLOAD_A), sha256=hashlib.sha256(PAYLOAD_A).hexdigest()),
        RemoteFile("toy", "attributes", "b.txt", "fake://hub/b.txt"),  # size/hash unknown
        RemoteFile("toy", "signatures", "sig.csv", None, manual=True, optional=True,
                   instructions="log in to Synapse syn11801889 and download it."),
    ]
    monkeypatch.setattr(dl, "remote_files", lambda cohort=None: files)
    return FakeServer({"fake://hub/a.gz": PAYLOAD_A, "fake://hub/b.txt": PAYLOAD_B})


def test_download_fresh_verified_then_kept(tmp_path, registry, caplog):
    with caplog.at_level(logging.WARNING):
        got = real.download("toy", tmp_path, fetch=registry, progress=False)
    assert [p.name for p in got] == ["a.gz", "b.txt"]
    assert got[0].read_bytes() == PAYLOAD_A and got[1].read_bytes() == PAYLOAD_B
    assert "syn11801889" in caplog.text and str(tmp_path / "sig.csv") in caplog.text
    # unknown hash: recorded on first download
    side = dl.read_sidecar(got[1])
    assert side["sha256"] == hashlib.sha256(PAYLOAD_B).hexdigest() and side["verified_download"]
    n = len(registry.calls)
    real.download("toy", tmp_path, fetch=registry, progress=False)
    assert len(registry.calls) == n  # nothing fetched again


def test_download_resumes_partial_file(tmp_path, registry):
    (tmp_path / "a.gz.part").write_bytes(PAYLOAD_A[:300])
    real.download("toy", tmp_path, fetch=registry, progress=False)
    assert ("fake://hub/a.gz", 300) in registry.calls
    assert (tmp_path / "a.gz").read_bytes() == PAYLOAD_A
    assert not (tmp_path / "a.gz.part").exists()


def test_download_interrupted_then_resumed(tmp_path, registry):
    registry.cut_after["fake://hub/a.gz"] = 500
    with pytest.raises(MissingDataError, match="ConnectionResetError"):
        real.download("toy", tmp_path, fetch=registry, progress=False)
    part = tmp_path / "a.gz.part"
    assert part.exists() and 0 < part.stat().st_size < len(PAYLOAD_A)
    resumed_at = part.stat().st_size
    real.download("toy", tmp_path, fetch=registry, progress=False)
    assert registry.calls[-1] == ("fake://hub/a.gz", resumed_at)
    assert (tmp_path / "a.gz").read_bytes() == PAYLOAD_A


def test_download_server_ignoring_range_restarts(tmp_path, registry):
    (tmp_path / "a.gz.part").write_bytes(b"garbage" * 10)
    registry.ignore_range = True
    real.download("toy", tmp_path, fetch=registry, progress=False)
    assert (tmp_path / "a.gz").read_bytes() == PAYLOAD_A


@pytest.mark.parametrize("name", ["a.gz", "b.txt"])
def test_corrupted_or_truncated_file_is_refetched(tmp_path, registry, name):
    real.download("toy", tmp_path, fetch=registry, progress=False)
    p = tmp_path / name
    good = p.read_bytes()
    p.write_bytes(good[:10] + b"X" + good[11:])  # same size, flipped byte
    real.download("toy", tmp_path, fetch=registry, progress=False)
    assert p.read_bytes() == good
    p.write_bytes(good[:-5])  # truncated
    real.download("toy", tmp_path, fetch=registry, progress=False)
    assert p.read_bytes() == good


def test_short_transfer_detected_by_announced_size(tmp_path, registry):
    registry.short["fake://hub/b.txt"] = 20  # connection closed early without an error
    real.download("toy", tmp_path, fetch=registry, progress=False)
    assert (tmp_path / "b.txt").read_bytes() == PAYLOAD_B
    assert [c for c in registry.calls if c[0].endswith("b.txt")] == [("fake://hub/b.txt", 0)] * 2


def test_wrong_hash_twice_is_an_error(tmp_path, registry):
    registry.files["fake://hub/a.gz"] = PAYLOAD_A[::-1]  # right size, wrong content
    with pytest.raises(MissingDataError, match="failed verification twice"):
        real.download("toy", tmp_path, fetch=registry, progress=False)
    assert not (tmp_path / "a.gz").exists()


def test_offline_one_message_lists_every_file(tmp_path, registry):
    registry.offline = True
    with pytest.raises(MissingDataError) as err:
        real.download("toy", tmp_path, fetch=registry, progress=False)
    msg = str(err.value)
    assert msg.startswith("2 input file(s) missing")
    for name in ("a.gz", "b.txt"):
        assert f"fake://hub/{name}" in msg and str(tmp_path / name) in msg
    assert "URLError" in msg and "--data-dir" in msg
    assert "syn11801889" in msg and str(tmp_path / "sig.csv") in msg


def test_http_fetch_reads_file_url(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(PAYLOAD_A)
    resp = dl.http_fetch(src.as_uri(), 0)
    assert resp.offset == 0 and b"".join(resp.chunks) == PAYLOAD_A


def test_registry_names_spec_files():
    names = {r.name for r in dl.remote_files()}
    assert {real.TCGA_EXPRESSION, real.TCGA_CLINICAL, real.TCGA_SIGNATURES, real.GTEX_TPM,
            real.GTEX_ATTRIBUTES} == names
    with pytest.raises(ValueError, match="unknown cohort 'tgca'"):
        real.download("tgca", "/nonexistent")


def test_cli_offline_reports_missing(tmp_path, monkeypatch, capsys, registry):
    registry.offline = True
    monkeypatch.setattr(dl, "http_fetch", registry)
    rc = real.main(["download", "tcga", "--data-dir", str(tmp_path),
                    "--no-progress"])
    assert rc == 1 and "missing" in capsys.readouterr().err


@pytest.mark.network
def test_real_clinical_download(tmp_path):  # pragma: no cover - opt-in (pytest -m network)
    remote = next(r for r in dl.remote_files("tcga") if r.name == real.TCGA_CLINICAL)
    p = dl.fetch_file(remote, tmp_path, dl.http_fetch, progress=False)
    assert real.read_tcga_clinical(p)["label"].nunique() == 33


def test_empty_and_na_cells_are_nan_in_any_block(tmp_path):
    import io

    from vae_core.data._matrix import read_matrix

    body = b"g1\t\t2\t3\ng2\t4\t\t\ng3\t1\tNA\t2\n"
    for block_values in (3, 1000):  # one gene per block (leading empty cell) and one block
        m = read_matrix("x", io.BytesIO(body), ["a", "b", "c"], 1, block_values=block_values)
        np.testing.assert_array_equal(m.X, [[np.nan, 4, 1], [2, np.nan, np.nan],
                                            [3, np.nan, 2]])
        assert m.n_missing == 4 and m.row_names == [["g1", "g2", "g3"]]


def test_immune_score_matches_aliases_and_skips_constant_genes():
    X = np.array([[1, 5, 0], [3, 5, 1]], dtype=np.float32)
    score, used = real.immune_score(X, ["KIAA0125", "PTPRC", "NOT_IMMUNE"])
    assert used == ["KIAA0125"]  # previous symbol of FAM30A; PTPRC constant
    np.testing.assert_allclose(score, [-1, 1])
    assert len(real.immune_genes()) == 60


def test_loaded_cohorts_preprocess_and_roundtrip_h5ad(tmp_path):
    from vae_core.data import preprocess, read_h5ad, write_h5ad

    for cohort, d in (("tcga", write_tcga(tmp_path / "t")), ("gtex", write_gtex(tmp_path / "g"))):
        a = real.load_tcga(d) if cohort == "tcga" else real.load_gtex(d)
        p = preprocess(a, n_top_genes=2)
        assert p.X.dtype == np.float32 and np.isfinite(p.X).all() and p.n_vars == 2
        b = read_h5ad(write_h5ad(a, tmp_path / f"{cohort}.h5ad"))
        assert b.uns["provenance"]["counts"] == a.uns["provenance"]["counts"]
        np.testing.assert_array_equal(b.X, a.X)
        pd.testing.assert_frame_equal(b.obs, a.obs)
