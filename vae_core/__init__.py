"""vae_core: benchmarking variational autoencoders on transcriptomics.

Re-implementation of Eltager et al., "Benchmarking variational autoencoders on cancer
transcriptomics data", PLoS ONE 2023. Parts (dependencies run one way; ``docs/design.md``,
"Layers"):

- ``registry``    the torch-free list of model names and display labels
- ``plugins``     user files or modules from the params key ``plugins:`` (models, metrics, ...)
- ``provenance``  versions, git commit, host, device and time of every result
- ``data``        simulated cohorts, real TCGA/GTEx loaders, user tables, preprocessing, split
- ``models``      the six VAEs and ``models.register`` (pure torch)
- ``train``       ``TrainConfig``, ``fit``, stacked ``fit_many``, early stopping
- ``grid``        specs and keys, balanced designs, resumable store, local/Ray executors
- ``downstream``  metric registry, Leiden ARI, Cox AIC, run tables (arrays and tables only)
- ``disentangle`` Spearman correlations, WSEPIN, RMIG (arrays and tables only)
- ``plots``       figure/table catalog, scorecard claims, one palette (tables only)

Leaf modules: ``keys`` (column names, grid axes), ``tables`` (tidy table schema), ``paths``
(every path the project reads or writes).
"""

__version__ = "0.1.0"
