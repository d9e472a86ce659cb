"""Simulated TCGA-like and GTEx-like cohorts with planted ground truth.

See ``docs/design.md``, "Simulated cohorts".

The generative model (log2 scale, samples x genes)::

    x[s, g] = base[g] + lineage_effect[lineage(s), g] + type_effect[type(s), g]
              + sum_p A[s, p] * L[g, p] + sd[g] * eps[s, g]        (eps ~ N(0, 1))

clipped at 0 like log2(count + 1); about 1 % of the genes are never expressed (constant 0), and a
few outlier samples get extra noise. ``A`` (``obsm["ground_truth_programs"]``) holds the
continuous programs shared across types (immune infiltration, proliferation, sex-linked genes,
an APOBEC-like program, stromal, hypoxia) and ``L`` (``varm["ground_truth_loadings"]``) their
gene loadings. Types of one lineage share the lineage effect, so clusters overlap.

Clinical ``obs`` (TCGA-like): age by type; gender by type (single-sex types; BRCA mostly
female); overall survival from a Weibull proportional-hazards model on type, age and two programs
(proliferation harmful, immune protective) with uniform censoring; days to a new tumour event for
a minority; an immune score = immune program + noise; SBS exposure shares (SBS1/SBS5 rise with
age, SBS2 and SBS13 through the APOBEC program, SBS15 in MMR-prone types, SBS40 in kidney/others)
missing (all together) for ~20 % of samples. GTEx-like: 30 tissues, no survival or signatures.
"""

from __future__ import annotations

from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd

from ..keys import (
    CANONICAL_OBS,
    GENDER_CATEGORIES,
    OBS,
    SBS_COLUMNS,
    UNS_GROUND_TRUTH,
    UNS_PROVENANCE,
)
from ._provenance import package_versions

#: TCGA cancer types grouped into lineages (shared programs), with the mean age at diagnosis.
TCGA_TYPES: dict[str, tuple[str, float]] = {
    "BLCA": ("squamous", 68), "CESC": ("squamous", 48), "ESCA": ("squamous", 63),
    "HNSC": ("squamous", 61), "LUSC": ("squamous", 67),
    "COAD": ("gastrointestinal", 67), "READ": ("gastrointestinal", 64),
    "STAD": ("gastrointestinal", 65), "PAAD": ("gastrointestinal", 65),
    "CHOL": ("gastrointestinal", 63), "LIHC": ("gastrointestinal", 60),
    "BRCA": ("gynecologic", 58), "OV": ("gynecologic", 60), "UCEC": ("gynecologic", 64),
    "UCS": ("gynecologic", 70),
    "KICH": ("kidney", 51), "KIRC": ("kidney", 61), "KIRP": ("kidney", 62),
    "GBM": ("neural", 58), "LGG": ("neural", 43), "PCPG": ("neural", 47),
    "DLBC": ("hematologic", 56), "LAML": ("hematologic", 55), "THYM": ("hematologic", 58),
    "SARC": ("mesenchymal", 61), "MESO": ("mesenchymal", 63), "TGCT": ("mesenchymal", 32),
    "SKCM": ("melanocytic", 58), "UVM": ("melanocytic", 62),
    "ACC": ("endocrine", 47), "THCA": ("endocrine", 47), "PRAD": ("endocrine", 61),
    "LUAD": ("lung", 65),
}

#: GTEx tissues (SMTS) grouped into systems.
GTEX_TISSUES: dict[str, tuple[str, float]] = {
    "Adipose Tissue": ("connective", 53), "Breast": ("connective", 52),
    "Blood Vessel": ("connective", 53), "Skin": ("connective", 54),
    "Adrenal Gland": ("endocrine", 53), "Thyroid": ("endocrine", 53),
    "Pituitary": ("endocrine", 54), "Pancreas": ("endocrine", 54),
    "Bladder": ("urogenital", 50), "Kidney": ("urogenital", 55), "Prostate": ("urogenital", 56),
    "Testis": ("urogenital", 52),
    "Blood": ("immune", 53), "Spleen": ("immune", 52),
    "Brain": ("neural", 58), "Nerve": ("neural", 53),
    "Cervix Uteri": ("female", 48), "Fallopian Tube": ("female", 50), "Ovary": ("female", 50),
    "Uterus": ("female", 47), "Vagina": ("female", 50),
    "Colon": ("digestive", 52), "Esophagus": ("digestive", 54), "Liver": ("digestive", 53),
    "Small Intestine": ("digestive", 51), "Stomach": ("digestive", 52),
    "Salivary Gland": ("digestive", 53),
    "Heart": ("muscle", 55), "Muscle": ("muscle", 53), "Lung": ("muscle", 55),
}

#: Fraction female per type/tissue where it is not ~0.5 (single-sex types are 0 or 1).
_FEMALE_FRACTION = {
    "BRCA": 0.99, "OV": 1.0, "UCEC": 1.0, "UCS": 1.0, "CESC": 1.0, "PRAD": 0.0, "TGCT": 0.0,
    "THCA": 0.73, "KIRC": 0.35, "LIHC": 0.33, "ESCA": 0.15, "HNSC": 0.27, "BLCA": 0.26,
    "Cervix Uteri": 1.0, "Fallopian Tube": 1.0, "Ovary": 1.0, "Uterus": 1.0, "Vagina": 1.0,
    "Prostate": 0.0, "Testis": 0.0, "Breast": 0.35,
}

#: Types with high APOBEC mutagenesis / MMR deficiency / kidney-like SBS40 and a high immune level.
_APOBEC_HIGH = {"BLCA", "CESC", "HNSC", "BRCA", "LUSC", "LUAD", "ESCA"}
_MMR_HIGH = {"COAD", "STAD", "UCEC", "READ"}
_SBS40_HIGH = {"KIRC", "KIRP", "KICH", "BLCA", "LIHC"}
_IMMUNE_HIGH = {"DLBC", "THYM", "LAML", "HNSC", "LUAD", "SKCM", "KIRC", "Blood", "Spleen", "Lung"}
_PROLIF_HIGH = {"TGCT", "DLBC", "LAML", "UCS", "GBM", "LUSC", "Testis"}

#: Continuous programs shared across types (columns of obsm/varm ground truth).
PROGRAMS: tuple[str, ...] = ("immune", "proliferation", "sex", "apobec", "stromal", "hypoxia")
SURVIVAL_PROGRAMS: tuple[str, str] = ("proliferation", "immune")
_PROGRAM_GENE_FRACTION = {"immune": 0.06, "proliferation": 0.05, "sex": 0.015, "apobec": 0.02,
                          "stromal": 0.05, "hypoxia": 0.03}
_PROGRAM_LOADING = {"immune": 1.4, "proliferation": 1.2, "sex": 2.5, "apobec": 1.5,
                    "stromal": 1.0, "hypoxia": 1.0}

#: Default generator constants (recorded in provenance).
DEFAULTS = {
    "size_ratio": 10.0,          # largest / smallest type
    "lineage_gene_fraction": 0.12, "lineage_effect_sd": 1.1,
    "type_gene_fraction": 0.04, "type_effect_sd": 0.9,
    "noise_sd_median": 0.7, "outlier_fraction": 0.005, "unexpressed_fraction": 0.01,
    "sbs_missing_fraction": 0.2, "clinical_missing_fraction": 0.01, "metastasis_fraction": 0.15,
    "censor_max_days": 4000.0, "baseline_scale_days": 5000.0, "weibull_shape": 1.1,
    "beta_age_per_decade": 0.3, "beta_proliferation": 0.5, "beta_immune": -0.4,
    "immune_score_noise": 0.6,
}

#: Packages whose versions the provenance records.
_VERSIONED = ("numpy", "pandas", "anndata", "scipy")


def _group_sizes(n: int, k: int, ratio: float, rng: np.random.Generator) -> np.ndarray:
    """Sizes of k groups summing to n, geometric from 1 to ``ratio`` (shuffled), at least 2 each."""
    if n < 2 * k:
        raise ValueError(f"n_samples={n} is too small for {k} groups; use at least {2 * k}.")
    w = np.geomspace(1.0, ratio, k)[rng.permutation(k)]
    raw = w / w.sum() * (n - 2 * k)
    sizes = np.floor(raw).astype(int)
    rest = n - 2 * k - sizes.sum()
    sizes[np.argsort(-(raw - sizes), kind="stable")[:rest]] += 1
    return sizes + 2


def _sparse_effects(rng, n_groups: int, n_genes: int, frac: float, sd: float) -> np.ndarray:
    """[n_groups, n_genes] float32: each group shifts a random ``frac`` of the genes by N(0, sd)."""
    eff = np.zeros((n_groups, n_genes), dtype=np.float32)
    k = max(1, round(frac * n_genes))
    for i in range(n_groups):
        genes = rng.choice(n_genes, size=k, replace=False)
        eff[i, genes] = rng.normal(0.0, sd, size=k) + np.sign(rng.normal(size=k)) * 0.5 * sd
    return eff


@dataclass(frozen=True)
class _Cohort:
    """The design of one simulated cohort: its types, their lineages and each sample's type."""

    kind: str
    table: dict[str, tuple[str, float]]
    types: list[str]
    lineages: list[str]
    type_lineage: np.ndarray     # [n_types] lineage index of each type
    label_idx: np.ndarray        # [n_samples] type index of each sample

    @property
    def tcga(self) -> bool:
        return self.kind == "tcga"

    def level(self, names) -> np.ndarray:
        """Per sample: 1.0 when its type is in ``names``, else 0.0."""
        return np.array([1.0 if t in names else 0.0 for t in self.types])[self.label_idx]


# The stages below draw from ONE generator in a fixed order (types, sex and age, programs,
# genes, expression, clinical): the same seed gives the same cohort only if that order is kept.
def _draw_cohort(rng, kind: str, n: int, p: dict) -> _Cohort:
    """The types of ``kind`` and the type of each of ``n`` samples (imbalanced group sizes)."""
    table = TCGA_TYPES if kind == "tcga" else GTEX_TISSUES
    types = list(table)
    lineages = sorted({v[0] for v in table.values()})
    sizes = _group_sizes(n, len(types), p["size_ratio"], rng)
    return _Cohort(kind=kind, table=table, types=types, lineages=lineages,
                   type_lineage=np.array([lineages.index(table[t][0]) for t in types]),
                   label_idx=np.repeat(np.arange(len(types)), sizes))


def _draw_sex_age(rng, c: _Cohort) -> tuple[np.ndarray, np.ndarray]:
    """(female, age) per sample: sex by type (single-sex types), age around the type's mean."""
    n = c.label_idx.size
    female_frac = np.array([_FEMALE_FRACTION.get(t, 0.5) for t in c.types])
    female = rng.random(n) < female_frac[c.label_idx]
    mean_age = np.array([c.table[t][1] for t in c.types])
    age = np.clip(np.round(rng.normal(mean_age[c.label_idx], 12.0)), 18, 90)
    return female, age


def _draw_programs(rng, c: _Cohort, female: np.ndarray) -> np.ndarray:
    """Program activities A float32 [n_samples, len(PROGRAMS)]."""
    n = c.label_idx.size
    label_idx = c.label_idx
    A = np.zeros((n, len(PROGRAMS)), dtype=np.float64)
    type_shift = rng.normal(0.0, 0.4, size=(len(c.types), len(PROGRAMS)))
    A[:, 0] = rng.normal(size=n) + 1.0 * c.level(_IMMUNE_HIGH) + type_shift[label_idx, 0]
    A[:, 1] = rng.normal(size=n) + 1.0 * c.level(_PROLIF_HIGH) + type_shift[label_idx, 1]
    A[:, 2] = np.where(female, -1.0, 1.0)
    apo = rng.gamma(0.6, 1.0, size=n) * (0.4 + 1.6 * c.level(_APOBEC_HIGH))
    A[:, 3] = apo - 0.5 if c.tcga else rng.normal(0.0, 0.3, size=n)
    A[:, 4] = rng.normal(size=n) + type_shift[label_idx, 4]
    A[:, 5] = rng.normal(size=n) + type_shift[label_idx, 5]
    return A.astype(np.float32)


def _draw_genes(rng, c: _Cohort, n_genes: int, p: dict
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gene side: (mean per type [n_types, G], noise sd [G], program loadings L [G, P])."""
    base = rng.gamma(4.0, 1.6, size=n_genes).astype(np.float32) + 1.0
    noise_sd = (p["noise_sd_median"] * np.exp(rng.normal(0.0, 0.35, size=n_genes))).astype(
        np.float32)
    L = np.zeros((n_genes, len(PROGRAMS)), dtype=np.float32)
    for j, name in enumerate(PROGRAMS):
        k = max(3, round(_PROGRAM_GENE_FRACTION[name] * n_genes))
        genes = rng.choice(n_genes, size=k, replace=False)
        L[genes, j] = _PROGRAM_LOADING[name] * rng.uniform(0.6, 1.4, size=k)
        if name in ("stromal", "hypoxia"):  # some negatively loaded genes
            L[genes[: k // 4], j] *= -1
    lin_eff = _sparse_effects(rng, len(c.lineages), n_genes, p["lineage_gene_fraction"],
                              p["lineage_effect_sd"])
    type_eff = _sparse_effects(rng, len(c.types), n_genes, p["type_gene_fraction"],
                               p["type_effect_sd"])
    mean_by_type = base[None, :] + lin_eff[c.type_lineage] + type_eff  # [n_types, G]
    return mean_by_type, noise_sd, L


def _draw_expression(rng, c: _Cohort, mean_by_type: np.ndarray, noise_sd: np.ndarray,
                     A: np.ndarray, L: np.ndarray, p: dict
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X float32 [n, G] (clipped at 0), outlier samples, never-expressed genes (their loadings
    in ``L`` are set to 0 here): (X, outliers, unexpressed)."""
    n, n_genes = c.label_idx.size, noise_sd.size
    X = rng.standard_normal((n, n_genes), dtype=np.float32)
    X *= noise_sd
    X += mean_by_type[c.label_idx]
    X += A @ L.T
    n_out = max(1, round(p["outlier_fraction"] * n))
    outliers = np.sort(rng.choice(n, size=n_out, replace=False))
    X[outliers] += rng.normal(0.0, 2.0, size=(n_out, n_genes)).astype(np.float32)
    np.maximum(X, 0.0, out=X)
    n_unexpr = round(p["unexpressed_fraction"] * n_genes)
    unexpressed = rng.choice(n_genes, size=n_unexpr, replace=False)
    X[:, unexpressed] = 0.0
    L[unexpressed] = 0.0
    return X, outliers, unexpressed


def _draw_survival(rng, c: _Cohort, A: np.ndarray, age: np.ndarray, p: dict
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weibull proportional hazards on type, age, proliferation and immune, uniform censoring:
    (os_time, os_event, days to a new tumour event)."""
    n = c.label_idx.size
    type_loghaz = rng.normal(0.0, 0.5, size=len(c.types))
    lin_pred = (type_loghaz[c.label_idx] + p["beta_age_per_decade"] * (age - 60) / 10
                + p["beta_proliferation"] * A[:, 1] + p["beta_immune"] * A[:, 0])
    k_w = p["weibull_shape"]
    u = rng.random(n)
    event_time = p["baseline_scale_days"] * (-np.log(u) / np.exp(lin_pred)) ** (1.0 / k_w)
    censor = rng.uniform(30.0, p["censor_max_days"], size=n)
    os_time = np.round(np.minimum(event_time, censor))
    os_event = (event_time <= censor).astype(float)
    has_met = rng.random(n) < p["metastasis_fraction"] * (1 + os_event)
    metastasis = np.where(has_met, np.round(os_time * rng.uniform(0.1, 0.9, size=n)), np.nan)
    return os_time, os_event, metastasis


def _draw_signatures(rng, c: _Cohort, A: np.ndarray, age: np.ndarray, p: dict
                     ) -> dict[str, np.ndarray]:
    """SBS exposure shares (count / total; other signatures make up the rest), all missing
    together for a fraction of the samples."""
    n = c.label_idx.size
    age_f = age / 60.0
    counts = {
        "sbs_1": rng.gamma(4.0, 10.0, size=n) * age_f,
        "sbs_5": rng.gamma(4.0, 20.0, size=n) * age_f,
        "sbs_2": np.where(A[:, 3] > 0, 60.0 * A[:, 3] * rng.lognormal(0, 0.3, size=n), 0.0),
        "sbs_15": np.where(c.level(_MMR_HIGH) * rng.random(n) > 0.7,
                           rng.gamma(2.0, 40.0, size=n), rng.gamma(0.3, 2.0, size=n)),
        "sbs_40": rng.gamma(2.0, 15.0, size=n) * (1 + 2 * c.level(_SBS40_HIGH)),
    }
    counts["sbs_13"] = counts["sbs_2"] * rng.lognormal(np.log(0.8), 0.6, size=n)
    other = rng.gamma(3.0, 20.0, size=n)
    total = other + sum(counts.values())
    sbs = {col: counts[col] / total for col in SBS_COLUMNS}
    sbs_missing = rng.random(n) < p["sbs_missing_fraction"]
    return {col: np.where(sbs_missing, np.nan, v) for col, v in sbs.items()}


def _draw_clinical(rng, c: _Cohort, A: np.ndarray, age: np.ndarray, female: np.ndarray,
                   p: dict) -> dict[str, np.ndarray]:
    """Every canonical ``obs`` column but the label (NaN where unknown), keyed by name."""
    n = c.label_idx.size
    nan = np.full(n, np.nan)
    immune_score = A[:, 0] + rng.normal(0.0, p["immune_score_noise"], size=n)
    if c.tcga:
        os_time, os_event, metastasis = _draw_survival(rng, c, A, age, p)
        sbs = _draw_signatures(rng, c, A, age, p)
        os_missing = rng.random(n) < p["clinical_missing_fraction"]
        os_time = np.where(os_missing, np.nan, os_time)
        os_event = np.where(os_missing, np.nan, os_event)
        metastasis = np.where(os_missing, np.nan, metastasis)
    else:
        os_time = os_event = metastasis = nan
        sbs = {col: nan for col in SBS_COLUMNS}
    age = np.where(rng.random(n) < p["clinical_missing_fraction"], np.nan, age)
    gender = np.where(female, "female", "male").astype(object)
    gender[rng.random(n) < p["clinical_missing_fraction"] / 2] = np.nan
    return {OBS.AGE: age, OBS.GENDER: gender, OBS.OS_TIME: os_time, OBS.OS_EVENT: os_event,
            OBS.METASTASIS: metastasis, OBS.IMMUNE: immune_score, **sbs}


def _obs_frame(c: _Cohort, clinical: dict[str, np.ndarray], obs_names: list[str]
               ) -> pd.DataFrame:
    obs = pd.DataFrame(index=pd.Index(obs_names, name="sample"))
    obs[OBS.LABEL] = pd.Categorical.from_codes(c.label_idx, categories=c.types)
    obs[OBS.AGE] = clinical[OBS.AGE].astype(float)
    obs[OBS.GENDER] = pd.Categorical(clinical[OBS.GENDER], categories=list(GENDER_CATEGORIES))
    for col in (OBS.OS_TIME, OBS.OS_EVENT, OBS.METASTASIS):
        obs[col] = np.asarray(clinical[col], dtype=float)
    obs[OBS.IMMUNE] = clinical[OBS.IMMUNE].astype(float)
    for col in SBS_COLUMNS:
        obs[col] = np.asarray(clinical[col], dtype=float)
    return obs[list(CANONICAL_OBS)]


def simulate(kind: str = "tcga", n_samples: int = 3000, n_genes: int = 2000,
             seed: int = 0) -> ad.AnnData:
    """Simulate a TCGA-like (33 types) or GTEx-like (30 tissues) cohort.

    See ``docs/design.md``, "Simulated cohorts".

    Parameters
    ----------
    kind
        ``"tcga"`` (33 cancer types, survival, mutational signatures) or ``"gtex"`` (30 tissues;
        survival, metastasis and SBS columns are NaN).
    n_samples, n_genes
        Matrix size (at least 2 samples per type and 50 genes).
    seed
        Seed of every random draw: the same seed gives byte-identical ``X`` and ``obs``.

    Returns
    -------
    AnnData
        ``X`` float32 [n_samples, n_genes] raw log2-expression (>= 0), obs names ``S00001``..,
        var names ``G00001``..; ``obs`` with every column of :data:`vae_core.keys.CANONICAL_OBS`
        (``label`` and ``gender`` categorical; NaN where unknown);
        ``obsm["ground_truth_programs"]`` float32 [n_samples, P] program activities and
        ``varm["ground_truth_loadings"]`` float32 [n_genes, P] loadings for the programs
        ``uns["ground_truth"]["programs"]`` (immune, proliferation, sex, apobec, stromal, hypoxia);
        ``uns["ground_truth"]`` also has ``survival_programs``, ``lineages`` (type -> lineage),
        ``outliers`` (obs names) and ``params``; ``uns["provenance"]`` the generator parameters,
        seed and package versions.
    """
    if kind not in ("tcga", "gtex"):
        raise ValueError(f"kind must be 'tcga' or 'gtex', got {kind!r}.")
    n_samples, n_genes, seed = int(n_samples), int(n_genes), int(seed)
    if n_genes < 50:
        raise ValueError(f"n_genes={n_genes} is too small; use at least 50.")
    p = DEFAULTS
    rng = np.random.default_rng([seed, 0 if kind == "tcga" else 1])

    c = _draw_cohort(rng, kind, n_samples, p)
    female, age = _draw_sex_age(rng, c)
    A = _draw_programs(rng, c, female)
    mean_by_type, noise_sd, L = _draw_genes(rng, c, n_genes, p)
    X, outliers, unexpressed = _draw_expression(rng, c, mean_by_type, noise_sd, A, L, p)
    clinical = _draw_clinical(rng, c, A, age, female, p)

    obs_names = [f"S{i + 1:05d}" for i in range(n_samples)]
    var_names = [f"G{j + 1:05d}" for j in range(n_genes)]
    adata = ad.AnnData(X=X, obs=_obs_frame(c, clinical, obs_names),
                       var=pd.DataFrame(index=pd.Index(var_names, name="gene")))
    adata.obsm["ground_truth_programs"] = A
    adata.varm["ground_truth_loadings"] = L
    params = {"kind": kind, "n_samples": n_samples, "n_genes": n_genes, "seed": seed, **p}
    adata.uns[UNS_GROUND_TRUTH] = {
        "programs": list(PROGRAMS),
        "survival_programs": list(SURVIVAL_PROGRAMS) if c.tcga else [],
        "lineages": {t: c.table[t][0] for t in c.types},
        "outliers": [obs_names[i] for i in outliers],
        "unexpressed_genes": [var_names[j] for j in np.sort(unexpressed)],
        "params": params,
    }
    adata.uns[UNS_PROVENANCE] = {
        "source": f"simulated ({kind})",
        "generator": "vae_core.data.simulate",
        "params": params,
        "seed": seed,
        "versions": package_versions(_VERSIONED),
    }
    return adata
