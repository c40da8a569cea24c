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
        """Wait for a request slot in ``domain``; raise BudgetExhausted if none comes by ``deadline``.

        A slot free now is granted even after ``deadline``: the caller (a retry loop that slept a little
        past it) has decided to send, and the deadline only bounds how long it may wait."""
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


class LimitTable:
    """The limits in force per domain, each period widened by ``margin`` seconds to absorb network jitter.

    Thread-safe. Both budgets (this process's and the one shared through the database) keep theirs here.
    """

    def __init__(self, limits: Mapping[str, Iterable[RateLimit]], margin: float) -> None:
        self._margin = margin
        self._lock = threading.Lock()
        self._windows: dict[str, list[tuple[int, float]]] = {}
        self.configure(limits)

    @property
    def margin(self) -> float:
        return self._margin

    def configure(self, limits: Mapping[str, Iterable[RateLimit]]) -> None:
        """Replace the limits of the domains named in ``limits``; other domains keep theirs."""
        with self._lock:
            for domain, domain_limits in limits.items():
                self._windows[domain] = [
                    (limit.limit, limit.period + self._margin)
                    for limit in domain_limits
                    if limit.limit > 0 and limit.period > 0
                ]

    def limits(self) -> dict[str, tuple[RateLimit, ...]]:
        """The limits in force, per domain (without the margin)."""
        with self._lock:
            return {
                domain: tuple(RateLimit(limit, period - self._margin) for limit, period in windows)
                for domain, windows in self._windows.items()
            }

    def windows(self, domain: str) -> list[tuple[int, float]]:
        """``(limit, period + margin)`` of each window of ``domain``; empty when it has none."""
        with self._lock:
            return list(self._windows.get(domain, ()))


def waits_too_long(wait: float, time_left: float) -> bool:
    """Whether a slot ``wait`` seconds away comes too late for a caller with ``time_left`` seconds. The deadline
    bounds waiting only: a slot free now is taken even when the caller (a retry that slept a little past its
    deadline) has no time left."""
    return wait > 0 and wait > time_left


def earliest_slot(slots: Sequence[float], windows: Sequence[tuple[int, float]], now: float) -> float:
    """The earliest instant, not before ``now`` nor before the last slot, at which one more request fits
    every window, given the send times ``slots`` (ascending, past or reserved) of the recent requests."""
    at = max(now, slots[-1]) if slots else now
    for limit, period in windows:
        if len(slots) >= limit:
            at = max(at, slots[-limit] + period)
    return at


def free_slots(slots: Sequence[float], windows: Sequence[tuple[int, float]], now: float) -> int:
    """How many requests may start at ``now`` without waiting (the tightest window decides)."""
    return max(0, min(limit - sum(1 for s in slots if s > now - period) for limit, period in windows))


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
        self._table = LimitTable(FALLBACK_LIMITS if limits is None else limits, margin)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._slots: dict[str, deque[float]] = {}
        self._blocked_until: dict[str, float] = {}

    def configure(self, limits: Mapping[str, Iterable[RateLimit]]) -> None:
        """Replace the limits of the domains named in ``limits``; other domains keep theirs.

        Requests already sent keep counting against the new limits.
        """
        self._table.configure(limits)

    def limits(self) -> dict[str, tuple[RateLimit, ...]]:
        """The limits in force, per domain (without the margin)."""
        return self._table.limits()

    def _recent(self, domain: str, windows: Sequence[tuple[int, float]], now: float) -> deque[float]:
        """The domain's send times, without those older than its longest window (lock held)."""
        slots = self._slots.setdefault(domain, deque())
        longest = max((period for _, period in windows), default=0.0)
        while slots and slots[0] <= now - longest:
            slots.popleft()
        return slots

    def remaining(self) -> dict[str, float]:
        """Per limited domain, the requests that may start now without waiting (tightest window)."""
        with self._lock:
            now = self._clock()
            left: dict[str, float] = {}
            for domain in self._table.limits():
                windows = self._table.windows(domain)
                if not windows:
                    continue
                free = free_slots(self._recent(domain, windows, now), windows, now)
                left[domain] = 0.0 if self._blocked_until.get(domain, now) > now else float(free)
            return left

    def acquire(self, domain: str, deadline: float) -> None:
        windows = self._table.windows(domain)
        with self._lock:
            now = self._clock()
            at = self._blocked_until.get(domain, now)
            if windows:
                at = max(at, earliest_slot(self._recent(domain, windows, now), windows, now))
            at = max(at, now)
            if waits_too_long(at - now, deadline - now):
                raise BudgetExhausted(
                    f"rate budget for {domain!r} has no slot for {at - now:.2f}s",
                    retry_after=at - now,
                    domain=domain,
                )
            if windows:
                self._slots[domain].append(at)
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
