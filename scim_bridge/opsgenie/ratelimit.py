"""Client-side rate budget: the bridge slows itself down instead of collecting 429s.

OpsGenie limits each request domain ("configuration" for gets and writes of users, teams, roles and
contacts; "search" for list users) with a per-second and a per-minute rolling window. The
:class:`RateBudget` protocol is what the client needs; :class:`RollingWindowBudget` keeps the
budget in this process (one per replica); ``store/budget.py`` implements it on top of the database for
several replicas. The window arithmetic both use is in :mod:`scim_bridge.ratewindow`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any
from typing import Protocol

from scim_bridge.ratewindow import FALLBACK
from scim_bridge.ratewindow import BudgetState
from scim_bridge.ratewindow import LimitTable
from scim_bridge.ratewindow import RateLimit
from scim_bridge.ratewindow import adapt_to_wait
from scim_bridge.ratewindow import earliest_slot
from scim_bridge.ratewindow import free_slots
from scim_bridge.ratewindow import lowered
from scim_bridge.ratewindow import no_slot
from scim_bridge.ratewindow import waits_too_long

CONFIGURATION = "configuration"
SEARCH = "search"

# Used until the real limits are read from GET /v2/request-limits/, and where the learning starts when they
# cannot be read (a team key, an older account). OpsGenie does not publish its numbers, so these are
# deliberately modest.
FALLBACK_LIMITS: Mapping[str, tuple[RateLimit, ...]] = {
    CONFIGURATION: (RateLimit(10, 1.0), RateLimit(300, 60.0)),
    SEARCH: (RateLimit(5, 1.0), RateLimit(100, 60.0)),
}


class RateBudget(Protocol):
    """What the client asks of a rate budget. ``deadline`` is a ``time.monotonic()`` value."""

    def acquire(self, domain: str, deadline: float) -> None:
        """Wait for a request slot in ``domain``; raise :class:`~scim_bridge.ratewindow.NoSlot` if none comes by
        ``deadline``.

        A slot free now is granted even after ``deadline``: the caller (a retry loop that slept a little past it)
        has decided to send, and the deadline only bounds how long it may wait."""
        ...

    def throttled(self, domain: str, seconds: float, window: float | None = None) -> None:
        """Upstream throttled a request (429, or an answer it delayed): hand out no slot in ``domain`` for
        ``seconds``; ``window`` is the period named by ``X-RateLimit-Period-In-Sec`` (1 or 60), when given."""
        ...


class AdaptiveBudget(RateBudget, Protocol):
    """A budget whose limits can be set (calibrated) or learned from the upstream's answers."""

    def configure(self, limits: Mapping[str, Iterable[RateLimit]]) -> None: ...

    def learn(self) -> None: ...

    def state(self) -> BudgetState: ...


class UnlimitedBudget:
    """A budget that never waits; for tests and for callers that throttle elsewhere."""

    def acquire(self, domain: str, deadline: float) -> None:
        return None

    def throttled(self, domain: str, seconds: float, window: float | None = None) -> None:
        return None


class RollingWindowBudget:
    """A thread-safe per-process budget: for each domain, a rolling window per configured limit.

    A caller reserves the earliest instant at which every window of its domain has room, then
    sleeps until that instant, so concurrent callers are served in order without busy waiting.
    Rolling windows (rather than a refilling bucket, which may burst up to twice its size inside
    one window) keep the request rate under a rolling-window limit upstream. ``margin`` seconds
    are added to every period to absorb network jitter. Domains without limits never wait.

    After :meth:`learn` the limits adapt (see :mod:`scim_bridge.ratewindow`): halved on a 429 that names
    their window, raised while none comes and callers wait for them.
    """

    def __init__(
        self,
        limits: Mapping[str, Iterable[RateLimit]] | None = None,
        *,
        margin: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table = LimitTable(FALLBACK_LIMITS if limits is None else limits, margin, FALLBACK)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._slots: dict[str, deque[float]] = {}
        self._blocked_until: dict[str, float] = {}

    def configure(self, limits: Mapping[str, Iterable[RateLimit]]) -> None:
        """Replace the limits of the domains named in ``limits`` (other domains keep theirs); stop learning.

        Requests already sent keep counting against the new limits.
        """
        self._table.configure(limits)

    def learn(self) -> None:
        """Adapt the limits from now on, starting from those in force."""
        self._table.learn(self._clock())

    def limits(self) -> dict[str, tuple[RateLimit, ...]]:
        """The limits in force, per domain (without the margin)."""
        return self._table.limits()

    def state(self) -> BudgetState:
        return self._table.state()

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
        with self._lock:
            windows = self._table.windows(domain)
            now = self._clock()
            at = max(now, self._blocked_until.get(domain, now))
            if windows:
                slots = self._recent(domain, windows, now)
                at = max(at, earliest_slot(slots, windows, now))
                if at > now and adapt_to_wait(self._table, domain, slots, windows, now,
                                              self._table.learned(domain)) is not None:
                    windows = self._table.windows(domain)
                    at = max(now, self._blocked_until.get(domain, now), earliest_slot(slots, windows, now))
            if waits_too_long(at - now, deadline - now):
                raise no_slot(domain, at - now)
            if windows:
                self._slots[domain].append(at)
        if at > now:
            self._sleep(at - now)

    def throttled(self, domain: str, seconds: float, window: float | None = None) -> None:
        with self._lock:
            now = self._clock()
            until = now + max(0.0, seconds)
            self._blocked_until[domain] = max(until, self._blocked_until.get(domain, until))
            learned = self._table.learned(domain)
            down = lowered(learned, window, now) if learned else None
            if down is not None:
                self._table.set_learned(domain, down)


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
