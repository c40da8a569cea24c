"""Okta Group Push replayed against the bridge: the requests Okta sends, in the order it sends them."""

from __future__ import annotations

from typing import Any

from conftest import Running

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
OKTA = {"User-Agent": "Okta SCIM Client 1.0.0"}


def uid(bridge: Running, username: str) -> str:
    user = bridge.sim.user(username)
    assert user is not None
    return str(user["id"])


def roster(bridge: Running, name: str) -> dict[str, str]:
    team = bridge.sim.team(name)
    assert team is not None, name
    return {m["user"]["username"]: m["role"] for m in team["members"]}


def okta_patch(bridge: Running, group_id: str, *operations: dict[str, Any]) -> None:
    response = bridge.scim.patch(f"/Groups/{group_id}", {"schemas": [PATCH], "Operations": list(operations)},
                                 headers=OKTA)
    assert response.status_code in (200, 204), response.text


def test_group_push_lifecycle(bridge: Running) -> None:
    mei, tom, jordan = (uid(bridge, f"{n}@example.com") for n in ("mei.chen", "tom.becker", "jordan.lee"))

    # 1. Okta looks the group up by name first: not there.
    found = bridge.scim.get("/Groups", params={"filter": 'displayName eq "Okta Pushed"', "startIndex": 1,
                                               "count": 100}, headers=OKTA)
    assert found.status_code == 200
    assert found.json()["totalResults"] == 0

    # 2. It creates the group without members and links to the returned id.
    created = bridge.scim.post("/Groups", {"schemas": [GROUP], "displayName": "Okta Pushed", "members": []},
                               headers=OKTA)
    assert created.status_code == 201, created.text
    group_id = created.json()["id"]
    assert roster(bridge, "Okta Pushed") == {}

    # 3. Members are pushed: a rename-shaped replace (sent on every change) plus the add.
    okta_patch(bridge, group_id,
               {"op": "replace", "value": {"id": group_id, "displayName": "Okta Pushed"}},
               {"op": "add", "path": "members", "value": [{"value": mei, "display": "mei.chen@example.com"},
                                                          {"value": tom, "display": "tom.becker@example.com"}]})
    assert roster(bridge, "Okta Pushed") == {"mei.chen@example.com": "user", "tom.becker@example.com": "user"}

    # 4. One request removing one member and adding another.
    okta_patch(bridge, group_id,
               {"op": "remove", "path": f'members[value eq "{tom}"]'},
               {"op": "add", "path": "members", "value": [{"value": jordan, "display": "jordan.lee@example.com"}]})
    assert roster(bridge, "Okta Pushed") == {"mei.chen@example.com": "user", "jordan.lee@example.com": "user"}

    # 5. The group is renamed in Okta.
    okta_patch(bridge, group_id, {"op": "replace", "value": {"id": group_id, "displayName": "Okta Pushed 2"}})
    assert bridge.sim.team("Okta Pushed") is None
    assert roster(bridge, "Okta Pushed 2") == {"mei.chen@example.com": "user", "jordan.lee@example.com": "user"}
    fetched = bridge.scim.get(f"/Groups/{group_id}", headers=OKTA).json()
    assert fetched["displayName"] == "Okta Pushed 2"
    assert sorted(m["value"] for m in fetched["members"]) == sorted([mei, jordan])

    # 6. Okta may also push the whole member list as a replace.
    okta_patch(bridge, group_id, {"op": "replace", "path": "members", "value": [{"value": tom}]})
    assert roster(bridge, "Okta Pushed 2") == {"tom.becker@example.com": "user"}

    # 7. Unlinking with "delete the group in the target app".
    deleted = bridge.scim.delete(f"/Groups/{group_id}", headers=OKTA)
    assert deleted.status_code == 204
    assert bridge.sim.team("Okta Pushed 2") is None
    assert bridge.scim.get(f"/Groups/{group_id}").status_code == 404


def test_push_to_existing_team_keeps_team_admins(bridge: Running) -> None:
    """Okta links a push group to an existing team by name, then pushes its full membership."""
    found = bridge.scim.get("/Groups", params={"filter": 'displayName eq "Platform SRE"'}, headers=OKTA).json()
    group_id = found["Resources"][0]["id"]
    priya, mei, diego = (uid(bridge, f"{n}@example.com") for n in ("priya.shah", "mei.chen", "diego.alvarez"))
    okta_patch(bridge, group_id,
               {"op": "replace", "value": {"id": group_id, "displayName": "Platform SRE"}},
               {"op": "replace", "path": "members", "value": [{"value": priya}, {"value": mei}, {"value": diego}]})
    assert roster(bridge, "Platform SRE") == {
        "priya.shah@example.com": "admin", "mei.chen@example.com": "user", "diego.alvarez@example.com": "user",
    }


def test_push_with_unknown_member_changes_nothing(bridge: Running) -> None:
    created = bridge.scim.post("/Groups", {"schemas": [GROUP], "displayName": "Okta Atomic", "members": []},
                               headers=OKTA).json()
    mei = uid(bridge, "mei.chen@example.com")
    bridge.sim.clear_calls()
    response = bridge.scim.patch(
        f"/Groups/{created['id']}",
        {"schemas": [PATCH], "Operations": [
            {"op": "replace", "value": {"id": created["id"], "displayName": "Okta Atomic Renamed"}},
            {"op": "add", "path": "members", "value": [{"value": mei}, {"value": "00u-not-provisioned"}]}]},
        headers=OKTA,
    )
    assert response.status_code == 400
    assert "00u-not-provisioned" in response.json()["detail"]
    assert bridge.sim.writes() == []
    assert roster(bridge, "Okta Atomic") == {}
