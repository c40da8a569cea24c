"""A Saviynt-style SCIM connector: paged import of users and groups, then access provisioning."""

from __future__ import annotations

from typing import Any

from conftest import Running

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PAGE = 20


def page_through(bridge: Running, endpoint: str, **params: Any) -> list[dict[str, Any]]:
    """What the seed connector does: startIndex=1, count=20, until totalResults is reached."""
    found: list[dict[str, Any]] = []
    start = 1
    while True:
        response = bridge.scim.get(endpoint, params={"startIndex": start, "count": PAGE, **params})
        assert response.status_code == 200, response.text
        body = response.json()
        assert isinstance(body["totalResults"], int) and isinstance(body["itemsPerPage"], int)
        assert body["startIndex"] == start
        resources = body.get("Resources", [])
        assert body["itemsPerPage"] == len(resources) <= PAGE
        found += resources
        start += PAGE
        if start > body["totalResults"]:
            assert len(found) == body["totalResults"]
            return found


def test_import_pages_users_and_groups_with_members(bridge: Running) -> None:
    made = bridge.sim.http.post(f"{bridge.sim.base_url}/__sim/bulk",
                                json={"users": 45, "teams": 30, "membersPerTeam": 4, "prefix": "sav"}, timeout=30)
    made.raise_for_status()
    bridge.app.extensions["scim_bridge"].sync.run()
    bridge.sim.clear_calls()

    users = page_through(bridge, "/Users")
    state = bridge.sim.state()
    assert sorted(u["id"] for u in users) == sorted(u["id"] for u in state["users"])
    assert len({u["id"] for u in users}) == len(users)

    groups = page_through(bridge, "/Groups")
    teams = {t["id"]: t for t in state["teams"]}
    by_id = {g["id"]: g for g in groups}
    assert len(by_id) == len(groups)
    assert set(teams) <= set(by_id)
    for team_id, team in teams.items():
        assert sorted(m["value"] for m in by_id[team_id]["members"]) == sorted(m["user"]["id"] for m in team["members"])
    roles = [g for g in groups if g["id"].startswith("role-")]
    assert {g["displayName"] for g in roles} >= {"role:Admin", "role:User"}
    assert sum(len(g["members"]) for g in roles) == len(state["users"])
    # The import is served from the mirror: no team is fetched member by member.
    assert [c for c in bridge.sim.calls() if c["path"].startswith("/v2/teams/")] == []


def test_provisioning_access_is_group_membership(bridge: Running) -> None:
    groups = page_through(bridge, "/Groups", filter='displayName eq "Payments"')
    payments = groups[0]["id"]
    tom = next(u for u in page_through(bridge, "/Users") if u["userName"] == "tom.becker@example.com")["id"]

    add = {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": tom}]}]}
    assert bridge.scim.patch(f"/Groups/{payments}", add).status_code == 204
    team = bridge.sim.team("Payments")
    assert team is not None and tom in [m["user"]["id"] for m in team["members"]]
    user = bridge.scim.get(f"/Users/{tom}").json()
    assert payments in [g["value"] for g in user["groups"]]

    remove = {"schemas": [PATCH], "Operations": [{"op": "remove", "path": f'members[value eq "{tom}"]'}]}
    assert bridge.scim.patch(f"/Groups/{payments}", remove).status_code == 204
    team = bridge.sim.team("Payments")
    assert team is not None and tom not in [m["user"]["id"] for m in team["members"]]

    # Role access is provisioned the same way.
    assert bridge.scim.patch("/Groups/role-admin", add).status_code == 204
    assert bridge.sim.user("tom.becker@example.com")["role"]["name"] == "Admin"  # type: ignore[index]
    assert bridge.scim.patch("/Groups/role-admin", remove).status_code == 204
    assert bridge.sim.user("tom.becker@example.com")["role"]["name"] == "User"  # type: ignore[index]
