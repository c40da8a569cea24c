"""The simulator's clock: real monotonic time plus an offset that tests can advance or freeze.

Time-dependent behaviour (the enable-ops window, the rate-limit window) reads this clock, so a test
moves time forward with ``POST /__sim/clock`` instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class SimClock:
    """``now()`` in seconds; ``advance(s)`` jumps ahead; ``freeze()`` stops the real time from counting."""

    def __init__(self, source: Callable[[], float] = time.monotonic) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at: float | None = None

    def now(self) -> float:
        with self._lock:
            base = self._frozen_at if self._frozen_at is not None else self._source()
            return base + self._offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()

    def freeze(self, frozen: bool) -> None:
        with self._lock:
            if frozen and self._frozen_at is None:
                self._frozen_at = self._source()
            elif not frozen and self._frozen_at is not None:
                self._offset -= self._source() - self._frozen_at  # no jump when time resumes
                self._frozen_at = None

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
            self._frozen_at = None
