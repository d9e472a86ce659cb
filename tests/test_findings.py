"""vae_core.findings: the "What this run shows" sentences of notebooks 01-06.

The numbers in the sentences are recomputed here independently (pandas groupby, scipy) from
synthetic tables with planted effects (tests/synthetic.py); a missing input gives a "not
computed because" sentence, never an exception; and each notebook opens with its question and a
citation of the paper and ends with the findings cell.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats
from synthetic import make_synthetic_tables, public_export_tables, write_synthetic_tables

from vae_core import findings, paths, registry
from vae_core import tables as T
from vae_core.plots.paper_tables import PAPER_S2_VANILLA
from vae_core.plots.scorecard import NA, NO, YES, scorecard_rows

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SMALL = {"latent_dims": (10, 50), "lrs": (1e-1, 1e-3, 1e-4, 1e-6),
         "inits": ("uniform", "xavier_normal", "kaiming_uniform"),
         "disentangle_dims": (10, 20, 30)}
NOWHERE = {"sources": {}, "records": pd.DataFrame()}


@pytest.fixture(scope="module")
def tabs() -> dict[str, pd.DataFrame]:
    return make_synthetic_tables(0, **SMALL)


def _report(step, t, tmp_path, **kw):
    """A report from tables in memory, nothing read from disk (an empty base_dir)."""
    return findings.report(step, "none", tmp_path, t=t, **{**NOWHERE, **kw})


def _bullet(text: str, topic: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.startswith(f"- **{topic}")]
    assert lines, f"no bullet {topic!r} in:\n{text}"
    return lines[0]


# ------------------------------------------------------------------ 03
def test_03_mean_ari_per_model_and_best_model(tabs, tmp_path):
    text = _report("03", tabs, tmp_path)
    line = _bullet(text, "Mean ARI per model")
    ok = tabs[T.RUNS_TCGA].query("status == 'ok'")
    means = ok.groupby("model")["ari"].mean()
    counts = ok.groupby("model")["ari"].count()
    for m, v in means.items():
        assert f"{registry.model_label(m)} {v:.3f} (n={counts[m]})" in line
    assert f"best on average: {registry.model_label(means.idxmax())}" in line
    assert "agrees with the paper" in line        # planted: beta-TCVAE and DIP-VAE best
    assert "Fig 3A" in line and "Results" in line


def test_03_loss_vs_ari_spearman_and_paper_value(tabs, tmp_path):
    text = _report("03", tabs, tmp_path)
    line = _bullet(text, "Validation loss vs ARI (vanilla VAE)")
    van = tabs[T.RUNS_TCGA].query("model == 'vanilla' and status == 'ok'")
    rho = stats.spearmanr(van["val_loss"], van["ari"]).statistic
    assert f"Spearman rho = {rho:+.2f} over {len(van)} configurations" in line
    assert f"|rho| = {PAPER_S2_VANILLA['loss_vs_ari']:g}" in line
    # the verdict is the scorecard's
    row = scorecard_rows(tabs).query("section.str.startswith('Fig 2A')", engine="python")
    verdict = {YES: "agrees", NO: "differs", NA: "not comparable"}[row["agrees"].iloc[0]]
    assert verdict in line


def test_03_configurations_below_the_covariate_baseline(tabs, tmp_path):
    text = _report("03", tabs, tmp_path)
    line = _bullet(text, "Embedding vs covariates-only Cox model")
    ok = tabs[T.RUNS_TCGA].query("status == 'ok'")
    base = float(tabs[T.BASELINE_AIC]["aic"].iloc[0])
    k = int((ok["aic"] < base).sum())
    assert f"{k} of {len(ok)} successful configurations" in line
    per = ok.assign(below=ok["aic"] < base).groupby("model")["below"].agg(["sum", "size"])
    for m, r in per.iterrows():
        assert f"{registry.model_label(m)} {int(r['sum'])}/{int(r['size'])}" in line
    assert f"{base:.1f}" in line


def test_03_without_survival_says_not_computed(tabs, tmp_path):
    t = public_export_tables(tabs, survival=False, gtex=True, absent_features=())
    text = _report("03", t, tmp_path)
    for topic in ("Mean AIC per model", "Validation loss vs AIC",
                  "Embedding vs covariates-only Cox model"):
        line = _bullet(text, topic)
        assert "Not computed because no survival data in this cohort" in line, line
    assert "Mean ARI per model (Leiden" in text     # the ARI still is computed


# ------------------------------------------------------------------ 04
def test_04_concordance_rho_and_gtex_means(tabs, tmp_path):
    text = _report("04", tabs, tmp_path)
    conc = tabs[T.CONCORDANCE]
    rho = stats.spearmanr(conc["ari_tcga"], conc["ari_gtex"]).statistic
    line = _bullet(text, "TCGA-GTEx concordance")
    assert f"= {rho:+.2f} over {len(conc)} configurations" in line
    assert "Paper (Fig 6B): 0.7" in line
    expect = YES if abs(rho - 0.7) <= 0.2 else NO
    assert ("agrees with the paper" if expect == YES else "differs from the paper") in line
    gtex = tabs[T.RUNS_GTEX]
    line = _bullet(text, "Mean ARI per model on GTEx")
    for m, v in gtex.query("status == 'ok'").groupby("model")["ari"].mean().items():
        assert f"{registry.model_label(m)} {v:.3f}" in line
    assert f"{len(gtex)} trainings, {int((gtex['status'] == 'failed').sum())} failed" in line


def test_04_sgd_effect_on_both_cohorts(tabs, tmp_path):
    line = _bullet(_report("04", tabs, tmp_path), "SGD on TCGA and on GTEx")
    for name, runs in (("TCGA", tabs[T.RUNS_TCGA]), ("GTEx", tabs[T.RUNS_GTEX])):
        ok = runs.query("status == 'ok'")
        d = ok[ok.optimizer == "sgd"]["ari"].mean() - ok[ok.optimizer != "sgd"]["ari"].mean()
        assert f"difference {d:+.3f}" in line, name


def test_04_names_a_gtex_cohort_smaller_than_the_papers(tabs, tmp_path):
    line = _bullet(_report("04", tabs, tmp_path, n_gtex=4500), "Why this run can differ")
    assert "the GTEx-side cohort has 4,500 samples where the paper's has 17,382" in line


def test_05_table1_trend_with_latent_size(tabs, tmp_path):
    line = _bullet(_report("05", tabs, tmp_path), "Disentangled features")
    totals = tabs[T.DISENTANGLE_SCORES].groupby("latent_dim")["n_disentangled"].sum()
    falls = totals.is_monotonic_decreasing and totals.iloc[0] > totals.iloc[-1]
    assert ("Here too the total falls" if falls else "does not fall steadily") in line


@pytest.mark.parametrize("how", ["gtex_source none", "empty table"])
def test_04_without_gtex_says_not_computed(tabs, tmp_path, how):
    if how == "gtex_source none":
        text = _report("04", tabs, tmp_path, gtex_source="none")
    else:
        text = _report("04", public_export_tables(tabs, survival=True, gtex=False,
                                                  absent_features=()), tmp_path)
    assert "Not computed because no GTEx-side cohort" in text
    assert "raised" not in text


# ------------------------------------------------------------------ 05
def test_05_highest_wsepin_per_latent_size(tabs, tmp_path):
    text = _report("05", tabs, tmp_path, wsepin_samples=300)
    line = _bullet(text, "WSEPIN")
    sc = tabs[T.DISENTANGLE_SCORES]
    for d, g in sc.groupby("latent_dim"):
        best = g.loc[g["wsepin"].idxmax()]
        assert f"{d}: {registry.model_label(best['model'])} {best['wsepin']:.3f}" in line
    top = sc.loc[sc["wsepin"].idxmax()]
    assert (f"Overall best: {registry.model_label(top['model'])} at {top['latent_dim']} dims"
            in line)
    assert "β-VAE at 10 dims" in line               # the paper's best (Fig 7)
    assert "300 Monte-Carlo pairs instead of 10,000" in text


def test_05_table1_and_rmig(tabs, tmp_path):
    text = _report("05", tabs, tmp_path)
    line = _bullet(text, "Disentangled features")
    sc = tabs[T.DISENTANGLE_SCORES]
    for d, n in sc.groupby("latent_dim")["n_disentangled"].sum().items():
        assert f"{d} dims: {n} over" in line
    rm = tabs[T.RMIG]
    top = rm.loc[rm["rmig"].idxmax()]
    line = _bullet(text, "Normalised RMIG")
    assert f"Largest: {top['rmig']:.3f} ({registry.model_label(top['model'])}" in line
    assert "Paper (Fig 9, S8): < 0.1" in line


def test_05_absent_features_and_missing_tables(tabs, tmp_path):
    t = public_export_tables(tabs, survival=True, gtex=True,
                             absent_features=("sbs_1", "sbs_40"))
    text = _report("05", t, tmp_path)
    assert "- **Features sbs_1, sbs_40.** Not computed because" in text
    empty = _report("05", {}, tmp_path)
    for topic in ("WSEPIN", "Disentangled features", "Normalised RMIG"):
        assert "Not computed because" in _bullet(empty, topic)


# ------------------------------------------------------------------ 02 and 01
def test_02_failures_by_learning_rate(tabs, tmp_path):
    runs = tabs[T.RUNS_TCGA]
    text = findings.report("02", "none", tmp_path, records=runs, sources={})
    line = _bullet(text, "Failures by learning rate")
    g = runs.assign(f=runs.status == "failed").groupby("lr")["f"].agg(["sum", "size"])
    for lr, r in g.iterrows():
        assert f"lr {lr:.0e}: {int(r['sum'])}/{int(r['size'])}" in line
    assert "consistent with the paper" in line     # planted: failures at lr 1e-1 only
    assert "36/36 failed" in line or "this run" in line
    nf = int((runs.status == "failed").sum())
    assert f"{len(runs)} trainings, {nf} failed" in _bullet(text, "Trainings")
    assert "here lr matters most" in _bullet(text, "Which hyperparameters decide failure")


def test_02_and_01_without_inputs(tmp_path):
    text = findings.report("02", "none", tmp_path)
    assert "Not computed because the grid store" in text
    text = findings.report("01", "none", tmp_path)
    assert text.count("Not computed because") == 2


def test_01_cohort_sizes_against_the_paper(tmp_path):
    from vae_core.data import preprocess, simulate, write_h5ad

    a = preprocess(simulate("tcga", n_samples=300, n_genes=120, seed=0), n_top_genes=40)
    write_h5ad(a, paths.data_path("p", "tcga", tmp_path))
    text = findings.report("01", "p", tmp_path)
    line = _bullet(text, "TCGA-side cohort")
    assert (f"{a.n_obs:,} samples, {a.obs['label'].nunique()} cancer types, 40 of 120 genes"
            in line)
    assert "11,014 samples, 33 cancer types, 5,000 genes" in line
    assert "expected, the cohort is simulated" in line
    # no GTEx file beside a TCGA one: the GTEx side is absent by choice
    assert "Not computed because no GTEx-side cohort" in _bullet(text, "GTEx-side cohort")
    n_surv = int((a.obs["os_time"].notna() & a.obs["os_event"].notna()).sum())
    assert f"{n_surv:,} samples have overall survival" in text


# ------------------------------------------------------------------ 06 and reading a run
def test_06_counts_equal_the_scorecard(tabs, tmp_path):
    text = _report("06", tabs, tmp_path, gtex_source="simulated")
    rows = scorecard_rows(tabs, gtex_source="simulated")
    n = {k: int((rows["agrees"] == k).sum()) for k in (YES, NO, NA)}
    assert (f"Of {len(rows)} claims and numbers of the paper, {n[YES]} agree, {n[NO]} "
            f"disagree and {n[NA]} are not evaluable here") in text
    for claim in rows.loc[rows["agrees"] == NO, "claim"]:
        assert claim in _bullet(text, "Disagreeing rows")


def test_reads_a_run_from_disk(tmp_path):
    write_synthetic_tables(paths.tables_dir("disk", tmp_path), 0, **SMALL)
    text = findings.report("03", "disk", tmp_path)
    assert "Mean ARI per model (Leiden" in text and "Not computed" not in text.split(
        "Why this run")[0].split("Equal loss")[0]
    text = findings.report("06", "disk", tmp_path, source="simulated")
    assert "The TCGA-side cohort is simulated" in text
    assert findings.report("06", "absent", tmp_path).count("Not computed because") == 1


@pytest.mark.parametrize("step", findings.STEPS)
def test_no_input_never_raises(step, tmp_path):
    text = findings.report(step, "nothing", tmp_path)
    assert "Not computed because" in text
    assert "raised" not in text


def test_show_prints_outside_a_notebook(tabs, tmp_path, capsys):
    findings.show("04", "none", tmp_path, t=tabs, **NOWHERE)
    assert "TCGA-GTEx concordance" in capsys.readouterr().out
    with pytest.raises(ValueError, match="unknown step"):
        findings.sentences("07")


def test_findings_do_not_import_torch():
    code = "import sys\nimport vae_core.findings\nprint('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO).stdout
    assert out.strip() == "False"


# ------------------------------------------------------------------ the notebooks
def _cells(nb_path: Path) -> list[dict]:
    return json.loads(nb_path.read_text())["cells"]


def _text(cell: dict) -> str:
    return "".join(cell["source"])


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_opens_with_question_method_and_parameters(nb_path):
    cells = _cells(nb_path)
    first = _text(cells[0])
    assert cells[0]["cell_type"] == "markdown" and first.startswith(f"# {nb_path.name[:2]} ")
    question = re.search(r"\*\*Question\.\*\*([^\n]*)", first)
    assert question and "?" in question.group(1), "the first cell states a question"
    assert re.search(r'(Results|Methods), "[^"]+"', question.group(1)), \
        "the question cites a section of the paper"
    assert "**Method.**" in first
    params = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    scope: dict = {}
    exec(_text(params[0]), {}, scope)  # noqa: S102 - the project's own notebook
    table = first.split("**Parameters**", 1)[1]
    named = set(re.findall(r"`([a-z_0-9]+)`", table))
    assert not set(scope) - named, f"parameters not explained: {sorted(set(scope) - named)}"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_ends_with_what_this_run_shows(nb_path):
    cells = _cells(nb_path)
    head, call = cells[-2], cells[-1]
    assert head["cell_type"] == "markdown"
    assert _text(head).startswith("## What this run shows")
    assert call["cell_type"] == "code" and not call.get("outputs")
    assert f'findings.show("{nb_path.name[:2]}", profile, base_dir' in _text(call)


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_markdown_cites_the_paper_not_internal_notes(nb_path):
    md = "\n".join(_text(c) for c in _cells(nb_path) if c["cell_type"] == "markdown")
    for word in ("SPEC", "STYLE"):
        assert word not in md
    assert not re.search(r"(?i)\bissue[ -]?#?\d+", md)
    for eq in re.findall(r"Eq (\d+)", md):
        assert 1 <= int(eq) <= 12, f"the paper has Eq 1-12, not Eq {eq}"
    assert all("id" in c for c in _cells(nb_path)[-2:])
