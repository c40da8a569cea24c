"""The services over the in-process directory, through the Flask test client: no socket, no simulator. What the
directory holds afterwards is read from the MemoryDirectory itself."""

from __future__ import annotations

from typing import Any

from inprocess import InProcessBridge
from inprocess import body

from scim_bridge.directory.models import UserFields

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def create_user(bridge: InProcessBridge, name: str, **extra: Any) -> str:
    made = bridge.scim.post("/Users", {"schemas": [USER], "userName": f"{name}@example.com",
                                       "name": {"givenName": name.title(), "familyName": "Test"}, **extra})
    assert made.status_code == 201, made.get_data(as_text=True)
    return str(body(made)["id"])


def create_team(bridge: InProcessBridge, name: str, *members: str) -> str:
    made = bridge.scim.post("/Groups", {"schemas": [GROUP], "displayName": name,
                                        "members": [{"value": m} for m in members]})
    assert made.status_code == 201, made.get_data(as_text=True)
    return str(body(made)["id"])


def patch(bridge: InProcessBridge, path: str, *operations: dict[str, Any]) -> None:
    done = bridge.scim.patch(path, {"schemas": [PATCH], "Operations": list(operations)})
    assert done.status_code in (200, 204), done.get_data(as_text=True)


def test_a_created_user_is_in_the_directory_and_reads_back(inprocess_bridge: InProcessBridge) -> None:
    bridge = inprocess_bridge
    user_id = create_user(bridge, "ada", displayName="Ada Lovelace")
    upstream = bridge.directory.get_user(user_id)
    assert (upstream.username, upstream.role) == ("ada@example.com", "User")
    read = bridge.scim.get(f"/Users/{user_id}")
    assert read.status_code == 200 and body(read)["userName"] == "ada@example.com"
    again = bridge.scim.post("/Users", {"schemas": [USER], "userName": "ADA@example.com",
                                        "name": {"givenName": "Ada", "familyName": "Again"}})
    assert again.status_code == 409 and body(again)["scimType"] == "uniqueness"


def test_a_team_is_created_with_its_members_and_changed_by_patch(inprocess_bridge: InProcessBridge) -> None:
    bridge = inprocess_bridge
    ada, alan, grace = (create_user(bridge, n) for n in ("ada", "alan", "grace"))
    team_id = create_team(bridge, "SRE", ada, alan)
    assert {m.user_id for m in bridge.directory.get_team(team_id).members or ()} == {ada, alan}
    patch(bridge, f"/Groups/{team_id}",
          {"op": "add", "path": "members", "value": [{"value": grace}]},
          {"op": "remove", "path": f'members[value eq "{ada}"]'})
    assert {m.user_id for m in bridge.directory.get_team(team_id).members or ()} == {alan, grace}
    listed = bridge.scim.get(f"/Groups/{team_id}")
    assert {m["value"] for m in body(listed)["members"]} == {alan, grace}


def test_deactivation_leaves_the_teams_and_reactivation_restores_them(inprocess_bridge: InProcessBridge) -> None:
    bridge = inprocess_bridge
    ada = create_user(bridge, "ada")
    team_id = create_team(bridge, "SRE", ada)
    patch(bridge, f"/Users/{ada}", {"op": "replace", "path": "active", "value": False})
    assert bridge.directory.get_user(ada).role == "Stakeholder"
    assert bridge.directory.user_teams(ada) == []
    patch(bridge, f"/Users/{ada}", {"op": "replace", "path": "active", "value": True})
    assert bridge.directory.get_user(ada).role == "User"
    assert [t.id for t in bridge.directory.user_teams(ada)] == [team_id]


def test_a_role_group_sets_the_role_and_an_owner_is_left_alone(inprocess_bridge: InProcessBridge) -> None:
    bridge = inprocess_bridge
    ada = create_user(bridge, "ada")
    groups = bridge.scim.get("/Groups", query_string={"filter": 'displayName eq "role:Admin"'})
    assert groups.status_code == 200 and body(groups)["totalResults"] == 1
    admins = body(groups)["Resources"][0]["id"]
    patch(bridge, f"/Groups/{admins}", {"op": "add", "path": "members", "value": [{"value": ada}]})
    assert bridge.directory.get_user(ada).role == "Admin"
    # The account owner is made in OpsGenie only; the mirror learns of it by a sync.
    owner_id = bridge.directory.create_user(UserFields(username="owner@example.com", full_name="Account Owner",
                                                       role="Owner"))
    bridge.app.extensions["scim_bridge"].sync.run()
    refused = bridge.scim.delete(f"/Users/{owner_id}")
    assert refused.status_code == 403
    assert bridge.directory.get_user(owner_id).role == "Owner"

