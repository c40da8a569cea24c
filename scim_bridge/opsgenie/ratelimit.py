"""Client-side rate budget: the bridge slows itself down instead of collecting 429s.

OpsGenie limits each request domain ("configuration" for gets and writes of users, teams, roles and
contacts; "search" for list users) with a per-second and a per-minute rolling window. The
:class:`RateBudget` protocol is what the client needs; :class:`RollingWindowBudget` keeps the
budget in this process (one per replica). A budget shared by several replicas can implement the
same protocol on top of a database.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from typing import Protocol

from scim_bridge.opsgenie.errors import BudgetExhausted

CONFIGURATION = "configuration"
SEARCH = "search"


@dataclass(frozen=True)
class RateLimit:
    """At most ``limit`` requests in any window of ``period`` seconds."""

    limit: int
    period: float


# Used until the real limits are read from GET /v2/request-limits/. OpsGenie does not publish its
# numbers, so these are deliberately modest; the operator can configure others.
FALLBACK_LIMITS: Mapping[str, tuple[RateLimit, ...]] = {
    CONFIGURATION: (RateLimit(10, 1.0), RateLimit(300, 60.0)),
    SEARCH: (RateLimit(5, 1.0), RateLimit(100, 60.0)),
}


class RateBudget(Protocol):
    """What the client asks of a rate budget. ``deadline`` is a ``time.monotonic()`` value."""

    def acquire(self, domain: str, deadline: float) -> None:
        """Wait for a request slot in ``domain``; raise BudgetExhausted if none comes by ``deadline``."""
        ...

    def throttled(self, domain: str, seconds: float) -> None:
        """Upstream answered 429: hand out no slot in ``domain`` for ``seconds``."""
        ...


class UnlimitedBudget:
    """A budget that never waits; for tests and for callers that throttle elsewhere."""

    def acquire(self, domain: str, deadline: float) -> None:
        return None

    def throttled(self, domain: str, seconds: float) -> None:
        return None


class _Domain:
    """The limits of one domain and the send times (past or reserved) of its recent requests."""

    def __init__(self) -> None:
        self.limits: list[tuple[int, float]] = []
        self.slots: deque[float] = deque()

    def earliest(self, now: float) -> float:
        longest = max((period for _, period in self.limits), default=0.0)
        while self.slots and self.slots[0] <= now - longest:
            self.slots.popleft()
        at = now
        for limit, period in self.limits:
            if len(self.slots) >= limit:
                at = max(at, self.slots[-limit] + period)
        return at


class RollingWindowBudget:
    """A thread-safe per-process budget: for each domain, a rolling window per configured limit.

    A caller reserves the earliest instant at which every window of its domain has room, then
    sleeps until that instant, so concurrent callers are served in order without busy waiting.
    Rolling windows (rather than a refilling bucket, which may burst up to twice its size inside
    one window) keep the request rate under a rolling-window limit upstream. ``margin`` seconds
    are added to every period to absorb network jitter. Domains without limits never wait.
    """

    def __init__(
        self,
        limits: Mapping[str, Iterable[RateLimit]] | None = None,
        *,
        margin: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._margin = margin
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._domains: dict[str, _Domain] = {}
        self._blocked_until: dict[str, float] = {}
        self.configure(FALLBACK_LIMITS if limits is None else limits)

    def configure(self, limits: Mapping[str, Iterable[RateLimit]]) -> None:
        """Replace the limits of the domains named in ``limits``; other domains keep theirs.

        Requests already sent keep counting against the new limits.
        """
        with self._lock:
            for domain, domain_limits in limits.items():
                state = self._domains.setdefault(domain, _Domain())
                state.limits = [
                    (limit.limit, limit.period + self._margin)
                    for limit in domain_limits
                    if limit.limit > 0 and limit.period > 0
                ]

    def limits(self) -> dict[str, tuple[RateLimit, ...]]:
        """The limits in force, per domain (without the margin)."""
        with self._lock:
            return {
                domain: tuple(RateLimit(limit, period - self._margin) for limit, period in state.limits)
                for domain, state in self._domains.items()
            }

    def remaining(self) -> dict[str, float]:
        """Per limited domain, the requests that may start now without waiting (tightest window)."""
        with self._lock:
            now = self._clock()
            left: dict[str, float] = {}
            for domain, state in self._domains.items():
                if not state.limits:
                    continue
                free = min(limit - sum(1 for s in state.slots if s > now - period) for limit, period in state.limits)
                left[domain] = 0.0 if self._blocked_until.get(domain, now) > now else float(max(0, free))
            return left

    def acquire(self, domain: str, deadline: float) -> None:
        with self._lock:
            now = self._clock()
            state = self._domains.get(domain)
            at = max(self._blocked_until.get(domain, now), now if state is None else state.earliest(now))
            if at > deadline:
                raise BudgetExhausted(
                    f"rate budget for {domain!r} has no slot for {at - now:.2f}s",
                    retry_after=at - now,
                    domain=domain,
                )
            if state is not None and state.limits:
                state.slots.append(at)
        if at > now:
            self._sleep(at - now)

    def throttled(self, domain: str, seconds: float) -> None:
        with self._lock:
            until = self._clock() + max(0.0, seconds)
            self._blocked_until[domain] = max(until, self._blocked_until.get(domain, until))


def parse_request_limits(data: Any) -> dict[str, tuple[RateLimit, ...]]:
    """Read the ``data`` of GET /v2/request-limits/ into limits per domain; skip malformed entries."""
    result: dict[str, tuple[RateLimit, ...]] = {}
    entries = data.get("rateLimits") if isinstance(data, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("domain"), str):
            continue
        result[entry["domain"].lower()] = tuple(_limits(entry.get("limits")))
    return result


def _limits(raw: Any) -> Sequence[RateLimit]:
    found: list[RateLimit] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        limit, period = item.get("limit"), item.get("periodInSeconds")
        if isinstance(limit, int | float) and isinstance(period, int | float) and limit > 0 < period:
            found.append(RateLimit(int(limit), float(period)))
    return found
