"""Shared look of every figure: seaborn theme, one colour per model, display names, "no data".

One colour per model throughout (order of ``keys.GRID_AXES["model"]``), so a reader can follow a
model from Fig 3 to Fig 9; latent dimensions get a fixed sequential palette (Fig 2, S1-S5, Fig 7).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.axes import Axes

from ..keys import GRID_AXES

MODELS: tuple[str, ...] = tuple(GRID_AXES["model"])
LATENT_DIMS: tuple[int, ...] = tuple(GRID_AXES["latent_dim"])

#: Display names as the paper writes them.
MODEL_LABELS: dict[str, str] = {
    "vanilla": "Vanilla VAE",
    "beta": "β-VAE",
    "betatc": "β-TCVAE",
    "dip": "DIP-VAE",
    "iwae": "IWAE",
    "cat": "CAT-VAE",
}

#: One colour per model (seaborn "colorblind"), used by every figure that colours by model.
MODEL_COLORS: dict[str, tuple[float, float, float]] = dict(
    zip(MODELS, sns.color_palette("colorblind", len(MODELS)), strict=True))

#: One colour per latent dimension (sequential plasma without its pale yellow end:
#: small dims dark blue, large dims orange).
LATENT_COLORS: dict[int, tuple[float, float, float]] = dict(
    zip(LATENT_DIMS, sns.color_palette("plasma", len(LATENT_DIMS) + 1)[:len(LATENT_DIMS)],
        strict=True))

#: Axis labels of the five hyperparameters (Fig 4, 5, S7).
HYPERPARAMETER_LABELS: dict[str, str] = {
    "latent_dim": "Latent dimensions",
    "lr": "Learning rate",
    "init": "Initialization",
    "optimizer": "Optimizer",
    "activation": "Activation",
}

INIT_LABELS: dict[str, str] = {
    "normal": "N(0,1)",
    "uniform": "U(0,1)",
    "xavier_normal": "Xavier normal",
    "xavier_uniform": "Xavier uniform",
    "kaiming_uniform": "Kaiming uniform",
}

OK_COLOR = sns.color_palette("colorblind")[0]       # blue: successful (Fig 5)
FAILED_COLOR = sns.color_palette("deep")[3]         # red: failed (Fig 5), baseline line (Fig 3)
REGRESSION_COLOR = "#15317e"                     # Fig 2 regression line, S6 lowess


def set_theme() -> None:
    """Apply the project's seaborn theme (white grid, paper context, readable fonts)."""
    sns.set_theme(context="paper", style="whitegrid", font_scale=1.15,
                  rc={"figure.dpi": 100, "savefig.dpi": 300, "axes.titleweight": "bold",
                      "legend.frameon": True})


def model_label(model: str) -> str:
    """Paper display name of a model key (``"betatc"`` -> ``"β-TCVAE"``); unknown keys unchanged."""
    return MODEL_LABELS.get(str(model), str(model))


def value_label(axis: str, value) -> str:
    """Readable tick label of a hyperparameter value (lr as ``1e-03``, init as ``U(0,1)``)."""
    if axis == "lr":
        return f"{float(value):.0e}"
    if axis == "init":
        return INIT_LABELS.get(str(value), str(value))
    if axis == "latent_dim":
        return str(int(value))
    return str(value)


def no_data(ax: Axes, message: str = "no data") -> Axes:
    """Mark a panel that has nothing to show (e.g. GTEx absent, too few configurations)."""
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes,
            fontsize=12, color="0.4", style="italic", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    return ax


def panel_letter(ax: Axes, letter: str) -> None:
    """Put the paper's panel letter (A, B, ...) at the top-left outside corner of a panel."""
    ax.text(-0.08, 1.04, letter, transform=ax.transAxes, fontsize=15, fontweight="bold",
            va="bottom", ha="right")


def new_figure(nrows: int = 1, ncols: int = 1, **kwargs):
    """``plt.subplots`` with the theme applied and a constrained layout."""
    set_theme()
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, **kwargs)
