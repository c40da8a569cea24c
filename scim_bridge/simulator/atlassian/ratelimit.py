"""One rolling-window request limit over all API families (``rate_limit`` per ``rate_window_s``)."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0
    """Whole seconds until a request would be accepted again (for ``Retry-After``)."""
    reset_in: float = 0.0
    """Seconds until the oldest counted request leaves the window (for ``X-RateLimit-Reset``)."""


class RollingWindow:
    """The times of the accepted requests of the last window; a refused request is not counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamps: deque[float] = deque()

    def reset(self) -> None:
        with self._lock:
            self._stamps.clear()

    def take(self, now: float, limit: int, window: float) -> Verdict:
        with self._lock:
            while self._stamps and self._stamps[0] <= now - window:
                self._stamps.popleft()
            if len(self._stamps) < limit:
                self._stamps.append(now)
                return Verdict(True)
            # the request that frees a slot is the one `limit` places back from the newest
            wait = self._stamps[len(self._stamps) - limit] + window - now
            return Verdict(False, max(1, math.ceil(wait - 1e-9)), max(0.0, wait))  # no float noise
