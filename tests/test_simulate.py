"""Simulator (``docs/design.md``, "Simulated cohorts"): determinism, schema, planted structure
found by simple methods."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from vae_core.data import simulate
from vae_core.keys import CANONICAL_OBS, OBS, SBS_COLUMNS

SMALL = {"n_samples": 500, "n_genes": 200}


def test_same_seed_byte_identical_other_seed_differs():
    a = simulate("tcga", seed=3, **SMALL)
    b = simulate("tcga", seed=3, **SMALL)
    c = simulate("tcga", seed=4, **SMALL)
    assert a.X.dtype == np.float32
    assert a.X.tobytes() == b.X.tobytes()
    pd.testing.assert_frame_equal(a.obs, b.obs)
    assert np.array_equal(a.obsm["ground_truth_programs"], b.obsm["ground_truth_programs"])
    assert a.X.tobytes() != c.X.tobytes()
    assert not a.obs[OBS.AGE].equals(c.obs[OBS.AGE])
    g1, g2 = simulate("gtex", seed=3, **SMALL), simulate("gtex", seed=3, **SMALL)
    assert g1.X.tobytes() == g2.X.tobytes()


def test_schema_and_ground_truth_slots(sim_tcga_raw):
    a = sim_tcga_raw
    assert a.shape == (1200, 600)
    assert list(a.obs.columns) == list(CANONICAL_OBS)
    assert a.obs_names[0] == "S00001" and a.var_names[0] == "G00001"
    assert isinstance(a.obs[OBS.LABEL].dtype, pd.CategoricalDtype)
    assert list(a.obs[OBS.GENDER].cat.categories) == ["female", "male"]
    gt = a.uns["ground_truth"]
    for p in ("immune", "proliferation", "sex", "apobec"):
        assert p in gt["programs"]
    assert len(gt["survival_programs"]) == 2
    assert set(gt["lineages"]) == set(a.obs[OBS.LABEL].cat.categories)
    n_lineages = len(set(gt["lineages"].values()))
    assert 5 <= n_lineages < 33
    P = len(gt["programs"])
    assert a.obsm["ground_truth_programs"].shape == (1200, P)
    assert a.varm["ground_truth_loadings"].shape == (600, P)
    assert a.obsm["ground_truth_programs"].dtype == np.float32
    prov = a.uns["provenance"]
    assert prov["seed"] == 0 and prov["params"]["n_genes"] == 600 and "numpy" in prov["versions"]
    assert (a.X >= 0).all()


def test_realistic_missingness(sim_tcga_raw, sim_gtex_raw):
    obs = sim_tcga_raw.obs
    frac_na = obs.isna().mean()
    assert frac_na[OBS.LABEL] == 0
    for c in (OBS.AGE, OBS.GENDER, OBS.OS_TIME, OBS.OS_EVENT):
        assert 0 < frac_na[c] < 0.05, c       # a few unknowns, never made up
    assert 0.5 < frac_na[OBS.METASTASIS] < 0.9    # metastasis for a minority only
    for c in SBS_COLUMNS:
        assert 0.1 < frac_na[c] < 0.35, c
    assert frac_na[OBS.IMMUNE] == 0
    g = sim_gtex_raw.obs
    for c in (OBS.OS_TIME, OBS.OS_EVENT, OBS.METASTASIS, *SBS_COLUMNS):
        assert g[c].isna().all(), c
    assert g[OBS.AGE].notna().mean() > 0.95


def test_types_tissues_imbalanced(sim_tcga_raw, sim_gtex_raw):
    t = sim_tcga_raw.obs[OBS.LABEL].value_counts()
    assert len(t) == 33 and t.min() >= 2
    assert 6 <= t.max() / t.min() <= 15
    g = simulate("gtex", n_samples=2000, n_genes=60, seed=0).obs[OBS.LABEL].value_counts()
    assert len(g) == 30 and 6 <= g.max() / g.min() <= 15
    assert sim_gtex_raw.obs[OBS.LABEL].nunique() == 30


def test_survival_events_and_metastasis(sim_tcga_raw):
    obs = sim_tcga_raw.obs
    ev = obs[OBS.OS_EVENT].dropna()
    assert set(ev.unique()) <= {0.0, 1.0}
    assert 0.2 <= ev.mean() <= 0.55
    assert (obs[OBS.OS_TIME].dropna() > 0).all()
    met = obs[OBS.METASTASIS].notna()
    assert (obs.loc[met, OBS.METASTASIS] <= obs.loc[met, OBS.OS_TIME]).all()


def test_survival_follows_planted_hazard(sim_tcga_raw):
    """Proliferation (a survival program) raises the hazard: Cox coefficient > 0."""
    from lifelines import CoxPHFitter

    a = sim_tcga_raw
    gt = a.uns["ground_truth"]
    assert "proliferation" in gt["survival_programs"]
    prolif = a.obsm["ground_truth_programs"][:, gt["programs"].index("proliferation")]
    df = pd.DataFrame({"T": a.obs[OBS.OS_TIME], "E": a.obs[OBS.OS_EVENT], "p": prolif,
                       "age": a.obs[OBS.AGE]}).dropna()
    cph = CoxPHFitter().fit(df, "T", "E")
    assert cph.params_["p"] > 0.2 and cph.params_["age"] > 0


def test_single_sex_types(sim_tcga_raw):
    obs = sim_tcga_raw.obs.dropna(subset=[OBS.GENDER])
    frac_f = obs.groupby(OBS.LABEL, observed=True)[OBS.GENDER].apply(
        lambda s: (s == "female").mean())
    for t in ("OV", "UCEC", "CESC", "UCS"):
        assert frac_f[t] == 1.0
    for t in ("PRAD", "TGCT"):
        assert frac_f[t] == 0.0
    assert ((frac_f > 0.2) & (frac_f < 0.8)).sum() > 10


def test_sbs2_sbs13_cooccur_and_age_signatures(sim_tcga_raw):
    obs = sim_tcga_raw.obs
    sbs = obs[list(SBS_COLUMNS)]
    # missing together (one WES per sample), shares sum to at most 1
    assert (sbs.isna().all(axis=1) == sbs.isna().any(axis=1)).all()
    assert (sbs.dropna().sum(axis=1) <= 1 + 1e-9).all() and (sbs.dropna() >= 0).all().all()
    ok = sbs.notna().all(axis=1)
    assert spearmanr(obs.loc[ok, "sbs_2"], obs.loc[ok, "sbs_13"]).statistic > 0.5
    both = (obs.loc[ok, "sbs_2"] > 0) == (obs.loc[ok, "sbs_13"] > 0)
    assert both.mean() > 0.95
    apobec = sim_tcga_raw.obsm["ground_truth_programs"][:, 3]
    assert spearmanr(apobec[ok.to_numpy()], obs.loc[ok, "sbs_2"]).statistic > 0.5
    ok_age = ok & obs[OBS.AGE].notna()
    clock = obs.loc[ok_age, "sbs_5"] + obs.loc[ok_age, "sbs_1"]
    assert spearmanr(obs.loc[ok_age, OBS.AGE], clock).statistic > 0.2


def test_immune_score_tracks_planted_program(sim_tcga_raw):
    a = sim_tcga_raw
    idx = a.uns["ground_truth"]["programs"].index("immune")
    rho = spearmanr(a.obs[OBS.IMMUNE], a.obsm["ground_truth_programs"][:, idx]).statistic
    assert 0.5 < rho < 0.99


def test_sex_program_matches_gender(sim_tcga_raw):
    a = sim_tcga_raw
    sex = a.obsm["ground_truth_programs"][:, a.uns["ground_truth"]["programs"].index("sex")]
    g = a.obs[OBS.GENDER]
    ok = g.notna().to_numpy()
    assert np.array_equal(sex[ok] > 0, (g[ok] == "male").to_numpy())


def _pca_leiden_ari(adata, seed=0):
    import scanpy as sc
    from sklearn.metrics import adjusted_rand_score

    b = adata.copy()
    sc.pp.pca(b, n_comps=30, random_state=seed)
    sc.pp.neighbors(b, n_neighbors=15, n_pcs=30, random_state=seed, transformer="sklearn")
    sc.tl.leiden(b, resolution=1.0, flavor="leidenalg", n_iterations=-1, random_state=seed,
                 key_added="cl")
    return adjusted_rand_score(b.obs[OBS.LABEL], b.obs["cl"])


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_pca_leiden_recovers_type_above_chance_not_perfectly(sim_tcga):
    ari = _pca_leiden_ari(sim_tcga)
    assert 0.2 < ari < 0.9
    # negative control: shuffled labels are at chance
    rng = np.random.default_rng(0)
    shuffled = sim_tcga.copy()
    shuffled.obs[OBS.LABEL] = sim_tcga.obs[OBS.LABEL].to_numpy()[rng.permutation(sim_tcga.n_obs)]
    assert abs(_pca_leiden_ari(shuffled)) < 0.05


def test_bad_kind_and_sizes():
    with pytest.raises(ValueError, match="'tcga' or 'gtex'.*'brca'"):
        simulate("brca", **SMALL)
    with pytest.raises(ValueError, match="n_samples=20 is too small"):
        simulate("tcga", n_samples=20, n_genes=100)


def test_programs_learnable_from_ten_linear_factors(sim_tcga):
    """A 10-d linear embedding (PCA) of the preprocessed cohort carries the planted programs,
    so a 10-d VAE has the signal to pick them up."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LinearRegression

    Z = PCA(10, random_state=0).fit_transform(sim_tcga.X)
    A = sim_tcga.obsm["ground_truth_programs"]
    names = sim_tcga.uns["ground_truth"]["programs"]
    for p in ("immune", "sex", "apobec", "proliferation"):
        y = A[:, names.index(p)]
        assert LinearRegression().fit(Z, y).score(Z, y) > 0.6, p
