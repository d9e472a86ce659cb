"""Helpers for ``run_all.sh``: name the failing cell of an executed notebook; write the index page.

    python -m vae_core.nbreport failure results/quick/notebooks/03_downstream.ipynb
    python -m vae_core.nbreport index --profile quick [--root DIR]
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
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:14px}
figure{margin:0;border:1px solid #ddd;border-radius:6px;padding:8px;background:#fafafa}
figure img{width:100%;height:auto;border:1px solid #eee;background:white}
figcaption{font-size:0.85em;margin-top:4px}
.missing{color:#b00020;font-weight:bold}
pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:0.8em}
.scorecard blockquote{border-left:4px solid #e0a800;background:#fff8e1;margin:1em 0;
 padding:0.5em 1em}
.scorecard table{border-collapse:collapse;width:100%;font-size:0.82em;margin:0.5em 0 1.2em}
.scorecard th{background:#eceff1;text-align:left;position:sticky;top:0}
.scorecard th,.scorecard td{border:1px solid #cfd8dc;padding:4px 6px;vertical-align:top}
.scorecard tr.agree td{background:#e8f5e9}
.scorecard tr.disagree td{background:#ffebee}
.scorecard tr.na td{background:#f5f5f5;color:#555}
.scorecard td.verdict{font-weight:bold;white-space:nowrap}
.scorecard tr.agree td.verdict{color:#1b5e20}
.scorecard tr.disagree td.verdict{color:#b71c1c}
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


def scorecard_html(markdown: str, skip_title: bool = False) -> str:
    """The scorecard's Markdown (``plots.scorecard_markdown``) as an HTML fragment.

    Headings become ``h3``/``h4``, ``>`` lines a highlighted note, Markdown tables HTML tables;
    in the claims table each row is coloured and marked by its verdict (class ``agree``,
    ``disagree`` or ``na``; text "✔ agrees", "✘ disagrees", "– n/a"). Only the constructs that
    ``scorecard_markdown`` writes are understood; anything else is a paragraph.
    ``skip_title``: drop the first ``# `` heading (the page has its own).
    """
    lines = markdown.splitlines()
    if skip_title:
        first = next((k for k, ln in enumerate(lines) if ln.strip()), None)
        if first is not None and lines[first].startswith("# "):
            lines = lines[first + 1:]
    out: list[str] = ["<div class='scorecard'>"]
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


def _models_and_metrics(t: dict, fig: Path, rel, esc) -> list[str]:
    """HTML: one line per model of the run (registered label, trainings, mean ARI) and one line
    per registered downstream metric (columns, direction, mean per model, its figure)."""
    import numpy as np
    import pandas as pd

    from . import registry, tables
    from .downstream import metrics

    runs = t.get(tables.RUNS_TCGA, pd.DataFrame())
    ok = runs[runs["status"] == "ok"] if len(runs) and "status" in runs else runs
    rows = ["<h2>Models</h2><ul>"]
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
    rows.append("</ul><h2>Downstream metrics</h2><ul>")
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
                            if np.isfinite(x)) or "n/a: no finite value in this run"
        else:
            txt = "n/a: not computed in this run"
        origin = "the paper's" if m.builtin else "registered"
        rows.append(f"<li><b>{esc(m.label)}</b> (<code>{esc(m.name)}</code>, {origin}; "
                    f"columns {esc(', '.join(m.columns))}; {direction}): mean per model: "
                    f"{txt}{link}</li>")
    rows.append("</ul>")
    return rows


def write_index(profile: str, root: str | Path | None = None) -> Path:
    """Write ``results/<profile>/index.html``: every executed notebook (HTML + ipynb), the
    models and downstream metrics of the run, every figure of the catalog as a thumbnail
    linking to its PNG and PDF (with its caption), every table (CSV + Markdown), the scorecard,
    and any expected file missing. Load the run's plugins first (``main`` does, from the
    params file) so that their models and metrics are listed."""
    from .plots import catalog
    from .plots.build import expected_files
    from .plots.expected import SCORECARD
    from .plots.io import load_tables

    res = paths.results_dir(profile, root)
    fig = paths.figures_dir(profile, root)
    res.mkdir(parents=True, exist_ok=True)

    def rel(p: Path) -> str:
        return Path(os.path.relpath(p, res)).as_posix()

    esc = html.escape
    rows = [f"<h1>vae-benchmark — profile <code>{esc(profile)}</code></h1>",
            (f"<p>Results: <code>{esc(str(res))}</code><br>Figures and tables: "
            f"<code>{esc(str(fig))}</code></p>")]
    nbs = sorted((res / "notebooks").glob("*.ipynb"))
    rows.append("<h2>Executed notebooks</h2><ul>")
    for p in nbs:
        h = p.with_suffix(".html")
        link = f'<a href="{rel(h)}">{esc(p.stem)}</a>' if h.exists() else esc(p.stem)
        rows.append(f'<li>{link} (<a href="{rel(p)}">ipynb</a>)</li>')
    if not nbs:
        rows.append("<li><i>none yet</i></li>")
    rows.append("</ul>")

    try:
        t = load_tables(profile, root)
    except (OSError, ValueError):
        t = {}
    rows += _models_and_metrics(t, fig, rel, esc)
    expected = expected_files(t)

    score = fig / SCORECARD
    rows.append("<h2>Reproduction scorecard</h2>")
    if score.exists():
        rows.append(f'<p>Source: <a href="{rel(score)}">{SCORECARD}</a></p>'
                    + scorecard_html(score.read_text(), skip_title=True))
    else:
        rows.append(f'<p class="missing">{SCORECARD} missing</p>')

    rows.append("<h2>Figures</h2><div class='grid'>")
    for o in catalog.outputs(t, kind="figure"):
        name, caption = o.name, o.caption
        png, pdf = fig / f"{name}.png", fig / f"{name}.pdf"
        if png.exists():
            links = f'<a href="{rel(png)}">PNG</a>' + (
                f' · <a href="{rel(pdf)}">PDF</a>' if pdf.exists() else "")
            rows.append(f'<figure><a href="{rel(png)}"><img src="{rel(png)}" loading="lazy" '
                        f'alt="{esc(name)}"></a><figcaption><b>{esc(caption)}</b><br>'
                        f"<code>{esc(name)}</code> — {links}</figcaption></figure>")
        else:
            rows.append(f"<figure><figcaption class='missing'>{esc(caption)}: "
                        f"<code>{esc(name)}.png</code> missing</figcaption></figure>")
    rows.append("</div>")

    rows.append("<h2>Tables</h2><ul>")
    for o in catalog.outputs(t, kind="table"):
        name, caption = o.name, o.caption
        links = [f'<a href="{rel(fig / f"{name}.{ext}")}">{ext}</a>' for ext in ("md", "csv")
                 if (fig / f"{name}.{ext}").exists()]
        rows.append(f"<li>{esc(caption)}: <code>{esc(name)}</code> "
                    + (" · ".join(links) if links else "<span class='missing'>missing</span>")
                    + "</li>")
    rows.append("</ul>")

    known = set(expected)
    extra = sorted(p for p in fig.rglob("*") if p.is_file()
                   and p.relative_to(fig).as_posix() not in known) if fig.exists() else []
    if extra:
        rows.append("<h2>Other files</h2><ul>")
        rows += [f'<li><a href="{rel(p)}">{esc(p.relative_to(fig).as_posix())}</a></li>'
                 for p in extra]
        rows.append("</ul>")
    missing = [f for f in expected if not (fig / f).is_file()]
    if missing:
        rows.append(f"<h2 class='missing'>Missing expected files ({len(missing)})</h2><ul>")
        rows += [f"<li><code>{esc(f)}</code></li>" for f in missing]
        rows.append("</ul>")
    out = res / "index.html"
    out.write_text("<!doctype html><meta charset='utf-8'><title>vae-benchmark "
                   f"{esc(profile)}</title>\n{_CSS}\n" + "\n".join(rows) + "\n")
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
                   help="the run's params file: its 'plugins:' are loaded first")
    args = ap.parse_args(argv)
    if args.cmd == "failure":
        print(failing_cell(args.notebook))
    else:
        if args.params:
            import yaml

            from . import plugins

            spec = yaml.safe_load(Path(args.params).read_text()) or {}
            plugins.load(spec.get("plugins") or [], base=Path(args.params).resolve().parent)
        print(f"==> index: {write_index(args.profile, args.root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
