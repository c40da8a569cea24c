"""The client-side rate budget: unit behaviour, then holding real traffic under the simulator's limit."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sim_http import FakeClock

from scim_bridge.opsgenie import CallRecord
from scim_bridge.opsgenie import RateLimit
from scim_bridge.opsgenie import RateLimited
from scim_bridge.opsgenie import RollingWindowBudget
from scim_bridge.opsgenie.ratelimit import FALLBACK_LIMITS
from scim_bridge.opsgenie.ratelimit import parse_request_limits
from scim_bridge.ratewindow import CALIBRATED
from scim_bridge.ratewindow import LEARNING
from scim_bridge.ratewindow import BudgetState
from scim_bridge.ratewindow import NoSlot


def budget_with(clock: FakeClock, **limits: tuple[RateLimit, ...]) -> RollingWindowBudget:
    return RollingWindowBudget(limits, margin=0.0, clock=clock, sleep=clock.sleep)


def test_requests_within_the_limit_do_not_wait() -> None:
    clock = FakeClock()
    budget = budget_with(clock, configuration=(RateLimit(3, 1.0),))
    for _ in range(3):
        budget.acquire("configuration", deadline=clock.now + 5)
    assert clock.slept == []


def test_the_next_request_waits_for_the_window_to_roll() -> None:
    clock = FakeClock()
    budget = budget_with(clock, configuration=(RateLimit(3, 1.0), RateLimit(4, 60.0)))
    for _ in range(3):
        budget.acquire("configuration", deadline=clock.now + 5)
    budget.acquire("configuration", deadline=clock.now + 5)
    assert clock.slept == [pytest.approx(1.0)]
    with pytest.raises(NoSlot) as caught:  # the per-minute window is full until t=160
        budget.acquire("configuration", deadline=clock.now + 5)
    assert caught.value.retry_after == pytest.approx(59.0)
    assert caught.value.domain == "configuration"


def test_a_slot_free_now_is_granted_after_the_deadline() -> None:
    """A retry that slept a hair past its deadline still sends when no wait is needed; only waiting is bounded."""
    clock = FakeClock()
    budget = budget_with(clock, configuration=(RateLimit(2, 1.0),))
    budget.acquire("configuration", deadline=clock.now - 0.01)
    budget.acquire("configuration", deadline=clock.now - 0.01)
    assert clock.slept == []
    with pytest.raises(NoSlot) as caught:  # the window is full: waiting would be needed
        budget.acquire("configuration", deadline=clock.now - 0.01)
    assert caught.value.retry_after == pytest.approx(1.0)


def test_domains_are_independent_and_unknown_ones_are_free() -> None:
    clock = FakeClock()
    budget = budget_with(clock, configuration=(RateLimit(1, 1.0),), search=(RateLimit(1, 1.0),))
    budget.acquire("configuration", deadline=clock.now)
    budget.acquire("search", deadline=clock.now)
    for _ in range(10):
        budget.acquire("alert", deadline=clock.now)
    with pytest.raises(NoSlot):
        budget.acquire("search", deadline=clock.now + 0.5)


def test_throttled_blocks_the_domain() -> None:
    clock = FakeClock()
    budget = budget_with(clock, configuration=(RateLimit(100, 1.0),))
    budget.throttled("configuration", 2.0)
    with pytest.raises(NoSlot):
        budget.acquire("configuration", deadline=clock.now + 1)
    budget.acquire("configuration", deadline=clock.now + 3)
    assert clock.slept == [pytest.approx(2.0)]


def test_configure_and_limits() -> None:
    budget = RollingWindowBudget(margin=0.0)
    assert budget.limits() == dict(FALLBACK_LIMITS)
    budget.configure({"search": [RateLimit(2, 1.0), RateLimit(0, 60.0)]})
    assert budget.limits()["search"] == (RateLimit(2, 1.0),)
    assert budget.limits()["configuration"] == FALLBACK_LIMITS["configuration"]


def test_parse_request_limits_skips_malformed_entries() -> None:
    data = {
        "rateLimits": [
            {"domain": "Configuration", "limits": [{"limit": 600, "periodInSeconds": 60}, {"limit": "x"}]},
            {"domain": "search", "limits": [{"limit": 5, "periodInSeconds": 1}]},
            {"limits": []},
            "junk",
        ]
    }
    assert parse_request_limits(data) == {
        "configuration": (RateLimit(600, 60.0),),
        "search": (RateLimit(5, 1.0),),
    }
    assert parse_request_limits(None) == {}


def test_concurrent_callers_never_exceed_a_window() -> None:
    # Each caller's grant instant is what the budget reserved under its lock: the clock value it read plus the
    # sleep it asked for. Time stamps taken after acquire() returns would add thread-scheduling noise.
    local = threading.local()

    def clock() -> float:
        local.now = time.monotonic()
        local.waited = 0.0
        return float(local.now)

    def sleep(seconds: float) -> None:
        local.waited = seconds
        time.sleep(seconds)

    # A short window: the ordering of concurrent callers is the point, not its length.
    budget = RollingWindowBudget({"configuration": [RateLimit(5, 0.05)]}, margin=0.0, clock=clock, sleep=sleep)
    stamps: list[float] = []
    lock = threading.Lock()

    def call() -> None:
        budget.acquire("configuration", deadline=time.monotonic() + 10)
        with lock:
            stamps.append(local.now + local.waited)

    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(25):
            pool.submit(call)
    stamps.sort()
    assert len(stamps) == 25
    for i in range(len(stamps) - 5):  # any 6 consecutive calls span at least one window
        assert stamps[i + 5] - stamps[i] >= 0.05 - 1e-9


def test_budget_holds_traffic_under_the_simulator_limit(
    make_client: Any, sim: Any, records: list[CallRecord]
) -> None:
    sim.configure(rate_limits={"configuration": "5/1000", "search": "2/1000"})
    client = make_client(budget=RollingWindowBudget(), pool_size=8)
    assert client.calibrate_budget() == CALIBRATED
    assert client.budget.limits()["configuration"] == (RateLimit(1000, 60.0), RateLimit(5, 1.0))
    records.clear()
    sim.bulk(users=3)

    started = time.monotonic()
    # Both domains' bursts are over their per-second limits (8 reads at 5/s, 4 searches at 2/s): each must wait
    # one window for its tail, once.
    with ThreadPoolExecutor(max_workers=6) as pool:
        reads = [pool.submit(client.list_teams) for _ in range(8)]
        searches = [pool.submit(client.list_users, limit=1) for _ in range(4)]
        for future in reads + searches:
            future.result()
    elapsed = time.monotonic() - started

    seen = [c["status"] for c in sim.calls()]
    assert len(seen) == 13  # request-limits, 8 reads, 4 searches
    assert 429 not in seen
    assert all(r.status == 200 for r in records)
    assert elapsed >= 1.0  # the first 5 reads (2 searches) as a burst, the others a window later


def test_without_a_budget_the_same_burst_collects_429s(make_client: Any, sim: Any) -> None:
    sim.configure(rate_limits={"configuration": "5/1000"})
    client = make_client(pool_size=8)
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(client.list_teams) for _ in range(14)]
        outcomes = [f.exception() for f in futures]
    assert 429 in [c["status"] for c in sim.calls()]
    assert any(isinstance(o, RateLimited) for o in outcomes)


def test_calibration_learns_from_the_configured_limits_when_the_key_may_not_read_them(
    make_client: Any, sim: Any
) -> None:
    sim.configure(
        api_keys={
            "sim-key": ["read", "create_update", "delete", "configuration"],
            "writer": ["create_update", "configuration"],
        }
    )
    budget = RollingWindowBudget({"configuration": [RateLimit(3, 1.0)]})
    client = make_client(api_key="writer", budget=budget)
    assert client.calibrate_budget() == LEARNING
    assert budget.state() == BudgetState(LEARNING, {"configuration": (RateLimit(3, 1.0),)})
