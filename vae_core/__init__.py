"""vae_core: benchmarking variational autoencoders on transcriptomics.

Re-implementation of Eltager et al., "Benchmarking variational autoencoders on cancer
transcriptomics data", PLoS ONE 2023. Parts (dependencies run one way):

- ``data``        simulated cohorts, real TCGA/GTEx loaders, preprocessing, splits
- ``models``      the six VAEs (pure torch)
- ``train``       TrainConfig and fit()
- ``grid``        hyperparameter grid, resumable store, local/ray executors
- ``downstream``  Leiden ARI, Cox AIC, active units (arrays and tables only)
- ``disentangle`` Spearman correlations, WSEPIN, RMIG (arrays only)
- ``plots``       one function per paper figure/table (tables only)
"""

__version__ = "0.1.0"
