"""Token buckets per rate-limit domain, one per window (1 s and 60 s), refilled continuously."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from scim_bridge.simulator.config import RateLimit


@dataclass
class TokenBucket:
    """``capacity`` tokens refilled at ``capacity / period`` per second: a rolling window."""

    capacity: int
    period: float
    tokens: float
    stamp: float

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.stamp)
        self.tokens = min(float(self.capacity), self.tokens + elapsed * self.capacity / self.period)
        self.stamp = now

    def wait_time(self) -> float:
        """Seconds until one token is available (0 when one is available now)."""
        missing = 1.0 - self.tokens
        return 0.0 if missing <= 0 else missing * self.period / self.capacity


@dataclass(frozen=True)
class Decision:
    allowed: bool
    period: int = 0
    retry_after: int = 0


class RateLimiter:
    """Checks both windows of a domain; a throttled request takes no token."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, int, int], TokenBucket] = {}

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()

    def _bucket(self, domain: str, limit: int, period: int, now: float) -> TokenBucket:
        key = (domain, period, limit)  # a changed limit starts a fresh bucket
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(limit, float(period), float(limit), now)
        return bucket

    def take(self, domain: str, limits: RateLimit) -> Decision:
        with self._lock:
            now = self._clock()
            windows = ((1, limits.per_second), (60, limits.per_minute))
            buckets = [(period, self._bucket(domain, limit, period, now)) for period, limit in windows]
            for period, bucket in buckets:
                bucket.refill(now)
                if bucket.tokens < 1.0:
                    return Decision(False, period, max(1, math.ceil(bucket.wait_time())))
            for _period, bucket in buckets:
                bucket.tokens -= 1.0
            return Decision(True)
