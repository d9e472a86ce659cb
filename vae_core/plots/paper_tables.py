"""Table 1, S1 Table and S2 Table of Eltager et al. (PLoS ONE 2023) from the tidy tables.

(``vae_core.tables`` is the shared schema of the inputs; this module builds the paper's tables.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import registry
from .io import successful
from .stats import spearman
from .style import LATENT_DIMS, model_label


def _models(*frames: pd.DataFrame | None) -> list[str]:
    """Models in any of ``frames`` (registry order, the paper's six first, then others)."""
    present: set[str] = set()
    for df in frames:
        if df is not None and len(df) and "model" in df.columns:
            present |= set(df["model"].dropna().astype(str))
    names = registry.model_names()
    return [m for m in names if m in present] + sorted(present - set(names))


def _dims(*frames: pd.DataFrame | None) -> list[int]:
    """Latent sizes in any of ``frames`` (ascending); the paper's when none."""
    present: set[int] = set()
    for df in frames:
        if df is not None and len(df) and "latent_dim" in df.columns:
            present |= set(pd.to_numeric(df["latent_dim"], errors="coerce").dropna().astype(int))
    return sorted(present) or list(LATENT_DIMS)

#: The paper's Table 1: number of disentangled data features per model (rows) and latent size.
PAPER_TABLE1: dict[str, dict[int, int]] = {
    "vanilla": {10: 0, 20: 1, 30: 0, 50: 0, 100: 0, 200: 0},
    "beta": {10: 2, 20: 1, 30: 0, 50: 0, 100: 0, 200: 0},
    "betatc": {10: 2, 20: 1, 30: 1, 50: 1, 100: 0, 200: 0},
    "dip": {10: 1, 20: 0, 30: 1, 50: 0, 100: 0, 200: 0},
    "iwae": {10: 2, 20: 1, 30: 1, 50: 1, 100: 0, 200: 0},
    "cat": {10: 1, 20: 1, 30: 0, 50: 0, 100: 0, 200: 0},
}

#: S2 Table values the paper's text quotes (vanilla VAE only; the rest are in its PDF).
PAPER_S2_VANILLA = {"loss_vs_ari": 0.53, "loss_vs_aic": 0.48}

#: S1 Table, model-specific constants under the names ``vae_core.models.build`` takes (the
#: published loss scale; ``docs/design.md``, "Models"). One literal place, because ``plots`` draws from tables only
#: and does not import ``models``/torch; tests/test_plots.py checks it equals
#: ``models.constants_of`` so the two cannot drift. Notebook 06 may pass the live values.
S1_MODEL_CONSTANTS: dict[str, dict[str, object]] = {
    "vanilla": {},
    "beta": {"gamma": 10.0, "c_max": 25.0, "c_stop": 10000},
    "betatc": {"alpha": 1.0, "beta": 6.0, "gamma": 1.0, "anneal_steps": 10000},
    "dip": {"lambda_offdiag": 0.1, "lambda_diag": 0.05},
    "iwae": {"k": 5},
    "cat": {"temperature": 0.5},
}
#: ExponentialLR gamma per epoch of each model (None: no schedule).
S1_LR_GAMMA: dict[str, float | None] = {"vanilla": 0.95, "beta": 0.95, "betatc": None,
                                         "dip": 0.97, "iwae": 0.95, "cat": 0.95}

_S1_MEANING: dict[str, str] = {
    "gamma": "weight of the capacity penalty", "c_max": "capacity C_max (nats)",
    "c_stop": "capacity reaches C_max after (iterations)", "alpha": "weight of index-code MI",
    "beta": "weight of total correlation", "anneal_steps": "dim-wise KL warm-up w(t) steps",
    "lambda_offdiag": "off-diagonal covariance weight (DIP-VAE II)",
    "lambda_diag": "diagonal covariance weight (DIP-VAE II)", "k": "importance samples K",
    "temperature": "Gumbel-softmax temperature (no annealing)",
}

_S1_COMMON: list[tuple[str, str, str]] = [
    ("vanilla", "KL weight", "B/N (batch / training samples); reconstruction divided by G"),
    ("cat", "categorical groups x classes", "1 x latent_dim"),
    ("all models", "hidden units", "512 (Linear -> BatchNorm1d -> activation)"),
    ("all models", "batch size", "64"),
    ("all models", "early stopping", "min_delta 1e-4, patience 3, 5-1000 epochs"),
]


def table1(scores: pd.DataFrame, disentangled: pd.DataFrame | None = None) -> pd.DataFrame:
    """Table 1: number of disentangled features, models (rows) x latent dims (columns).

    From DISENTANGLE_SCORES ``n_disentangled``; where that is missing, counted from
    DISENTANGLED_FEATURES. Every model and latent size the run has (registered models beyond
    the paper's included); cells of configurations not run are empty (NaN).
    """
    rows = {}
    for m in _models(scores, disentangled):
        row = {}
        for d in _dims(scores, disentangled):
            s = (scores[(scores["model"] == m) & (scores["latent_dim"] == d)]
                 if scores is not None and len(scores) else None)
            feats = (disentangled[(disentangled["model"] == m)
                                  & (disentangled["latent_dim"] == d)]["feature"].nunique()
                     if disentangled is not None and len(disentangled) else 0)
            val = np.nan
            if s is not None and len(s):
                v = pd.to_numeric(s["n_disentangled"], errors="coerce").dropna()
                failed = (s["status"].astype(str) == "failed").all()
                val = float(v.iloc[0]) if len(v) else (np.nan if failed else float(feats))
            elif feats:
                val = float(feats)
            row[d] = val
        rows[model_label(m)] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "model"
    out.columns.name = "latent_dim"
    out = out.dropna(how="all").dropna(axis=1, how="all")
    return out.astype("Int64") if len(out) else out


def paper_table1() -> pd.DataFrame:
    """The paper's Table 1 as a DataFrame (rows: model display names, columns: latent dims)."""
    out = pd.DataFrame.from_dict({model_label(m): v for m, v in PAPER_TABLE1.items()},
                                 orient="index")
    out.index.name = "model"
    out.columns.name = "latent_dim"
    return out


def tableS1(constants: dict[str, dict[str, object]] | None = None,
            lr_gamma: dict[str, float | None] | None = None) -> pd.DataFrame:
    """S1 Table: constants held fixed for every model (published loss scale).

    ``constants`` (model -> {name: value}, e.g. from ``vae_core.models.constants_of``) and
    ``lr_gamma`` default to :data:`S1_MODEL_CONSTANTS` and :data:`S1_LR_GAMMA`. Rows: model
    display name; columns: constant, value, meaning.
    """
    constants = S1_MODEL_CONSTANTS if constants is None else constants
    lr_gamma = S1_LR_GAMMA if lr_gamma is None else lr_gamma
    rows = []
    names = registry.model_names()
    for m in [m for m in names if m in constants or m in lr_gamma] + sorted(
            set(constants) - set(names)):
        for k, v in constants.get(m, {}).items():
            meaning = ("weight of the dimension-wise KL" if (m, k) == ("betatc", "gamma")
                       else _S1_MEANING.get(k, ""))
            rows.append((model_label(m), k, f"{v:g}" if isinstance(v, float) else str(v),
                         meaning))
        g = lr_gamma.get(m)
        rows.append((model_label(m), "lr_gamma", "none" if g is None else f"{g:g}",
                     "ExponentialLR decay per epoch"))
    for m, k, v in _S1_COMMON:
        rows.append((model_label(m) if m in names else m, k, v, ""))
    return pd.DataFrame(rows, columns=["model", "constant", "value", "meaning"]
                        ).set_index("model")


def tableS2(runs: pd.DataFrame) -> pd.DataFrame:
    """S2 Table: |Spearman rho| of validation loss vs ARI and vs AIC per model, over every
    successful training (no percentile cut), with the number n of trainings behind each."""
    ok = successful(runs)
    rows = {}
    for m in _models(ok):
        df = ok[ok["model"] == m] if len(ok) else ok
        if not len(df):
            continue
        r_ari, n_ari = spearman(df["val_loss"], df["ari"])
        r_aic, n_aic = spearman(df["val_loss"], df["aic"]) if "aic" in df else (float("nan"), 0)
        rows[model_label(m)] = {"abs_rho_loss_ari": abs(r_ari), "n_ari": n_ari,
                                "abs_rho_loss_aic": abs(r_aic), "n_aic": n_aic}
    out = pd.DataFrame.from_dict(
        rows, orient="index",
        columns=["abs_rho_loss_ari", "n_ari", "abs_rho_loss_aic", "n_aic"])
    out.index.name = "model"
    return out.round({"abs_rho_loss_ari": 2, "abs_rho_loss_aic": 2})
