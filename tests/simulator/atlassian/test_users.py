"""Accounts: org directory search, invite, product roles, suspend/restore/remove, Jira user search."""

from __future__ import annotations

from typing import Any

from scim_bridge.simulator.atlassian import CALLER_ACCOUNT_ID

from .conftest import JSM_RESOURCE
from .conftest import Api
from .conftest import create_team
from .conftest import seed
from .conftest import seed_accounts
from .conftest import state

ORG = "/v1/orgs/sim-org"
SEARCH = "/v2/orgs/sim-org/directories/-/users"
INVITE = "/v2/orgs/sim-org/users/invite"
JSM_USER = {"role": "atlassian/user", "resource": JSM_RESOURCE}
INVALID_RESOURCE = {
    "code": "ADMIN-UAM-400-5",
    "status": "400",
    "title": "Empty/Invalid Resource",
    "detail": "Cloud Resource is invalid",
}


def account(control: Api, account_id: str) -> dict[str, Any]:
    return next(a for a in state(control)["accounts"] if a["accountId"] == account_id)


def test_directory_search_by_email_and_paging(admin: Api, control: Api) -> None:
    ids = seed_accounts(control, "ann@example.com", "anna@example.com", "bert@example.com")
    found = admin.get(SEARCH, params={"searchTerm": "ANN@example.com", "limit": 1}).json()
    assert [u["accountId"] for u in found["data"]] == [ids[0]]
    assert set(found["data"][0]) >= {"accountId", "accountType", "accountStatus", "name", "nickname", "email"}
    assert found["data"][0]["status"] == "active" and found["data"][0]["accountType"] == "atlassian"
    first = admin.get(SEARCH, params={"searchTerm": "ann", "limit": 1}).json()
    second = admin.get(SEARCH, params={"searchTerm": "ann", "limit": 1, "cursor": first["links"]["next"]}).json()
    assert [first["data"][0]["email"], second["data"][0]["email"]] == ["ann@example.com", "anna@example.com"]
    assert second["links"] == {}
    everyone = admin.get("/v2/orgs/sim-org/directories/sim-directory/users").json()["data"]
    assert {u["email"] for u in everyone} == {
        "sim-admin@example.com",
        "ann@example.com",
        "anna@example.com",
        "bert@example.com",
    }
    for bad in ({"limit": 0}, {"limit": 101}, {"cursor": "zzz"}):
        response = admin.get(SEARCH, params=bad)
        assert response.status_code == 400 and response.json()["errors"][0]["status"] == "400", bad
    assert admin.get("/v2/orgs/sim-org/directories/other/users").status_code == 404
    assert admin.get("/v2/orgs/other-org/directories/-/users").status_code == 404
    assert admin.get("/v1/orgs").json()["data"][0]["id"] == "sim-org"
    assert admin.get("/v1/orgs/sim-org").json()["data"]["id"] == "sim-org"
    assert admin.get("/v1/orgs/other-org").status_code == 404


def test_invite_creates_an_active_account_with_the_rules(admin: Api, control: Api) -> None:
    body = {
        "emails": ["Jane@Example.com"],
        "permissionRules": [JSM_USER],
        "additionalGroups": [],
        "sendNotification": False,
    }
    response = admin.post(INVITE, json=body)
    assert response.status_code == 200
    [item] = response.json()["data"]
    assert item["email"] == "jane@example.com" and item["accountId"].startswith("712020:")
    created = account(control, item["accountId"])
    assert created["status"] == "active" and created["productRoles"] == [JSM_USER]
    found = admin.get(SEARCH, params={"searchTerm": "jane@example.com"}).json()["data"]
    assert [u["accountId"] for u in found] == [item["accountId"]]
    # an existing e-mail is not duplicated; it gets the rules' roles
    stakeholder = {"role": "atlassian/stakeholder", "resource": JSM_RESOURCE}
    again = admin.post(INVITE, json={"emails": ["jane@example.com"], "permissionRules": [stakeholder]}).json()
    assert again["data"][0]["accountId"] == item["accountId"]
    assert sum(a["email"] == "jane@example.com" for a in state(control)["accounts"]) == 1
    assert account(control, item["accountId"])["productRoles"] == [JSM_USER, stakeholder]


def test_invite_validation(admin: Api, control: Api) -> None:
    before = state(control)
    bad_bodies = [
        {},
        {"emails": []},
        {"emails": [f"u{i}@example.com" for i in range(26)]},
        {"emails": ["not-an-email"]},
        {"emails": ["a@example.com"], "permissionRules": [{"role": "atlassian/wizard", "resource": JSM_RESOURCE}]},
        {"emails": ["a@example.com"], "permissionRules": "all"},
        {"emails": ["a@example.com"], "sendNotification": "yes"},
    ]
    for body in bad_bodies:
        response = admin.post(INVITE, json=body)
        assert response.status_code == 400, body
        assert set(response.json()["errors"][0]) == {"id", "code", "status", "title", "detail"}
    jira_admin = {"role": "atlassian/admin", "resource": "ari:cloud:jira-admin::site/sim-site"}
    refused = admin.post(INVITE, json={"emails": ["a@example.com"], "permissionRules": [jira_admin]})
    assert refused.status_code == 400 and _without_id(refused.json()) == INVALID_RESOURCE
    assert state(control) == before
    assert admin.post(INVITE, json={"emails": [f"u{i}@example.com" for i in range(25)]}).status_code == 200


def test_product_roles_assign_and_revoke(admin: Api, control: Api) -> None:
    [alice] = seed_accounts(control, "alice@example.com")
    path = f"{ORG}/users/{alice}/roles"
    stakeholder = {"role": "atlassian/stakeholder", "resource": JSM_RESOURCE}
    response = admin.post(f"{path}/assign", json=stakeholder)
    assert response.status_code == 204 and response.content == b""
    assert admin.post(f"{path}/assign", json=stakeholder).status_code == 204  # idempotent
    assert account(control, alice)["productRoles"] == [JSM_USER, stakeholder]
    assert admin.post(f"{path}/revoke", json=JSM_USER).status_code == 204
    assert admin.post(f"{path}/revoke", json=JSM_USER).status_code == 204
    assert account(control, alice)["productRoles"] == [stakeholder]
    org_admin = admin.post(f"{path}/assign", json={"role": "atlassian/org-admin"})
    assert org_admin.status_code == 204
    assert {"role": "atlassian/org-admin", "resource": ""} in account(control, alice)["productRoles"]
    jira = {"role": "atlassian/admin", "resource": "ari:cloud:jira::site/sim-site"}
    assert admin.post(f"{path}/assign", json=jira).status_code == 204


def test_product_role_errors(admin: Api, control: Api) -> None:
    [alice] = seed_accounts(control, "alice@example.com")
    path = f"{ORG}/users/{alice}/roles/assign"
    for resource in ("ari:cloud:jira-admin::site/sim-site", "ari:cloud:jira-servicedesk::site/other", None, ""):
        response = admin.post(path, json={"role": "atlassian/admin", "resource": resource})
        assert response.status_code == 400 and _without_id(response.json()) == INVALID_RESOURCE, resource
    assert admin.post(path, json={"role": "atlassian/emperor", "resource": JSM_RESOURCE}).status_code == 400
    missing = admin.post(f"{ORG}/users/712020:ghost/roles/assign", json=JSM_USER)
    assert missing.status_code == 404 and missing.json()["errors"][0]["status"] == "404"
    assert admin.post(f"{ORG}/users/{alice}/roles/toggle", json=JSM_USER).status_code == 404
    assert account(control, alice)["productRoles"] == [JSM_USER]


def test_suspend_restore_remove(admin: Api, teams: Api, control: Api) -> None:
    [alice] = seed_accounts(control, "alice@example.com")
    team_id = create_team(teams)["teamId"]
    teams.post(f"/teams/{team_id}/members/add", json={"members": [{"accountId": alice}]})
    suspended = admin.post(f"{ORG}/directory/users/{alice}/suspend-access")
    assert suspended.status_code == 200 and suspended.json()["message"]
    assert account(control, alice)["status"] == "suspended"
    assert admin.get(SEARCH, params={"searchTerm": "alice"}).json()["data"][0]["status"] == "suspended"
    restored = admin.post(f"{ORG}/directory/users/{alice}/restore-access")
    assert restored.status_code == 200 and account(control, alice)["status"] == "active"
    assert account(control, alice)["productRoles"] == [JSM_USER]

    removed = admin.delete(f"{ORG}/directory/users/{alice}")
    assert removed.status_code == 204 and removed.content == b""
    gone = account(control, alice)
    assert gone["status"] == "removed" and gone["productRoles"] == []
    assert alice in state(control)["teams"][0]["members"]  # memberships stay
    assert admin.get(SEARCH, params={"searchTerm": "alice"}).json()["data"] == []
    assert admin.delete(f"{ORG}/directory/users/{alice}").status_code == 404
    assert admin.post(f"{ORG}/directory/users/{alice}/suspend-access").status_code == 404
    readd = teams.post("/teams/" + team_id + "/members/add", json={"members": [{"accountId": alice}]}).json()
    assert readd["errors"][0]["code"] == "USER_NOT_FOUND"
    # a removed account comes back when invited again
    invited = admin.post(INVITE, json={"emails": ["alice@example.com"], "permissionRules": [JSM_USER]}).json()
    assert invited["data"][0]["accountId"] == alice and account(control, alice)["status"] == "active"


def test_the_calling_account_cannot_lock_itself_out(admin: Api, control: Api) -> None:
    assert admin.post(f"{ORG}/directory/users/{CALLER_ACCOUNT_ID}/suspend-access").status_code == 403
    assert admin.delete(f"{ORG}/directory/users/{CALLER_ACCOUNT_ID}").status_code == 403
    assert account(control, CALLER_ACCOUNT_ID)["status"] == "active"


def test_jira_user_search(jira: Api, control: Api, admin: Api) -> None:
    seed(
        control,
        {
            "accounts": [
                {"email": "mei.chen@example.com", "name": "Mei Chen"},
                {"email": "chen.li@example.com", "name": "Li Chen", "status": "suspended"},
                {"email": "old@example.com", "name": "Old Timer", "status": "removed"},
            ]
        },
    )
    found = jira.get("/user/search", params={"query": "mei.chen@example.com", "maxResults": 1})
    assert found.status_code == 200 and isinstance(found.json(), list)
    [user] = found.json()
    assert user["emailAddress"] == "mei.chen@example.com" and user["displayName"] == "Mei Chen"
    assert user["active"] is True and set(user) >= {"accountId", "accountType", "timeZone", "locale", "avatarUrls"}
    assert [u["displayName"] for u in jira.get("/user/search", params={"query": "chen"}).json()] == ["Mei Chen"]
    assert jira.get("/user/search", params={"query": "old"}).json() == []
    assert jira.get("/user/search", params={"query": "hen"}).json() == []  # prefixes only
    by_id = jira.get("/user/search", params={"accountId": user["accountId"]}).json()
    assert [u["accountId"] for u in by_id] == [user["accountId"]]
    paged = jira.get("/user/search", params={"query": "m", "startAt": 1}).json()
    assert paged == []
    missing = jira.get("/user/search")
    assert missing.status_code == 400 and missing.json()["errorMessages"] and missing.json()["errors"] == {}
    assert jira.get("/user/search", params={"query": "m", "maxResults": 1001}).status_code == 400
    single = jira.get("/user", params={"accountId": user["accountId"]})
    assert single.status_code == 200 and single.json()["emailAddress"] == "mei.chen@example.com"
    unknown = jira.get("/user", params={"accountId": "712020:ghost"})
    assert unknown.status_code == 404 and unknown.json() == {
        "errorMessages": ["Specified user does not exist or you do not have required permissions"],
        "errors": {},
    }
    assert jira.get("/user").status_code == 400
    assert jira.get("/myself").json()["accountId"] == CALLER_ACCOUNT_ID


def _without_id(body: dict[str, Any]) -> dict[str, Any]:
    [error] = body["errors"]
    assert error["id"]
    return {k: v for k, v in error.items() if k != "id"}
