"""A Saviynt-style SCIM connector: paged import of users and groups, then access provisioning."""

from __future__ import annotations

from typing import Any

from tests.idp.conftest import Replay

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PAGE = 20


def page_through(bridge: Replay, endpoint: str, **params: Any) -> list[dict[str, Any]]:
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


def test_import_pages_users_and_groups_with_members(bridge: Replay) -> None:
    bridge.up.add_bulk(users=45, teams=30, members_per_team=4, prefix="sav")
    bridge.sync()
    bridge.up.clear_calls()

    users = page_through(bridge, "/Users")
    upstream_users = bridge.up.users()
    assert sorted(u["userName"].lower() for u in users) == sorted(u.username for u in upstream_users)
    assert len({u["id"] for u in users}) == len(users)
    name_of = {u["id"]: u["userName"].lower() for u in users}

    groups = page_through(bridge, "/Groups")
    teams = {t.name: t for t in bridge.up.teams()}
    by_name = {g["displayName"]: g for g in groups}
    assert len({g["id"] for g in groups}) == len(groups)
    assert set(teams) <= set(by_name)
    for name, team in teams.items():
        assert {name_of[m["value"]] for m in by_name[name]["members"]} == team.members, name
    roles = [g for g in groups if g["id"].startswith("role-")]
    assert {g["displayName"] for g in roles} >= {"role:User", f"role:{bridge.up.grantable_role}"}
    assert sum(len(g["members"]) for g in roles) == len([u for u in upstream_users if u.role is not None])
    # The import is served from the mirror: no team is read member by member, nothing is written.
    assert bridge.up.calls() == []


def test_provisioning_access_is_group_membership(bridge: Replay) -> None:
    groups = page_through(bridge, "/Groups", filter='displayName eq "Payments"')
    payments = groups[0]["id"]
    tom = next(u for u in page_through(bridge, "/Users") if u["userName"] == "tom.becker@example.com")["id"]

    def tom_upstream() -> tuple[str | None, bool]:
        team, user = bridge.up.team("Payments"), bridge.up.user("tom.becker@example.com")
        assert team is not None and user is not None
        return user.role, "tom.becker@example.com" in team.members

    add = {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": tom}]}]}
    assert bridge.scim.patch(f"/Groups/{payments}", add).status_code == 204
    assert tom_upstream() == ("User", True)
    user = bridge.scim.get(f"/Users/{tom}").json()
    assert payments in [g["value"] for g in user["groups"]]

    remove = {"schemas": [PATCH], "Operations": [{"op": "remove", "path": f'members[value eq "{tom}"]'}]}
    assert bridge.scim.patch(f"/Groups/{payments}", remove).status_code == 204
    assert tom_upstream() == ("User", False)

    # Role access is provisioned the same way.
    role_group = bridge.group_id(f"role:{bridge.up.grantable_role}")
    assert bridge.scim.patch(f"/Groups/{role_group}", add).status_code == 204
    assert tom_upstream() == (bridge.up.grantable_role, False)
    assert bridge.scim.patch(f"/Groups/{role_group}", remove).status_code == 204
    assert tom_upstream() == ("User", False)
