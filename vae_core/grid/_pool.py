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


def init_worker(X: Any, labels: Any, threads: int, plugins: Sequence[str] = ()) -> None:
    """Loky initializer: load the driver's plugins first (so a model or metric they register
    exists in this worker before anything else is imported), then hand the cohort (X float32
    [n, G], labels [n]) to the runner, once per worker."""
    from .. import plugins as _plugins

    _plugins.load(list(plugins))
    from . import runner

    runner._init_worker(X, labels, threads)
