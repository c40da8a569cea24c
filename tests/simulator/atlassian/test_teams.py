"""The Teams public API: team create/get/patch/delete/restore/list and members list/add/remove."""

from __future__ import annotations

from scim_bridge.simulator.atlassian import CALLER_ACCOUNT_ID

from .conftest import Api
from .conftest import create_team
from .conftest import seed_accounts
from .conftest import state


def test_create_adds_the_caller_as_first_member(teams: Api, control: Api) -> None:
    team = create_team(teams, "SRE", description="on call")
    assert team["displayName"] == "SRE" and team["description"] == "on call"
    assert team["organizationId"] == "sim-org" and team["teamType"] == "MEMBER_INVITE"
    assert team["state"] == "ACTIVE" and team["creatorId"] == CALLER_ACCOUNT_ID
    assert team["members"] == [{"accountId": CALLER_ACCOUNT_ID}]
    assert team["userPermissions"]["ADD_MEMBERS"] is True
    [stored] = state(control)["teams"]
    assert stored == {
        "teamId": team["teamId"],
        "displayName": "SRE",
        "description": "on call",
        "opsEnabled": False,
        "members": [CALLER_ACCOUNT_ID],
        "deleted": False,
    }


def test_create_validation_uses_the_teams_error_body(teams: Api, control: Api) -> None:
    cases = [
        {"teamType": "MEMBER_INVITE"},
        {"displayName": "  ", "teamType": "MEMBER_INVITE"},
        {"displayName": "x" * 251, "teamType": "MEMBER_INVITE"},
        {"displayName": "SRE", "teamType": "SECRET"},
        {"displayName": "SRE"},
        {"displayName": "SRE", "teamType": "OPEN", "description": "d" * 361},
        {"displayName": "SRE", "teamType": "OPEN", "siteId": "other-site"},
        {"displayName": 5, "teamType": "OPEN"},
    ]
    for body in cases:
        response = teams.post("/teams", json=body)
        assert response.status_code == 400, body
        assert set(response.json()) == {"code", "message"} and response.json()["message"]
    assert state(control)["teams"] == []
    assert teams.post("/teams", json={"displayName": "x" * 250, "teamType": "OPEN"}).status_code == 201


def test_get_patch_delete_restore(teams: Api, control: Api) -> None:
    team_id = create_team(teams)["teamId"]
    got = teams.get(f"/teams/{team_id}").json()
    assert got["displayName"] == "SRE" and "members" not in got
    renamed = teams.patch(f"/teams/{team_id}", json={"displayName": "Site Reliability"})
    assert renamed.status_code == 200 and renamed.json()["displayName"] == "Site Reliability"
    assert renamed.json()["description"] == ""
    described = teams.patch(f"/teams/{team_id}", json={"description": "pager"}).json()
    assert described["displayName"] == "Site Reliability" and described["description"] == "pager"
    refused = teams.patch(f"/teams/{team_id}", json={"teamType": "OPEN"})
    assert refused.status_code == 400 and "teamType" in refused.json()["message"]
    assert teams.patch(f"/teams/{team_id}", json={"displayName": ""}).status_code == 400

    deleted = teams.delete(f"/teams/{team_id}")
    assert deleted.status_code == 204 and deleted.content == b""
    missing = teams.get(f"/teams/{team_id}")
    assert missing.status_code == 404 and missing.json()["code"] == "TEAM_NOT_FOUND"
    assert teams.delete(f"/teams/{team_id}").status_code == 404
    assert teams.post(f"/teams/{team_id}/members", json={}).status_code == 404
    assert state(control)["teams"][0]["deleted"] is True
    assert teams.get("/teams").json()["entities"] == []

    restored = teams.post(f"/teams/{team_id}/restore")
    assert restored.status_code == 200 and restored.json()["displayName"] == "Site Reliability"
    assert state(control)["teams"][0]["deleted"] is False
    assert teams.post("/teams/nope/restore").status_code == 404


def test_unknown_team_and_org(teams: Api, sim: object) -> None:
    response = teams.get("/teams/does-not-exist")
    assert response.status_code == 404 and set(response.json()) == {"code", "message"}
    other_org = Api(teams.base_url, "/gateway/api/public/teams/v1/org/other-org", auth=teams.session.auth)
    assert other_org.get("/teams").status_code == 404
    assert other_org.post("/teams", json={"displayName": "x", "teamType": "OPEN"}).status_code == 404


def test_list_pages_with_size_and_cursor(teams: Api) -> None:
    made = [create_team(teams, f"team {i}")["teamId"] for i in range(7)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, object] = {"size": 3, "siteId": "sim-site"}
        if cursor:
            params["cursor"] = cursor
        body = teams.get("/teams", params=params).json()
        assert set(body) == {"entities", "cursor"}
        assert all("members" not in t for t in body["entities"])
        seen += [t["teamId"] for t in body["entities"]]
        pages += 1
        cursor = body["cursor"]
        if cursor is None:
            break
    assert seen == made and pages == 3
    assert len(teams.get("/teams").json()["entities"]) == 7  # default size 50
    for bad in ({"size": 0}, {"size": 301}, {"size": "x"}, {"cursor": "not-a-cursor"}):
        assert teams.get("/teams", params=bad).status_code == 400, bad
    assert teams.get("/teams", params={"size": 300}).status_code == 200


def test_members_list_pages_with_first_and_after(teams: Api, control: Api) -> None:
    ids = seed_accounts(control, *[f"m{i}@example.com" for i in range(5)])
    team_id = create_team(teams)["teamId"]
    assert teams.post(f"/teams/{team_id}/members/add", json={"members": [{"accountId": a} for a in ids]}).ok
    seen: list[str] = []
    after = None
    while True:
        body = teams.post(f"/teams/{team_id}/members", json={"first": 2, "after": after}).json()
        seen += [m["accountId"] for m in body["results"]]
        assert set(body["pageInfo"]) == {"endCursor", "hasNextPage"}
        if not body["pageInfo"]["hasNextPage"]:
            break
        after = body["pageInfo"]["endCursor"]
    assert seen == [CALLER_ACCOUNT_ID, *ids]
    everyone = teams.post(f"/teams/{team_id}/members").json()  # no body: first 50
    assert len(everyone["results"]) == 6 and everyone["pageInfo"]["hasNextPage"] is False
    assert teams.post(f"/teams/{team_id}/members", json={"first": 51}).status_code == 400
    assert teams.post(f"/teams/{team_id}/members", json={"after": "bogus"}).status_code == 400
    other = create_team(teams, "other")["teamId"]
    cursor = teams.post(f"/teams/{team_id}/members", json={"first": 1}).json()["pageInfo"]["endCursor"]
    assert teams.post(f"/teams/{other}/members", json={"after": cursor}).status_code == 400


def test_member_add_is_partial_and_per_member(teams: Api, control: Api) -> None:
    [alice, bob] = seed_accounts(control, "alice@example.com", "bob@example.com")
    team_id = create_team(teams)["teamId"]
    body = {"members": [{"accountId": alice}, {"accountId": "712020:ghost"}, {"accountId": CALLER_ACCOUNT_ID}]}
    response = teams.post(f"/teams/{team_id}/members/add", json=body)
    assert response.status_code == 200
    assert response.json()["members"] == [{"accountId": alice}]
    assert {(e["accountId"], e["code"]) for e in response.json()["errors"]} == {
        ("712020:ghost", "USER_NOT_FOUND"),
        (CALLER_ACCOUNT_ID, "ALREADY_A_MEMBER"),
    }
    assert all(e["message"] for e in response.json()["errors"])
    assert state(control)["teams"][0]["members"] == [CALLER_ACCOUNT_ID, alice]

    removed = teams.post(
        f"/teams/{team_id}/members/remove",
        json={"members": [{"accountId": CALLER_ACCOUNT_ID}, {"accountId": bob}, {"accountId": "712020:ghost"}]},
    )
    assert removed.status_code == 200
    assert {(e["accountId"], e["code"]) for e in removed.json()["errors"]} == {
        (bob, "NOT_A_MEMBER"),
        ("712020:ghost", "USER_NOT_FOUND"),
    }
    assert state(control)["teams"][0]["members"] == [alice]


def test_the_fifty_member_cap(teams: Api, control: Api) -> None:
    ids = seed_accounts(control, *[f"user{i}@example.com" for i in range(51)])
    team_id = create_team(teams)["teamId"]
    too_many = teams.post(f"/teams/{team_id}/members/add", json={"members": [{"accountId": a} for a in ids]})
    assert too_many.status_code == 400 and "50" in too_many.json()["message"]
    assert state(control)["teams"][0]["members"] == [CALLER_ACCOUNT_ID]
    fifty = teams.post(f"/teams/{team_id}/members/add", json={"members": [{"accountId": a} for a in ids[:50]]})
    assert fifty.status_code == 200 and len(fifty.json()["members"]) == 50 and fifty.json()["errors"] == []
    remove_all = {"members": [{"accountId": a} for a in [CALLER_ACCOUNT_ID, *ids[:50]]]}
    assert teams.post(f"/teams/{team_id}/members/remove", json=remove_all).status_code == 400
    assert len(state(control)["teams"][0]["members"]) == 51


def test_member_bodies_are_validated(teams: Api) -> None:
    team_id = create_team(teams)["teamId"]
    for body in (
        {},
        {"members": []},
        {"members": ["x"]},
        {"members": [{"accountId": ""}]},
        {"members": [{"accountId": "a"}, {"accountId": "a"}]},
    ):
        assert teams.post(f"/teams/{team_id}/members/add", json=body).status_code == 400, body
        assert teams.post(f"/teams/{team_id}/members/remove", json=body).status_code == 400, body
