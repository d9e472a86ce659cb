"""Start-up of the grid's local worker processes (``vae_core.grid.runner``, issue 13 E).

Kept free of heavy imports on purpose. Loky sends each new worker its initializer and the cohort
through a pipe, one worker after the other; a worker resolves the initializer while it reads
that pipe, so an initializer living in a module that imports torch (~4 s) would hold the next
worker's start back until this one finished importing: measured, two workers ready after 7.2 s
instead of 3.5 s. This module imports nothing at load time; the heavy import
(``vae_core.grid.runner``, torch) happens inside the initializer, after the pipe is drained, in
every worker at once.
"""

from __future__ import annotations

from typing import Any


def init_worker(X: Any, labels: Any, threads: int) -> None:
    """Loky initializer: hand the cohort (X float32 [n, G], labels [n]) to the runner, once."""
    from .grid import runner

    runner._init_worker(X, labels, threads)
