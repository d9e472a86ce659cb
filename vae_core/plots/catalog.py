"""The figure and table registry: one entry per output of notebook 06 (name, caption, builder,
tables it reads, the paper's Results section it belongs to).

Everything that lists outputs asks this module: ``expected.FIGURES`` / ``TABLES`` /
``expected_files()``, ``build.draw`` / ``make_table`` / ``build_all``, notebook 06's captions,
``figures/README.md`` (``figures_readme()``) and the results page. Besides the paper's figures,
every registered downstream metric gets ``metric_<name>`` (``downstream.metrics``) and every
registered model the paper does not have gets ``figS_<model>_loss_vs_downstream`` (its Fig 2A/B),
so a plugin's model or metric reaches the figures without editing this package. See
``docs/design.md``, "Registries".

    from vae_core.plots import catalog
    catalog.register_figure("my_fig", "My figure: what it shows", lambda t: my_fig(t["runs_tcga.csv"]),
                            reads=("runs_tcga.csv",), section="Downstream performance")
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from .. import registry
from .. import tables as T
from ..downstream import metric_registry as _metrics

Tables = Mapping[str, pd.DataFrame]

#: The paper's Results subsections, in order (the results page follows them).
SECTIONS: tuple[str, ...] = (
    "Validation loss and downstream performance",
    "Performance of the models",
    "Hyperparameters",
    "Failed trainings",
    "TCGA and GTEx",
    "Disentanglement",
    "Constants",
    "Registered metrics and models",
)


@dataclass(frozen=True)
class Output:
    """One output of notebook 06.

    name      file basename in ``figures/<profile>/`` (figures: .png + .pdf; tables: .csv + .md)
    kind      "figure" or "table"
    caption   what it shows (notebook 06 and the results page print it)
    builder   function of the tables dict returning a Figure (figures) or a DataFrame (tables)
    reads     the tidy tables (``vae_core.tables`` names) it reads
    section   the paper's Results subsection (``SECTIONS``)
    function  the ``vae_core`` function that draws it (shown on the results page)
    title     Markdown title of a table
    paper     True for the paper's own figures and tables
    ref       the paper's label of the output ("Fig 3", "S6 Fig", "Table 1", "S2 Table"; "" for
              outputs beyond the paper): scorecard rows citing it are shown beside it on the
              results page (``claim_output``)
    """

    name: str
    kind: str
    caption: str
    builder: Callable[[Tables], object]
    reads: tuple[str, ...] = ()
    section: str = ""
    function: str = ""
    title: str = ""
    paper: bool = False
    ref: str = ""


#: A label of the paper's figures and tables, as captions and scorecard sections cite them:
#: "Fig 2A", "Fig 9, S8" (a bare "S8" after a figure is a supporting figure), "S6 Fig",
#: "Table 1", "S2 Table".
_REF = re.compile(r"\b(?:(Fig|Table)\.?\s*(\d+)(?!\d)|S(\d+)(?!\d)(?:\s*(Fig|Table)\b)?)")


def refs(text: str) -> list[str]:
    """The paper's figure and table labels cited in ``text``, normalised and in order, e.g.
    "Fig 2A, S2 Table" -> ["Fig 2", "S2 Table"], "Fig 9, S8" -> ["Fig 9", "S8 Fig"],
    "Fig 2C/D" -> ["Fig 2"]."""
    out: list[str] = []
    kind = "Fig"
    for m in _REF.finditer(str(text)):
        if m.group(1):
            kind = m.group(1)
            ref = f"{kind} {int(m.group(2))}"
        else:
            kind = m.group(4) or kind
            ref = f"S{int(m.group(3))} {kind}"
        if ref not in out:
            out.append(ref)
    return out


def _default_ref(caption: str) -> str:
    """The label a caption starts with ("Fig 3: ..." -> "Fig 3"), else ""."""
    head = caption.split(":", 1)[0].strip()
    found = refs(head)
    return found[0] if len(found) == 1 and _REF.fullmatch(head) else ""


_OUTPUTS: dict[str, Output] = {}


def _add(out: Output) -> Output:
    registry.check_name(out.name.lower().replace("-", "_"), f"{out.kind}")
    _OUTPUTS[out.name] = out
    return out


def register_figure(name: str, caption: str, builder: Callable[[Tables], object], *,
                    reads: Sequence[str] = (), section: str = SECTIONS[-1],
                    function: str = "", paper: bool = False, ref: str | None = None) -> Output:
    """Register figure ``name`` (re-registering replaces it). ``ref``: the paper's label
    (``Output.ref``); None takes the label the caption starts with ("Fig 3: ...")."""
    return _add(Output(name, "figure", caption, builder, tuple(reads), section, function,
                       "", paper, _default_ref(caption) if ref is None else ref))


def register_table(name: str, caption: str, builder: Callable[[Tables], pd.DataFrame], *,
                   title: str, reads: Sequence[str] = (), section: str = SECTIONS[-1],
                   function: str = "", paper: bool = False, ref: str | None = None) -> Output:
    """Register table ``name`` with its Markdown ``title`` (re-registering replaces it);
    ``ref`` as in :func:`register_figure`."""
    return _add(Output(name, "table", caption, builder, tuple(reads), section, function,
                       title, paper, _default_ref(caption) if ref is None else ref))


# --------------------------------------------------------------------------- dynamic outputs

def _metric_output(m: _metrics.Metric) -> Output:
    from . import figures as F

    def build(t: Tables, m=m):
        return F.fig_metric(t.get(T.RUNS_TCGA, pd.DataFrame()), m.score, m.label,
                            runs_gtex=t.get(T.RUNS_GTEX), reason_column=m.reason_column,
                            higher_is_better=m.higher_is_better)

    where = "the paper's" if m.builtin else "a registered"
    return Output(f"metric_{m.name}", "figure",
                  f"{m.label} per model over the successful configurations ({where} "
                  f"downstream metric `{m.name}`; TCGA side, GTEx side beside it when computed).",
                  build, (T.RUNS_TCGA, T.RUNS_GTEX), SECTIONS[-1], "plots.figures.fig_metric")


def _model_output(model: str) -> Output:
    from . import figures as F

    return Output(f"figS_{model}_loss_vs_downstream", "figure",
                  f"Fig 2A/B for {registry.model_label(model)} (a registered model the paper "
                  "does not have): validation loss vs ARI and vs AIC.",
                  lambda t, m=model: F.fig_loss_vs_downstream(t[T.RUNS_TCGA], m),
                  (T.RUNS_TCGA,), SECTIONS[-1], "plots.figures.fig_loss_vs_downstream")


def extra_models(t: Tables | None = None) -> list[str]:
    """Registered models the paper does not have (with ``t``: only those in the TCGA run
    table, and any model name in that table the registry does not know)."""
    names = [m for m in registry.model_names() if not registry.is_paper_model(m)]
    if t is None:
        return names
    runs = t.get(T.RUNS_TCGA)
    present = set(runs["model"].dropna().astype(str)) if runs is not None and len(runs) else set()
    return [m for m in names if m in present] + sorted(
        m for m in present - set(names) if not registry.is_paper_model(m))


def outputs(t: Tables | None = None, kind: str | None = None) -> list[Output]:
    """Every output: the registered ones (the paper's first), one ``metric_<name>`` per
    registered metric, one loss-vs-downstream figure per extra model (``extra_models(t)``).
    ``kind``: "figure" or "table" only."""
    out = list(_OUTPUTS.values())
    out += [_metric_output(m) for m in _metrics.metrics()]
    out += [_model_output(m) for m in extra_models(t)]
    return [o for o in out if kind is None or o.kind == kind]


def output(name: str, t: Tables | None = None) -> Output:
    """The output named ``name`` (KeyError listing the valid names)."""
    for o in outputs(t):
        if o.name == name:
            return o
    raise KeyError(f"unknown output {name!r}; valid names: {[o.name for o in outputs(t)]}")


def claim_output(section: str, claim: str = "", outs: Sequence[Output] | None = None
                 ) -> Output | None:
    """The output a scorecard row tests, from the row's ``section`` (its figure reference):
    the first output (in ``outs``, default ``outputs()``) whose ``ref`` is the first label the
    section cites that any output has ("Fig 2A, S2 Table" -> Fig 2; "Fig 9, S8" -> Fig 9;
    rows of the paper's Fig N go beside figure N). A row of a registered metric (claim
    "<label> (<name>) ...") goes beside ``metric_<name>``. None when nothing matches."""
    outs = outputs() if outs is None else list(outs)
    by_ref: dict[str, Output] = {}
    for o in outs:
        if o.ref:
            by_ref.setdefault(o.ref, o)
    for ref in refs(section):
        if ref in by_ref:
            return by_ref[ref]
    names = {o.name: o for o in outs}
    for m in re.finditer(r"\(([a-z][a-z0-9_]*)\)", str(claim)):
        if f"metric_{m.group(1)}" in names:
            return names[f"metric_{m.group(1)}"]
    return None


def caption(name: str, t: Tables | None = None) -> str:
    """The caption of output ``name``."""
    return output(name, t).caption


def files_of(o: Output) -> tuple[str, ...]:
    """The files an output writes (``name.png``/``.pdf`` or ``name.csv``/``.md``)."""
    exts = ("png", "pdf") if o.kind == "figure" else ("csv", "md")
    return tuple(f"{o.name}.{e}" for e in exts)


def figures_readme(t: Tables | None = None) -> str:
    """The text of ``figures/README.md``: every output with its files and caption, by section."""
    lines = ["# figures/", "",
             "Generated by `bash run_all.sh` (notebook `06_figures`) into `figures/<profile>/`;",
             ("nothing here is committed but this file, which `vae_core.plots.catalog."
              "figures_readme()` writes (a test keeps it equal)."),
             ("Figures are PNG (300 dpi) + PDF, tables CSV + Markdown; `scorecard.md` puts each "
              "number the paper reports beside this run's."), ""]
    for section in SECTIONS:
        outs = [o for o in outputs(t) if o.section == section]
        if not outs:
            continue
        lines += [f"## {section}", "", "| files | shows | reads |", "|---|---|---|"]
        for o in outs:
            files = ", ".join(f"`{f}`" for f in files_of(o))
            reads = ", ".join(f"`{r}`" for r in o.reads)
            lines.append(f"| {files} | {o.caption.replace('|', chr(92) + '|')} | {reads} |")
        lines.append("")
    lines += [("Models or metrics registered by a plugin (`plugins:` in the params) add their "
               "own `figS_<model>_loss_vs_downstream` and `metric_<name>` files."), "",
              ("Conventions: one colour per model in every figure "
              "(`vae_core.plots.style.model_color`); box plots show quartiles, the median line "
              "and the mean (white diamond; the paper's caption calls the middle line the "
              "mean); downstream scores come from successful trainings only (failed ones are "
              "counted in Fig 5). A panel whose data a profile did not produce says \"no "
              "data\" or \"n/a: <reason>\"."), ""]
    return "\n".join(lines)
