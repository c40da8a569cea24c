"""The request limits of the simulators.

OpsGenie: token buckets per rate-limit domain, one per window (1 s and 60 s), refilled continuously
(:class:`RateLimiter`). Atlassian: one rolling window over all API families (:class:`RollingWindow`). Both
answer a :class:`Verdict`.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
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
class Verdict:
    allowed: bool
    retry_after: int = 0
    """Whole seconds until a request would be accepted again (for ``Retry-After``)."""
    period: int = 0
    """OpsGenie: the window (1 or 60 s) that refused the request."""
    reset_in: float = 0.0
    """Atlassian: seconds until the oldest counted request leaves the window (for ``X-RateLimit-Reset``)."""


class RateLimiter:
    """Checks both windows of a domain; a throttled request takes no token."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, int, int], TokenBucket] = {}

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()

    def use_clock(self, clock: Callable[[], float] = time.monotonic) -> None:
        """Count the windows on ``clock`` from now on (tests: a clock that moves when the client sleeps); the
        buckets start full, as after :meth:`reset` (times read on another clock mean nothing on this one)."""
        with self._lock:
            self._clock = clock
            self._buckets.clear()

    def _bucket(self, domain: str, limit: int, period: int, now: float) -> TokenBucket:
        key = (domain, period, limit)  # a changed limit starts a fresh bucket
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(limit, float(period), float(limit), now)
        return bucket

    def take(self, domain: str, limits: RateLimit) -> Verdict:
        with self._lock:
            now = self._clock()
            windows = ((1, limits.per_second), (60, limits.per_minute))
            buckets = [(period, self._bucket(domain, limit, period, now)) for period, limit in windows]
            for period, bucket in buckets:
                bucket.refill(now)
                if bucket.tokens < 1.0:
                    return Verdict(False, max(1, math.ceil(bucket.wait_time())), period=period)
            for _period, bucket in buckets:
                bucket.tokens -= 1.0
            return Verdict(True)


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
            return Verdict(False, max(1, math.ceil(wait - 1e-9)), reset_in=max(0.0, wait))  # no float noise
