"""Shared helpers for benchmarks: wall time and peak memory of a callable."""

from __future__ import annotations

import resource
import threading
import time


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
