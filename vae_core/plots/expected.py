"""The one list of every file notebook 06 writes into ``figures/<profile>/``.

``FIGURES`` maps each output basename to the paper figure it reproduces; figures are written as
PNG (300 dpi) and PDF, tables as CSV and Markdown. Tests and notebook 06 check against
``EXPECTED_FILES``; ``figures/README.md`` documents the same mapping.
"""

from __future__ import annotations

#: figure basename -> the paper figure it reproduces
FIGURES: dict[str, str] = {
    "fig2_vanilla_loss_vs_downstream": "Fig 2 (A/B loss vs ARI/AIC, C/D UMAPs of the pair)",
    "fig3_models_ari_aic": "Fig 3 (ARI and AIC per model, baseline AIC dashed)",
    "fig4_hyperparameters_tcga": "Fig 4 (ARI per model per hyperparameter value, TCGA)",
    "fig5_failures": "Fig 5 (successful vs failed trainings per hyperparameter value)",
    "fig6_gtex": "Fig 6 (GTEx ARI per model; TCGA vs GTEx ARI)",
    "fig7_wsepin": "Fig 7 (WSEPIN per model and latent size)",
    "fig8_spearman_heatmaps": "Fig 8 (Spearman heatmaps, vanilla and beta at 10 dims)",
    "fig9_rmig_10_20": "Fig 9 (normalised RMIG, 10 and 20 latent dims)",
    "figS1_beta_loss_vs_downstream": "S1 Fig (beta-VAE loss vs ARI/AIC)",
    "figS2_betatc_loss_vs_downstream": "S2 Fig (beta-TCVAE loss vs ARI/AIC)",
    "figS3_dip_loss_vs_downstream": "S3 Fig (DIP-VAE loss vs ARI/AIC, 85th percentile)",
    "figS4_iwae_loss_vs_downstream": "S4 Fig (IWAE loss vs ARI/AIC)",
    "figS5_cat_loss_vs_downstream": "S5 Fig (CAT-VAE loss vs ARI/AIC)",
    "figS6_vanilla_ari_vs_aic": "S6 Fig (vanilla ARI vs AIC with LOWESS)",
    "figS7_hyperparameters_gtex": "S7 Fig (Fig 4 on GTEx)",
    "figS8_rmig_30_200": "S8 Fig (normalised RMIG, 30/50/100/200 latent dims)",
}

#: table basename -> the paper table it reproduces
TABLES: dict[str, str] = {
    "table1_disentangled_features": "Table 1 (disentangled features per model and latent size)",
    "tableS1_constants": "S1 Table (constants held fixed per model)",
    "tableS2_loss_spearman": "S2 Table (|Spearman| of validation loss vs ARI and AIC)",
}

SCORECARD = "scorecard.md"

#: Every file notebook 06 writes, relative to ``paths.figures_dir(profile, base_dir)``.
EXPECTED_FILES: tuple[str, ...] = tuple(
    [f"{name}.{ext}" for name in FIGURES for ext in ("png", "pdf")]
    + [f"{name}.{ext}" for name in TABLES for ext in ("csv", "md")]
    + [SCORECARD])
