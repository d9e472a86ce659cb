"""Helpers for ``run_all.sh``: name the failing cell of an executed notebook; write the results
page and the run's provenance.

    python -m vae_core.nbreport failure results/quick/notebooks/03_downstream.ipynb
    python -m vae_core.nbreport index --profile quick [--root DIR] [--params FILE]
                                      [--set KEY=VALUE ...]

``index`` writes ``results/<profile>/provenance.json`` (``provenance.run_provenance``) and
``results/<profile>/index.html``, laid out like the paper's Results section (``docs/design.md``,
"Results page and provenance"): per subsection of ``plots.catalog.SECTIONS`` its figures and
tables with their captions, the scorecard rows that test each one beside it (``catalog.
claim_output``), the drawing function and a link to the cell of the executed notebook 06 that
drew it; then the models and metrics, the full scorecard, the executed notebooks and the
provenance. Offline: relative links only, CSS inline, no scripts.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import sys
from pathlib import Path

from . import paths

#: The notebook that draws every figure and table (its HTML carries an anchor per output).
FIGURES_NOTEBOOK = "06_figures"


def failing_cell(notebook: str | Path) -> str:
    """Describe the first cell of an executed notebook that raised: index, first line, error."""
    nb = json.loads(Path(notebook).read_text())
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                src = "".join(cell.get("source", "")).strip().splitlines()
                first = next((ln for ln in src if ln.strip() and not ln.startswith("#")),
                             src[0] if src else "")
                return (f"failing cell: #{i} (execution count {cell.get('execution_count')}), "
                        f"starting `{first[:100]}`\n  {out.get('ename')}: {out.get('evalue')}")
    return f"no cell with an error output found in {notebook} (did the kernel die?)"


_CSS = """<style>
body{font-family:system-ui,sans-serif;max-width:1400px;margin:1.5em auto;padding:0 1em;
 color:#222;line-height:1.4}
h2{border-bottom:2px solid #cfd8dc;padding-bottom:.2em;margin-top:2em}
code{font-size:.9em}
nav.toc{background:#f5f7f8;border:1px solid #dde3e6;border-radius:6px;padding:.5em 1em}
nav.toc ol{margin:.3em 0;columns:2}
.banner{border-left:4px solid #e0a800;background:#fff8e1;padding:.5em 1em;margin:1em 0}
.notes{border-left:4px solid #b00020;background:#fdecea;padding:.5em 1em;margin:1em 0}
.summary{font-size:1.05em}
.item{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:18px;
 margin:1.2em 0;padding-top:1em;border-top:1px solid #e6e6e6}
@media (max-width:900px){.item{grid-template-columns:1fr}}
figure{margin:0}
figure img{width:100%;height:auto;border:1px solid #e3e3e3;background:white}
figcaption,.caption{font-size:.9em;margin-top:4px}
.meta{font-size:.82em;color:#455a64;margin-top:4px}
.note{font-size:.85em;color:#8a1020;margin-top:4px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:14px}
.missing{color:#b00020;font-weight:bold}
pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:0.8em}
aside.claims h4{margin:0 0 .3em}
aside.claims p.none{color:#666;font-size:.85em}
.claims table,.scorecard table,.kv table,.md table{border-collapse:collapse;width:100%;
 font-size:0.82em;margin:0.5em 0 1.2em}
.scorecard th,.claims th,.kv th,.md th{background:#eceff1;text-align:left}
.scorecard th{position:sticky;top:0}
.scorecard th,.scorecard td,.claims th,.claims td,.kv th,.kv td,.md th,.md td{
 border:1px solid #cfd8dc;padding:4px 6px;vertical-align:top}
.scorecard blockquote{border-left:4px solid #e0a800;background:#fff8e1;margin:1em 0;
 padding:0.5em 1em}
tr.agree td{background:#e8f5e9}
tr.disagree td{background:#ffebee}
tr.na td{background:#f5f5f5;color:#555}
td.verdict{font-weight:bold;white-space:nowrap}
tr.agree td.verdict{color:#1b5e20}
tr.disagree td.verdict{color:#b71c1c}
.rule{display:block;color:#607d8b;font-size:.9em}
.kv td.k{white-space:nowrap;font-weight:bold;width:12em}
.sha{font-family:monospace;font-size:.85em;word-break:break-all}
.badge{background:#b00020;color:white;border-radius:3px;padding:0 4px;font-size:.85em}
</style>"""

#: Text mark and row class of each scorecard verdict (colour alone is not enough to read).
_VERDICTS = {"yes": ("\u2714 agrees", "agree"), "no": ("\u2718 disagrees", "disagree"),
             "n/a": ("\u2013 n/a", "na")}


def _inline(text: str) -> str:
    """HTML of one line of the scorecard's Markdown: escaped, with **bold** and `code`."""
    out = html.escape(text.replace("\\|", "|"), quote=False)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", out)


def _cells(line: str) -> list[str]:
    """Cells of a Markdown table line (``\\|`` is a literal bar inside a cell)."""
    body = line.strip()
    body = body.removeprefix("|")
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [c.strip() for c in re.split(r"(?<!\\)\|", body)]


def _table_html(lines: list[str]) -> str:
    head = _cells(lines[0])
    verdict_col = head.index("agrees") if "agrees" in head else None
    out = ["<table>", "<thead><tr>" + "".join(f"<th>{_inline(h)}</th>" for h in head)
           + "</tr></thead>", "<tbody>"]
    for line in lines[2:]:
        cells = _cells(line)
        cls, tds = "", []
        for i, c in enumerate(cells):
            if i == verdict_col:
                mark, cls = _VERDICTS.get(c.strip("*").strip(), (c.strip("*"), ""))
                tds.append(f"<td class='verdict'>{html.escape(mark)}</td>")
            else:
                tds.append(f"<td>{_inline(c)}</td>")
        out.append(f"<tr class='{cls}'>" + "".join(tds) + "</tr>" if cls
                   else "<tr>" + "".join(tds) + "</tr>")
    out += ["</tbody>", "</table>"]
    return "\n".join(out)


def _markdown_html(markdown: str, skip_title: bool, css_class: str) -> str:
    lines = markdown.splitlines()
    if skip_title:
        first = next((k for k, ln in enumerate(lines) if ln.strip()), None)
        if first is not None and lines[first].startswith("# "):
            lines = lines[first + 1:]
    out: list[str] = [f"<div class='{css_class}'>"]
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("|"):
            j = i
            while j < len(lines) and lines[j].startswith("|"):
                j += 1
            out.append(_table_html(lines[i:j]))
            i = j
            continue
        m = re.match(r"^(#+)\s+(.*)$", line)
        if m:
            level = min(len(m.group(1)) + 2, 6)
            out.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
        elif line.startswith(">"):
            out.append(f"<blockquote>{_inline(line.lstrip('> '))}</blockquote>")
        elif line.strip():
            out.append(f"<p>{_inline(line)}</p>")
        i += 1
    out.append("</div>")
    return "\n".join(out)


def scorecard_html(markdown: str, skip_title: bool = False) -> str:
    """The scorecard's Markdown (``plots.scorecard_markdown``) as an HTML fragment.

    Headings become ``h3``/``h4``, ``>`` lines a highlighted note, Markdown tables HTML tables;
    in the claims table each row is coloured and marked by its verdict (class ``agree``,
    ``disagree`` or ``na``; text "✔ agrees", "✘ disagrees", "– n/a"). Only the constructs that
    ``scorecard_markdown`` writes are understood; anything else is a paragraph.
    ``skip_title``: drop the first ``# `` heading (the page has its own).
    """
    return _markdown_html(markdown, skip_title, "scorecard")


def scorecard_claims(markdown: str) -> list[dict[str, str]]:
    """The rows of the claims table of a ``scorecard.md`` (the table whose header starts with
    ``section | claim``), as dicts keyed by its header (``section``, ``claim``, ``paper``,
    ``this run``, ``n``, ``agrees when``, ``agrees`` without the bold marks, ``95% interval``)."""
    lines = markdown.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("|"):
            continue
        head = _cells(line)
        if head[:2] != ["section", "claim"]:
            continue
        rows = []
        for body in lines[i + 2:]:
            if not body.startswith("|"):
                break
            cells = [c.replace("\\|", "|") for c in _cells(body)]
            row = dict(zip(head, cells + [""] * (len(head) - len(cells)), strict=True))
            row["agrees"] = row.get("agrees", "").strip("*").strip()
            rows.append(row)
        return rows
    return []


def _models_and_metrics(t: dict, fig: Path, rel, esc) -> list[str]:
    """HTML: one line per model of the run (registered label, trainings, mean ARI) and one line
    per registered downstream metric (columns, direction, mean per model, its figure)."""
    import numpy as np
    import pandas as pd

    from . import registry, tables
    from .downstream import metrics
    from .plots.io import na_reason

    runs = t.get(tables.RUNS_TCGA, pd.DataFrame())
    ok = runs[runs["status"] == "ok"] if len(runs) and "status" in runs else runs
    rows = ["<h2 id='models'>Models and metrics</h2><h3>Models</h3><ul>"]
    present = list(dict.fromkeys(runs["model"].astype(str))) if len(runs) else []
    names = registry.model_names()
    order = [m for m in names if m in present] + sorted(set(present) - set(names))
    for m in order:
        sel = ok[ok["model"].astype(str) == m] if len(ok) else ok
        ari = pd.to_numeric(sel.get("ari", pd.Series(dtype=float)), errors="coerce").dropna()
        paper = "the paper's" if registry.is_paper_model(m) else "registered (not in the paper)"
        rows.append(f"<li><b>{esc(registry.model_label(m))}</b> (<code>{esc(m)}</code>, "
                    f"{paper}): {int((runs['model'].astype(str) == m).sum())} TCGA-side "
                    f"trainings, {len(sel)} ok"
                    + (f", mean ARI {ari.mean():.3f}" if len(ari) else "") + "</li>")
    if not order:
        rows.append("<li><i>no TCGA-side run table</i></li>")
    rows.append("</ul><h3>Downstream metrics</h3><ul>")
    for m in metrics():
        col = m.score
        png = fig / f"metric_{m.name}.png"
        link = f' — <a href="{rel(png)}">metric_{esc(m.name)}.png</a>' if png.exists() else ""
        direction = {True: "higher is better", False: "lower is better"}.get(
            m.higher_is_better, "no direction")
        if len(ok) and col in ok.columns:
            v = pd.to_numeric(ok[col], errors="coerce")
            per = v.groupby(ok["model"].astype(str)).mean().dropna()
            txt = ", ".join(f"{esc(registry.model_label(k))} {x:.3g}" for k, x in per.items()
                            if np.isfinite(x))
            if not txt:
                why = na_reason(runs, col, m.reason_column) or "no finite value in this run"
                txt = f"n/a: not computed because {esc(why)}"
        else:
            txt = "n/a: not computed in this run"
        origin = "the paper's" if m.builtin else "registered"
        rows.append(f"<li><b>{esc(m.label)}</b> (<code>{esc(m.name)}</code>, {origin}; "
                    f"columns {esc(', '.join(m.columns))}; {direction}): mean per model: "
                    f"{txt}{link}</li>")
    rows.append("</ul>")
    return rows


def _not_computed(t: dict, params: dict) -> list[tuple[str, str]]:
    """(what, why) for each part of the analysis this run could not compute: a registered
    metric without any finite value (``plots.io.na_reason``), the GTEx side, absent features."""
    import pandas as pd

    from . import tables
    from .downstream import metrics
    from .plots.build import absent_features
    from .plots.io import NO_GTEX, na_reason, successful

    out = []
    runs = t.get(tables.RUNS_TCGA, pd.DataFrame())
    if len(successful(runs)):
        for m in metrics():
            why = na_reason(runs, m.score, m.reason_column)
            if why:
                out.append((f"{m.label} (<code>{html.escape(m.name)}</code>)", why))
    gtex = t.get(tables.RUNS_GTEX, pd.DataFrame())
    if str(params.get("gtex_source", "")).lower() == "none" or not len(gtex):
        out.append(("GTEx side (Fig 6, S7)", NO_GTEX))
    absent = absent_features(t)
    if absent:
        out.append(("Disentanglement of " + ", ".join(f"<code>{html.escape(f)}</code>"
                                                      for f in absent),
                    ("feature absent from this cohort (not scored, never counted as "
                    "disentangled)")))
    return out


def _html_ids(path: Path) -> set[str]:
    """Every ``id`` attribute of an HTML file (empty when it cannot be read)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    return {html.unescape(m) for m in re.findall(r"""\sid=["']([^"']+)["']""", text)}


def _cell_ids(notebook: Path) -> dict[str, str]:
    """output name -> id of the code cell of an executed notebook whose source names it
    (``plots.show("<name>", ...)``): the fallback anchor ``cell-id=<id>`` of nbconvert."""
    try:
        nb = json.loads(notebook.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out: dict[str, str] = {}
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code" or not cell.get("id"):
            continue
        src = "".join(cell.get("source", ""))
        for name in re.findall(r"""show\(\s*["']([^"']+)["']""", src):
            out.setdefault(name, str(cell["id"]))
    return out


class _NotebookLinks:
    """Links from an output to the cell of the executed notebook 06 that drew it: the anchor
    ``<name>`` that ``plots.show`` writes, else nbconvert's ``cell-id=<id>`` of the cell that
    names it, else the notebook itself; only anchors present in the HTML are used."""

    def __init__(self, nbdir: Path, rel):
        self.html = nbdir / f"{FIGURES_NOTEBOOK}.html"
        self.ipynb = nbdir / f"{FIGURES_NOTEBOOK}.ipynb"
        self.rel = rel
        self.ids = _html_ids(self.html) if self.html.exists() else set()
        self.cells = _cell_ids(self.ipynb) if self.html.exists() else {}

    def href(self, name: str) -> str | None:
        """The link target for output ``name`` (relative to the page), None without notebook."""
        if self.html.exists():
            base = self.rel(self.html)
            if name in self.ids:
                return f"{base}#{name}"
            cell = self.cells.get(name)
            if cell and f"cell-id={cell}" in self.ids:
                return f"{base}#cell-id={cell}"
            return base
        return self.rel(self.ipynb) if self.ipynb.exists() else None

    def html_link(self, name: str) -> str:
        target = self.href(name)
        if target is None:
            return f"<span class='missing'>notebook {FIGURES_NOTEBOOK} not executed</span>"
        what = "the cell that drew it" if "#" in target else "the notebook"
        return (f'<a href="{html.escape(target)}">{FIGURES_NOTEBOOK}: {what}</a>')


def _claims_html(rows: list[dict[str, str]]) -> str:
    """The scorecard rows beside an output: claim (with its rule), paper, this run, n, verdict."""
    if not rows:
        return ("<aside class='claims'><h4>Scorecard</h4><p class='none'>No claim of the "
                "scorecard tests this output.</p></aside>")
    out = ["<aside class='claims'><h4>Scorecard: the paper vs this run</h4><table>",
           ("<thead><tr><th>claim</th><th>paper</th><th>this run</th><th>n</th>"
           "<th>agrees</th></tr></thead><tbody>")]
    for r in rows:
        mark, cls = _VERDICTS.get(r.get("agrees", ""), (r.get("agrees", ""), ""))
        interval = r.get("95% interval", "")
        run = _inline(r.get("this run", "")) + (
            f"<span class='rule'>95% interval: {_inline(interval)}</span>" if interval else "")
        out.append(f"<tr class='{cls}'><td>{_inline(r.get('claim', ''))}"
                   f"<span class='rule'>{_inline(r.get('section', ''))}; agrees when "
                   f"{_inline(r.get('agrees when', ''))}</span></td>"
                   f"<td>{_inline(r.get('paper', ''))}</td><td>{run}</td>"
                   f"<td>{_inline(r.get('n', ''))}</td>"
                   f"<td class='verdict'>{html.escape(mark)}</td></tr>")
    out.append("</tbody></table></aside>")
    return "\n".join(out)


def _slug(text: str) -> str:
    return "sec-" + re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _fmt_bytes(n) -> str:
    if not isinstance(n, (int, float)):
        return "n/a"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover


def _fmt_mb(v) -> str:
    if not isinstance(v, (int, float)):
        return "n/a"
    return f"{v / 1024:.2f} GB" if v >= 1024 else f"{v:.0f} MB"


def _fmt_s(v) -> str:
    if not isinstance(v, (int, float)):
        return "n/a"
    return f"{v:.0f} s" if v < 120 else f"{int(v // 60)} min {v % 60:02.0f} s"


def provenance_html(prov: dict, rel_json: str = "provenance.json") -> str:
    """The "Provenance" section of the page from ``provenance.run_provenance``'s dict."""
    esc = html.escape

    def kv(rows):
        return ("<div class='kv'><table>" + "".join(
            f"<tr><td class='k'>{esc(k)}</td><td>{v}</td></tr>" for k, v in rows)
            + "</table></div>")

    git = prov.get("git")
    if git is None:
        commit = "n/a: not a git checkout"
    else:
        commit = f"<code>{esc(str(git.get('commit')))}</code>" + (
            " <span class='badge'>modified</span> (the work tree differs from this commit)"
            if git.get("modified") else " (clean work tree)")
    out = ["<h2 id='provenance'>Provenance</h2>",
           f"<p>Machine-readable: <a href=\"{esc(rel_json)}\">provenance.json</a>.</p>",
           kv([("date (UTC)", esc(str(prov.get("date_utc")))),
               ("profile", f"<code>{esc(str(prov.get('profile')))}</code>"),
               ("vae_core", esc(str(prov.get("vae_core")))), ("git commit", commit)])]
    vers = prov.get("versions") or {}
    out.append("<h3>Versions</h3>" + kv([(k, esc(str(v)) if v is not None else "not installed")
                                        for k, v in vers.items()]))
    m = prov.get("machine") or {}
    gpu = m.get("gpu")
    gpu_txt = ("none" if not gpu else "; ".join(
        f"{esc(str(g.get('name')))} ({g.get('memory_gb')} GB)" for g in gpu))
    out.append("<h3>Machine</h3>" + kv([
        ("CPU", esc(str(m.get("cpu")))),
        ("cores", f"{m.get('cores')} ({m.get('usable_cores')} usable by this run)"),
        ("memory", f"{m.get('memory_gb')} GB"), ("GPU", gpu_txt),
        ("host", esc(str(m.get("host")))), ("OS", esc(str(m.get("os"))))]))
    data = prov.get("data") or []
    out.append("<h3>Data</h3>")
    if data:
        out.append("<div class='kv'><table><thead><tr><th>cohort</th><th>file</th><th>size</th>"
                   "<th>SHA-256</th><th>origin</th></tr></thead><tbody>")
        for d in data:
            inputs = "".join(
                f"<br>input {esc(str(i.get('name')))}: <code>{esc(str(i.get('path')))}</code> "
                f"<span class='sha'>{esc(str(i.get('sha256')))}</span>"
                for i in d.get("inputs") or [])
            out.append(f"<tr><td>{esc(str(d.get('cohort')))}</td>"
                       f"<td><code>{esc(str(d.get('file')))}</code></td>"
                       f"<td>{_fmt_bytes(d.get('bytes'))}</td>"
                       f"<td class='sha'>{esc(str(d.get('sha256')))}</td>"
                       f"<td>{esc(str(d.get('origin')))}{inputs}</td></tr>")
        out.append("</tbody></table></div>")
    else:
        out.append("<p class='missing'>no cohort file in data/ (notebook 01 not run?)</p>")
    nbs = prov.get("notebooks") or []
    out.append("<h3>Notebooks: wall time and peak memory</h3>")
    if nbs:
        out.append("<div class='kv'><table><thead><tr><th>notebook</th><th>started (UTC)</th>"
                   "<th>wall time</th><th>peak memory, largest process</th>"
                   "<th>peak memory, whole process tree</th><th>exit code</th></tr></thead>"
                   "<tbody>")
        for e in nbs:
            out.append(f"<tr><td>{esc(str(e.get('notebook')))}</td>"
                       f"<td>{esc(str(e.get('start_utc')))}</td><td>{_fmt_s(e.get('wall_s'))}"
                       f"</td><td>{_fmt_mb(e.get('max_rss_mb'))}</td>"
                       f"<td>{_fmt_mb(e.get('peak_total_rss_mb'))}</td>"
                       f"<td>{esc(str(e.get('exit_code')))}</td></tr>")
        out.append(f"</tbody></table></div><p>Total: {_fmt_s(prov.get('wall_s_total'))} "
                   "(notebooks only). The largest process is the kernel or one of its workers "
                   "(<code>getrusage</code>); the whole tree is sampled every second.</p>")
    else:
        out.append("<p>No run log (<code>run_log.jsonl</code>): the notebooks were not run by "
                   "<code>run_all.sh</code>.</p>")
    par = prov.get("params")
    out.append("<h3>Parameters</h3>")
    if par:
        over = par.get("overrides") or {}
        out.append(kv([("params file", f"<code>{esc(str(par.get('file')))}</code>"),
                       ("SHA-256", f"<span class='sha'>{esc(str(par.get('sha256')))}</span>"),
                       ("command-line overrides", ", ".join(
                           f"<code>{esc(str(k))} = {esc(str(v))}</code>"
                           for k, v in over.items()) or "none")]))
        out.append("<details><summary>The params file as used</summary><pre>"
                   f"{esc(str(par.get('content')))}</pre></details>")
    else:
        out.append("<p>No params file was given to the page.</p>")
    return "\n".join(out)


def write_index(profile: str, root: str | Path | None = None, *,
                params_file: str | Path | None = None, params: dict | None = None,
                overrides: dict | None = None) -> Path:
    """Write ``results/<profile>/provenance.json`` and ``results/<profile>/index.html``.

    The page follows the paper's Results section: for each subsection of
    ``plots.catalog.SECTIONS`` its figures (inline, linking to PNG and PDF) and tables (inline,
    linking to Markdown and CSV) with their captions, the drawing ``vae_core`` function, a link
    to the cell of the executed notebook 06 that drew it, the scorecard rows that test it
    beside it (``catalog.claim_output``), and what this run could not compute and why. Then
    the models and metrics, the full scorecard, the executed notebooks (with wall time and
    peak memory), the provenance (``provenance.run_provenance``), other files and any
    expected file that is missing. Load the run's plugins first (``main`` does, from the
    params file) so that their models, metrics and figures are listed. ``params`` (the parsed
    ``params_file``) and ``overrides`` (command-line values) go into the provenance.
    """
    from . import provenance
    from .plots import catalog
    from .plots.build import expected_files
    from .plots.expected import SCORECARD
    from .plots.io import NO_GTEX, load_tables

    res = paths.results_dir(profile, root)
    fig = paths.figures_dir(profile, root)
    res.mkdir(parents=True, exist_ok=True)
    values = {**(params or {}), **(overrides or {})}

    prov_path = provenance.write_run_provenance(profile, res, params_file=params_file,
                                                params=params, overrides=overrides)
    prov = json.loads(prov_path.read_text())

    def rel(p: Path) -> str:
        return Path(os.path.relpath(p, res)).as_posix()

    esc = html.escape
    try:
        t = load_tables(profile, root)
    except (OSError, ValueError):
        t = {}
    expected = expected_files(t)
    outs = catalog.outputs(t)
    score = fig / SCORECARD
    claims = scorecard_claims(score.read_text()) if score.exists() else []
    beside: dict[str, list[dict]] = {}
    unplaced: list[dict] = []
    for r in claims:
        o = catalog.claim_output(r.get("section", ""), r.get("claim", ""), outs)
        (beside.setdefault(o.name, []) if o is not None else unplaced).append(r)
    links = _NotebookLinks(res / "notebooks", rel)
    not_computed = _not_computed(t, values)
    # HTML notes per output: every table it reads empty, or a reason of ``not_computed`` that
    # its scorecard rows are n/a for (each reason once)
    notes: dict[str, list[str]] = {}
    noted: dict[str, set[str]] = {}
    for o in outs:
        if o.reads and all(not len(t.get(r, ())) for r in o.reads):
            gtex_only = set(o.reads) <= {"runs_gtex.csv", "tcga_vs_gtex.csv"}
            why = NO_GTEX if gtex_only else "no data"
            noted.setdefault(o.name, set()).add(why)
            notes.setdefault(o.name, []).append(
                f"Not computed because {esc(why)} (the tables it reads, "
                + ", ".join(f"<code>{esc(r)}</code>" for r in o.reads) + ", are empty)")
    for name, rows in beside.items():
        for r in rows:
            for what, why in not_computed:
                if why in r.get("this run", "") and why not in noted.setdefault(name, set()):
                    noted[name].add(why)
                    notes.setdefault(name, []).append(f"{what} not computed because {esc(why)}")

    sections = [s for s in catalog.SECTIONS if any(o.section == s for o in outs)]
    sections += [s for s in dict.fromkeys(o.section for o in outs) if s not in sections]
    n_yes = sum(r["agrees"] == "yes" for r in claims)
    n_no = sum(r["agrees"] == "no" for r in claims)
    n_na = sum(r["agrees"] == "n/a" for r in claims)
    missing = [f for f in expected if not (fig / f).is_file()]

    rows = [f"<h1>vae-benchmark — results of profile <code>{esc(profile)}</code></h1>",
            ("<p>A re-implementation of Eltager et al., <i>Benchmarking variational "
             "autoencoders on cancer transcriptomics data</i>, PLoS ONE 2023. This page follows "
             "the paper's Results section: each figure with its caption, and beside it the "
             "scorecard's claims about it, the paper's value next to this run's.</p>"),
            (f"<p class='meta'>Results: <code>{esc(str(res))}</code> · figures and tables: "
             f"<code>{esc(str(fig))}</code> · written {esc(str(prov.get('date_utc')))}</p>")]
    simulated = [d for d in prov.get("data") or []
                 if str(d.get("origin", "")).startswith("simulated")]
    if simulated:
        rows.append("<p class='banner'><b>This run is on simulated cohorts</b> ("
                    + ", ".join(f"{esc(str(d['cohort']))}: {esc(str(d['origin']))}"
                                for d in simulated)
                    + "), not on TCGA or GTEx: agreement or disagreement with the paper says "
                    "how the pipeline behaves, not whether the paper's findings hold.</p>")
    toc = [f'<li><a href="#{_slug(s)}">{esc(s)}</a></li>' for s in sections]
    toc += ['<li><a href="#models">Models and metrics</a></li>',
            '<li><a href="#scorecard">Full scorecard</a></li>',
            '<li><a href="#notebooks">Executed notebooks</a></li>',
            '<li><a href="#provenance">Provenance</a></li>']
    if missing:
        toc.append('<li><a href="#missing" class="missing">Missing expected files</a></li>')
    rows.append("<nav class='toc'><b>Contents</b><ol>" + "".join(toc) + "</ol></nav>")
    if claims:
        rows.append(f"<p class='summary'>Scorecard: <b>{n_yes}</b> claims agree, <b>{n_no}</b> "
                    f"disagree, <b>{n_na}</b> cannot be evaluated in this run (of "
                    f"{len(claims)}; <a href=\"#scorecard\">full scorecard</a>, "
                    f'<a href="{rel(score)}">{SCORECARD}</a>).</p>')
    else:
        rows.append(f'<p class="missing">{SCORECARD} missing: no claims beside the figures.</p>')
    if not_computed:
        rows.append("<div class='notes'><b>Not computed in this run</b><ul>"
                    + "".join(f"<li>{what}: not computed because {esc(why)}</li>"
                              for what, why in not_computed) + "</ul></div>")

    for section in sections:
        rows.append(f'<section id="{_slug(section)}"><h2>{esc(section)}</h2>')
        for o in (o for o in outs if o.section == section):
            rows.append(f'<div class="item" id="{esc(o.name)}">')
            meta = (f"<code>{esc(o.name)}</code>"
                    + (f" · drawn by <code>vae_core.{esc(o.function)}</code>" if o.function
                       else "") + f" · {links.html_link(o.name)}")
            note = "".join(f"<div class='note'>{n}</div>" for n in notes.get(o.name, []))
            if o.kind == "figure":
                png, pdf = fig / f"{o.name}.png", fig / f"{o.name}.pdf"
                if png.exists():
                    files = f'<a href="{rel(png)}">PNG</a>' + (
                        f' · <a href="{rel(pdf)}">PDF</a>' if pdf.exists() else "")
                    rows.append(f'<figure><a href="{rel(png)}"><img src="{rel(png)}" '
                                f'loading="lazy" alt="{esc(o.name)}"></a><figcaption>'
                                f"<b>{esc(o.caption)}</b></figcaption><div class='meta'>"
                                f"{meta} · {files}</div>{note}</figure>")
                else:
                    rows.append(f"<figure><figcaption><b>{esc(o.caption)}</b></figcaption>"
                                f"<p class='missing'><code>{esc(o.name)}.png</code> missing</p>"
                                f"<div class='meta'>{meta}</div>{note}</figure>")
            else:
                md, csv = fig / f"{o.name}.md", fig / f"{o.name}.csv"
                files = " · ".join(f'<a href="{rel(p)}">{p.suffix[1:]}</a>' for p in (md, csv)
                                   if p.exists())
                body = (_markdown_html(md.read_text(), True, "md") if md.exists() else
                        f"<p class='missing'><code>{esc(o.name)}.md</code> missing</p>")
                rows.append(f"<div class='table'><div class='caption'><b>{esc(o.caption)}</b>"
                            f"</div>{body}<div class='meta'>{meta}"
                            + (f" · {files}" if files else "") + f"</div>{note}</div>")
            rows.append(_claims_html(beside.get(o.name, [])))
            rows.append("</div>")
        if section == sections[-1] and unplaced:
            rows.append("<div class='item' id='other-claims'><div><h3>Claims without a figure "
                        "of their own</h3><p>Scorecard rows whose section names no output of "
                        "the catalog.</p></div>" + _claims_html(unplaced) + "</div>")
        rows.append("</section>")

    rows += _models_and_metrics(t, fig, rel, esc)

    rows.append("<h2 id='scorecard'>Full scorecard</h2>")
    if score.exists():
        rows.append(f'<p>Source: <a href="{rel(score)}">{SCORECARD}</a></p>'
                    + scorecard_html(score.read_text(), skip_title=True))
    else:
        rows.append(f'<p class="missing">{SCORECARD} missing</p>')

    nbs = sorted((res / "notebooks").glob("*.ipynb"))
    timing = {e.get("notebook"): e for e in prov.get("notebooks") or []}
    rows.append("<h2 id='notebooks'>Executed notebooks</h2><ul>")
    for p in nbs:
        h = p.with_suffix(".html")
        link = f'<a href="{rel(h)}">{esc(p.stem)}</a>' if h.exists() else esc(p.stem)
        e = timing.get(p.stem)
        cost = (f" — {_fmt_s(e.get('wall_s'))}, peak memory {_fmt_mb(e.get('max_rss_mb'))}"
                if e else "")
        rows.append(f'<li>{link} (<a href="{rel(p)}">ipynb</a>){cost}</li>')
    if not nbs:
        rows.append("<li><i>none yet</i></li>")
    rows.append("</ul>")

    rows.append(provenance_html(prov, rel(prov_path)))

    known = set(expected)
    extra = sorted(p for p in fig.rglob("*") if p.is_file()
                   and p.relative_to(fig).as_posix() not in known) if fig.exists() else []
    if extra:
        rows.append("<h2>Other files</h2><ul>")
        rows += [f'<li><a href="{rel(p)}">{esc(p.relative_to(fig).as_posix())}</a></li>'
                 for p in extra]
        rows.append("</ul>")
    if missing:
        rows.append(f"<h2 id='missing' class='missing'>Missing expected files ({len(missing)})"
                    "</h2><ul>")
        rows += [f"<li><code>{esc(f)}</code></li>" for f in missing]
        rows.append("</ul>")
    out = res / "index.html"
    out.write_text("<!doctype html><meta charset='utf-8'><title>vae-benchmark "
                   f"{esc(profile)}</title>\n{_CSS}\n" + "\n".join(rows) + "\n")
    return out


def _parse_sets(items: list[str]) -> dict[str, object]:
    """``KEY=VALUE`` pairs (the papermill ``-p`` values run_all.sh passed) -> dict."""
    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set expects KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m vae_core.nbreport")
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("failure")
    f.add_argument("notebook")
    i = sub.add_parser("index")
    i.add_argument("--profile", required=True)
    i.add_argument("--root", default=None)
    i.add_argument("--params", default=None,
                   help="the run's params file: its 'plugins:' are loaded first, its content "
                        "goes into provenance.json")
    i.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a parameter run_all.sh passed to papermill on the command line")
    args = ap.parse_args(argv)
    if args.cmd == "failure":
        print(failing_cell(args.notebook))
    else:
        spec = None
        if args.params:
            import yaml

            from . import plugins

            spec = yaml.safe_load(Path(args.params).read_text()) or {}
            plugins.load(spec.get("plugins") or [], base=Path(args.params).resolve().parent)
        page = write_index(args.profile, args.root, params_file=args.params, params=spec,
                           overrides=_parse_sets(args.set))
        print(f"==> index: {page}\n==> provenance: {page.with_name('provenance.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
