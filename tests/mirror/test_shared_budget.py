"""The rate budget shared by replicas through the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import delete
from sqlalchemy.engine import Engine

from scim_bridge.opsgenie.ratelimit import CONFIGURATION
from scim_bridge.opsgenie.ratelimit import SEARCH
from scim_bridge.opsgenie.ratelimit import RateBudget
from scim_bridge.ratewindow import CALIBRATED
from scim_bridge.ratewindow import LEARNING
from scim_bridge.ratewindow import NoSlot
from scim_bridge.ratewindow import RateLimit
from scim_bridge.store.budget import LEARNED_PREFIX
from scim_bridge.store.budget import DatabaseRateBudget
from scim_bridge.store.budget import learned_limits
from scim_bridge.store.engine import create_store_engine
from scim_bridge.store.tables import settings_kv
from tests.mirror.budget_worker import DRIVERS
from tests.mirror.budget_worker import LIMITS  # the limits the workers use
from tests.mirror.budget_worker import take_slots
from tests.processes import run_together

WORKERS = 2
PER_WORKER = 10


def busiest_window(times: list[float], period: float) -> int:
    """The most slots inside any half-open window [t, t + period)."""
    ordered = sorted(times)
    best = 0
    for i, start in enumerate(ordered):
        best = max(best, sum(1 for t in ordered[i:] if t < start + period))
    return best


def test_processes_sharing_the_budget_stay_under_every_window(engine: Engine, mirror_url: str,
                                                              tmp_path: Path) -> None:
    # Separate processes (their own connections), forked at once from one interpreter that imported their code.
    outs = [tmp_path / f"grants-{n}.json" for n in range(WORKERS)]
    run_together(take_slots, [(mirror_url, PER_WORKER, str(out)) for out in outs], preload=DRIVERS)
    grants: list[list[float]] = [json.loads(out.read_text()) for out in outs]

    every = [t for granted in grants for t in granted]
    assert [len(granted) for granted in grants] == [PER_WORKER] * WORKERS
    for limit in LIMITS[CONFIGURATION]:
        assert busiest_window(every, limit.period) <= limit.limit
    # Each process alone would respect its own budget; the point is that together they did, with
    # their slots interleaved rather than one process running after the other.
    first, second = sorted(grants[0]), sorted(grants[1])
    assert first[0] < second[-1] and second[0] < first[-1]


def test_replicas_share_windows_pauses_and_exhaustion(engine: Engine, mirror_url: str) -> None:
    other_engine = create_store_engine(mirror_url)
    granted: list[tuple[str, float]] = []
    limits = {CONFIGURATION: (RateLimit(2, 60.0),), SEARCH: ()}
    one: RateBudget = DatabaseRateBudget(engine, limits, on_grant=lambda d, at: granted.append((d, at)))
    two = DatabaseRateBudget(other_engine, limits, on_grant=lambda d, at: granted.append((d, at)))
    try:
        one.acquire(CONFIGURATION, time.monotonic() + 5)
        two.acquire(CONFIGURATION, time.monotonic() - 0.01)  # free now: granted though the deadline passed
        assert two.remaining()[CONFIGURATION] == 0.0
        # The window is full for a minute: neither replica gets a third slot before its deadline.
        for budget in (one, two):
            with pytest.raises(NoSlot) as caught:
                budget.acquire(CONFIGURATION, time.monotonic() + 1)
            assert caught.value.retry_after > 30 and caught.value.domain == CONFIGURATION

        # A 429 seen by one replica pauses the domain for the other.
        two.acquire(SEARCH, time.monotonic() + 5)
        one.throttled(SEARCH, 0.3)
        two.acquire(SEARCH, time.monotonic() + 5)
        search = [at for domain, at in granted if domain == SEARCH]
        assert len(search) == 2 and search[1] >= search[0] + 0.3
        with pytest.raises(NoSlot):
            one.throttled(SEARCH, 30)
            two.acquire(SEARCH, time.monotonic() + 1)
        assert [domain for domain, _ in granted] == [CONFIGURATION, CONFIGURATION, SEARCH, SEARCH]
        assert two.limits()[CONFIGURATION] == (RateLimit(2, 60.0),)
    finally:
        other_engine.dispose()


def test_replicas_learn_the_limits_together(engine: Engine, mirror_url: str) -> None:
    """When learning, a 429 seen by one replica lowers the window it names for every replica, once per period;
    the learned figures are what `scim-bridge check` shows."""
    other_engine = create_store_engine(mirror_url)
    start = {CONFIGURATION: (RateLimit(10, 1.0), RateLimit(300, 60.0)), SEARCH: (RateLimit(5, 1.0),)}
    one = DatabaseRateBudget(engine, start)
    two = DatabaseRateBudget(other_engine, start)
    calibrated = DatabaseRateBudget(engine, start)
    with engine.begin() as conn:  # figures learned by an earlier run on this database
        conn.execute(delete(settings_kv).where(settings_kv.c.key.startswith(LEARNED_PREFIX)))
    try:
        assert learned_limits(engine) == {}
        one.learn()
        two.learn()
        calibrated.configure({CONFIGURATION: (RateLimit(100, 1.0),)})
        assert one.state().mode == LEARNING and calibrated.state().mode == CALIBRATED
        one.throttled(CONFIGURATION, 0.0, 60.0)
        two.throttled(CONFIGURATION, 0.0, 60.0)  # the same overload, seen by the other replica: no second halving
        two.acquire(CONFIGURATION, time.monotonic() + 5)
        assert two.limits()[CONFIGURATION] == (RateLimit(10, 1.0), RateLimit(150, 60.0))
        assert learned_limits(engine) == {CONFIGURATION: (RateLimit(10, 1.0), RateLimit(150, 60.0))}
        two.throttled(SEARCH, 0.0, None)
        one.acquire(SEARCH, time.monotonic() + 5)
        assert one.limits()[SEARCH] == (RateLimit(2, 1.0),)
        # A replica that read the published limits goes by them, whatever the others learned.
        calibrated.acquire(CONFIGURATION, time.monotonic() + 5)
        assert calibrated.limits()[CONFIGURATION] == (RateLimit(100, 1.0),)
    finally:
        other_engine.dispose()
