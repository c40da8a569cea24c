"""OpsGenie roles as SCIM groups role:<RoleName>: reading, moving users between roles, what is refused."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Running

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
OPSGENIE = "urn:scim-bridge:params:scim:schemas:extension:opsgenie:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def uid(bridge: Running, username: str) -> str:
    user = bridge.sim.user(username)
    assert user is not None, username
    return str(user["id"])


def role_of(bridge: Running, username: str) -> str:
    user = bridge.sim.user(username)
    assert user is not None, username
    return str(user["role"]["name"])


def add(user_id: str) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}]}


def remove(user_id: str) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": [{"op": "remove", "path": f'members[value eq "{user_id}"]'}]}


def members(bridge: Running, group_id: str) -> list[str]:
    response = bridge.scim.get(f"/Groups/{group_id}")
    assert response.status_code == 200, response.text
    return sorted(m["display"] for m in response.json()["members"])


def test_every_role_is_a_group(bridge: Running) -> None:
    listed = bridge.scim.get("/Groups", params={"filter": 'displayName sw "role:"'}).json()["Resources"]
    by_name = {g["displayName"]: g for g in listed}
    assert set(by_name) == {"role:Owner", "role:Admin", "role:User", "role:Stakeholder", "role:Observer",
                            "role:Incident Commander"}
    assert by_name["role:Admin"]["id"] == "role-admin"
    assert by_name["role:Incident Commander"]["id"] == "role-incident-commander"
    assert by_name["role:Admin"][OPSGENIE]["kind"] == "role"
    assert members(bridge, "role-admin") == ["diego.alvarez@example.com", "priya.shah@example.com"]
    assert members(bridge, "role-owner") == ["alex.morgan@example.com"]
    assert members(bridge, "role-incident-commander") == ["sara.nilsson@example.com"]
    assert members(bridge, "role-observer") == []


def test_role_group_filter_costs_no_upstream_call(bridge: Running) -> None:
    bridge.sim.clear_calls()
    response = bridge.scim.get("/Groups", params={"filter": 'displayName eq "role:admin"'})
    assert [g["id"] for g in response.json()["Resources"]] == ["role-admin"]
    assert bridge.sim.calls() == []


def test_adding_sets_the_role_and_removing_restores_the_default(bridge: Running) -> None:
    mei = uid(bridge, "mei.chen@example.com")
    response = bridge.scim.patch("/Groups/role-admin", add(mei))
    assert response.status_code == 204, response.text
    assert role_of(bridge, "mei.chen@example.com") == "Admin"
    assert "mei.chen@example.com" in members(bridge, "role-admin")
    user = bridge.scim.get(f"/Users/{mei}").json()
    assert "role-admin" in [g["value"] for g in user["groups"]]

    response = bridge.scim.patch("/Groups/role-admin", remove(mei))
    assert response.status_code == 204, response.text
    assert role_of(bridge, "mei.chen@example.com") == "User"
    assert "mei.chen@example.com" not in members(bridge, "role-admin")
    assert "mei.chen@example.com" in members(bridge, "role-user")


def test_default_role_is_configurable(bridge_factory: Any) -> None:
    bridge = bridge_factory(default_role="Stakeholder")
    priya = uid(bridge, "priya.shah@example.com")
    assert bridge.scim.patch("/Groups/role-admin", remove(priya)).status_code == 204
    assert role_of(bridge, "priya.shah@example.com") == "Stakeholder"


def test_adding_to_a_second_role_group_moves_the_user(bridge: Running) -> None:
    tom = uid(bridge, "tom.becker@example.com")
    assert bridge.scim.patch("/Groups/role-admin", add(tom)).status_code == 204
    assert bridge.scim.patch("/Groups/role-incident-commander", add(tom)).status_code == 204
    assert role_of(bridge, "tom.becker@example.com") == "Incident Commander"
    assert "tom.becker@example.com" not in members(bridge, "role-admin")
    assert "tom.becker@example.com" in members(bridge, "role-incident-commander")
    # The IdP then removes the user from the first group: nothing changes any more.
    bridge.sim.clear_calls()
    assert bridge.scim.patch("/Groups/role-admin", remove(tom)).status_code == 204
    assert role_of(bridge, "tom.becker@example.com") == "Incident Commander"
    assert bridge.sim.writes() == []


def test_put_on_role_group_sets_roles_by_difference(bridge: Running) -> None:
    priya, mei = uid(bridge, "priya.shah@example.com"), uid(bridge, "mei.chen@example.com")
    response = bridge.scim.put("/Groups/role-admin", {"schemas": [GROUP], "displayName": "role:Admin",
                                                      "members": [{"value": priya}, {"value": mei}]})
    assert response.status_code == 200, response.text
    assert role_of(bridge, "priya.shah@example.com") == "Admin"
    assert role_of(bridge, "mei.chen@example.com") == "Admin"
    assert role_of(bridge, "diego.alvarez@example.com") == "User"


def test_aliases(bridge_factory: Any) -> None:
    bridge = bridge_factory(role_group_aliases={"OpsGenie Admins": "Admin"})
    found = bridge.scim.get("/Groups", params={"filter": 'displayName eq "OpsGenie Admins"'}).json()["Resources"]
    assert len(found) == 1
    alias_id = found[0]["id"]
    assert alias_id.startswith("role-")
    assert sorted(m["display"] for m in found[0]["members"]) == ["diego.alvarez@example.com",
                                                                  "priya.shah@example.com"]
    jordan = uid(bridge, "jordan.lee@example.com")
    assert bridge.scim.patch(f"/Groups/{alias_id}", add(jordan)).status_code == 204
    assert role_of(bridge, "jordan.lee@example.com") == "Admin"
    assert "jordan.lee@example.com" in members(bridge, "role-admin")
    created = bridge.scim.post("/Groups", {"schemas": [GROUP], "displayName": "opsgenie admins"})
    assert created.status_code == 409
    assert alias_id in created.json()["detail"]


OWNER_RULE = ("The Owner role is managed in OpsGenie only: the bridge never grants it, and never demotes, "
              "suspends or deletes an Owner account")


@pytest.mark.parametrize("read_through", [True, False], ids=["read-through", "mirror-reads"])
def test_one_owner_rule_everywhere(bridge_factory: Any, read_through: bool) -> None:
    """Whatever the way in (a user's roles, PUT, a role group, DELETE, deactivation, a new user), touching
    the Owner role gets the same 403 with the same reason, and nothing is written upstream."""
    bridge: Running = bridge_factory(read_through=read_through)
    mei, alex = uid(bridge, "mei.chen@example.com"), uid(bridge, "alex.morgan@example.com")
    owner = bridge.scim.get(f"/Users/{alex}").json()
    put = {k: v for k, v in owner.items() if k not in ("meta", "groups")}
    bridge.sim.clear_calls()
    refused = [
        bridge.scim.patch("/Groups/role-owner", add(mei)),
        bridge.scim.patch("/Groups/role-owner", remove(alex)),
        bridge.scim.patch("/Groups/role-admin", add(alex)),
        bridge.scim.patch(f"/Users/{alex}", {"schemas": [PATCH], "Operations": [
            {"op": "replace", "path": "roles", "value": [{"value": "Admin", "primary": True}]}]}),
        bridge.scim.put(f"/Users/{alex}", {**put, "roles": [{"value": "User", "primary": True}]}),
        bridge.scim.patch(f"/Users/{alex}", {"schemas": [PATCH], "Operations": [
            {"op": "replace", "path": "active", "value": False}]}),
        bridge.scim.delete(f"/Users/{alex}"),
        bridge.scim.patch(f"/Users/{mei}", {"schemas": [PATCH], "Operations": [
            {"op": "replace", "path": "roles", "value": [{"value": "Owner", "primary": True}]}]}),
        bridge.scim.post("/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                    "userName": "new.owner@example.com", "roles": [{"value": "Owner"}]}),
    ]
    for response in refused:
        assert response.status_code == 403, response.text
        assert response.json()["schemas"] == [ERROR]
        assert response.json()["detail"].endswith(OWNER_RULE), response.text
    assert bridge.sim.writes() == []
    assert role_of(bridge, "alex.morgan@example.com") == "Owner"
    assert role_of(bridge, "mei.chen@example.com") == "User"


def test_role_groups_cannot_be_created_deleted_or_renamed(bridge: Running) -> None:
    bridge.sim.clear_calls()
    created = bridge.scim.post("/Groups", {"schemas": [GROUP], "displayName": "role:Admin"})
    assert created.status_code == 409
    error = created.json()
    assert error["schemas"] == [ERROR] and error["scimType"] == "uniqueness"
    assert "role-admin" in error["detail"]
    made_up = bridge.scim.post("/Groups", {"schemas": [GROUP], "displayName": "role:Wizard"})
    assert made_up.status_code == 409

    deleted = bridge.scim.delete("/Groups/role-admin")
    assert deleted.status_code == 400
    assert deleted.json()["scimType"] == "mutability"
    assert bridge.scim.delete("/Groups/role-wizard").status_code == 404

    renamed = bridge.scim.patch("/Groups/role-admin", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "displayName", "value": "role:Boss"}]})
    assert renamed.status_code == 400
    assert renamed.json()["scimType"] == "mutability"
    assert bridge.sim.writes() == []


def test_unknown_member_of_role_group_writes_nothing(bridge: Running) -> None:
    mei = uid(bridge, "mei.chen@example.com")
    bridge.sim.clear_calls()
    response = bridge.scim.patch("/Groups/role-admin", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": mei}, {"value": "ghost"}]}]})
    assert response.status_code == 400
    assert "ghost" in response.json()["detail"]
    assert bridge.sim.writes() == []
    assert role_of(bridge, "mei.chen@example.com") == "User"


def test_adding_a_user_made_in_opsgenie_reads_it_once(bridge: Running) -> None:
    """A user created in OpsGenie after the last sync can join a role group: one read puts it in the mirror."""
    made = bridge.sim.api("POST", "/__sim/users", json={"username": "nora.field@example.com", "fullName": "Nora Field",
                                                        "role": {"name": "User"}})
    assert made.status_code == 201, made.text
    nora = made.json()["id"]
    bridge.sim.clear_calls()
    response = bridge.scim.patch("/Groups/role-admin", add(nora))
    assert response.status_code == 204, response.text
    calls = [(c["method"], c["path"]) for c in bridge.sim.calls()]
    assert calls.count(("GET", f"/v2/users/{nora}")) == 1
    assert ("PATCH", f"/v2/users/{nora}") in calls
    assert role_of(bridge, "nora.field@example.com") == "Admin"
    bridge.sim.clear_calls()
    assert "nora.field@example.com" in members(bridge, "role-admin")  # from the mirror
    assert [c for c in bridge.sim.calls() if c["path"].startswith("/v2/users")] == []


def test_the_default_role_group_cannot_be_left(bridge: Running) -> None:
    """Leaving a role group gives the default role, so leaving role:User itself is refused, not a silent no-op."""
    mei = uid(bridge, "mei.chen@example.com")
    refused = bridge.scim.patch("/Groups/role-user", remove(mei))
    assert refused.status_code == 400, refused.text
    assert refused.json()["scimType"] == "mutability"
    assert "default role" in refused.json()["detail"]
    assert bridge.sim.writes() == []
    assert "mei.chen@example.com" in members(bridge, "role-user")


def test_a_suspended_user_is_in_the_role_group_of_the_role_it_gets_back(bridge: Running) -> None:
    mei = uid(bridge, "mei.chen@example.com")
    off = bridge.scim.patch(f"/Users/{mei}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "active", "value": False}]})
    assert off.status_code == 200, off.text
    assert role_of(bridge, "mei.chen@example.com") == "Stakeholder"  # OpsGenie holds the suspended role
    assert "mei.chen@example.com" in members(bridge, "role-user")
    assert "mei.chen@example.com" not in members(bridge, "role-stakeholder")

    bridge.sim.clear_calls()
    moved = bridge.scim.patch("/Groups/role-admin", add(mei))
    assert moved.status_code == 204, moved.text
    assert bridge.sim.writes() == []  # only what reactivation gives back changes
    assert "mei.chen@example.com" in members(bridge, "role-admin")
    assert "mei.chen@example.com" not in members(bridge, "role-user")
    user = bridge.scim.get(f"/Users/{mei}").json()
    assert [r["value"] for r in user["roles"]] == ["Admin"]
    assert "role-admin" in [g["value"] for g in user["groups"]]
    found = bridge.scim.get("/Groups", params={"filter": f'id eq "role-admin" and members.value eq "{mei}"'})
    assert found.json()["totalResults"] == 1  # Entra's membership check agrees

    left = bridge.scim.patch("/Groups/role-admin", remove(mei))
    assert left.status_code == 204, left.text
    assert "mei.chen@example.com" in members(bridge, "role-user")
    on = bridge.scim.patch(f"/Users/{mei}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "active", "value": True}]})
    assert on.status_code == 200, on.text
    assert role_of(bridge, "mei.chen@example.com") == "User"
