"""Shared look of every figure: seaborn theme, one colour per model, display names, "no data".

One colour per model throughout (the order of ``registry.model_names()``: the paper's six, then
registered models), so a reader can follow a model from Fig 3 to Fig 9; latent sizes get a
sequential palette (Fig 2, S1-S5, Fig 7) over whatever sizes a run used. Every model, registered
or only present in a table, gets a colour and a label from ``model_color`` / ``model_label``:
this module is the only palette of the package.
"""

from __future__ import annotations

from collections.abc import Iterable

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.axes import Axes

from .. import registry
from ..keys import GRID_AXES

#: The paper's latent sizes (the default levels; figures draw whatever sizes ran).
LATENT_DIMS: tuple[int, ...] = tuple(GRID_AXES["latent_dim"])

_PALETTE_SIZE = 10   # seaborn "colorblind" has 10 distinct colours; beyond that, "husl"


def models() -> tuple[str, ...]:
    """Every registered model, the paper's six first (the colour order)."""
    return registry.model_names()


def model_color(model: object) -> tuple[float, float, float]:
    """The colour of a model in every figure: registered models in registration order, then any
    other name a table holds (a stable colour derived from the name)."""
    names = registry.model_names()
    name = str(model)
    if name in names:
        i = names.index(name)
        if i < _PALETTE_SIZE:
            return tuple(sns.color_palette("colorblind", _PALETTE_SIZE)[i])
        return tuple(sns.color_palette("husl", 24)[(i * 7) % 24])
    import zlib
    return tuple(sns.color_palette("husl", 24)[zlib.crc32(name.encode()) % 24])


def model_colors(names: Iterable[object] | None = None) -> dict[str, tuple[float, float, float]]:
    """name -> colour for ``names`` (default every registered model)."""
    return {str(m): model_color(m) for m in (registry.model_names() if names is None else names)}


def model_label(model: object) -> str:
    """Paper display name of a model key (``"betatc"`` -> ``"β-TCVAE"``); a registered model's
    label; an unknown key unchanged."""
    return registry.model_label(model)


def latent_colors(dims: Iterable[int]) -> dict[int, tuple[float, float, float]]:
    """One colour per latent size present (sequential plasma without its pale yellow end: small
    sizes dark blue, large sizes orange), for any set of sizes."""
    dims = sorted({int(d) for d in dims})
    pal = sns.color_palette("plasma", len(dims) + 1)[:len(dims)]
    return dict(zip(dims, pal, strict=True))


class _Registered(dict):
    """A dict view that answers for every model (registered after import too)."""

    def __init__(self, fn):
        super().__init__()
        self._fn = fn

    def __missing__(self, key):
        return self._fn(key)

    def get(self, key, default=None):
        return self._fn(key)

    def _snapshot(self):
        return {m: self._fn(m) for m in registry.model_names()}

    def keys(self):
        return self._snapshot().keys()

    def items(self):
        return self._snapshot().items()

    def values(self):
        return self._snapshot().values()

    def __iter__(self):
        return iter(registry.model_names())

    def __len__(self):
        return len(registry.model_names())

    def __contains__(self, key):
        return key in registry.model_names()


#: Display names (kept for callers of earlier versions): ``MODEL_LABELS[m] == model_label(m)``.
MODEL_LABELS: dict[str, str] = _Registered(model_label)
#: One colour per model: ``MODEL_COLORS[m] == model_color(m)``, registered models included.
MODEL_COLORS: dict[str, tuple[float, float, float]] = _Registered(model_color)
#: Colours of the paper's latent sizes (``latent_colors`` for any other set).
LATENT_COLORS: dict[int, tuple[float, float, float]] = latent_colors(LATENT_DIMS)

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
