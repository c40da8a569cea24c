"""The default configuration: reads from the mirror within a freshness window, and no call a write does not need.

A bridge started with ``read_through=False`` (the default) on a fake clock: a single read of a copy younger
than ``SCIM_BRIDGE_FRESHNESS_WINDOW`` costs no upstream call, an older copy is read again once (one call,
shared by concurrent readers), an upstream 404 forgets the copy, and the Owner rule holds without a read per
write. Call counts, not timings, are asserted.
"""

from __future__ import annotations

import threading
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest

from scim_bridge.directory.models import DirectoryUser
from scim_bridge.service.errors import OWNER_RULE
from scim_bridge.service.mirror import MirrorGateway
from scim_bridge.service.mirror import SingleFlight
from tests.conftest import Running

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
WINDOW = 60.0


class FakeClock:
    """The store's clock, moved by the test only."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def fresh_bridge(bridge_factory: Any, clock: FakeClock) -> Running:
    running: Running = bridge_factory(read_through=False, freshness_window=WINDOW, clock=clock)
    return running


def calls(bridge: Running) -> list[str]:
    return [f"{c['method']} {c['path']}" for c in bridge.sim.calls()]


def sim_id(bridge: Running, user_name: str) -> str:
    user = bridge.sim.user(user_name)
    assert user is not None
    return str(user["id"])


def team_id(bridge: Running, name: str) -> str:
    team = bridge.sim.team(name)
    assert team is not None
    return str(team["id"])


def in_opsgenie(bridge: Running, method: str, path: str, body: dict[str, Any] | None = None) -> None:
    """A change made in the OpsGenie UI (no call the bridge made)."""
    answer = bridge.sim.http.request(method, f"{bridge.sim.base_url}/__sim{path}", json=body, timeout=10)
    assert answer.status_code in (200, 201), answer.text


def replace_op(path: str, value: Any) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": path, "value": value}]}


def test_a_copy_within_the_window_is_served_and_an_older_one_is_read_once(fresh_bridge: Running,
                                                                          clock: FakeClock) -> None:
    bridge = fresh_bridge
    mei = sim_id(bridge, "mei.chen@example.com")
    bridge.sim.clear_calls()
    # The sync's list carries no contacts: the first single read fetches her phones, once.
    assert [p["value"] for p in bridge.scim.get(f"/Users/{mei}").json()["phoneNumbers"]] == ["+14155550142"]
    assert calls(bridge) == [f"GET /v2/users/{mei}"]
    in_opsgenie(bridge, "PATCH", f"/users/{mei}", {"fullName": "Mei Chen-Lee"})
    bridge.sim.clear_calls()
    assert bridge.scim.get(f"/Users/{mei}").json()["displayName"] == "Mei Chen"  # the copy just confirmed
    clock.advance(WINDOW - 1)
    assert bridge.scim.get(f"/Users/{mei}").json()["displayName"] == "Mei Chen"
    assert calls(bridge) == []
    clock.advance(2)
    assert bridge.scim.get(f"/Users/{mei}").json()["displayName"] == "Mei Chen-Lee"
    assert calls(bridge) == [f"GET /v2/users/{mei}"]
    # The read confirmed the copy: the next window is served by the mirror again, lists included.
    assert bridge.scim.get(f"/Users/{mei}").json()["displayName"] == "Mei Chen-Lee"
    found = bridge.scim.get("/Users", params={"filter": 'userName eq "mei.chen@example.com"'}).json()
    assert found["Resources"][0]["displayName"] == "Mei Chen-Lee"
    assert calls(bridge) == [f"GET /v2/users/{mei}"]


def test_a_team_copy_older_than_the_window_is_read_once(fresh_bridge: Running, clock: FakeClock) -> None:
    bridge = fresh_bridge
    payments = team_id(bridge, "Payments")
    sara = sim_id(bridge, "sara.nilsson@example.com")
    in_opsgenie(bridge, "DELETE", f"/teams/{payments}/members/{sara}")
    bridge.sim.clear_calls()
    before = bridge.scim.get(f"/Groups/{payments}").json()
    assert sara in [m["value"] for m in before["members"]]
    assert calls(bridge) == []
    clock.advance(WINDOW + 1)
    after = bridge.scim.get(f"/Groups/{payments}").json()
    assert sara not in [m["value"] for m in after["members"]]
    assert bridge.scim.get(f"/Groups/{payments}", params={"excludedAttributes": "members"}).status_code == 200
    assert calls(bridge) == [f"GET /v2/teams/{payments}"]


def test_a_user_deleted_in_opsgenie_is_forgotten_by_the_read_of_an_old_copy(fresh_bridge: Running,
                                                                             clock: FakeClock) -> None:
    bridge = fresh_bridge
    mei = sim_id(bridge, "mei.chen@example.com")
    assert bridge.scim.get(f"/Users/{mei}").status_code == 200  # reads her contacts once
    in_opsgenie(bridge, "DELETE", f"/users/{mei}")
    assert bridge.scim.get(f"/Users/{mei}").status_code == 200  # within the window: the copy
    clock.advance(WINDOW + 1)
    bridge.sim.clear_calls()
    assert bridge.scim.get(f"/Users/{mei}").status_code == 404
    assert bridge.scim.get(f"/Users/{mei}").status_code == 404
    assert calls(bridge) == [f"GET /v2/users/{mei}"]  # forgotten: the second 404 costs nothing
    listed = bridge.scim.get("/Users", params={"filter": 'userName eq "mei.chen@example.com"'}).json()
    assert listed["totalResults"] == 0


def test_every_write_forgets_what_opsgenie_no_longer_has(fresh_bridge: Running) -> None:
    bridge = fresh_bridge
    mei = sim_id(bridge, "mei.chen@example.com")
    sara = sim_id(bridge, "sara.nilsson@example.com")
    support = team_id(bridge, "Customer Support")
    for path in (f"/users/{mei}", f"/users/{sara}", f"/teams/{support}"):
        in_opsgenie(bridge, "DELETE", path)
    bridge.sim.clear_calls()
    deleted = bridge.scim.delete(f"/Users/{mei}")
    assert deleted.status_code == 404, deleted.text
    assert calls(bridge) == [f"DELETE /v2/users/{mei}"]  # the answer itself says she is gone: no read
    put = bridge.scim.put(f"/Users/{sara}", {"schemas": [USER], "userName": "sara.nilsson@example.com",
                                             "displayName": "Sara N."})
    assert put.status_code == 404, put.text
    gone_team = bridge.scim.delete(f"/Groups/{support}")
    assert gone_team.status_code == 404, gone_team.text
    bridge.sim.clear_calls()
    for path in (f"/Users/{mei}", f"/Users/{sara}", f"/Groups/{support}"):
        assert bridge.scim.get(path).status_code == 404, path
    assert calls(bridge) == []


def test_the_owner_rule_needs_no_read_while_the_copy_is_fresh(fresh_bridge: Running) -> None:
    bridge = fresh_bridge
    owner = next(u for u in bridge.sim.state()["users"] if u["role"]["name"] == "Owner")
    assert bridge.scim.get(f"/Users/{owner['id']}").status_code == 200  # reads the contacts, once
    bridge.sim.clear_calls()
    for refused in (bridge.scim.delete(f"/Users/{owner['id']}"),
                    bridge.scim.patch(f"/Users/{owner['id']}", replace_op("active", False)),
                    bridge.scim.patch(f"/Users/{owner['id']}", replace_op("roles", [{"value": "User"}]))):
        assert refused.status_code == 403, refused.text
        assert OWNER_RULE in refused.json()["detail"]
    assert calls(bridge) == []


def test_an_owner_promoted_in_opsgenie_is_found_once_the_copy_is_old(fresh_bridge: Running, clock: FakeClock) -> None:
    bridge = fresh_bridge
    jordan = sim_id(bridge, "jordan.lee@example.com")
    in_opsgenie(bridge, "PATCH", f"/users/{jordan}", {"role": {"name": "Owner"}})
    clock.advance(WINDOW + 1)
    bridge.sim.clear_calls()
    refused = bridge.scim.delete(f"/Users/{jordan}")
    assert refused.status_code == 403, refused.text
    assert calls(bridge) == [f"GET /v2/users/{jordan}"]
    bridge.sim.clear_calls()
    for change in (replace_op("active", False), replace_op("roles", [{"value": "Admin"}])):
        assert bridge.scim.patch(f"/Users/{jordan}", change).status_code == 403
    assert bridge.scim.delete(f"/Users/{jordan}").status_code == 403
    assert calls(bridge) == []  # the read taught the mirror that Jordan is an Owner
    assert bridge.sim.user("jordan.lee@example.com")["role"]["name"] == "Owner"  # type: ignore[index]


@pytest.mark.parametrize("status", [403, 422])
@pytest.mark.parametrize("attempt", ["join role:Admin", "delete", "change roles", "deactivate"])
def test_within_the_window_opsgenie_refusing_an_owner_is_the_same_403(fresh_bridge: Running, status: int,
                                                                      attempt: str) -> None:
    bridge = fresh_bridge
    bridge.sim.configure(protected_owners="all", owner_protection_status=status)
    tom = sim_id(bridge, "tom.becker@example.com")
    assert bridge.scim.get(f"/Users/{tom}").status_code == 200  # a fresh, complete copy: not an Owner
    teams_before = sorted(t["name"] for t in bridge.sim.state()["teams"]
                          if tom in [m["user"]["id"] for m in t.get("members", [])])
    admins = bridge.scim.get("/Groups", params={"filter": 'displayName eq "role:Admin"'}).json()["Resources"][0]
    in_opsgenie(bridge, "PATCH", f"/users/{tom}", {"role": {"name": "Owner"}})
    bridge.sim.clear_calls()
    join = {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": tom}]}]}
    refused = {
        "join role:Admin": lambda: bridge.scim.patch(f"/Groups/{admins['id']}", join),
        "delete": lambda: bridge.scim.delete(f"/Users/{tom}"),
        "change roles": lambda: bridge.scim.patch(f"/Users/{tom}", replace_op("roles", [{"value": "Admin"}])),
        "deactivate": lambda: bridge.scim.patch(f"/Users/{tom}", replace_op("active", False)),
    }[attempt]()
    assert refused.status_code == 403, refused.text
    assert OWNER_RULE in refused.json()["detail"]
    assert f"GET /v2/users/{tom}" in calls(bridge)  # the refusal made the bridge look: an Owner now
    seen = bridge.sim.user("tom.becker@example.com")
    assert seen is not None and seen["role"]["name"] == "Owner"
    assert sorted(t["name"] for t in bridge.sim.state()["teams"]
                  if tom in [m["user"]["id"] for m in t.get("members", [])]) == teams_before
    bridge.sim.clear_calls()
    assert bridge.scim.delete(f"/Users/{tom}").status_code == 403
    assert calls(bridge) == []  # the mirror learnt the role


def test_each_operation_costs_only_the_calls_that_change_something(fresh_bridge: Running) -> None:
    bridge = fresh_bridge
    loose = sim_id(bridge, "mei.chen@example.com")
    bridge.sim.clear_calls()

    def costs(response: Any, expected: int) -> Any:
        assert 200 <= response.status_code < 300, response.text
        made = calls(bridge)
        assert len(made) == expected, made
        bridge.sim.clear_calls()
        return response

    name = "ana.okafor@example.com"
    costs(bridge.scim.get("/Users", params={"filter": f'userName eq "{name}"'}), 0)
    ana = costs(bridge.scim.post("/Users", {"schemas": [USER], "userName": name,
                                            "name": {"givenName": "Ana", "familyName": "Okafor"}}), 1).json()["id"]
    costs(bridge.scim.get(f"/Users/{ana}"), 0)
    costs(bridge.scim.get("/Users", params={"filter": f'userName eq "{name}"'}), 0)
    costs(bridge.scim.patch(f"/Users/{ana}", replace_op("displayName", "Ana O.")), 1)
    costs(bridge.scim.put(f"/Users/{ana}", {"schemas": [USER], "userName": name, "displayName": "Ana Okafor"}), 1)
    team = costs(bridge.scim.post("/Groups", {"schemas": [GROUP], "displayName": "Night Shift",
                                              "members": [{"value": ana}]}), 1).json()["id"]
    costs(bridge.scim.get(f"/Groups/{team}"), 0)
    costs(bridge.scim.get("/Groups", params={"filter": 'displayName eq "Night Shift"'}), 0)
    costs(bridge.scim.patch(f"/Groups/{team}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": loose}]}]}), 1)
    costs(bridge.scim.patch(f"/Users/{ana}", replace_op("active", False)), 2)  # role change + the one team
    costs(bridge.scim.patch(f"/Users/{ana}", replace_op("active", True)), 2)  # role back + the team back
    costs(bridge.scim.delete(f"/Users/{ana}"), 1)
    costs(bridge.scim.delete(f"/Groups/{team}"), 1)


def test_concurrent_reads_of_one_old_copy_share_one_call(fresh_bridge: Running, clock: FakeClock) -> None:
    """Four readers of one stale user: the first reads upstream, the others wait for its answer."""
    bridge = fresh_bridge
    services = bridge.app.extensions["scim_bridge"]
    gateway: MirrorGateway = services.users.mirror
    mei = sim_id(bridge, "mei.chen@example.com")
    clock.advance(WINDOW + 1)
    readers = 4
    real_get_user = gateway.directory.get_user
    upstream_reads: list[str] = []

    def get_user(identifier: str, *, with_contacts: bool = True) -> DirectoryUser:
        upstream_reads.append(identifier)
        with gateway.flights.changed:  # hold the call until every other reader waits for it
            assert gateway.flights.changed.wait_for(
                lambda: gateway.flights.followers(f"user-refresh:{mei}") == readers - 1, timeout=30)
        return real_get_user(identifier, with_contacts=with_contacts)

    gateway.directory = _Reading(gateway.directory, get_user)  # type: ignore[assignment]
    results: list[Any] = [None] * readers

    def read(index: int) -> None:
        results[index] = gateway.user_for_read(mei)

    threads = [threading.Thread(target=read, args=(i,)) for i in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert upstream_reads == [mei]
    assert all(r is not None and r.id == mei for r in results)
    assert gateway.user_for_read(mei) is not None and upstream_reads == [mei]  # confirmed: no further call


class _Reading:
    """The real directory, with its ``get_user`` observed by the test."""

    def __init__(self, inner: Any, get_user: Any) -> None:
        self._inner = inner
        self.get_user = get_user

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_single_flight_hands_the_leaders_error_to_every_follower() -> None:
    flights = SingleFlight()
    started = threading.Event()
    errors: list[BaseException] = []

    def load() -> str:
        started.set()
        with flights.changed:
            assert flights.changed.wait_for(lambda: flights.followers("k") == 2, timeout=30)
        raise LookupError("gone")

    def follow() -> None:
        started.wait(timeout=30)
        try:
            flights.do("k", lambda: "never run")
        except LookupError as exc:
            errors.append(exc)

    followers = [threading.Thread(target=follow) for _ in range(2)]
    for thread in followers:
        thread.start()
    with pytest.raises(LookupError):
        flights.do("k", load)
    for thread in followers:
        thread.join()
    assert len(errors) == 2
    assert flights.do("k", lambda: "again") == "again"  # a finished flight leaves nothing behind


def test_a_put_or_a_phone_change_on_a_listed_copy_reads_the_contacts_once(fresh_bridge: Running) -> None:
    """A copy from the sync's list lacks the contacts: a PUT (which replaces the phones) or a PATCH of
    phoneNumbers reads the user first, so phones are neither left behind nor dropped by mistake."""
    bridge = fresh_bridge
    priya = sim_id(bridge, "priya.shah@example.com")
    tom = sim_id(bridge, "tom.becker@example.com")
    bridge.sim.clear_calls()
    put = bridge.scim.put(f"/Users/{priya}", {"schemas": [USER], "userName": "priya.shah@example.com",
                                              "displayName": "Priya Shah"})
    assert put.status_code == 200, put.text
    assert calls(bridge)[0] == f"GET /v2/users/{priya}"
    seen = bridge.sim.user("priya.shah@example.com")
    assert seen is not None and [c for c in seen["userContacts"] if c["contactMethod"] in ("sms", "voice")] == []
    bridge.sim.clear_calls()
    added = bridge.scim.patch(f"/Users/{tom}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "path": "phoneNumbers", "value": [{"value": "+14155550100", "type": "work"}]}]})
    assert added.status_code == 200, added.text
    assert calls(bridge)[0] == f"GET /v2/users/{tom}"
    assert sorted(p["value"] for p in added.json()["phoneNumbers"]) == ["+14155550100", "+49301234567"]
    bridge.sim.clear_calls()
    assert bridge.scim.patch(f"/Users/{tom}", replace_op("displayName", "Tom B.")).status_code == 200
    assert len(calls(bridge)) == 1  # contacts known now: the update alone
