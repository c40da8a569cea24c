"""Every UNCONFIRMED point of the contract notes (section 9) as a switch: default and alternative."""

from __future__ import annotations

from scim_bridge.simulator.atlassian import CALLER_ACCOUNT_ID

from .conftest import JSM_RESOURCE
from .conftest import Api
from .conftest import create_team
from .conftest import seed
from .conftest import seed_accounts

INVITE = "/v2/orgs/sim-org/users/invite"


def test_defaults_are_the_documented_ones(control: Api) -> None:
    config = control.get("/config").json()
    assert {
        name: config[name]
        for name in (
            "enable_ops_delay_ms",
            "enable_ops_transient_status",
            "duplicate_team_names",
            "member_add_existing",
            "require_site_id",
            "jira_hide_email",
            "jira_search_includes_suspended",
            "invite_returns_account_id",
            "enable_ops_requires_member_admin",
            "rate_limit",
            "rate_window_s",
            "role_assign_account_field",
            "role_assign_role_field",
        )
    } == {
        "enable_ops_delay_ms": 0,
        "enable_ops_transient_status": 404,
        "duplicate_team_names": "allow",
        "member_add_existing": "error",
        "require_site_id": False,
        "jira_hide_email": False,
        "jira_search_includes_suspended": False,
        "invite_returns_account_id": True,
        "enable_ops_requires_member_admin": True,
        "rate_limit": 0,
        "rate_window_s": 60,
        "role_assign_account_field": "accountId",
        "role_assign_role_field": "roleName",
    }


def test_duplicate_team_names(teams: Api, control: Api) -> None:
    first = create_team(teams, "SRE")["teamId"]
    assert create_team(teams, "SRE")["teamId"] != first  # allowed by default
    control.patch("/config", json={"duplicate_team_names": "reject"})
    refused = teams.post("/teams", json={"displayName": "sre", "teamType": "OPEN"})
    assert refused.status_code == 409 and refused.json()["code"] == "TEAM_NAME_CONFLICT"
    other = create_team(teams, "Payments")["teamId"]
    assert teams.patch(f"/teams/{other}", json={"displayName": "SRE"}).status_code == 409
    assert teams.patch(f"/teams/{other}", json={"displayName": "Payments"}).status_code == 200  # its own name
    assert teams.delete(f"/teams/{other}").status_code == 204
    create_team(teams, "Payments")
    assert teams.post(f"/teams/{other}/restore").status_code == 409


def test_member_add_existing(teams: Api, control: Api) -> None:
    team_id = create_team(teams)["teamId"]
    body = {"members": [{"accountId": CALLER_ACCOUNT_ID}]}
    assert teams.post(f"/teams/{team_id}/members/add", json=body).json()["errors"][0]["code"] == "ALREADY_A_MEMBER"
    control.patch("/config", json={"member_add_existing": "ok"})
    silent = teams.post(f"/teams/{team_id}/members/add", json=body).json()
    assert silent == {"members": [{"accountId": CALLER_ACCOUNT_ID}], "errors": []}
    assert teams.post(f"/teams/{team_id}/members").json()["results"] == [{"accountId": CALLER_ACCOUNT_ID}]


def test_require_site_id(teams: Api, control: Api) -> None:
    assert teams.post("/teams", json={"displayName": "no site", "teamType": "OPEN"}).status_code == 201
    control.patch("/config", json={"require_site_id": True})
    refused = teams.post("/teams", json={"displayName": "no site 2", "teamType": "OPEN"})
    assert refused.status_code == 400 and refused.json()["code"] == "SITE_ID_REQUIRED"
    create_team(teams, "with site")
    assert teams.get("/teams").json() == {"entities": [], "cursor": None}
    listed = teams.get("/teams", params={"siteId": "sim-site"}).json()["entities"]
    assert [t["displayName"] for t in listed] == ["no site", "with site"]


def test_jira_hide_email_and_suspended(jira: Api, control: Api) -> None:
    seed(control, {"accounts": [{"email": "paused@example.com", "name": "Paused Person", "status": "suspended"}]})
    assert jira.get("/user/search", params={"query": "paused"}).json() == []
    control.patch("/config", json={"jira_search_includes_suspended": True, "jira_hide_email": True})
    [user] = jira.get("/user/search", params={"query": "paused"}).json()
    assert user["active"] is False and "emailAddress" not in user
    assert "emailAddress" not in jira.get("/user", params={"accountId": user["accountId"]}).json()


def test_invite_returns_account_id(admin: Api, control: Api) -> None:
    rules = [{"role": "atlassian/user", "resource": JSM_RESOURCE}]
    assert (
        "accountId"
        in admin.post(INVITE, json={"emails": ["a@example.com"], "permissionRules": rules}).json()["data"][0]
    )
    control.patch("/config", json={"invite_returns_account_id": False})
    [item] = admin.post(INVITE, json={"emails": ["b@example.com"], "permissionRules": rules}).json()["data"]
    assert "accountId" not in item and item["email"] == "b@example.com"


def test_enable_ops_requires_member_admin(ops: Api, teams: Api, control: Api) -> None:
    [outsider] = seed_accounts(control, "outsider@example.com")
    first, second = create_team(teams, "one")["teamId"], create_team(teams, "two")["teamId"]
    assert ops.post(f"/teams/{first}/enable-ops", json={"adminAccountIds": [outsider]}).status_code == 422
    control.patch("/config", json={"enable_ops_requires_member_admin": False})
    assert ops.post(f"/teams/{second}/enable-ops", json={"adminAccountIds": [outsider]}).status_code == 204


def test_role_assign_field_names(ops: Api, control: Api) -> None:
    [alice] = seed_accounts(control, "alice@example.com")
    role_id = ops.post("/roles", json={"name": "Finance"}).json()["data"]["id"]
    control.patch("/config", json={"role_assign_account_field": "userId", "role_assign_role_field": "roleId"})
    assert ops.post("/roles/assign", json={"accountId": alice, "roleName": "Finance"}).status_code == 400
    assert ops.post("/roles/assign", json={"userId": alice, "roleId": role_id}).status_code == 204
    accounts = {a["accountId"]: a for a in control.get("/state").json()["accounts"]}
    assert accounts[alice]["customRole"] == "Finance"


def test_config_changes_are_validated_and_all_or_nothing(control: Api) -> None:
    for change in (
        {"enable_ops_transient_status": 500},
        {"duplicate_team_names": "maybe"},
        {"rate_limit": -1},
        {"jira_hide_email": "yes"},
        {"no_such_knob": 1},
        {"rate_window_s": 0},
        {"latency_ms": "soon"},
        {"role_assign_role_field": ""},
        {"rate_limit": 5, "member_add_existing": "never"},
    ):
        response = control.patch("/config", json=change)
        assert response.status_code == 400 and response.json()["message"], change
    assert control.get("/config").json()["rate_limit"] == 0
    assert control.patch("/config", json={"rate_limit": 5}).json()["rate_limit"] == 5


def test_jsm_error_shape(ops: Api, control: Api) -> None:
    assert ops.get("/roles/missing").json()["errors"][0]["code"] == "ROLE_NOT_FOUND"
    control.patch("/config", json={"jsm_error_shape": "object"})
    assert ops.get("/roles/missing").json() == {"errors": {"Custom user role missing not found": "ROLE_NOT_FOUND"}}
    control.post("/faults", json={"path": ".*/v1/teams", "action": "503"})
    assert ops.get("/teams").json() == {"errors": {"Simulated failure": "SERVICE_UNAVAILABLE"}}
