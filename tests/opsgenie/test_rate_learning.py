"""A rate budget that learns OpsGenie's limits when GET /v2/request-limits/ is refused: the rules on a fake
clock, then the client over the simulator refusing the limits as it does for a team key."""

from __future__ import annotations

from typing import Any

import pytest
from sim_http import FakeClock

from scim_bridge.opsgenie import CallRecord
from scim_bridge.opsgenie import RateLimited
from scim_bridge.opsgenie import RollingWindowBudget
from scim_bridge.opsgenie.calibration import Calibration
from scim_bridge.opsgenie.ratelimit import CONFIGURATION
from scim_bridge.opsgenie.ratelimit import FALLBACK_LIMITS
from scim_bridge.opsgenie.ratelimit import SEARCH
from scim_bridge.ratewindow import CALIBRATED
from scim_bridge.ratewindow import FALLBACK
from scim_bridge.ratewindow import LEARNING
from scim_bridge.ratewindow import RateLimit

LIMITS_PATH = "/v2/request-limits/"


def learning_budget(clock: FakeClock, limits: dict[str, tuple[RateLimit, ...]]) -> RollingWindowBudget:
    budget = RollingWindowBudget(limits, margin=0.0, clock=clock, sleep=clock.sleep)
    assert budget.state().mode == FALLBACK
    budget.learn()
    assert budget.state().mode == LEARNING
    return budget


def send(budget: RollingWindowBudget, clock: FakeClock, count: int, domain: str = CONFIGURATION) -> None:
    for _ in range(count):
        budget.acquire(domain, clock.now + 600)


def test_a_429_halves_the_window_it_names_once_per_period() -> None:
    clock = FakeClock()
    budget = learning_budget(clock, {CONFIGURATION: (RateLimit(10, 1.0), RateLimit(300, 60.0))})
    budget.throttled(CONFIGURATION, 0.0, 60.0)
    assert budget.limits()[CONFIGURATION] == (RateLimit(10, 1.0), RateLimit(150, 60.0))
    clock.now += 30  # the 429s of one overload come together: a second one within the period changes nothing
    budget.throttled(CONFIGURATION, 0.0, 60.0)
    assert budget.limits()[CONFIGURATION] == (RateLimit(10, 1.0), RateLimit(150, 60.0))
    clock.now += 30
    budget.throttled(CONFIGURATION, 0.0, 60.0)
    assert budget.limits()[CONFIGURATION] == (RateLimit(10, 1.0), RateLimit(75, 60.0))
    budget.throttled(CONFIGURATION, 0.0, None)  # no period named: every window not lowered within its period
    assert budget.limits()[CONFIGURATION] == (RateLimit(5, 1.0), RateLimit(75, 60.0))
    for _ in range(10):  # never below a tenth of the starting figure
        clock.now += 61
        budget.throttled(CONFIGURATION, 0.0, None)
    assert budget.limits()[CONFIGURATION] == (RateLimit(1, 1.0), RateLimit(30, 60.0))


def test_waiting_callers_raise_the_full_window_once_per_quiet_period() -> None:
    clock = FakeClock()
    budget = learning_budget(clock, {CONFIGURATION: (RateLimit(10, 1.0),)})
    send(budget, clock, 10)
    assert clock.slept == []
    # The 11th waits a second: the window was set less than a period ago, so no probe yet.
    send(budget, clock, 1)
    assert clock.slept == [1.0] and budget.limits()[CONFIGURATION] == (RateLimit(10, 1.0),)
    # Callers keep waiting for the full window and no 429 came for a period: one step up (a quarter of 10).
    send(budget, clock, 10)
    assert budget.limits()[CONFIGURATION] == (RateLimit(12, 1.0),)
    # A 429 halves it and holds the probes off for a period.
    budget.throttled(CONFIGURATION, 0.0, 1.0)
    assert budget.limits()[CONFIGURATION] == (RateLimit(6, 1.0),)
    send(budget, clock, 6)
    assert budget.limits()[CONFIGURATION] == (RateLimit(6, 1.0),)
    assert clock.slept == [1.0, 1.0]  # the window of 6 was full (11 sent in that second): one wait


def test_probes_stop_at_ten_times_the_start() -> None:
    clock = FakeClock()
    budget = learning_budget(clock, {SEARCH: (RateLimit(2, 1.0),)})
    send(budget, clock, 400, SEARCH)
    assert budget.limits()[SEARCH] == (RateLimit(20, 1.0),)
    assert budget.state().mode == LEARNING


def test_calibrating_stops_the_learning() -> None:
    clock = FakeClock()
    budget = learning_budget(clock, {CONFIGURATION: (RateLimit(10, 1.0),)})
    budget.configure({CONFIGURATION: (RateLimit(100, 1.0),)})
    budget.throttled(CONFIGURATION, 0.0, 1.0)
    assert budget.state().mode == CALIBRATED
    assert budget.limits()[CONFIGURATION] == (RateLimit(100, 1.0),)


# --- over the simulator --------------------------------------------------------------------------------------
@pytest.mark.parametrize("refusal", [401, 403, 404])
def test_a_refused_request_limits_call_puts_the_budget_in_learning_mode(
    make_client: Any, sim: Any, refusal: int
) -> None:
    sim.configure(request_limits_status=refusal)
    clock = FakeClock()
    budget = RollingWindowBudget(clock=clock, sleep=clock.sleep)
    client = make_client(budget=budget, clock=clock)
    assert client.calibrate_budget() == LEARNING
    assert budget.state().mode == LEARNING and budget.limits() == dict(FALLBACK_LIMITS)
    assert [c["status"] for c in sim.calls_to("GET", LIMITS_PATH)] == [refusal]


def test_a_429_naming_the_minute_window_lowers_it_for_the_next_calls(
    make_client: Any, sim: Any, records: list[CallRecord]
) -> None:
    # A team key's account allowing one configuration call a minute (the limits call takes it).
    sim.configure(request_limits_status=403, rate_limits={"configuration": "100/1"})
    clock = FakeClock()
    budget = RollingWindowBudget(clock=clock, sleep=clock.sleep)
    client = make_client(budget=budget, clock=clock)
    assert client.calibrate_budget() == LEARNING
    with pytest.raises(RateLimited):
        client.list_teams()
    statuses = [c["status"] for c in sim.calls_to("GET", "/v2/teams")]
    assert statuses and set(statuses) == {429}
    assert sim.calls_to("GET", "/v2/teams")[0]["domain"] == CONFIGURATION
    # Every 429 named the 60 s window; it was halved once (the retries' 429s came within the same period).
    assert budget.limits()[CONFIGURATION] == (RateLimit(10, 1.0), RateLimit(150, 60.0))
    assert budget.limits()[SEARCH] == FALLBACK_LIMITS[SEARCH]
    assert [r.status for r in records if r.path == "/v2/teams"] == statuses


def test_learning_probes_upward_over_the_simulator_while_no_429_comes(make_client: Any, sim: Any) -> None:
    sim.configure(request_limits_status=404)
    clock = FakeClock()
    budget = RollingWindowBudget(clock=clock, sleep=clock.sleep)
    client = make_client(budget=budget, clock=clock)
    assert client.calibrate_budget() == LEARNING
    for _ in range(30):
        client.list_teams()
    assert [c["status"] for c in sim.calls()] == [404] + [200] * 30
    # 10 a second to start with (the limits call took one slot); after a quiet second of waiting callers, 12.
    assert budget.limits()[CONFIGURATION] == (RateLimit(12, 1.0), RateLimit(300, 60.0))
    assert sum(clock.slept) < 3.0


def test_a_failed_calibration_learns_meanwhile_and_asks_again_on_later_traffic(make_client: Any, sim: Any) -> None:
    sim.fault("GET", LIMITS_PATH, "503", times=50)  # OpsGenie failing while the server starts
    clock = FakeClock()
    budget = RollingWindowBudget(clock=clock, sleep=clock.sleep)
    client = make_client(budget=budget, clock=clock)
    spawned: list[str] = []

    def inline(work: Any) -> None:  # the retry runs on the caller's thread, so the test sees its effect at once
        spawned.append("retry")
        work()

    calibration = Calibration(client, every=60.0, clock=clock, spawn=inline)
    assert calibration.start() is None
    assert budget.state().mode == LEARNING
    first_tries = len(sim.calls_to("GET", LIMITS_PATH))
    assert first_tries >= 1
    client.list_teams()  # within the minute: nobody asks again
    assert spawned == [] and len(sim.calls_to("GET", LIMITS_PATH)) == first_tries

    sim.http.delete(sim.sim_url("faults")).raise_for_status()  # OpsGenie is back
    clock.now += 60
    client.list_teams()  # the first call a minute later asks again, and gets the limits
    assert spawned == ["retry"]
    assert calibration.mode == CALIBRATED and budget.state().mode == CALIBRATED
    assert budget.limits()[CONFIGURATION] == (RateLimit(6000, 60.0), RateLimit(100, 1.0))
    clock.now += 600
    client.list_teams()  # answered: never asked again
    assert spawned == ["retry"]
    assert len(sim.calls_to("GET", LIMITS_PATH)) == first_tries + 1
    assert len(sim.calls_to("GET", "/v2/teams")) == 3
