"""SCIM_BRIDGE_READ_THROUGH=false: reads from the mirror, writes without a read before them.

Every read is answered by the mirror (no upstream call); a write sends only the upstream call that changes
something, trusting the mirror's snapshot of the user. These tests pin down what that costs and where the
bridge still asks OpsGenie: a user deleted there is found out by the write, phones whose upstream contacts
the mirror never saw are read first. The freshness window and the Owner rule: tests/api/test_freshness.py.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import Running

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture()
def mirror_bridge(bridge_factory: Any) -> Running:
    running: Running = bridge_factory(read_through=False)
    return running


def upstream_calls(bridge: Running) -> list[str]:
    return [f"{c['method']} {c['path']}" for c in bridge.sim.calls()]


def sim_user(bridge: Running, user_name: str) -> dict[str, Any]:
    user = bridge.sim.user(user_name)
    assert user is not None
    return user


def sim_team(bridge: Running, name: str) -> dict[str, Any]:
    team = bridge.sim.team(name)
    assert team is not None
    return team


def replace_op(path: str, value: Any) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": path, "value": value}]}


def test_reads_cost_no_upstream_call_and_a_patch_costs_one(mirror_bridge: Running) -> None:
    bridge = mirror_bridge
    tom = sim_user(bridge, "tom.becker@example.com")["id"]
    bridge.sim.clear_calls()

    got = bridge.scim.get(f"/Users/{tom}")
    assert got.status_code == 200, got.text
    # The sync's list carries no contacts: the first single read fetches them, once; the rest is the mirror's.
    assert upstream_calls(bridge) == [f"GET /v2/users/{tom}"]
    bridge.sim.clear_calls()
    assert got.json()["userName"] == "tom.becker@example.com"
    assert got.json()["meta"]["location"] == f"{bridge.scim.base_url}/Users/{tom}"
    found = bridge.scim.get("/Users", params={"filter": 'userName eq "tom.becker@example.com"'})
    assert [r["id"] for r in found.json()["Resources"]] == [tom]
    assert found.json()["Resources"][0] == got.json()
    assert bridge.scim.get("/Users/no-such-user").status_code == 404
    assert upstream_calls(bridge) == []

    patched = bridge.scim.patch(f"/Users/{tom}", replace_op("displayName", "Thomas Becker"))
    assert patched.status_code == 200, patched.text
    assert patched.json()["displayName"] == "Thomas Becker"
    assert upstream_calls(bridge) == [f"PATCH /v2/users/{tom}"]
    assert sim_user(bridge, "tom.becker@example.com")["fullName"] == "Thomas Becker"

    again = bridge.scim.get(f"/Users/{tom}")
    assert again.json() == patched.json()
    assert again.headers["ETag"] == patched.headers["ETag"] != got.headers["ETag"]
    # Nothing to change: no upstream call at all.
    bridge.sim.clear_calls()
    same = bridge.scim.patch(f"/Users/{tom}", replace_op("displayName", "Thomas Becker"))
    assert same.status_code == 200, same.text
    assert upstream_calls(bridge) == []


def test_a_user_deleted_in_opsgenie_is_found_out_by_the_next_write(mirror_bridge: Running) -> None:
    bridge = mirror_bridge
    mei = sim_user(bridge, "mei.chen@example.com")["id"]
    assert bridge.scim.get(f"/Users/{mei}").status_code == 200  # her contacts read once
    gone = bridge.sim.http.delete(f"{bridge.sim.base_url}/__sim/users/{mei}", timeout=10)
    assert gone.status_code == 200, gone.text
    # Within the freshness window the mirror still answers for her (the documented freshness of this mode)...
    assert bridge.scim.get(f"/Users/{mei}").status_code == 200
    # ...but a write reaches OpsGenie, which no longer has her: 404, and the mirror forgets her at once.
    patched = bridge.scim.patch(f"/Users/{mei}", replace_op("displayName", "Mei Chen-Lee"))
    assert patched.status_code == 404, patched.text
    assert patched.json()["status"] == "404"
    assert bridge.scim.get(f"/Users/{mei}").status_code == 404
    listed = bridge.scim.get("/Users", params={"filter": 'userName eq "mei.chen@example.com"'}).json()
    assert listed["totalResults"] == 0


def test_phones_the_mirror_never_saw_are_read_before_they_change(mirror_bridge: Running) -> None:
    """The sync's user list carries no contacts: changing phones first reads them, so nothing is doubled."""
    bridge = mirror_bridge
    mei = sim_user(bridge, "mei.chen@example.com")["id"]
    bridge.sim.clear_calls()
    patched = bridge.scim.patch(f"/Users/{mei}", replace_op(
        "phoneNumbers", [{"value": "+14155550142", "type": "mobile"}]))
    assert patched.status_code == 200, patched.text
    # Read first: her SMS contact is what "mobile" shows, so the list sent is no change and nothing is written.
    assert upstream_calls(bridge) == [f"GET /v2/users/{mei}"]
    contacts = sorted((c["contactMethod"], c["to"])
                      for c in sim_user(bridge, "mei.chen@example.com")["userContacts"]
                      if c["contactMethod"] in ("sms", "voice"))
    assert contacts == [("sms", "1-4155550142")]
    assert [p["value"] for p in patched.json()["phoneNumbers"]] == ["+14155550142"]


def test_deactivation_takes_the_teams_from_the_mirror(mirror_bridge: Running) -> None:
    bridge = mirror_bridge
    sara = sim_user(bridge, "sara.nilsson@example.com")["id"]
    assert bridge.scim.get(f"/Users/{sara}").status_code == 200  # her contacts read once
    bridge.sim.clear_calls()
    off = bridge.scim.patch(f"/Users/{sara}", replace_op("active", False))
    assert off.status_code == 200, off.text
    assert off.json()["active"] is False
    calls = upstream_calls(bridge)
    # No read: the copy the sync just confirmed says who is Owner, and the teams come from the mirror too.
    assert [c for c in calls if c.startswith("GET ")] == [], calls
    assert len(calls) == 3  # the role change and the two teams left
    assert all(sara not in [m["user"]["id"] for m in team.get("members", [])]
               for team in bridge.sim.state()["teams"])
    on = bridge.scim.patch(f"/Users/{sara}", replace_op("active", True))
    assert on.status_code == 200, on.text
    assert sorted(g["display"] for g in on.json()["groups"] if not g["value"].startswith("role-")) == [
        "Customer Support", "Payments"]


def team_members(bridge: Running, name: str) -> list[str]:
    team = sim_team(bridge, name)
    return sorted(m["user"]["id"] for m in team.get("members", []))


def test_a_member_change_costs_one_call(mirror_bridge: Running) -> None:
    bridge = mirror_bridge
    payments = sim_team(bridge, "Payments")
    jordan = sim_user(bridge, "jordan.lee@example.com")["id"]
    bridge.sim.clear_calls()
    added = bridge.scim.patch(f"/Groups/{payments['id']}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": jordan}]}]})
    assert added.status_code in (200, 204), added.text
    assert upstream_calls(bridge) == [f"POST /v2/teams/{payments['id']}/members"]
    assert jordan in team_members(bridge, "Payments")
    shown = bridge.scim.get(f"/Groups/{payments['id']}").json()
    assert jordan in [m["value"] for m in shown["members"]]


def test_a_roster_behind_opsgenie_still_takes_the_change(mirror_bridge: Running) -> None:
    """Someone removed Mei from Payments in OpsGenie; the IdP now removes her too and adds Jordan: the
    removal of a member already gone is a no-op, and the roster ends as OpsGenie holds it."""
    bridge = mirror_bridge
    sim = bridge.sim
    payments = sim_team(bridge, "Payments")
    mei = sim_user(bridge, "mei.chen@example.com")["id"]
    jordan = sim_user(bridge, "jordan.lee@example.com")["id"]
    removed = sim.http.delete(f"{sim.base_url}/__sim/teams/{payments['id']}/members/{mei}", timeout=10)
    assert removed.status_code == 200, removed.text
    patched = bridge.scim.patch(f"/Groups/{payments['id']}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "remove", "path": f'members[value eq "{mei}"]'},
        {"op": "add", "path": "members", "value": [{"value": jordan}]}]})
    assert patched.status_code in (200, 204), patched.text
    expected = sorted([jordan, *(uid for uid in team_members(bridge, "Payments") if uid != jordan)])
    assert mei not in expected and jordan in expected
    shown = bridge.scim.get(f"/Groups/{payments['id']}").json()
    assert sorted(m["value"] for m in shown["members"]) == expected == team_members(bridge, "Payments")


def test_a_team_deleted_in_opsgenie_is_found_out_by_the_next_write(mirror_bridge: Running) -> None:
    bridge = mirror_bridge
    sim = bridge.sim
    support = sim_team(bridge, "Customer Support")
    gone = sim.http.delete(f"{sim.base_url}/__sim/teams/{support['id']}", timeout=10)
    assert gone.status_code == 200, gone.text
    renamed = bridge.scim.patch(f"/Groups/{support['id']}", replace_op("displayName", "Support"))
    assert renamed.status_code == 404, renamed.text
    assert bridge.scim.get(f"/Groups/{support['id']}").status_code == 404
    assert sim.team("Support") is None


def test_a_create_costs_one_call_per_upstream_object(mirror_bridge: Running) -> None:
    bridge = mirror_bridge
    bridge.sim.clear_calls()
    made = bridge.scim.post("/Users", {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "lin.park@example.com",
        "name": {"givenName": "Lin", "familyName": "Park"}, "timezone": "Asia/Seoul",
        "phoneNumbers": [{"value": "+821012345678", "type": "work"}]})
    assert made.status_code == 201, made.text
    lin = made.json()["id"]
    assert upstream_calls(bridge) == ["POST /v2/users", f"POST /v2/users/{lin}/contacts"]
    assert made.json()["timezone"] == "Asia/Seoul"
    assert [p["value"] for p in made.json()["phoneNumbers"]] == ["+821012345678"]
    assert bridge.scim.get(f"/Users/{lin}").json() == made.json()
    upstream = sim_user(bridge, "lin.park@example.com")
    assert upstream["fullName"] == "Lin Park" and upstream["timeZone"] == "Asia/Seoul"
    # The next sync brings what OpsGenie filled in, and the SCIM view of what was sent stays the same.
    assert bridge.app.extensions["scim_bridge"].sync.run() is not None
    synced = bridge.scim.get(f"/Users/{lin}").json()
    for key in ("userName", "name", "displayName", "timezone", "phoneNumbers", "active", "roles"):
        assert synced.get(key) == made.json().get(key), key


def test_a_suspension_skips_teams_gone_from_opsgenie(mirror_bridge: Running) -> None:
    bridge = mirror_bridge
    sim = bridge.sim
    support = sim_team(bridge, "Customer Support")
    sara = sim_user(bridge, "sara.nilsson@example.com")["id"]
    gone = sim.http.delete(f"{sim.base_url}/__sim/teams/{support['id']}", timeout=10)
    assert gone.status_code == 200, gone.text
    off = bridge.scim.patch(f"/Users/{sara}", replace_op("active", False))
    assert off.status_code == 200, off.text
    assert sara not in team_members(bridge, "Payments")
    on = bridge.scim.patch(f"/Users/{sara}", replace_op("active", True))
    assert on.status_code == 200, on.text
    assert sara in team_members(bridge, "Payments")
    assert [g["display"] for g in on.json()["groups"] if not g["value"].startswith("role-")] == ["Payments"]


def test_concurrent_writes_to_one_user_leave_the_mirror_exact(mirror_bridge: Running) -> None:
    """Two PATCHes of different attributes in flight together: each sends OpsGenie its own change, and
    the mirror ends with both (the second to finish reads the upstream instead of storing a snapshot that
    lacks the first one's change)."""
    bridge = mirror_bridge
    tom = sim_user(bridge, "tom.becker@example.com")["id"]
    bridge.sim.configure(latency_ms=150)  # both requests are in flight before either stores its result
    changes = [replace_op("displayName", "Thomas Becker"), replace_op("timezone", "Europe/Lisbon")]
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda body: bridge.scim.patch(f"/Users/{tom}", body), changes))
    bridge.sim.configure(latency_ms=0)
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    upstream = sim_user(bridge, "tom.becker@example.com")
    assert (upstream["fullName"], upstream["timeZone"]) == ("Thomas Becker", "Europe/Lisbon")
    shown = bridge.scim.get(f"/Users/{tom}").json()
    assert (shown["displayName"], shown["timezone"]) == ("Thomas Becker", "Europe/Lisbon")
    listed = bridge.scim.get("/Users", params={"filter": 'timezone eq "Europe/Lisbon"'}).json()
    assert [r["id"] for r in listed["Resources"]] == [tom]
    assert listed["Resources"][0]["displayName"] == "Thomas Becker"
