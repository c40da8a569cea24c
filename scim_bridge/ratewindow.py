"""Rolling-window arithmetic of a client-side rate budget, shared by the budget kept in one process
(``opsgenie/ratelimit.py``) and the one shared by replicas through the database (``store/budget.py``).

Nothing here knows an upstream or a database: a budget holds, per domain, one or more windows ("at most
``limit`` requests in any ``period`` seconds") and the send times of its recent requests.

When the upstream does not publish its limits, a budget *learns* them (:class:`LearnedWindow`, AIMD-like):
it starts from the figures it was given, halves a window on a 429 that names it (at most once per period),
and while none comes raises a window that made a caller wait by a quarter of its starting figure, at most
once per period; every window stays between a tenth and ten times its starting figure.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from typing import Any

# The modes of a budget, as `scim-bridge check`, the logs and the console name them.
FALLBACK = "fallback"  # the built-in figures, nothing read or learned yet
CALIBRATED = "calibrated"  # the limits the upstream published
LEARNING = "learning"  # adapting from the upstream's 429s and rate-limit headers

DECREASE = 0.5  # a window named by a 429 is multiplied by this
STEP_SHARE = 0.25  # a probe adds this share of the starting figure
FLOOR_SHARE = 0.1  # no window goes below this share of its starting figure (and never below 1)
CEILING_FACTOR = 10.0  # nor above this multiple of it


@dataclass(frozen=True)
class RateLimit:
    """At most ``limit`` requests in any window of ``period`` seconds."""

    limit: int
    period: float


class NoSlot(Exception):
    """No request slot comes in ``domain`` before the caller's deadline; one is ``retry_after`` seconds away."""

    def __init__(self, message: str, *, retry_after: float, domain: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.domain = domain


def no_slot(domain: str, wait: float) -> NoSlot:
    return NoSlot(f"rate budget for {domain!r} has no slot for {wait:.2f}s", retry_after=wait, domain=domain)


@dataclass(frozen=True)
class BudgetState:
    """What a budget goes by: its mode and the limits in force per domain."""

    mode: str
    limits: Mapping[str, tuple[RateLimit, ...]]


# --- learning ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LearnedWindow:
    """One window being learned: its figure now, the figure it started from, when it was last raised and
    lowered (on the budget's clock)."""

    limit: int
    period: float
    start: int
    raised_at: float
    lowered_at: float

    @property
    def floor(self) -> int:
        return max(1, math.ceil(self.start * FLOOR_SHARE))

    @property
    def ceiling(self) -> int:
        return max(self.floor, int(self.start * CEILING_FACTOR))

    def to_json(self) -> dict[str, float]:
        return {"limit": self.limit, "period": self.period, "start": self.start,
                "raised_at": self.raised_at, "lowered_at": self.lowered_at}

    @classmethod
    def from_json(cls, raw: Any) -> LearnedWindow | None:
        if not isinstance(raw, dict):
            return None
        try:
            window = cls(int(raw["limit"]), float(raw["period"]), int(raw["start"]),
                         float(raw["raised_at"]), float(raw["lowered_at"]))
        except (KeyError, TypeError, ValueError):
            return None
        return window if window.limit > 0 and window.period > 0 and window.start > 0 else None


def start_learning(limits: Iterable[RateLimit], now: float) -> tuple[LearnedWindow, ...]:
    """Windows to learn from ``limits``: each starts at its figure, may be lowered at once, and is probed upward
    one period from ``now`` at the earliest."""
    return tuple(LearnedWindow(lim.limit, lim.period, lim.limit, now, now - lim.period) for lim in limits)


def learned_from_json(raw: Any) -> tuple[LearnedWindow, ...] | None:
    """Windows stored with :meth:`LearnedWindow.to_json`; None when ``raw`` is not a valid list of them."""
    if not isinstance(raw, list) or not raw:
        return None
    windows = [LearnedWindow.from_json(item) for item in raw]
    return tuple(w for w in windows if w is not None) if all(w is not None for w in windows) else None


def lowered(learned: Sequence[LearnedWindow], period: float | None, now: float) -> tuple[LearnedWindow, ...] | None:
    """After a 429 (or a delayed answer) that names the window of ``period`` seconds (None: any window), that
    window halved, unless it was already lowered less than one period ago; None when nothing changes."""
    changed = False
    result: list[LearnedWindow] = []
    for window in learned:
        named = period is None or math.isclose(window.period, period)
        if named and now - window.lowered_at >= window.period and window.limit > window.floor:
            window = replace(window, limit=max(window.floor, int(window.limit * DECREASE)), lowered_at=now)
            changed = True
        result.append(window)
    return tuple(result) if changed else None


def raised(learned: Sequence[LearnedWindow], binding: Iterable[int], now: float) -> tuple[LearnedWindow, ...] | None:
    """The windows at indices ``binding`` (those making a caller wait) raised by one step when a whole period
    has passed since their last change (no 429 lowered them meanwhile); None when nothing changes."""
    result = list(learned)
    changed = False
    for index in binding:
        window = result[index]
        quiet = now - max(window.raised_at, window.lowered_at) >= window.period
        if quiet and window.limit < window.ceiling:
            step = max(1, round(window.start * STEP_SHARE))
            result[index] = replace(window, limit=min(window.ceiling, window.limit + step), raised_at=now)
            changed = True
    return tuple(result) if changed else None


def as_limits(learned: Iterable[LearnedWindow]) -> tuple[RateLimit, ...]:
    return tuple(RateLimit(window.limit, window.period) for window in learned)


# --- the windows in force ---------------------------------------------------------------------------------
class LimitTable:
    """The limits in force per domain, each period widened by ``margin`` seconds to absorb network jitter, and
    the budget's mode. In the learning mode the table also holds each domain's learned windows (a budget shared
    through a database keeps the authoritative copy there and mirrors it here).

    Thread-safe. Both budgets (this process's and the one shared through the database) keep theirs here.
    """

    def __init__(self, limits: Mapping[str, Iterable[RateLimit]], margin: float, mode: str = FALLBACK) -> None:
        self._margin = margin
        self._lock = threading.Lock()
        self._windows: dict[str, list[tuple[int, float]]] = {}
        self._learned: dict[str, tuple[LearnedWindow, ...]] = {}
        self._mode = mode
        self._replace(limits)

    @property
    def margin(self) -> float:
        return self._margin

    @property
    def mode(self) -> str:
        return self._mode

    def _replace(self, limits: Mapping[str, Iterable[RateLimit]]) -> None:
        with self._lock:
            for domain, domain_limits in limits.items():
                self._windows[domain] = [
                    (limit.limit, limit.period + self._margin)
                    for limit in domain_limits
                    if limit.limit > 0 and limit.period > 0
                ]

    def configure(self, limits: Mapping[str, Iterable[RateLimit]], mode: str = CALIBRATED) -> None:
        """Replace the limits of the domains named in ``limits`` (other domains keep theirs) and stop learning."""
        self._replace(limits)
        with self._lock:
            self._learned.clear()
            self._mode = mode

    def learn(self, now: float) -> None:
        """Learn every limited domain from now on, starting from the limits in force (no-op when learning)."""
        with self._lock:
            if self._mode == LEARNING:
                return
            self._mode = LEARNING
            for domain, windows in self._windows.items():
                if windows:
                    self._learned[domain] = start_learning(
                        (RateLimit(limit, period - self._margin) for limit, period in windows), now)

    def learned(self, domain: str) -> tuple[LearnedWindow, ...] | None:
        """The windows of ``domain`` being learned; None when the table is not learning or ``domain`` has none."""
        with self._lock:
            return self._learned.get(domain) if self._mode == LEARNING else None

    def set_learned(self, domain: str, learned: Sequence[LearnedWindow]) -> list[tuple[int, float]]:
        """Put learned figures in force for ``domain`` (when learning); returns its windows."""
        with self._lock:
            if self._mode == LEARNING and domain in self._learned:
                self._learned[domain] = tuple(learned)
                self._windows[domain] = [(w.limit, w.period + self._margin) for w in learned]
            return list(self._windows.get(domain, ()))

    def limits(self) -> dict[str, tuple[RateLimit, ...]]:
        """The limits in force, per domain (without the margin)."""
        with self._lock:
            return {
                domain: tuple(RateLimit(limit, period - self._margin) for limit, period in windows)
                for domain, windows in self._windows.items()
            }

    def state(self) -> BudgetState:
        return BudgetState(self._mode, self.limits())

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


def binding_windows(slots: Sequence[float], windows: Sequence[tuple[int, float]], now: float) -> list[int]:
    """The indices of the windows that are full at ``now`` (each would make one more request wait)."""
    return [i for i, (limit, period) in enumerate(windows) if len(slots) >= limit and slots[-limit] + period > now]


def free_slots(slots: Sequence[float], windows: Sequence[tuple[int, float]], now: float) -> int:
    """How many requests may start at ``now`` without waiting (the tightest window decides)."""
    return max(0, min(limit - sum(1 for s in slots if s > now - period) for limit, period in windows))


def adapt_to_wait(
    table: LimitTable, domain: str, slots: Sequence[float], windows: list[tuple[int, float]], now: float,
    learned: Sequence[LearnedWindow] | None,
) -> tuple[LearnedWindow, ...] | None:
    """When learning and a full window makes this request wait: the learned windows raised (and put in force in
    ``table``), else None."""
    if not learned or len(learned) != len(windows):
        return None
    up = raised(learned, binding_windows(slots, windows, now), now)
    if up is not None:
        table.set_learned(domain, up)
    return up


def format_limits(limits: Mapping[str, Sequence[RateLimit]]) -> str:
    """``configuration 10/1s, 300/60s; search 5/1s, 100/60s``: limits per domain in one line."""
    return "; ".join(
        f"{domain} " + ", ".join(f"{lim.limit}/{lim.period:g}s" for lim in found)
        for domain, found in sorted(limits.items()) if found
    ) or "none"
