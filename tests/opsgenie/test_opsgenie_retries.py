"""Retries over real HTTP: 429, 5xx, timeouts, dropped and refused connections."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from sim_http import FakeClock

from scim_bridge.opsgenie import CallRecord
from scim_bridge.opsgenie import OpsGenieClient
from scim_bridge.opsgenie import RateLimited
from scim_bridge.opsgenie import RetryPolicy
from scim_bridge.opsgenie import ServerError
from scim_bridge.opsgenie import TransportError

USER = {"username": "ada@example.com", "fullName": "Ada Lovelace", "role": {"name": "User"}}


def statuses(records: list[CallRecord]) -> list[int | None]:
    return [r.status for r in records]


def test_429_then_success(client: OpsGenieClient, sim: Any, records: list[CallRecord], sleeps: Any) -> None:
    sim.fault("GET", "/v2/teams", "429")
    assert client.list_teams() == []
    assert statuses(records) == [429, 200]
    assert [r.attempt for r in records] == [1, 2]
    assert len(sleeps.waits) == 1


def test_429_on_a_create_is_retried(client: OpsGenieClient, sim: Any, records: list[CallRecord]) -> None:
    sim.fault("POST", "/v2/users", "429")
    assert client.create_user(USER).id
    assert statuses(records) == [429, 201]
    assert len(sim.calls_to("POST", "/v2/users")) == 2


def test_real_throttling_is_waited_out_with_the_period_hint(
    make_client: Any, sim: Any, records: list[CallRecord]
) -> None:
    # The simulator's windows and the client's waits on one clock, which moves only when the client waits: its
    # wait rolls the window over as a real one would, without the real second.
    clock = FakeClock()
    sim.server.state.limiter.use_clock(clock)
    try:
        sim.configure(rate_limits={"configuration": "2/1000"})
        policy = RetryPolicy(base_delay=0.05, max_delay=2.0, total_budget=10.0, sleep=clock.sleep)
        client = make_client(retry=policy, clock=clock)
        for _ in range(3):
            client.list_teams()
    finally:
        sim.server.state.limiter.use_clock()
    assert 429 in statuses(records)
    assert statuses(records)[-1] == 200
    assert clock.slept and min(clock.slept) >= 1.0  # X-RateLimit-Period-In-Sec: 1


def test_retry_after_is_honoured_then_gives_up(
    make_client: Any, sim: Any, records: list[CallRecord], sleeps: Any
) -> None:
    sim.configure(rate_limits={"configuration": "1/1000"}, retry_after_header=True)
    client = make_client(retry=RetryPolicy(base_delay=0.01, max_delay=0.05, total_budget=30.0, sleep=sleeps))
    client.list_teams()
    with pytest.raises(RateLimited) as caught:
        client.list_teams()
    assert caught.value.server_retry_after() == 1.0
    assert statuses(records) == [200] + [429] * 5  # max_attempts
    assert sleeps.waits and all(w >= 1.0 for w in sleeps.waits)


def test_5xx_on_create_is_not_repeated(client: OpsGenieClient, sim: Any, records: list[CallRecord]) -> None:
    sim.fault("POST", "/v2/users", "503")
    with pytest.raises(ServerError) as caught:
        client.create_user(USER)
    assert caught.value.status == 503
    assert len(sim.calls_to("POST", "/v2/users")) == 1
    assert statuses(records) == [503]


def test_lost_create_response_is_raised_not_repeated(client: OpsGenieClient, sim: Any) -> None:
    sim.fault("POST", "/v2/users", "after_write:drop")
    with pytest.raises(TransportError) as caught:
        client.create_user(USER)
    assert caught.value.maybe_applied
    assert len(sim.calls_to("POST", "/v2/users")) == 1
    assert sim.user("ada@example.com").status_code == 200  # it was applied


def test_5xx_on_read_is_repeated(client: OpsGenieClient, sim: Any, records: list[CallRecord]) -> None:
    user_id = client.create_user(USER).id
    records.clear()
    sim.fault("GET", f"/v2/users/{user_id}", "500", times=2)
    assert client.get_user(user_id)["id"] == user_id
    assert statuses(records) == [500, 500, 200]
    assert [r.attempt for r in records] == [1, 2, 3]


def test_5xx_on_patch_delete_and_member_add_is_repeated(
    client: OpsGenieClient, sim: Any, records: list[CallRecord]
) -> None:
    user_id = client.create_user(USER).id
    team_id = client.create_team({"name": "ops"}).id
    sim.fault("PATCH", f"/v2/users/{user_id}", "after_write:502")
    sim.fault("POST", f"/v2/teams/{team_id}/members", "after_write:503")
    sim.fault("DELETE", f"/v2/teams/{team_id}", "500")
    client.update_user(user_id, {"fullName": "Ada King"})
    client.add_team_member(team_id, user_id=user_id)
    client.delete_team(team_id)
    assert statuses(records)[2:] == [502, 200, 503, 200, 500, 200]


def test_read_timeout_is_retried_for_a_read(make_client: Any, sim: Any, records: list[CallRecord]) -> None:
    client = make_client(timeout=(1.0, 0.3))
    sim.fault("GET", "/v2/teams", "delay:400")  # the answer cannot come before the 0.3 s read timeout
    assert client.list_teams() == []
    assert statuses(records) == [None, 200]
    assert records[0].error is not None and "TransportError" in records[0].error


def test_read_timeout_on_a_create_may_have_applied(
    make_client: Any, sim: Any, records: list[CallRecord]
) -> None:
    client = make_client(timeout=(1.0, 0.3))
    sim.fault("POST", "/v2/users", "delay:400")
    with pytest.raises(TransportError) as caught:
        client.create_user(USER)
    assert caught.value.maybe_applied
    assert statuses(records) == [None]


def test_refused_connection_is_retried_then_raised(make_client: Any, records: list[CallRecord]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(TransportError) as caught:
        client.create_user(USER)
    assert not caught.value.maybe_applied
    assert statuses(records) == [None] * 5  # nothing reached a server, so even a create is retried


def test_overall_time_budget_ends_retries(
    make_client: Any, sim: Any, records: list[CallRecord], sleeps: Any
) -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=1.0, total_budget=2.5, sleep=sleeps)
    client = make_client(retry=policy)
    sim.fault("GET", "/v2/teams", "503", times=10)
    with pytest.raises(ServerError):
        client.list_teams()
    assert 1 < len(records) < 10
    assert sum(sleeps.waits) <= 2.5
