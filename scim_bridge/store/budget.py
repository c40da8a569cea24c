"""The upstream rate budget shared by every replica, kept in the database.

:class:`DatabaseRateBudget` implements the client's rate-budget protocol (``acquire``, ``throttled``) like the
per-process budget does, but the send times live in ``rate_slots`` (one row per request slot handed out, per
domain) and ``rate_domains`` (one row per domain: the lock target, and the end of a 429 pause), so N replicas
together stay under the upstream limits. The window arithmetic is :mod:`scim_bridge.ratewindow`'s.

Each ``acquire`` is one short transaction: lock the domain (``SELECT ... FOR UPDATE`` of its
``rate_domains`` row on PostgreSQL; ``BEGIN IMMEDIATE``, the database write lock, on SQLite), read the clock,
drop slots older than the longest window, reserve the earliest instant at which every rolling window has
room, commit, then sleep until that instant outside the transaction. Times are the database server's clock
on PostgreSQL (replicas on different hosts agree on it) and the local wall clock on SQLite (one host).

When learning (the upstream does not publish its limits), the learned windows of a domain are shared too: they
live in the ``settings`` table under ``rate_budget.learned.<domain>``, read and changed under the domain's lock,
so a 429 seen by one replica lowers the limits of all, and a probe upward by one raises them for all.
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

from scim_bridge.ratewindow import FALLBACK
from scim_bridge.ratewindow import BudgetState
from scim_bridge.ratewindow import LearnedWindow
from scim_bridge.ratewindow import LimitTable
from scim_bridge.ratewindow import RateLimit
from scim_bridge.ratewindow import adapt_to_wait
from scim_bridge.ratewindow import as_limits
from scim_bridge.ratewindow import earliest_slot
from scim_bridge.ratewindow import free_slots
from scim_bridge.ratewindow import learned_from_json
from scim_bridge.ratewindow import lowered
from scim_bridge.ratewindow import no_slot
from scim_bridge.ratewindow import waits_too_long
from scim_bridge.store.coordination import get_setting
from scim_bridge.store.coordination import put_setting
from scim_bridge.store.engine import WRITE_OPTION
from scim_bridge.store.sqlutil import insert_ignoring
from scim_bridge.store.tables import rate_domains
from scim_bridge.store.tables import rate_slots
from scim_bridge.store.tables import settings_kv

GrantHook = Callable[[str, float], None]
LEARNED_PREFIX = "rate_budget.learned."


class DatabaseRateBudget:
    """A rate budget shared through the store's database; thread- and process-safe.

    ``limits`` per domain as for the per-process budget (the caller's starting figures; every replica should
    configure the same ones). ``margin`` seconds are added to every period. ``on_grant(domain, at)`` is called for
    each slot handed out (``at`` in seconds since the epoch on the budget's clock), for metrics and logs.
    """

    def __init__(
        self,
        engine: Engine,
        limits: Mapping[str, Iterable[RateLimit]],
        *,
        margin: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
        on_grant: GrantHook | None = None,
    ) -> None:
        self._engine = engine
        self._table = LimitTable(limits, margin, FALLBACK)
        self._sleep = sleep
        self._on_grant = on_grant

    # --- configuration -------------------------------------------------------------------------------
    def configure(self, limits: Mapping[str, Iterable[RateLimit]]) -> None:
        """Replace the limits of the domains named in ``limits`` (other domains keep theirs); stop learning."""
        self._table.configure(limits)

    def learn(self) -> None:
        """Adapt the limits from now on, together with every replica that learns: from the learned windows in
        the database, else from the limits in force."""
        with self._engine.connect() as conn:
            now = _now(conn)
        self._table.learn(now)

    def limits(self) -> dict[str, tuple[RateLimit, ...]]:
        """The limits in force in this process, per domain (without the margin); when learning, as of the
        last request or 429 this process saw."""
        return self._table.limits()

    def state(self) -> BudgetState:
        return self._table.state()

    # --- RateBudget ----------------------------------------------------------------------------------
    def acquire(self, domain: str, deadline: float) -> None:
        """Wait for a slot in ``domain``; NoSlot if none comes by ``deadline`` (time.monotonic())."""
        with self._domain_transaction(domain) as (conn, now):
            blocked_until = float(
                conn.execute(select(rate_domains.c.blocked_until).where(rate_domains.c.domain == domain)).scalar_one()
            )
            at = max(now, blocked_until)
            learned = self._shared_learned(conn, domain)
            windows = self._table.windows(domain)
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
                up = adapt_to_wait(self._table, domain, slots, windows, now, learned) if at > now else None
                if up is not None:  # a probe upward: every replica gets the raised figures
                    put_setting(conn, LEARNED_PREFIX + domain, [w.to_json() for w in up])
                    at = max(now, blocked_until, earliest_slot(slots, self._table.windows(domain), now))
            wait = at - now
            if waits_too_long(wait, deadline - time.monotonic()):
                raise no_slot(domain, wait)
            if windows:
                conn.execute(insert(rate_slots).values(domain=domain, at=at))
        if self._on_grant is not None:
            self._on_grant(domain, at)
        if wait > 0:
            self._sleep(wait)

    def throttled(self, domain: str, seconds: float, window: float | None = None) -> None:
        """Upstream throttled a request: no replica gets a slot in ``domain`` for ``seconds``; when learning,
        the window of ``window`` seconds (any, when None) is lowered for every replica."""
        with self._domain_transaction(domain) as (conn, now):
            until = now + max(0.0, seconds)
            conn.execute(
                update(rate_domains)
                .where(rate_domains.c.domain == domain, rate_domains.c.blocked_until < until)
                .values(blocked_until=until)
            )
            learned = self._shared_learned(conn, domain)
            down = lowered(learned, window, now) if learned else None
            if down is not None:
                self._table.set_learned(domain, down)
                put_setting(conn, LEARNED_PREFIX + domain, [w.to_json() for w in down])

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
    def _shared_learned(self, conn: Connection, domain: str) -> tuple[LearnedWindow, ...] | None:
        """When learning: the domain's learned windows shared in the database (put in force here), else this
        process's starting ones; None when not learning (lock held)."""
        mine = self._table.learned(domain)
        if mine is None:
            return None
        shared = learned_from_json(get_setting(conn, LEARNED_PREFIX + domain, None))
        if shared is None or [w.period for w in shared] != [w.period for w in mine]:
            return mine
        if shared != mine:
            self._table.set_learned(domain, shared)
        return shared

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


def learned_limits(engine: Engine) -> dict[str, tuple[RateLimit, ...]]:
    """The limits learned by the replicas sharing ``engine``'s database, per domain (empty when none learned)."""
    found: dict[str, tuple[RateLimit, ...]] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(settings_kv.c.key, settings_kv.c.value).where(settings_kv.c.key.startswith(LEARNED_PREFIX))
        )
        for key, value in rows:
            learned = learned_from_json(value)
            if learned:
                found[key[len(LEARNED_PREFIX):]] = as_limits(learned)
    return found


def _now(conn: Connection) -> float:
    """Seconds since the epoch: the server's clock on PostgreSQL (shared by all hosts), else local."""
    if conn.dialect.name == "postgresql":
        return float(conn.execute(text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one())
    return time.time()
