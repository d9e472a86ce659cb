"""Shared helpers for benchmarks: wall time and peak memory of a block, measured numbers."""

from __future__ import annotations

import functools
import json
import resource
import threading
import time
from pathlib import Path
from typing import Any

#: The repository root (this folder's parent): ``params/`` lives there.
REPO_ROOT = Path(__file__).resolve().parents[1]
#: Numbers measured once by a benchmark and reused by another (see ``measured``).
MEASURED_JSON = Path(__file__).resolve().with_name("measured.json")


@functools.cache
def _measured_table() -> dict[str, Any]:
    return json.loads(MEASURED_JSON.read_text())


def measured(name: str) -> Any:
    """The ``value`` of entry ``name`` of ``benchmarks/measured.json``.

    Each entry holds the measured ``value`` with its ``unit``, ``what`` was measured, the
    ``command`` that measured it, the ``date`` and the ``machine``. Re-measure with the command
    and edit the file (and the README's Benchmarks table, which quotes the same runs).
    """
    table = _measured_table()
    if name not in table:
        raise KeyError(f"{name!r} is not in {MEASURED_JSON}; entries: "
                       f"{sorted(k for k in table if not k.startswith('_'))}")
    return table[name]["value"]


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize()


class PeakMemory:
    """Sample RSS every ``interval`` seconds while the block runs; ``.peak`` in bytes.

    Reports the peak *increase* over the RSS at entry in ``.delta`` too.
    """

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.peak = 0
        self.start = 0
        self._stop = threading.Event()

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_bytes())
            time.sleep(self.interval)

    def __enter__(self):
        self.start = _rss_bytes()
        self.peak = self.start
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, _rss_bytes())
        self.delta = self.peak - self.start
        return False
