"""Large teams: a 5,000-member team reads whole, and 1,000 members join or leave in one PATCH without
losing anyone and without a single 429 from the upstream (limited here to 10 configuration calls/s)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Running

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
TEAM_SIZE = 5000
DELTA = 1000


@pytest.fixture()
def big(bridge: Running) -> Iterator[dict[str, Any]]:
    """A team of 5,000 (the first a team admin) plus 1,000 users outside it, known to the bridge."""
    made = bridge.sim.http.post(f"{bridge.sim.base_url}/__sim/bulk",
                                json={"users": TEAM_SIZE + DELTA, "prefix": "big"}, timeout=60)
    made.raise_for_status()
    ids = [u["id"] for u in bridge.sim.state()["users"] if u["username"].startswith("big")]
    assert len(ids) == TEAM_SIZE + DELTA
    members = [{"user": {"id": uid}, "role": "admin" if i == 0 else "user"} for i, uid in enumerate(ids[:TEAM_SIZE])]
    team = bridge.sim.http.post(f"{bridge.sim.base_url}/__sim/teams",
                                json={"name": "Everyone", "members": members}, timeout=60)
    team.raise_for_status()
    services = bridge.app.extensions["scim_bridge"]
    services.sync.run()  # as the periodic sync would: the mirror learns the new users
    original = bridge.sim.http.get(f"{bridge.sim.base_url}/__sim/config", timeout=10).json()["rate_limits"]
    bridge.sim.configure(rate_limits={"configuration": {"per_second": 10, "per_minute": 600}})
    services.client.calibrate_budget()  # the bridge paces itself to the new limits
    bridge.sim.clear_calls()
    try:
        yield {"id": team.json()["id"], "members": ids[:TEAM_SIZE], "outsiders": ids[TEAM_SIZE:]}
    finally:
        bridge.sim.configure(rate_limits=original)


def upstream_roster(bridge: Running, team_id: str) -> dict[str, str]:
    team = next(t for t in bridge.sim.state()["teams"] if t["id"] == team_id)
    return {m["user"]["id"]: m["role"] for m in team["members"]}


def no_throttling(bridge: Running) -> list[dict[str, Any]]:
    calls = bridge.sim.calls()
    assert [c for c in calls if c["status"] == 429] == []
    return calls


@pytest.mark.read_through  # checks what read-through reads or costs
def test_big_team_reads_whole_and_takes_a_thousand_members_either_way(bridge: Running, big: dict[str, Any]) -> None:
    # Reading: the whole roster, by id, by name and in a list.
    response = bridge.scim.get(f"/Groups/{big['id']}")
    assert response.status_code == 200
    members = response.json()["members"]
    assert len(members) == TEAM_SIZE
    assert sorted(m["value"] for m in members) == sorted(big["members"])
    assert all(m["display"].startswith("big") for m in members)
    by_name = bridge.scim.get("/Groups", params={"filter": 'displayName eq "Everyone"'}).json()["Resources"]
    assert len(by_name[0]["members"]) == TEAM_SIZE
    listed = bridge.scim.get("/Groups", params={"filter": 'displayName sw "Every"'}).json()["Resources"]
    assert len(listed[0]["members"]) == TEAM_SIZE
    calls = no_throttling(bridge)
    assert len(calls) == 2  # the single read and the lookup by name; the list came from the mirror
    bridge.sim.clear_calls()

    # 1,000 members join in one PATCH.
    add = {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": uid} for uid in big["outsiders"]]}]}
    response = bridge.scim.patch(f"/Groups/{big['id']}", add)
    assert response.status_code == 204, response.text
    roster = upstream_roster(bridge, big["id"])
    assert set(roster) == set(big["members"]) | set(big["outsiders"])
    assert roster[big["members"][0]] == "admin"  # the team admin kept its team role
    assert {roster[uid] for uid in big["outsiders"]} == {"user"}
    shown = bridge.scim.get(f"/Groups/{big['id']}", params={"attributes": "members.value"}).json()["members"]
    assert len(shown) == TEAM_SIZE + DELTA

    # ...and leave in another.
    remove = {"schemas": [PATCH], "Operations": [
        {"op": "remove", "path": "members", "value": [{"value": uid} for uid in big["outsiders"]]}]}
    response = bridge.scim.patch(f"/Groups/{big['id']}", remove)
    assert response.status_code == 204, response.text
    roster = upstream_roster(bridge, big["id"])
    assert set(roster) == set(big["members"])
    assert roster[big["members"][0]] == "admin"

    calls = no_throttling(bridge)
    writes = [c for c in calls if c["method"] != "GET"]
    assert len(writes) == 2  # one roster update per PATCH
    assert len(calls) <= 8
