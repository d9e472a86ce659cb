"""Every figure and table of Eltager et al. (PLoS ONE 2023), drawn from the tidy tables only.

- ``figures``: one function per paper figure, each returning a matplotlib Figure
  (``fig2``, ``fig3``, ``fig4`` (also S7), ``fig5``, ``fig6``, ``fig7``, ``fig8``, ``fig9``,
  ``figS8``, ``fig_loss_vs_downstream`` (S1-S5), ``figS6``).
- ``paper_tables``: ``table1``, ``tableS1``, ``tableS2`` (DataFrames).
- ``scorecard``: the paper's numbers and claims beside this run's (``scorecard.md``).
- ``catalog``: the figure and table registry (name, caption, builder, tables read, section);
  ``expected.EXPECTED_FILES`` / ``expected_files(t)``: the files notebook 06 writes.
- ``build``: ``draw(name, tables, out_dir)``, ``make_table``, ``show``, ``build_all``.
- ``io``: ``load_tables``, ``save_figure`` (PNG 300 dpi + PDF), ``save_table`` (CSV + MD).
- ``style``: the one palette (``model_color``, ``model_label``, ``latent_colors``), theme.
"""

from . import catalog
from .build import (
    FIGURE_BUILDERS,
    TABLE_BUILDERS,
    build_all,
    draw,
    expected_files,
    make_table,
    missing_outputs,
    show,
)
from .expected import EXPECTED_FILES, FIGURES, SCORECARD, TABLES
from .figures import (
    fig2,
    fig3,
    fig4,
    fig5,
    fig6,
    fig7,
    fig8,
    fig9,
    fig_loss_vs_downstream,
    fig_metric,
    fig_rmig,
    figS6,
    figS8,
)
from .io import load_tables, read_table, save_figure, save_table
from .paper_tables import PAPER_TABLE1, table1, tableS1, tableS2
from .scorecard import scorecard_markdown, scorecard_rows, write_scorecard
from .style import MODEL_COLORS, MODEL_LABELS, model_color, model_label, set_theme

__all__ = [
    "EXPECTED_FILES",
    "FIGURES",
    "FIGURE_BUILDERS",
    "MODEL_COLORS",
    "MODEL_LABELS",
    "PAPER_TABLE1",
    "SCORECARD",
    "TABLES",
    "TABLE_BUILDERS",
    "build_all",
    "catalog",
    "draw",
    "expected_files",
    "fig2",
    "fig3",
    "fig4",
    "fig5",
    "fig6",
    "fig7",
    "fig8",
    "fig9",
    "figS6",
    "figS8",
    "fig_loss_vs_downstream",
    "fig_metric",
    "fig_rmig",
    "load_tables",
    "make_table",
    "missing_outputs",
    "model_color",
    "model_label",
    "read_table",
    "save_figure",
    "save_table",
    "scorecard_markdown",
    "scorecard_rows",
    "set_theme",
    "show",
    "table1",
    "tableS1",
    "tableS2",
    "write_scorecard",
]
