"""The results page ``results/<profile>/index.html`` and the run's ``provenance.json``
(``docs/design.md``, "Results page and provenance").

Built from synthetic tables (``tests/synthetic.py``) with every figure drawn, fake executed
notebooks (notebook 06's HTML is a real nbconvert export of the outputs ``plots.show`` displays,
with cheap stand-in figures), cohort files written by ``data.write_h5ad`` and a run log written
by the real timing wrapper. Known answers: every catalog output sits in its Results subsection
with its caption; every link to notebook 06 resolves to an ``id`` of its HTML; the scorecard rows
of Fig 3 stand beside Fig 3; provenance.json has every field with a sensible type and the page
shows it; a cohort without survival renders with "not computed because" notes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from synthetic import make_synthetic_tables, public_export_tables

import vae_core
from vae_core import nbreport, paths, plots, provenance
from vae_core.plots import catalog
from vae_core.plots.scorecard import scorecard_rows

REPO = Path(vae_core.__file__).resolve().parent.parent
TINY = {"latent_dims": (10,), "lrs": (1e-1, 1e-3), "inits": ("kaiming_uniform",),
            "optimizers": ("adam",), "activations": ("tanh",), "disentangle_dims": (10, 20)}
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _write_tables(t, profile, root):
    d = paths.tables_dir(profile, root)
    d.mkdir(parents=True, exist_ok=True)
    for name, df in t.items():
        df.to_csv(d / name, index=False)


def _executed_06(t, nbdir: Path, anchors: bool = True) -> Path:
    """Notebook 06 as papermill leaves it (one ``plots.show`` cell per catalog output, with the
    outputs ``show`` displays; figures are 1-inch stand-ins) and its HTML from nbconvert.
    ``anchors=False``: outputs without the anchor (a notebook executed before anchors existed).
    """
    import matplotlib.pyplot as plt
    import nbformat
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output
    from nbconvert import HTMLExporter

    from vae_core.plots import build

    InteractiveShell.instance()
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("# 06 · Every figure and table"))
    mp = pytest.MonkeyPatch()
    mp.setattr(build, "draw", lambda name, t, out_dir=None: plt.figure(figsize=(1, 1)))
    try:
        for o in catalog.outputs(t):
            cell = nbformat.v4.new_code_cell(f'plots.show("{o.name}", t, out);')
            with capture_output() as cap:
                build.show(o.name, t, None)
            cell.outputs = [nbformat.v4.new_output("display_data", data=r.data,
                                                   metadata=r.metadata)
                            for r in cap.outputs
                            if anchors or "<a id=" not in r.data.get("text/html", "")]
            nb.cells.append(cell)
    finally:
        mp.undo()
        plt.close("all")
    nbdir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, nbdir / "06_figures.ipynb")
    body, _ = HTMLExporter().from_notebook_node(nb)
    out = nbdir / "06_figures.html"
    out.write_text(body, encoding="utf-8")
    return out


def _params_file(tmp: Path, **changes) -> Path:
    p = yaml.safe_load((REPO / "params" / "smoke.yaml").read_text())
    p.update(changes)
    path = tmp / f"{p['profile']}.yaml"
    path.write_text(yaml.safe_dump(p, sort_keys=False))
    return path


def _fake_run(res: Path, names=("01_preprocess", "06_figures")) -> None:
    """Cohort files and a run log as run_all.sh leaves them (the log from the real wrapper)."""
    from vae_core.data import simulate, write_h5ad

    for kind, seed in (("tcga", 0), ("gtex", 0)):
        write_h5ad(simulate(kind, n_samples=100, n_genes=60, seed=seed),
                   res / "data" / f"{kind}.h5ad")
    nbdir = res / "notebooks"
    nbdir.mkdir(parents=True, exist_ok=True)
    for name in names:
        if not (nbdir / f"{name}.ipynb").exists():
            (nbdir / f"{name}.ipynb").write_text(json.dumps(
                {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
            (nbdir / f"{name}.html").write_text("<html><body>executed</body></html>")
        rc = provenance.time_command([sys.executable, "-c", "pass"], res / provenance.RUN_LOG,
                                     name)
        assert rc == 0


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A run with every figure drawn, notebook 06 executed and exported, provenance inputs."""
    root = tmp_path_factory.mktemp("site")
    t = make_synthetic_tables(3, **TINY)
    _write_tables(t, "page", root)
    plots.build_all("page", root, source="simulated", gtex_source="simulated")
    res = paths.results_dir("page", root)
    _executed_06(plots.load_tables("page", root), res / "notebooks")
    _fake_run(res)
    params = _params_file(root, profile="page")
    page = nbreport.write_index("page", root, params_file=params,
                                params=yaml.safe_load(params.read_text()),
                                overrides={"profile": "page"})
    return {"root": root, "t": plots.load_tables("page", root), "res": res,
            "page": page.read_text(), "params": params}


def _sections(page: str) -> dict[str, str]:
    """Results subsection title -> its HTML."""
    out = {}
    for m in re.finditer(r'<section id="[^"]+"><h2>(.*?)</h2>(.*?)</section>', page, re.DOTALL):
        out[html.unescape(m.group(1))] = m.group(2)
    return out


def _item(page: str, name: str) -> str:
    """The block of output ``name`` (its figure or table and the claims beside it)."""
    start = page.index(f'<div class="item" id="{name}">')
    end = page.find('<div class="item"', start + 1)
    return page[start:end if end > 0 else None]


# --------------------------------------------------------------------------- layout

def test_every_output_in_its_section_with_caption_function_and_files(site):
    page, t = site["page"], site["t"]
    sections = _sections(page)
    outs = catalog.outputs(t)
    assert [s for s in sections] == [s for s in catalog.SECTIONS
                                     if any(o.section == s for o in outs)]
    for o in outs:
        body = sections[o.section]
        assert f'id="{o.name}"' in body, (o.name, o.section)
        item = _item(page, o.name)
        assert html.escape(o.caption) in item, o.name
        if o.function:
            assert f"vae_core.{o.function}" in item
        if o.kind == "figure":
            assert f'<img src="../../figures/page/{o.name}.png"' in item
            assert f'href="../../figures/page/{o.name}.pdf"' in item
        else:
            assert f'href="../../figures/page/{o.name}.csv"' in item and "<table>" in item
    assert page.count("<img ") == len(catalog.outputs(t, kind="figure"))
    # the figures follow the paper's order: Fig 3 before Fig 4 before Fig 7
    assert page.index('id="fig3_models_ari_aic"') < page.index('id="fig4_hyperparameters_tcga"') \
        < page.index('id="fig7_wsepin"')
    # offline: no external asset, no script
    assert "<script" not in page and not re.search(r'(src|href)="(https?:)?//', page)
    for ref in ('href="#models"', 'href="#scorecard"', 'href="#provenance"',
                'href="notebooks/01_preprocess.html"', "Models and metrics",
                "Downstream metrics", "Full scorecard"):
        assert ref in page, ref


def test_each_output_links_to_its_cell_in_the_executed_notebook_html(site):
    page, t = site["page"], site["t"]
    nb_html = site["res"] / "notebooks" / "06_figures.html"
    ids = set(re.findall(r'\sid="([^"]+)"', nb_html.read_text()))
    for o in catalog.outputs(t):
        links = re.findall(r'href="notebooks/06_figures\.html#([^"]+)"', _item(page, o.name))
        assert links, f"{o.name}: no link to notebook 06"
        assert links[0] == o.name and links[0] in ids, (o.name, links)


def test_links_fall_back_to_nbconverts_cell_ids_without_anchors(tmp_path):
    t = make_synthetic_tables(3, **TINY)
    _write_tables(t, "old", tmp_path)
    res = paths.results_dir("old", tmp_path)
    nb_html = _executed_06(plots.load_tables("old", tmp_path), res / "notebooks", anchors=False)
    ids = set(re.findall(r'\sid="([^"]+)"', nb_html.read_text()))
    assert "fig3_models_ari_aic" not in ids
    page = nbreport.write_index("old", tmp_path).read_text()
    links = re.findall(r'href="notebooks/06_figures\.html#([^"]+)"',
                       _item(page, "fig3_models_ari_aic"))
    assert links and links[0].startswith("cell-id=") and links[0] in ids
    # figures are missing here (never drawn): listed, not a crash
    assert "Missing expected files" in page and "fig3_models_ari_aic.png</code> missing" in page


def test_fig3_rows_of_the_scorecard_stand_beside_fig3(site):
    page, t = site["page"], site["t"]
    rows = scorecard_rows(t, gtex_source="simulated")
    fig3 = _item(page, "fig3_models_ari_aic")
    fig4 = _item(page, "fig4_hyperparameters_tcga")
    for claim in rows.loc[rows.section == "Fig 3", "claim"]:
        assert html.escape(claim, quote=False) in fig3
        assert html.escape(claim, quote=False) not in fig4
    for claim in rows.loc[rows.section == "Fig 4", "claim"]:
        assert html.escape(claim, quote=False) in fig4
    assert "Scorecard: the paper vs this run" in fig3 and "ranking:" in fig3
    # rows of "Fig 2A, S2 Table" go beside Fig 2; "Fig 9, S8" beside Fig 9; Table 1 beside it
    assert "validation loss vs ARI" in _item(page, "fig2_vanilla_loss_vs_downstream")
    assert "normalised RMIG low" in _item(page, "fig9_rmig_10_20")
    assert "disentangled features per latent size" in _item(page,
                                                            "table1_disentangled_features")


def test_every_scorecard_row_maps_to_an_output():
    t = make_synthetic_tables(0, **TINY)
    outs = catalog.outputs(t)
    for _, r in scorecard_rows(t).iterrows():
        assert catalog.claim_output(r.section, r.claim, outs) is not None, r.section
    assert catalog.refs("Fig 2A, S2 Table") == ["Fig 2", "S2 Table"]
    assert catalog.refs("Fig 9, S8") == ["Fig 9", "S8 Fig"]
    assert catalog.refs("Fig 2C/D") == ["Fig 2"] and catalog.refs("Metrics") == []
    assert catalog.output("figS6_vanilla_ari_vs_aic").ref == "S6 Fig"
    assert catalog.output("metric_ari").ref == ""
    assert catalog.claim_output("Metrics", "ARI (ari): mean per model").name == "metric_ari"


def test_scorecard_claims_parser_reads_the_written_scorecard(site):
    md = (paths.figures_dir("page", site["root"]) / "scorecard.md").read_text()
    parsed = nbreport.scorecard_claims(md)
    rows = scorecard_rows(site["t"], gtex_source="simulated")
    assert [r["claim"] for r in parsed] == list(rows.claim)
    assert [r["agrees"] for r in parsed] == list(rows.agrees)


# --------------------------------------------------------------------------- provenance

def test_provenance_json_has_every_field_with_a_sensible_type(site):
    prov = json.loads((site["res"] / "provenance.json").read_text())
    assert list(prov) == list(provenance.RUN_FIELDS)
    assert prov["profile"] == "page"
    when = dt.datetime.fromisoformat(prov["date_utc"])
    assert when.utcoffset() == dt.timedelta(0)
    assert prov["vae_core"] == vae_core.__version__
    git = prov["git"]
    assert git is None or (re.fullmatch(r"[0-9a-f]{40}", git["commit"])
                           and isinstance(git["modified"], bool))
    v = prov["versions"]
    for name in ("vae_core", "python", "torch", "scanpy", "anndata", "leidenalg", "lifelines",
                 "numpy", "pandas"):
        assert isinstance(v[name], str) and re.match(r"\d+\.\d+", v[name]), name
    m = prov["machine"]
    assert isinstance(m["cpu"], str) and m["cpu"]
    assert isinstance(m["cores"], int) and m["cores"] >= 1
    assert isinstance(m["usable_cores"], int) and 1 <= m["usable_cores"] <= m["cores"]
    assert isinstance(m["memory_gb"], float) and m["memory_gb"] > 0
    assert m["gpu"] is None or all(isinstance(g["name"], str) for g in m["gpu"])
    par = prov["params"]
    assert par["content"] == site["params"].read_text()
    assert par["sha256"] == hashlib.sha256(site["params"].read_bytes()).hexdigest()
    assert par["overrides"] == {"profile": "page"} and par["values"]["seed"] == 0
    data = {d["cohort"]: d for d in prov["data"]}
    assert set(data) == {"tcga", "gtex"}
    for d in data.values():
        f = site["res"] / d["file"]
        assert HEX64.match(d["sha256"]) and d["sha256"] == hashlib.sha256(
            f.read_bytes()).hexdigest()
        assert d["bytes"] == f.stat().st_size and d["origin"] == "simulated, seed 0"
        assert d["source"] == "simulated" and d["inputs"] == []
    nbs = {e["notebook"]: e for e in prov["notebooks"]}
    assert set(nbs) == {"01_preprocess", "06_figures"}
    for e in nbs.values():
        assert isinstance(e["wall_s"], float) and e["wall_s"] >= 0
        assert isinstance(e["max_rss_mb"], float) and e["max_rss_mb"] > 1
        assert e["exit_code"] == 0 and dt.datetime.fromisoformat(e["start_utc"])
    assert isinstance(prov["wall_s_total"], float)


def test_page_shows_the_provenance(site):
    page = site["page"]
    prov = json.loads((site["res"] / "provenance.json").read_text())
    part = page[page.index("<h2 id='provenance'>"):]
    assert 'href="provenance.json"' in part
    for d in prov["data"]:
        assert d["sha256"] in part and "simulated, seed 0" in part
    for name, version in prov["versions"].items():
        assert f"<td class='k'>{name}</td><td>{html.escape(version)}</td>" in part
    if prov["git"]:
        assert prov["git"]["commit"] in part
    assert html.escape(prov["machine"]["cpu"]) in part and "01_preprocess" in part
    assert "The params file as used" in part and "n_samples_tcga: 600" in part
    assert "This run is on simulated cohorts" in page


def test_git_state_flags_a_modified_work_tree_and_is_null_outside_git(monkeypatch):
    monkeypatch.setattr(provenance, "git_commit", lambda: "a" * 40 + "+dirty")
    assert provenance.git_state() == {"commit": "a" * 40, "modified": True}
    monkeypatch.setattr(provenance, "git_commit", lambda: "b" * 40)
    assert provenance.git_state() == {"commit": "b" * 40, "modified": False}
    monkeypatch.setattr(provenance, "git_commit", lambda: None)
    assert provenance.git_state() is None


def test_time_wrapper_logs_wall_time_peak_memory_and_exit_code(tmp_path):
    log = tmp_path / "run_log.jsonl"
    code = "import time; x = bytearray(120 * 2**20); time.sleep(1.5); raise SystemExit(3)"
    r = subprocess.run([sys.executable, "-m", "vae_core.provenance", "time", "--log", str(log),
                        "--name", "02_train_grid", "--", sys.executable, "-c", code],
                       capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 3, r.stderr
    (entry,) = provenance.read_run_log(log)
    assert entry["notebook"] == "02_train_grid" and entry["exit_code"] == 3
    assert entry["wall_s"] >= 1.5 and entry["max_rss_mb"] >= 120
    assert entry["peak_total_rss_mb"] is None or entry["peak_total_rss_mb"] >= 120
    # a later entry of the same notebook replaces it (run_all.sh --only)
    provenance.time_command([sys.executable, "-c", "pass"], log, "02_train_grid")
    (entry,) = provenance.read_run_log(log)
    assert entry["exit_code"] == 0


# --------------------------------------------------------------------------- degraded cohorts

def test_cohort_without_survival_renders_with_not_computed_notes(tmp_path):
    full = {k: v for k, v in make_synthetic_tables(1, **TINY).items()}
    t = public_export_tables(full, survival=False, gtex=False)
    _write_tables(t, "nosurv", tmp_path)
    plots.write_scorecard(plots.load_tables("nosurv", tmp_path),
                          paths.figures_dir("nosurv", tmp_path), source="table",
                          profile="nosurv", gtex_source="none")
    params = _params_file(tmp_path, profile="nosurv", source="table", gtex_source="none")
    page = nbreport.write_index("nosurv", tmp_path, params_file=params,
                                params=yaml.safe_load(params.read_text())).read_text()
    why = "no survival data in this cohort"
    box = page[page.index("<div class='notes'>"):]
    assert f"not computed because {why}" in box[:box.index("</div>")]
    assert "GTEx side (Fig 6, S7): not computed because no GTEx-side cohort" in page
    fig3 = _item(page, "fig3_models_ari_aic")
    assert f"<code>aic</code>) not computed because {why}" in fig3 and f"n/a: {why}" in fig3
    assert "Not computed because no GTEx-side cohort" in _item(page, "fig6_gtex")
    assert "feature absent from this cohort" in page
    # the metrics list says why, the figures never drawn are listed as missing
    assert f"n/a: not computed because {why}" in page
    assert "Missing expected files" in page
    prov = json.loads((paths.results_dir("nosurv", tmp_path) / "provenance.json").read_text())
    assert prov["data"] == [] and prov["notebooks"] == [] and prov["params"]["values"][
        "gtex_source"] == "none"


# --------------------------------------------------------------------------- a real run

def assert_results_page(root: Path, profile: str, notebooks: list[str], params: Path) -> None:
    """What a finished ``run_all.sh`` leaves: every catalog output in its section of the page,
    linked to its own anchor in the executed notebook 06's HTML (nbconvert's), and a
    provenance.json with a run-log entry per notebook and hashed cohort files. Used by
    ``test_end_to_end`` on the smoke run."""
    res = paths.results_dir(profile, root)
    page = (res / "index.html").read_text()
    t = plots.load_tables(profile, root)
    ids = set(re.findall(r'\sid="([^"]+)"', (res / "notebooks" / "06_figures.html").read_text()))
    sections = _sections(page)
    for o in catalog.outputs(t):
        assert f'id="{o.name}"' in sections[o.section], o.name
        links = re.findall(r'href="notebooks/06_figures\.html#([^"]+)"', _item(page, o.name))
        assert links and links[0] == o.name and o.name in ids, (o.name, links)
    prov = json.loads((res / "provenance.json").read_text())
    assert list(prov) == list(provenance.RUN_FIELDS) and prov["profile"] == profile
    assert [e["notebook"] for e in prov["notebooks"]] == notebooks
    for e in prov["notebooks"]:
        assert e["exit_code"] == 0 and e["wall_s"] > 0 and e["max_rss_mb"] > 50, e
    assert prov["params"]["content"] == params.read_text()
    for d in prov["data"]:
        assert d["sha256"] == hashlib.sha256((res / d["file"]).read_bytes()).hexdigest()
    assert {d["cohort"] for d in prov["data"]} == {"tcga", "gtex"}
    assert prov["wall_s_total"] > 0 and "<h2 id='provenance'>Provenance</h2>" in page


def test_index_command_records_params_and_command_line_values(tmp_path, capsys):
    params = _params_file(tmp_path, profile="cli")
    assert nbreport.main(["index", "--profile", "cli", "--root", str(tmp_path), "--params",
                          str(params), "--set", "data_dir=/data/vae", "--set",
                          "profile=cli"]) == 0
    assert "provenance.json" in capsys.readouterr().out
    prov = json.loads((paths.results_dir("cli", tmp_path) / "provenance.json").read_text())
    assert prov["params"]["overrides"] == {"data_dir": "/data/vae", "profile": "cli"}
    assert prov["params"]["values"]["data_dir"] == "/data/vae"
    page = (paths.results_dir("cli", tmp_path) / "index.html").read_text()
    assert "<code>data_dir = /data/vae</code>" in page
    with pytest.raises(SystemExit):
        nbreport.main(["index", "--profile", "cli", "--root", str(tmp_path), "--set", "x"])
