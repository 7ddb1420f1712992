"""Progress of a build: a terminal bar with chunks/s and ETA, a callback, and a log line for the API.

``on_progress(stage, done, total)`` gets every step; without a callback and without a bar, a log
line (INFO, logger ``ragengine.indexing``) reports the encoder pass about every 10 seconds with
its rate and ETA, so a library user sees a long build advance.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("ragengine.indexing")
LOG_EVERY_S = 10.0


class Progress:
    """Reports one build's stages; ``encoded(done)`` drives the encoder bar (total known up front)."""

    def __init__(self, bar: bool, on_progress: Callable[[str, int, int], None] | None) -> None:
        self.bar = bar
        self.on_progress = on_progress
        self._tqdm: Any = None
        self._total = 0
        self._t0 = 0.0
        self._last_log = 0.0

    def tell(self, stage: str, done: int, total: int) -> None:
        if self.on_progress is not None:
            self.on_progress(stage, done, total)

    def start_encoding(self, total: int) -> None:
        self._total, self._t0 = total, time.perf_counter()
        self._last_log = self._t0
        self.tell("embedding", 0, total)
        if self.bar and total:
            from tqdm import tqdm

            self._tqdm = tqdm(total=total, desc="embedding", unit="chunk", leave=False, smoothing=0.1)

    def encoded(self, done: int) -> None:
        self.tell("embedding", done, self._total)
        if self._tqdm is not None:
            self._tqdm.update(done - self._tqdm.n)
            return
        now = time.perf_counter()
        if self.on_progress is None and now - self._last_log >= LOG_EVERY_S and done < self._total:
            rate = done / max(now - self._t0, 1e-9)
            eta = (self._total - done) / max(rate, 1e-9)
            log.info("embedded %d/%d chunks (%.1f chunks/s, ETA %.0f s)", done, self._total, rate, eta)
            self._last_log = now

    def finish_encoding(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()
            self._tqdm = None
        self.tell("embedding", self._total, self._total)
        if self._total:
            secs = time.perf_counter() - self._t0
            log.info("embedded %d chunks in %.1f s (%.1f chunks/s)", self._total, secs, self._total / max(secs, 1e-9))
