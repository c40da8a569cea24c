"""Upstream 429 and 5xx: waited out when the request's time limit allows, else SCIM 429 or 503.

The bridge never answers 500 for an upstream that throttles or fails: a rate limit it cannot wait
out within ``Settings.upstream_wait_budget`` is a SCIM 429, an upstream that is down or failing a
SCIM 503, both with ``Retry-After``. A client that retries (as IdPs do) then converges.

The rate-limit tests run on one virtual clock (:func:`virtual_time`): the simulator counts its windows on it,
and the bridge's rate budget, its retry back-off and the test's own waits (a client doing as ``Retry-After``
tells it) move it instead of sleeping. A full 1-second window rolls over when the bridge has waited one
second on that clock, as it would in real time, without the second of real waiting.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Running
from sim_http import FakeClock

from scim_bridge.bootstrap import UpstreamPolicy
from scim_bridge.simulator.server import SimulatorServer

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
DEFAULT_LIMITS = {"configuration": "100/6000", "search": "50/3000"}


def new_user(user_name: str) -> dict[str, Any]:
    local = user_name.split("@")[0]
    return {
        "schemas": [CORE_USER],
        "userName": user_name,
        "name": {"givenName": local.title(), "familyName": "Tester"},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
    }


def add_members(user_ids: list[str]) -> dict[str, Any]:
    return {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": uid} for uid in user_ids]}],
    }


def retry_after(response: Any) -> int:
    value = int(response.headers["Retry-After"])
    assert value >= 1
    return value


def assert_scim_error(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)


def statuses(bridge: Running, method: str, path: str) -> list[int | None]:
    return [c["status"] for c in bridge.sim.calls() if c["method"] == method and c["path"] == path]


@pytest.fixture()
def virtual_time(simulator: SimulatorServer) -> Iterator[FakeClock]:
    """The clock of the simulator's rate windows for this test; it moves only when someone sleeps on it."""
    clock = FakeClock()
    simulator.state.limiter.use_clock(clock)
    yield clock
    simulator.state.limiter.use_clock()


def on_clock(clock: FakeClock, wait_budget: float) -> dict[str, Any]:
    """``bridge_factory`` arguments: a bridge whose upstream calls wait (budget and back-off) on ``clock``, at
    most ``wait_budget`` seconds per call."""
    policy = UpstreamPolicy(wait_budget, sleep=clock.sleep, clock=clock)
    return {"upstream_wait_budget": wait_budget, "policy": policy}


@pytest.mark.parametrize("retry_after_header", [False, True], ids=["period header", "retry-after header"])
def test_upstream_429_is_waited_out_within_the_time_limit(
    bridge_factory: Any, virtual_time: FakeClock, retry_after_header: bool
) -> None:
    bridge: Running = bridge_factory(**on_clock(virtual_time, 20.0))
    bridge.sim.configure(rate_limits={"configuration": "1/6000"}, retry_after_header=retry_after_header)

    created = bridge.scim.post("/Users", new_user("rate.limited@example.com"))

    assert created.status_code == 201, created.text
    calls = [c for c in bridge.sim.calls() if c["domain"] == "configuration"]
    throttled = [i for i, c in enumerate(calls) if c["status"] == 429]
    assert throttled, "the upstream never throttled: the test proves nothing"
    assert calls[-1]["status"] != 429
    # The header says the 1-second window is full: the bridge waits for it to roll over before the next call
    # (time moves only when the bridge waits, so each call after a 429 was preceded by one such wait).
    assert len(virtual_time.slept) == len(throttled)
    assert all(wait >= 0.9 for wait in virtual_time.slept), virtual_time.slept
    assert [u["username"] for u in bridge.sim.state()["users"]].count("rate.limited@example.com") == 1
    bridge.sim.configure(rate_limits=DEFAULT_LIMITS, retry_after_header=False)


def test_rate_limit_beyond_the_time_limit_is_scim_429_then_the_retry_converges(
    bridge_factory: Any, virtual_time: FakeClock
) -> None:
    bridge: Running = bridge_factory(**on_clock(virtual_time, 0.5))
    user_name = "burst.victim@example.com"
    bridge.sim.configure(rate_limits={"configuration": "1/6000"})

    refused = bridge.scim.post("/Users", new_user(user_name))

    assert_scim_error(refused, 429)
    wait = retry_after(refused)
    assert 429 in [c["status"] for c in bridge.sim.calls()]
    assert bridge.sim.user(user_name) is None  # the throttled create was never applied

    bridge.sim.configure(rate_limits=DEFAULT_LIMITS)  # the burst is over
    virtual_time.sleep(wait)  # as the client is told
    created = bridge.scim.post("/Users", new_user(user_name))

    assert created.status_code == 201, created.text
    upstream = bridge.sim.user(user_name)
    assert upstream is not None and upstream["id"] == created.json()["id"]
    assert [u["username"] for u in bridge.sim.state()["users"]].count(user_name) == 1


def test_group_patch_throttled_midway_converges_when_the_client_repeats_it(
    bridge_factory: Any, virtual_time: FakeClock
) -> None:
    bridge: Running = bridge_factory(**on_clock(virtual_time, 0.5))
    ids = []
    for n in range(6):
        created = bridge.scim.post("/Users", new_user(f"member{n}@example.com"))
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    group = bridge.scim.post("/Groups", {"schemas": [CORE_GROUP], "displayName": "Night-Watch"})
    assert group.status_code == 201, group.text
    group_id = group.json()["id"]
    bridge.sim.configure(rate_limits={"configuration": "2/6000"})

    attempts = [bridge.scim.patch(f"/Groups/{group_id}", add_members(ids))]
    assert_scim_error(attempts[0], 429)
    upstream = bridge.sim.team("Night-Watch")
    assert upstream is not None
    assert {m["user"]["id"] for m in upstream["members"]} <= set(ids)  # some of it may have been applied

    bridge.sim.configure(rate_limits=DEFAULT_LIMITS)
    while attempts[-1].status_code == 429 and len(attempts) < 5:
        virtual_time.sleep(retry_after(attempts[-1]))
        attempts.append(bridge.scim.patch(f"/Groups/{group_id}", add_members(ids)))

    assert attempts[-1].status_code in (200, 204), attempts[-1].text
    upstream = bridge.sim.team("Night-Watch")
    assert upstream is not None
    assert sorted(m["user"]["id"] for m in upstream["members"]) == sorted(ids)
    shown = bridge.scim.get(f"/Groups/{group_id}").json()
    assert sorted(m["value"] for m in shown["members"]) == sorted(ids)


FAILING = {
    "5xx": {"fail_rate": 1.0},
    "dropped connections": {"drop_rate": 1.0},
}


@pytest.mark.parametrize("failure", list(FAILING), ids=list(FAILING))
def test_failing_upstream_is_scim_503_with_retry_after_then_converges(bridge_factory: Any, failure: str) -> None:
    bridge: Running = bridge_factory(upstream_wait_budget=1.0)
    mei = bridge.sim.user("mei.chen@example.com")
    team = bridge.sim.team("Payments")
    assert mei is not None and team is not None
    user_name = "outage.survivor@example.com"
    bridge.sim.configure(**FAILING[failure])

    refused = [
        bridge.scim.post("/Users", new_user(user_name)),
        bridge.scim.get(f"/Users/{mei['id']}"),
        bridge.scim.patch(f"/Groups/{team['id']}", add_members([mei["id"]])),
    ]

    for response in refused:
        assert_scim_error(response, 503)
        retry_after(response)
    assert bridge.sim.user(user_name) is None

    bridge.sim.configure(fail_rate=0.0, drop_rate=0.0)  # the upstream is back
    created = bridge.scim.post("/Users", new_user(user_name))
    fetched = bridge.scim.get(f"/Users/{mei['id']}")
    patched = bridge.scim.patch(f"/Groups/{team['id']}", add_members([mei["id"]]))

    assert created.status_code == 201, created.text
    assert fetched.status_code == 200, fetched.text
    assert patched.status_code in (200, 204), patched.text
    assert [u["username"] for u in bridge.sim.state()["users"]].count(user_name) == 1
    payments = bridge.sim.team("Payments")
    assert payments is not None
    assert mei["id"] in {m["user"]["id"] for m in payments["members"]}
