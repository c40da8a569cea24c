"""The JSM Operations API: enable-ops (with its window after team creation), ops teams, custom roles."""

from __future__ import annotations

from typing import Any

from scim_bridge.simulator.atlassian import CALLER_ACCOUNT_ID
from scim_bridge.simulator.atlassian import AtlassianSimulatorServer
from scim_bridge.simulator.atlassian import SimClock

from .conftest import Api
from .conftest import create_team
from .conftest import seed
from .conftest import seed_accounts
from .conftest import state


def enable(ops: Api, team_id: str, admins: list[str] | None = None) -> Any:
    body = {"platformTeamId": team_id, "adminAccountIds": admins or [CALLER_ACCOUNT_ID], "inviteUsernames": []}
    return ops.post(f"/teams/{team_id}/enable-ops", json=body)


def test_enable_ops(ops: Api, teams: Api, control: Api) -> None:
    team_id = create_team(teams)["teamId"]
    response = enable(ops, team_id)
    assert response.status_code == 204 and response.content == b""
    assert state(control)["teams"][0]["opsEnabled"] is True
    again = enable(ops, team_id)
    assert again.status_code == 409 and again.json()["errors"][0]["title"]
    unknown = enable(ops, "no-such-team")
    assert unknown.status_code == 404 and set(unknown.json()["errors"][0]) == {"title", "code"}


def test_enable_ops_validates_its_body(ops: Api, teams: Api, control: Api) -> None:
    [outsider] = seed_accounts(control, "outsider@example.com")
    team_id = create_team(teams)["teamId"]
    assert ops.post(f"/teams/{team_id}/enable-ops", json={"platformTeamId": "other"}).status_code == 400
    assert ops.post(f"/teams/{team_id}/enable-ops", json={"adminAccountIds": []}).status_code == 400
    assert ops.post(f"/teams/{team_id}/enable-ops", json={"adminAccountIds": "x"}).status_code == 400
    bad_invites = {"adminAccountIds": [CALLER_ACCOUNT_ID], "inviteUsernames": [1]}
    assert ops.post(f"/teams/{team_id}/enable-ops", json=bad_invites).status_code == 400
    assert enable(ops, team_id, ["712020:ghost"]).status_code == 422
    not_member = enable(ops, team_id, [outsider])
    assert not_member.status_code == 422 and "member" in not_member.json()["errors"][0]["title"]
    assert state(control)["teams"][0]["opsEnabled"] is False


def test_enable_ops_window_after_creation(
    ops: Api, teams: Api, control: Api, sim: AtlassianSimulatorServer, clock: SimClock
) -> None:
    control.patch("/config", json={"enable_ops_delay_ms": 30_000})
    team_id = create_team(teams)["teamId"]
    early = enable(ops, team_id)
    assert early.status_code == 404 and early.json()["errors"][0]["title"] == "Team not found"
    clock.advance(29)
    assert enable(ops, team_id).status_code == 404
    clock.advance(2)
    assert enable(ops, team_id).status_code == 204
    for status in (403, 422):
        control.patch("/config", json={"enable_ops_transient_status": status})
        fresh = create_team(teams, f"team {status}")["teamId"]
        assert enable(ops, fresh).status_code == status
        assert control.post("/clock", json={"advance_s": 31}).json()["frozen"] is True
        assert enable(ops, fresh).status_code == 204
    seeded = seed(control, {"teams": [{"displayName": "migrated", "opsEnabled": False}]})["teams"][0]
    assert enable(ops, seeded["teamId"], [CALLER_ACCOUNT_ID]).status_code == 422  # no window, not a member


def test_ops_teams_page_with_offset_and_links_next(ops: Api, teams: Api, control: Api) -> None:
    names = [f"ops {i}" for i in range(5)]
    seed(control, {"teams": [{"displayName": n} for n in names] + [{"displayName": "plain", "opsEnabled": False}]})
    seen: list[str] = []
    path = "/teams?size=2"
    while path:
        body = ops.get(path).json()
        seen += [v["teamName"] for v in body["values"]]
        assert all(set(v) == {"teamId", "teamName"} for v in body["values"])
        path = body["links"].get("next", "").removeprefix("/v1")
    assert seen == names
    assert len(ops.get("/teams").json()["values"]) == 5  # default size 20
    for bad in ("size=0", "size=101", "offset=-1", "size=abc"):
        response = ops.get(f"/teams?{bad}")
        assert response.status_code == 400 and "errors" in response.json(), bad
    other_cloud = Api(ops.base_url, "/jsm/ops/api/other-cloud/v1", auth=ops.session.auth)
    assert other_cloud.get("/teams").status_code == 404


def test_custom_role_lifecycle(ops: Api, control: Api) -> None:
    created = ops.post("/roles", json={"name": "Finance", "grantedRights": ["view-alerts"], "disallowedRights": []})
    assert created.status_code == 201 and created.json()["message"]
    role_id = created.json()["data"]["id"]
    assert created.json()["data"]["name"] == "Finance"
    got = ops.get(f"/roles/{role_id}").json()
    assert got == {
        "id": role_id,
        "name": "Finance",
        "extendedRole": "user",
        "grantedRights": ["view-alerts"],
        "disallowedRights": [],
    }
    assert ops.get("/roles/finance", params={"identifierType": "name"}).json()["id"] == role_id
    assert ops.get("/roles/x", params={"identifierType": "email"}).status_code == 400
    updated = ops.put(f"/roles/{role_id}", json={"name": "Finance Team", "disallowedRights": ["delete-alerts"]})
    assert updated.status_code == 200
    assert updated.json() == {"message": "Updated", "data": {"id": role_id, "name": "Finance Team"}}
    assert ops.get(f"/roles/{role_id}").json()["grantedRights"] == ["view-alerts"]
    assert state(control)["customRoles"] == [{"id": role_id, "name": "Finance Team", "extendedRole": "user"}]

    deleted = ops.delete("/roles/Finance Team", params={"identifierType": "name"})
    assert deleted.status_code == 204
    assert ops.get(f"/roles/{role_id}").status_code == 404
    assert ops.delete(f"/roles/{role_id}").status_code == 404


def test_custom_role_validation(ops: Api) -> None:
    assert ops.post("/roles", json={"name": "Finance"}).status_code == 201
    assert ops.post("/roles", json={"name": "finance"}).status_code == 409
    assert ops.post("/roles", json={"name": "User"}).status_code == 400
    assert ops.post("/roles", json={}).status_code == 400
    assert ops.post("/roles", json={"name": "X", "grantedRights": "all"}).status_code == 400
    both = {"name": "X", "grantedRights": ["a"], "disallowedRights": ["a"]}
    assert ops.post("/roles", json=both).status_code == 400
    assert ops.post("/roles", json={"name": "X", "extendedRole": "admin"}).status_code == 400
    assert ops.post("/roles", json={"name": "Watchers", "extendedRole": "observer"}).status_code == 201
    second = ops.post("/roles", json={"name": "Other"}).json()["data"]["id"]
    assert ops.put(f"/roles/{second}", json={"name": "Watchers"}).status_code == 409
    assert ops.put(f"/roles/{second}", json={"name": ""}).status_code == 400


def test_custom_roles_page(ops: Api) -> None:
    for i in range(3):
        ops.post("/roles", json={"name": f"role {i}"})
    first = ops.get("/roles", params={"size": 2}).json()
    assert [r["name"] for r in first["values"]] == ["role 0", "role 1"]
    assert first["links"]["next"] == "/v1/roles?offset=2&size=2"
    rest = ops.get(first["links"]["next"].removeprefix("/v1")).json()
    assert [r["name"] for r in rest["values"]] == ["role 2"] and rest["links"] == {}


def test_assign_custom_role(ops: Api, control: Api) -> None:
    [alice] = seed_accounts(control, "alice@example.com")
    role_id = ops.post("/roles", json={"name": "Finance"}).json()["data"]["id"]
    assigned = ops.post("/roles/assign", json={"accountId": alice, "roleName": "Finance"})
    assert assigned.status_code == 204
    assert _custom_role(control, alice) == "Finance"
    assert ops.post("/roles/assign", json={"accountId": alice, "roleName": "user"}).status_code == 204
    assert _custom_role(control, alice) is None
    assert ops.post("/roles/assign", json={"accountId": alice, "roleName": role_id}).status_code == 204
    ops.delete(f"/roles/{role_id}")
    assert _custom_role(control, alice) is None
    assert ops.post("/roles/assign", json={"accountId": alice, "roleName": "Nope"}).status_code == 404
    assert ops.post("/roles/assign", json={"accountId": alice, "roleName": "admin"}).status_code == 400
    assert ops.post("/roles/assign", json={"accountId": "712020:ghost", "roleName": "user"}).status_code == 404
    assert ops.post("/roles/assign", json={"accountId": alice}).status_code == 400


def test_role_calls_need_the_operations_admin(ops: Api, control: Api) -> None:
    control.patch("/config", json={"caller_ops_admin": False})
    for response in (ops.get("/roles"), ops.post("/roles", json={"name": "x"}), ops.get("/roles/x")):
        assert response.status_code == 403 and response.json()["errors"][0]["code"] == "FORBIDDEN"
    assert ops.get("/teams").status_code == 200


def _custom_role(control: Api, account_id: str) -> str | None:
    accounts = {a["accountId"]: a for a in state(control)["accounts"]}
    role = accounts[account_id]["customRole"]
    return None if role is None else str(role)
