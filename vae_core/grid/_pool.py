"""Start-up of the grid's local worker processes (``vae_core.grid.runner``; ``docs/design.md``,
"Executors").

Kept free of heavy imports on purpose. Loky sends each new worker its initializer and the cohort
through a pipe, one worker after the other; a worker resolves the initializer while it reads
that pipe, so an initializer living in a module that imports torch would hold the next worker's
start back until this one finished importing (the workers would start one after the other
instead of together; see the README's Benchmarks section). This module, like the ``vae_core``
and ``vae_core.grid`` packages it lives in, imports nothing heavy at load time; the heavy import
(``vae_core.grid.runner``, torch) happens inside the initializer, after the pipe is drained, in
every worker at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def init_worker(X: Any, labels: Any, threads: int, plugins: Sequence[str] = (),
                score: Any = None) -> None:
    """Loky initializer: load the driver's plugins first (so a model or metric they register
    exists in this worker before anything else is imported), then hand the cohort (X float32
    [n, G], labels [n]) and the score plan of ``run(score=...)`` to the runner, once per
    worker."""
    from .. import plugins as _plugins

    _plugins.load(list(plugins))
    from . import runner

    runner._init_worker(X, labels, threads, score)


def init_score_worker(plan: Any) -> None:
    """Loky initializer of ``grid.scores``' worker processes: load the driver's plugins (a
    metric they register must exist here), then keep the score plan (the cohort's obs and the
    metric parameters), once per worker."""
    from .. import plugins as _plugins

    _plugins.load(list(plan.plugins))
    from . import scores

    scores._init_score_worker(plan)
