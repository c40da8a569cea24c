"""Okta Group Push replayed against the bridge: the requests Okta sends, in the order it sends them."""

from __future__ import annotations

from typing import Any

from tests.idp.conftest import Replay

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
OKTA = {"User-Agent": "Okta SCIM Client 1.0.0"}


def roster(bridge: Replay, name: str) -> set[str]:
    team = bridge.up.team(name)
    assert team is not None, name
    return set(team.members)


def okta_patch(bridge: Replay, group_id: str, *operations: dict[str, Any]) -> None:
    response = bridge.scim.patch(f"/Groups/{group_id}", {"schemas": [PATCH], "Operations": list(operations)},
                                 headers=OKTA)
    assert response.status_code in (200, 204), response.text


def test_group_push_lifecycle(bridge: Replay) -> None:
    mei, tom, jordan = (bridge.user_id(f"{n}@example.com") for n in ("mei.chen", "tom.becker", "jordan.lee"))

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
    assert roster(bridge, "Okta Pushed") == set()

    # 3. Members are pushed: a rename-shaped replace (sent on every change) plus the add.
    okta_patch(bridge, group_id,
               {"op": "replace", "value": {"id": group_id, "displayName": "Okta Pushed"}},
               {"op": "add", "path": "members", "value": [{"value": mei, "display": "mei.chen@example.com"},
                                                          {"value": tom, "display": "tom.becker@example.com"}]})
    assert roster(bridge, "Okta Pushed") == {"mei.chen@example.com", "tom.becker@example.com"}

    # 4. One request removing one member and adding another.
    okta_patch(bridge, group_id,
               {"op": "remove", "path": f'members[value eq "{tom}"]'},
               {"op": "add", "path": "members", "value": [{"value": jordan, "display": "jordan.lee@example.com"}]})
    assert roster(bridge, "Okta Pushed") == {"mei.chen@example.com", "jordan.lee@example.com"}

    # 5. The group is renamed in Okta.
    okta_patch(bridge, group_id, {"op": "replace", "value": {"id": group_id, "displayName": "Okta Pushed 2"}})
    assert bridge.up.team("Okta Pushed") is None
    assert roster(bridge, "Okta Pushed 2") == {"mei.chen@example.com", "jordan.lee@example.com"}
    fetched = bridge.scim.get(f"/Groups/{group_id}", headers=OKTA).json()
    assert fetched["displayName"] == "Okta Pushed 2"
    assert sorted(m["value"] for m in fetched["members"]) == sorted([mei, jordan])

    # 6. Okta may also push the whole member list as a replace.
    okta_patch(bridge, group_id, {"op": "replace", "path": "members", "value": [{"value": tom}]})
    assert roster(bridge, "Okta Pushed 2") == {"tom.becker@example.com"}

    # 7. Unlinking with "delete the group in the target app".
    deleted = bridge.scim.delete(f"/Groups/{group_id}", headers=OKTA)
    assert deleted.status_code == 204
    assert bridge.up.team("Okta Pushed 2") is None
    assert bridge.scim.get(f"/Groups/{group_id}").status_code == 404


def test_push_to_existing_team_keeps_team_admins(bridge: Replay) -> None:
    """Okta links a push group to an existing team by name, then pushes its full membership."""
    found = bridge.scim.get("/Groups", params={"filter": 'displayName eq "Platform SRE"'}, headers=OKTA).json()
    group_id = found["Resources"][0]["id"]
    priya, mei, diego = (bridge.user_id(f"{n}@example.com") for n in ("priya.shah", "mei.chen", "diego.alvarez"))
    okta_patch(bridge, group_id,
               {"op": "replace", "value": {"id": group_id, "displayName": "Platform SRE"}},
               {"op": "replace", "path": "members", "value": [{"value": priya}, {"value": mei}, {"value": diego}]})
    team = bridge.up.team("Platform SRE")
    assert team is not None
    assert team.members == {"priya.shah@example.com", "mei.chen@example.com", "diego.alvarez@example.com"}
    assert team.admins in ({"priya.shah@example.com"}, None)  # None: the upstream keeps no team roles


def test_push_with_unknown_member_changes_nothing(bridge: Replay) -> None:
    created = bridge.scim.post("/Groups", {"schemas": [GROUP], "displayName": "Okta Atomic", "members": []},
                               headers=OKTA).json()
    mei = bridge.user_id("mei.chen@example.com")
    bridge.up.clear_calls()
    response = bridge.scim.patch(
        f"/Groups/{created['id']}",
        {"schemas": [PATCH], "Operations": [
            {"op": "replace", "value": {"id": created["id"], "displayName": "Okta Atomic Renamed"}},
            {"op": "add", "path": "members", "value": [{"value": mei}, {"value": "00u-not-provisioned"}]}]},
        headers=OKTA,
    )
    assert response.status_code == 400
    assert "00u-not-provisioned" in response.json()["detail"]
    assert bridge.up.writes() == []
    assert roster(bridge, "Okta Atomic") == set()


def test_member_failure_upstream_leaves_the_team_as_it_was(bridge: Replay) -> None:
    """Adding three members when the upstream refuses them: the SCIM answer is an error and the roster is unchanged."""
    group_id = bridge.group_id("Customer Support")
    before = roster(bridge, "Customer Support")
    newcomers = [bridge.user_id(f"{n}@example.com") for n in ("mei.chen", "tom.becker", "diego.alvarez")]
    bridge.up.fail_next("team-members", "400", times=20)
    response = bridge.scim.patch(f"/Groups/{group_id}", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": v} for v in newcomers]}]}, headers=OKTA)
    assert response.status_code == 400, response.text
    assert response.json()["scimType"] == "invalidValue"
    bridge.up.clear_faults()
    assert roster(bridge, "Customer Support") == before
    members = bridge.scim.get(f"/Groups/{group_id}").json().get("members", [])
    assert not {m["value"] for m in members} & set(newcomers)
