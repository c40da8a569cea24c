"""Per-client request rate limit: one token bucket per bearer token or OAuth client name."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class ClientRateLimiter:
    """Allow each client ``rate`` requests per second on average and ``burst`` at once.

    Keys are the names of configured tokens and clients, so the table stays as small as the configuration.
    """

    def __init__(self, rate: float, burst: int = 0, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = float(burst if burst >= 1 else max(1, math.ceil(rate * 2)))
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def acquire(self, key: str) -> float:
        """Take one request from ``key``'s bucket: 0.0 when allowed, else the seconds until one is available."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
