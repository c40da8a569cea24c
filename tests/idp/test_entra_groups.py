"""Microsoft Entra ID group provisioning replayed against the bridge (capitalised ops, both removal forms)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.idp.conftest import Replay

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTRA = {"User-Agent": "Microsoft.Identity.AzureAD.Provisioning"}


def roster(bridge: Replay, name: str) -> set[str]:
    team = bridge.up.team(name)
    assert team is not None, name
    return set(team.members)


def entra_patch(bridge: Replay, group_id: str, *operations: dict[str, Any]) -> None:
    response = bridge.scim.patch(f"/Groups/{group_id}", {"schemas": [PATCH], "Operations": list(operations)},
                                 headers=ENTRA)
    assert response.status_code == 204, response.text


def lookup(bridge: Replay, name: str) -> list[dict[str, Any]]:
    response = bridge.scim.get("/Groups", params={"excludedAttributes": "members",
                                                  "filter": f'displayName eq "{name}"'}, headers=ENTRA)
    assert response.status_code == 200
    resources: list[dict[str, Any]] = response.json()["Resources"]
    assert all("members" not in r for r in resources)
    return resources


@pytest.mark.read_through  # checks what read-through reads or costs
def test_group_lifecycle(bridge: Replay) -> None:
    users = {n: bridge.user_id(f"{n}@example.com") for n in ("mei.chen", "tom.becker", "jordan.lee", "diego.alvarez")}

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
    bridge.up.clear_calls()
    assert lookup(bridge, "entra responders eu")[0]["id"] == group_id
    assert len(bridge.up.calls()) == bridge.up.team_lookup_calls  # the same look-up, members or not
    assert bridge.up.writes() == []

    # Delete.
    deleted = bridge.scim.delete(f"/Groups/{group_id}", headers=ENTRA)
    assert deleted.status_code == 204
    assert bridge.up.team("Entra Responders EU") is None
    assert lookup(bridge, "Entra Responders EU") == []


def test_removing_a_non_member_is_a_no_op(bridge: Replay) -> None:
    team = bridge.group_id("Payments")
    jordan = bridge.user_id("jordan.lee@example.com")
    before = roster(bridge, "Payments")
    bridge.up.clear_calls()
    entra_patch(bridge, team, {"op": "Remove", "path": "members", "value": [{"value": jordan}]})
    assert roster(bridge, "Payments") == before
    assert bridge.up.writes() == []
