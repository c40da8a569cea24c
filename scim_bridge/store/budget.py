"""The upstream rate budget shared by every replica, kept in the database.

:class:`DatabaseRateBudget` implements :class:`scim_bridge.opsgenie.ratelimit.RateBudget` like
:class:`~scim_bridge.opsgenie.ratelimit.RollingWindowBudget` does in one process, but the send times live in
``rate_slots`` (one row per request slot handed out, per domain) and ``rate_domains`` (one row per domain:
the lock target, and the end of a 429 pause), so N replicas together stay under the upstream limits.

Each ``acquire`` is one short transaction: lock the domain (``SELECT ... FOR UPDATE`` of its
``rate_domains`` row on PostgreSQL; ``BEGIN IMMEDIATE``, the database write lock, on SQLite), read the clock,
drop slots older than the longest window, reserve the earliest instant at which every rolling window has
room, commit, then sleep until that instant outside the transaction. Times are the database server's clock
on PostgreSQL (replicas on different hosts agree on it) and the local wall clock on SQLite (one host).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager

from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine

from scim_bridge.opsgenie.errors import BudgetExhausted
from scim_bridge.opsgenie.ratelimit import FALLBACK_LIMITS
from scim_bridge.opsgenie.ratelimit import LimitTable
from scim_bridge.opsgenie.ratelimit import RateLimit
from scim_bridge.opsgenie.ratelimit import earliest_slot
from scim_bridge.opsgenie.ratelimit import free_slots
from scim_bridge.opsgenie.ratelimit import waits_too_long
from scim_bridge.store.engine import WRITE_OPTION
from scim_bridge.store.sqlutil import insert_ignoring
from scim_bridge.store.tables import rate_domains
from scim_bridge.store.tables import rate_slots

GrantHook = Callable[[str, float], None]


class DatabaseRateBudget:
    """A rate budget shared through the store's database; thread- and process-safe.

    ``limits`` per domain as for ``RollingWindowBudget`` (default ``FALLBACK_LIMITS``); every replica
    should configure the same ones. ``margin`` seconds are added to every period. ``on_grant(domain, at)``
    is called for each slot handed out (``at`` in seconds since the epoch on the budget's clock), for
    metrics and logs. Domains without limits never touch the database.
    """

    def __init__(
        self,
        engine: Engine,
        limits: Mapping[str, Iterable[RateLimit]] | None = None,
        *,
        margin: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
        on_grant: GrantHook | None = None,
    ) -> None:
        self._engine = engine
        self._table = LimitTable(FALLBACK_LIMITS if limits is None else limits, margin)
        self._sleep = sleep
        self._on_grant = on_grant

    # --- configuration -------------------------------------------------------------------------------
    def configure(self, limits: Mapping[str, Iterable[RateLimit]]) -> None:
        """Replace the limits of the domains named in ``limits``; other domains keep theirs."""
        self._table.configure(limits)

    def limits(self) -> dict[str, tuple[RateLimit, ...]]:
        """The limits in force, per domain (without the margin)."""
        return self._table.limits()

    # --- RateBudget ----------------------------------------------------------------------------------
    def acquire(self, domain: str, deadline: float) -> None:
        """Wait for a slot in ``domain``; BudgetExhausted if none comes by ``deadline`` (time.monotonic())."""
        windows = self._table.windows(domain)
        with self._domain_transaction(domain) as (conn, now):
            blocked_until = float(
                conn.execute(select(rate_domains.c.blocked_until).where(rate_domains.c.domain == domain)).scalar_one()
            )
            at = max(now, blocked_until)
            if windows:
                longest = max(period for _, period in windows)
                conn.execute(delete(rate_slots).where(rate_slots.c.domain == domain, rate_slots.c.at <= now - longest))
                slots = [
                    float(row.at)
                    for row in conn.execute(
                        select(rate_slots.c.at).where(rate_slots.c.domain == domain).order_by(rate_slots.c.at)
                    )
                ]
                at = max(at, earliest_slot(slots, windows, now))
            wait = at - now
            if waits_too_long(wait, deadline - time.monotonic()):
                raise BudgetExhausted(
                    f"rate budget for {domain!r} has no slot for {wait:.2f}s", retry_after=wait, domain=domain
                )
            if windows:
                conn.execute(insert(rate_slots).values(domain=domain, at=at))
        if self._on_grant is not None:
            self._on_grant(domain, at)
        if wait > 0:
            self._sleep(wait)

    def throttled(self, domain: str, seconds: float) -> None:
        """Upstream answered 429: no replica gets a slot in ``domain`` for ``seconds``."""
        with self._domain_transaction(domain) as (conn, now):
            until = now + max(0.0, seconds)
            conn.execute(
                update(rate_domains)
                .where(rate_domains.c.domain == domain, rate_domains.c.blocked_until < until)
                .values(blocked_until=until)
            )

    def remaining(self) -> dict[str, float]:
        """Per limited domain, the requests that may start now without waiting (tightest window)."""
        left: dict[str, float] = {}
        with self._engine.connect() as conn, conn.begin():
            now = _now(conn)
            for domain in self._table.limits():
                windows = self._table.windows(domain)
                if not windows:
                    continue
                blocked = conn.execute(
                    select(rate_domains.c.blocked_until).where(rate_domains.c.domain == domain)
                ).scalar_one_or_none()
                longest = max(period for _, period in windows)
                slots = [float(at) for at in conn.execute(
                    select(rate_slots.c.at).where(rate_slots.c.domain == domain, rate_slots.c.at > now - longest)
                ).scalars()]
                free = free_slots(slots, windows, now)
                left[domain] = 0.0 if blocked is not None and blocked > now else float(free)
        return left

    # --- plumbing ------------------------------------------------------------------------------------
    @contextmanager
    def _domain_transaction(self, domain: str) -> Iterator[tuple[Connection, float]]:
        """A write transaction holding ``domain``'s lock, and the time read after taking it."""
        with self._engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                conn.execute(insert_ignoring(conn, rate_domains, {"domain": domain, "blocked_until": 0.0}, "domain"))
                if conn.dialect.name == "postgresql":
                    conn.execute(
                        select(rate_domains.c.domain).where(rate_domains.c.domain == domain).with_for_update()
                    )
                yield conn, _now(conn)


def _now(conn: Connection) -> float:
    """Seconds since the epoch: the server's clock on PostgreSQL (shared by all hosts), else local."""
    if conn.dialect.name == "postgresql":
        return float(conn.execute(text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one())
    return time.time()
