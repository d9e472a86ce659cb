"""The lists of files notebook 06 writes into ``figures/<profile>/``, derived from the catalog.

``FIGURES`` / ``TABLES`` map each of the paper's outputs to its caption (``plots.catalog``);
``expected_files(t)`` lists every file for a run's tables (registered metrics' ``metric_<name>``
figures and extra models' figures included); ``EXPECTED_FILES`` is that list for the models and
metrics registered when this module was imported.
"""

from __future__ import annotations

from . import build as _build
from . import catalog

#: figure basename -> caption, the paper's figures
FIGURES: dict[str, str] = {o.name: o.caption for o in catalog.outputs(kind="figure") if o.paper}
#: table basename -> caption, the paper's tables
TABLES: dict[str, str] = {o.name: o.caption for o in catalog.outputs(kind="table") if o.paper}

SCORECARD = "scorecard.md"

expected_files = _build.expected_files

#: Every file notebook 06 writes, relative to ``paths.figures_dir(profile, base_dir)``, for the
#: registrations at import time (``expected_files(t)`` for a run with plugins).
EXPECTED_FILES: tuple[str, ...] = expected_files()
