"""Helpers for ``run_all.sh``: name the failing cell of an executed notebook; write the index page.

    python -m vae_core.nbreport failure results/quick/notebooks/03_downstream.ipynb
    python -m vae_core.nbreport index --profile quick [--root DIR]
"""

from __future__ import annotations

import argparse
import html
import json
import os
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
</style>"""


def write_index(profile: str, root: str | Path | None = None) -> Path:
    """Write ``results/<profile>/index.html``: every executed notebook (HTML + ipynb), every
    figure as a thumbnail linking to its PNG and PDF (captioned with the paper figure it
    reproduces), every table (CSV + Markdown), the scorecard, and any expected file missing."""
    from .plots.expected import EXPECTED_FILES, FIGURES, SCORECARD, TABLES

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

    score = fig / SCORECARD
    rows.append("<h2>Reproduction scorecard</h2>")
    if score.exists():
        rows.append(f'<p><a href="{rel(score)}">{SCORECARD}</a></p>'
                    f"<pre>{esc(score.read_text())}</pre>")
    else:
        rows.append(f'<p class="missing">{SCORECARD} missing</p>')

    rows.append("<h2>Figures</h2><div class='grid'>")
    for name, caption in FIGURES.items():
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
    for name, caption in TABLES.items():
        links = [f'<a href="{rel(fig / f"{name}.{ext}")}">{ext}</a>' for ext in ("md", "csv")
                 if (fig / f"{name}.{ext}").exists()]
        rows.append(f"<li>{esc(caption)}: <code>{esc(name)}</code> "
                    + (" · ".join(links) if links else "<span class='missing'>missing</span>")
                    + "</li>")
    rows.append("</ul>")

    known = set(EXPECTED_FILES)
    extra = sorted(p for p in fig.rglob("*") if p.is_file()
                   and p.relative_to(fig).as_posix() not in known) if fig.exists() else []
    if extra:
        rows.append("<h2>Other files</h2><ul>")
        rows += [f'<li><a href="{rel(p)}">{esc(p.relative_to(fig).as_posix())}</a></li>'
                 for p in extra]
        rows.append("</ul>")
    missing = [f for f in EXPECTED_FILES if not (fig / f).is_file()]
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
    args = ap.parse_args(argv)
    if args.cmd == "failure":
        print(failing_cell(args.notebook))
    else:
        print(f"==> index: {write_index(args.profile, args.root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
