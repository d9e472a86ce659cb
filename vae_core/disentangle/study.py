"""The disentanglement study of notebook 05 (paper "Evaluation of disentanglement"), over arrays.

No training here and no import of ``grid``/``models``/``train``: the notebook trains through
``vae_core.grid`` and hands this module the records plus a loader callable
``load(key, kind) -> array`` (``grid.load_embedding`` bound to the store).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ..keys import DISENTANGLE_FEATURES, STATUS_FAILED, STATUS_OK
from .categorical import relaxed_categorical_moments
from .correlations import THRESHOLD, disentangled_features, feature_correlations
from .rmig import rmig_table
from .wsepin import sepin_table

#: The paper's recommended configuration, used for every model (``docs/design.md``,
#: "Disentanglement").
RECOMMENDED: dict[str, list] = {"lr": [1e-3], "init": ["kaiming_uniform"], "optimizer": ["adam"],
                                "activation": ["tanh"]}

#: Text of the tables and notes for a feature the cohort lacks (``docs/design.md``, "Bring your
#: own cohort"); its RMIG rows carry
#: ``status`` "no_data".
FEATURE_ABSENT = "feature absent"

GAUSSIAN = "gaussian"
RELAXED = "relaxed_categorical_moments"


def study_spec(models: Sequence[str], latent_dims: Sequence[int], repeats: int = 1) -> dict:
    """Grid spec (``grid.expand`` input) of the study: every model x latent dim, recommended
    lr 1e-3, kaiming_uniform, adam, tanh."""
    return {"model": list(models), "latent_dim": [int(d) for d in latent_dims], **RECOMMENDED,
            "repeats": int(repeats)}


def unavailable_features(obs: pd.DataFrame, features: Sequence[str] = DISENTANGLE_FEATURES
                         ) -> list[str]:
    """Features absent from ``obs`` or entirely NaN (e.g. SBS without the Synapse CSV)."""
    out = []
    for f in features:
        if f not in obs.columns or obs[f].isna().all():
            out.append(f)
    return out


def features_note(obs: pd.DataFrame, features: Sequence[str] = DISENTANGLE_FEATURES) -> str:
    """One line for notebook 05 and Table 1: which features are scored and which are absent
    ("n/a: feature absent: age, gender"), or "" when every feature has data."""
    absent = unavailable_features(obs, features)
    if not absent:
        return ""
    present = [f for f in features if f not in absent]
    return (f"n/a: {FEATURE_ABSENT}: {', '.join(absent)} (no data in this cohort; NaN "
            f"correlations and RMIG, never counted as disentangled). Scored: "
            f"{', '.join(present) if present else 'none'}.")


def score_embedding(mu: np.ndarray, logvar: np.ndarray | None, obs: pd.DataFrame, *,
                    logits: np.ndarray | None = None,
                    features: Sequence[str] = DISENTANGLE_FEATURES,
                    n_samples: int | None = 10000, n_bins: int = 10,
                    strategy: str = "quantile", threshold: float = THRESHOLD, seed: int = 0,
                    temperature: float = 0.5) -> dict:
    """Every disentanglement number of one embedding.

    Args:
        mu: [N, d] posterior means (CAT: softmax(logits)); logvar: [N, d] or None (CAT).
        obs: [N] canonical annotation aligned with ``mu``.
        logits: CAT only: [N, d] logits; WSEPIN/RMIG then use the moment-matched Gaussian of the
            relaxed categorical (``relaxed_categorical_moments``, temperature ``temperature``).
    Returns dict: ``correlations`` (factors x features), ``disentangled`` ({feature: factors}),
    ``sepin`` (per-factor table; ``attrs["wsepin"]``), ``wsepin`` (float, nats), ``rmig``
    (per-feature table), ``posterior`` ("gaussian" | "relaxed_categorical_moments").
    """
    corr = feature_correlations(mu, obs, features)
    posterior = GAUSSIAN
    g_mu, g_lv = mu, logvar
    if logvar is None:
        if logits is None:
            raise ValueError("score_embedding: logvar is None and no logits given; a CAT "
                             "embedding needs its logits (grid.load_embedding(store, key, "
                             "'logits'))")
        g_mu, g_lv = relaxed_categorical_moments(logits, temperature=temperature, seed=seed)
        posterior = RELAXED
    sep = sepin_table(g_mu, g_lv, n_samples, seed)
    absent = set(unavailable_features(obs, features))
    present = [f for f in features if f not in absent]
    if present:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)   # constant features: NaN rows
            rm = rmig_table(g_mu, g_lv, obs[present], n_samples, seed, n_bins=n_bins,
                            strategy=strategy)
    else:
        rm = pd.DataFrame(columns=["feature", "rmig", "status"])
    missing = [f for f in features if f in absent]
    if missing:
        extra = pd.DataFrame({"feature": missing, "rmig": np.nan, "status": "no_data"})
        rm = pd.concat([rm, extra], ignore_index=True) if len(rm) else extra
        order = {f: i for i, f in enumerate(features)}
        rm = rm.sort_values("feature", key=lambda c: c.map(order), kind="stable"
                            ).reset_index(drop=True)
    return {"correlations": corr, "disentangled": disentangled_features(corr, threshold),
            "sepin": sep, "wsepin": float(sep.attrs["wsepin"]), "rmig": rm,
            "posterior": posterior}


def score_runs(records: pd.DataFrame, load: Callable[[str, str], np.ndarray | None],
               obs: pd.DataFrame, *, features: Sequence[str] = DISENTANGLE_FEATURES,
               n_samples: int | None = 10000, n_bins: int = 10, strategy: str = "quantile",
               threshold: float = THRESHOLD, seed: int = 0, progress: bool = True,
               n_jobs: int = 1) -> dict[str, pd.DataFrame]:
    """The four tables of notebook 05 (``vae_core.tables``) for every run in ``records``.

    Args:
        records: grid records (columns ``key, model, latent_dim, status``); failed runs get a
            row with status "failed" and NaN scores.
        load: ``load(key, kind)`` for kind "mu", "logvar", "logits" (e.g.
            ``functools.partial(grid.load_embedding, store)``); may raise or return None for a
            kind the model lacks (CAT has no logvar).
    Returns {"correlations", "scores", "rmig", "disentangled"} DataFrames with the columns of
    tables.CORRELATIONS, DISENTANGLE_SCORES (+ ``posterior``, ``n_encoded``, ``features_absent``:
    ";"-joined features the cohort lacks), RMIG (+ ``status``: "ok", or "no_data" for a feature the
    cohort lacks, ``entropy``, ``factor_top1``, ``factor_top2``) and DISENTANGLED_FEATURES. Features
    the cohort lacks are computed as NaN, never an error (``docs/design.md``, "Bring your own
    cohort"). ``n_jobs`` > 1 scores the runs in that many worker processes (joblib's loky pool;
    ``load`` must then be picklable, e.g. a ``functools.partial`` of ``grid.load_embedding``); the
    tables are identical to ``n_jobs=1`` (same seeds, same order).
    """
    corr_rows, score_rows, rmig_rows, dis_rows = [], [], [], []
    absent = ";".join(unavailable_features(obs, features))
    recs = records.sort_values(["model", "latent_dim"], kind="stable")
    ok = [r for _, r in recs.iterrows() if r.get("status", STATUS_OK) == STATUS_OK]
    kwargs = {"features": features, "n_samples": n_samples, "n_bins": n_bins,
              "strategy": strategy, "threshold": threshold, "seed": seed}
    if int(n_jobs) > 1 and len(ok) > 1:
        from joblib import Parallel, delayed

        scored = Parallel(n_jobs=int(n_jobs), backend="loky", return_as="generator")(
            delayed(_score_key)(load, r["key"], obs, kwargs) for r in ok)
    else:
        scored = (_score_key(load, r["key"], obs, kwargs) for r in ok)
    results = iter(scored)
    for _, r in recs.iterrows():
        model, dim = str(r["model"]), int(r["latent_dim"])
        if r.get("status", STATUS_OK) != STATUS_OK:
            score_rows.append({"model": model, "latent_dim": dim, "wsepin": np.nan,
                               "n_disentangled": np.nan, "status": STATUS_FAILED,
                               "posterior": "", "n_encoded": np.nan,
                               "features_absent": absent})
            continue
        res = next(results)
        c = res["correlations"]
        long = c.reset_index().melt(id_vars="factor", var_name="feature", value_name="rho")
        long.insert(0, "latent_dim", dim)
        long.insert(0, "model", model)
        corr_rows.append(long)
        n_enc = int((np.abs(np.nan_to_num(c.to_numpy())) >= threshold).any(0).sum())
        score_rows.append({"model": model, "latent_dim": dim, "wsepin": res["wsepin"],
                           "n_disentangled": len(res["disentangled"]), "status": STATUS_OK,
                           "posterior": res["posterior"], "n_encoded": n_enc,
                           "features_absent": absent})
        rm = res["rmig"]
        for _, q in rm.iterrows():
            rmig_rows.append({"model": model, "latent_dim": dim, "feature": q["feature"],
                              "rmig": q["rmig"], "status": q["status"],
                              "entropy": q.get("entropy", np.nan),
                              "factor_top1": q.get("factor_top1", -1),
                              "factor_top2": q.get("factor_top2", -1)})
        for f, fac in res["disentangled"].items():
            dis_rows.append({"model": model, "latent_dim": dim, "feature": f,
                             "factors": ";".join(str(i) for i in fac)})
        if progress:
            print(f"{model:8s} latent {dim:4d}: WSEPIN {res['wsepin']:.4f} nats, "
                  f"{len(res['disentangled'])} disentangled / {n_enc} encoded features"
                  + (" (CAT: relaxed-categorical moments)" if res["posterior"] == RELAXED
                     else ""), flush=True)
    corr = (pd.concat(corr_rows, ignore_index=True) if corr_rows else
            pd.DataFrame(columns=["model", "latent_dim", "factor", "feature", "rho"]))
    return {
        "correlations": corr,
        "scores": pd.DataFrame(score_rows, columns=["model", "latent_dim", "wsepin",
                                                    "n_disentangled", "status", "posterior",
                                                    "n_encoded", "features_absent"]),
        "rmig": pd.DataFrame(rmig_rows, columns=["model", "latent_dim", "feature", "rmig",
                                                 "status", "entropy", "factor_top1",
                                                 "factor_top2"]),
        "disentangled": pd.DataFrame(dis_rows, columns=["model", "latent_dim", "feature",
                                                        "factors"]),
    }


def _score_key(load: Callable, key: str, obs: pd.DataFrame, kwargs: dict) -> dict:
    """``score_embedding`` of one stored run (mu, and logvar or CAT's logits)."""
    mu = load(key, "mu")
    logvar = _maybe(load, key, "logvar")
    logits = _maybe(load, key, "logits") if logvar is None else None
    return score_embedding(mu, logvar, obs, logits=logits, **kwargs)


def _maybe(load, key, kind):
    try:
        a = load(key, kind)
    except (KeyError, FileNotFoundError, ValueError, OSError):
        return None
    return None if a is None or np.size(a) == 0 else a


def table1(scores: pd.DataFrame) -> pd.DataFrame:
    """Table 1: number of disentangled features, models x latent dims."""
    return scores.pivot_table(index="model", columns="latent_dim", values="n_disentangled",
                              aggfunc="first")

