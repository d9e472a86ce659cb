"""Helpers for ``run_all.sh``: name the failing cell of an executed notebook; write the index page.

    python -m vae_core.nbreport failure results/quick/notebooks/03_downstream.ipynb
    python -m vae_core.nbreport index --profile quick [--root DIR]
"""

from __future__ import annotations

import argparse
import html
import json
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


def write_index(profile: str, root: str | Path | None = None) -> Path:
    """Write ``results/<profile>/index.html`` linking every executed notebook and figure file."""
    res = paths.results_dir(profile, root)
    fig = paths.figures_dir(profile, root)
    res.mkdir(parents=True, exist_ok=True)
    rows = [f"<h1>vae-benchmark — profile <code>{html.escape(profile)}</code></h1>"]
    nbs = sorted((res / "notebooks").glob("*.html"))
    rows.append("<h2>Executed notebooks</h2><ul>")
    rows += [f'<li><a href="{p.relative_to(res)}">{html.escape(p.stem)}</a></li>' for p in nbs]
    rows.append("</ul>")
    rows.append(f"<h2>Figures and tables</h2><p>{html.escape(str(fig))}</p><ul>")
    if fig.exists():
        for p in sorted(fig.rglob("*")):
            if p.is_file():
                rel = Path("..", "..", "figures", profile, p.relative_to(fig)).as_posix()
                rows.append(f'<li><a href="{rel}">{html.escape(p.name)}</a></li>')
    rows.append("</ul>")
    out = res / "index.html"
    out.write_text("<!doctype html><meta charset='utf-8'><title>vae-benchmark "
                   f"{html.escape(profile)}</title>\n" + "\n".join(rows) + "\n")
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
