"""Microsoft Entra ID group provisioning replayed against the bridge (capitalised ops, both removal forms)."""

from __future__ import annotations

from typing import Any

from conftest import Running

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTRA = {"User-Agent": "Microsoft.Identity.AzureAD.Provisioning"}


def uid(bridge: Running, username: str) -> str:
    user = bridge.sim.user(username)
    assert user is not None
    return str(user["id"])


def roster(bridge: Running, name: str) -> set[str]:
    team = bridge.sim.team(name)
    assert team is not None, name
    return {m["user"]["username"] for m in team["members"]}


def entra_patch(bridge: Running, group_id: str, *operations: dict[str, Any]) -> None:
    response = bridge.scim.patch(f"/Groups/{group_id}", {"schemas": [PATCH], "Operations": list(operations)},
                                 headers=ENTRA)
    assert response.status_code == 204, response.text


def lookup(bridge: Running, name: str) -> list[dict[str, Any]]:
    response = bridge.scim.get("/Groups", params={"excludedAttributes": "members",
                                                  "filter": f'displayName eq "{name}"'}, headers=ENTRA)
    assert response.status_code == 200
    resources: list[dict[str, Any]] = response.json()["Resources"]
    assert all("members" not in r for r in resources)
    return resources


def test_group_lifecycle(bridge: Running) -> None:
    users = {n: uid(bridge, f"{n}@example.com") for n in ("mei.chen", "tom.becker", "jordan.lee", "diego.alvarez")}

    # Test connection: a random group that does not exist answers an empty list.
    assert lookup(bridge, "entra-probe-8f3a") == []

    # Create empty, then read it back without members.
    assert lookup(bridge, "Entra Responders") == []
    created = bridge.scim.post("/Groups", {"schemas": [GROUP], "displayName": "Entra Responders",
                                           "externalId": "0f9c-entra-object-id", "members": []}, headers=ENTRA)
    assert created.status_code == 201, created.text
    group_id = created.json()["id"]
    single = bridge.scim.get(f"/Groups/{group_id}", params={"excludedAttributes": "members"}, headers=ENTRA)
    assert single.status_code == 200 and "members" not in single.json()

    # Several members in one Add.
    entra_patch(bridge, group_id, {"op": "Add", "path": "members",
                                   "value": [{"$ref": None, "value": v} for v in users.values()]})
    assert roster(bridge, "Entra Responders") == {f"{n}@example.com" for n in users}

    # Removal without the flag: Remove + path members + a value array.
    entra_patch(bridge, group_id, {"op": "Remove", "path": "members",
                                   "value": [{"value": users["mei.chen"]}, {"value": users["tom.becker"]}]})
    assert roster(bridge, "Entra Responders") == {"jordan.lee@example.com", "diego.alvarez@example.com"}

    # Removal with aadOptscim062020: a value filter in the path.
    entra_patch(bridge, group_id, {"op": "Remove", "path": f'members[value eq "{users["jordan.lee"]}"]'})
    assert roster(bridge, "Entra Responders") == {"diego.alvarez@example.com"}

    # Update of the name and externalId in one pathless Replace, then the filter finds the new name.
    entra_patch(bridge, group_id, {"op": "Replace", "value": {"displayName": "Entra Responders EU",
                                                              "externalId": "0f9c-entra-object-id"}})
    found = lookup(bridge, "Entra Responders EU")
    assert [g["id"] for g in found] == [group_id]
    assert found[0]["externalId"] == "0f9c-entra-object-id"
    bridge.sim.clear_calls()
    assert lookup(bridge, "entra responders eu")[0]["id"] == group_id
    assert len(bridge.sim.calls()) == 1  # one GET by name, members or not

    # Delete.
    deleted = bridge.scim.delete(f"/Groups/{group_id}", headers=ENTRA)
    assert deleted.status_code == 204
    assert bridge.sim.team("Entra Responders EU") is None
    assert lookup(bridge, "Entra Responders EU") == []


def test_removing_a_non_member_is_a_no_op(bridge: Running) -> None:
    team = bridge.sim.team("Payments")
    assert team is not None
    before = roster(bridge, "Payments")
    bridge.sim.clear_calls()
    entra_patch(bridge, team["id"], {"op": "Remove", "path": "members",
                                     "value": [{"value": uid(bridge, "jordan.lee@example.com")}]})
    assert roster(bridge, "Payments") == before
    assert bridge.sim.writes() == []
