"""The /__sim/ control surface: state, reset and the demo org, seed, calls, clock; the server class."""

from __future__ import annotations

import pytest
import requests

from scim_bridge.simulator.atlassian import CALLER_ACCOUNT_ID
from scim_bridge.simulator.atlassian import AtlassianSimulatorServer
from scim_bridge.simulator.atlassian import AtlassianState
from scim_bridge.simulator.atlassian.__main__ import main

from .conftest import JSM_RESOURCE
from .conftest import Api
from .conftest import seed
from .conftest import state

JSM_USER = {"role": "atlassian/user", "resource": JSM_RESOURCE}


def test_state_shape_after_reset(control: Api) -> None:
    body = state(control)
    assert set(body) == {"accounts", "teams", "customRoles"}
    assert body["teams"] == [] and body["customRoles"] == []
    [caller] = body["accounts"]
    assert caller["accountId"] == CALLER_ACCOUNT_ID and caller["email"] == "sim-admin@example.com"
    assert set(caller) == {"accountId", "email", "name", "status", "productRoles", "customRole"}
    assert caller["status"] == "active" and JSM_USER in caller["productRoles"] and caller["customRole"] is None


def test_demo_seed(control: Api, ops: Api, teams: Api) -> None:
    reset = control.post("/reset", json={"seed": "demo"}).json()
    assert reset == {"result": "Reset", "accounts": 6, "teams": 2, "customRoles": 1}
    body = state(control)
    by_email = {a["email"]: a for a in body["accounts"]}
    assert by_email["sara.nilsson@example.com"]["customRole"] == "Incident Commander"
    assert by_email["jonas.berg@example.com"]["productRoles"] == [
        {"role": "atlassian/stakeholder", "resource": JSM_RESOURCE}
    ]
    assert all(a["productRoles"] for a in body["accounts"]) and all(a["status"] == "active" for a in body["accounts"])
    assert {t["displayName"]: t["opsEnabled"] for t in body["teams"]} == {"Platform SRE": True, "Payments": True}
    sre = next(t for t in body["teams"] if t["displayName"] == "Platform SRE")
    assert [
        by_email[e]["accountId"] for e in ("alex.morgan@example.com", "mei.chen@example.com", "priya.shah@example.com")
    ] == sre["members"]
    assert [t["teamName"] for t in ops.get("/teams").json()["values"]] == ["Platform SRE", "Payments"]
    members = teams.post(f"/teams/{sre['teamId']}/members").json()["results"]
    assert [m["accountId"] for m in members] == sre["members"]
    assert [r["name"] for r in ops.get("/roles").json()["values"]] == ["Incident Commander"]

    assert control.post("/reset").json()["accounts"] == 1
    assert state(control)["teams"] == []


def test_demo_ids_repeat() -> None:
    first, second = AtlassianState(seed="demo").dump(), AtlassianState(seed="demo").dump()
    assert first == second and len(first["accounts"]) == 6


def test_seed_accounts_teams_and_roles(control: Api, teams: Api, admin: Api) -> None:
    made = seed(
        control,
        {
            "customRoles": [{"name": "Finance", "grantedRights": ["view-alerts"]}],
            "accounts": [
                {"email": "Ann@Example.com", "name": "Ann Lee", "customRole": "Finance"},
                {
                    "accountId": "712020:fixed-id",
                    "email": "bo@example.com",
                    "status": "suspended",
                    "productRoles": [{"role": "atlassian/stakeholder", "resource": JSM_RESOURCE}],
                },
                {"email": "cy@example.com", "productRoles": []},
            ],
            "teams": [
                {"teamId": "team-1", "displayName": "Migrated", "members": ["ann@example.com", "712020:fixed-id"]},
                {"displayName": "Not yet", "opsEnabled": False, "members": [CALLER_ACCOUNT_ID]},
                {"displayName": "Gone", "deleted": True},
            ],
        },
    )
    assert [a["email"] for a in made["accounts"]] == ["ann@example.com", "bo@example.com", "cy@example.com"]
    ann, bo, cy = made["accounts"]
    assert ann["productRoles"] == [JSM_USER] and ann["customRole"] == "Finance" and ann["name"] == "Ann Lee"
    assert bo["accountId"] == "712020:fixed-id" and bo["status"] == "suspended"
    assert cy["productRoles"] == [] and cy["name"]
    assert [(t["displayName"], t["opsEnabled"], t["deleted"]) for t in made["teams"]] == [
        ("Migrated", True, False),
        ("Not yet", False, False),
        ("Gone", True, True),
    ]
    assert made["teams"][0] == {
        "teamId": "team-1",
        "displayName": "Migrated",
        "description": "",
        "opsEnabled": True,
        "members": [ann["accountId"], "712020:fixed-id"],
        "deleted": False,
    }
    assert made["customRoles"][0]["name"] == "Finance"
    assert teams.get("/teams/team-1").json()["displayName"] == "Migrated"
    assert teams.get(f"/teams/{made['teams'][2]['teamId']}").status_code == 404
    found = admin.get("/v2/orgs/sim-org/directories/-/users", params={"searchTerm": "ann@"}).json()["data"]
    assert [u["accountId"] for u in found] == [ann["accountId"]]


def test_seed_is_all_or_nothing(control: Api) -> None:
    before = state(control)
    bad_bodies = [
        {"accounts": [{"email": "ok@example.com"}], "teams": [{"displayName": "T", "members": ["nobody@example.com"]}]},
        {"accounts": [{"email": "a@example.com"}, {"email": "A@example.com"}]},
        {"accounts": [{"email": "a@example.com", "customRole": "Missing"}]},
        {"accounts": [{"email": "a@example.com", "status": "gone"}]},
        {
            "accounts": [
                {
                    "email": "a@example.com",
                    "productRoles": [{"role": "atlassian/user", "resource": "ari:cloud:jira-admin::site/sim-site"}],
                }
            ]
        },
        {"customRoles": [{"name": "R"}, {"name": "r"}]},
        {"teams": [{"displayName": "T", "teamType": "NOPE"}]},
        {"teams": [{"displayName": "T", "opsEnabled": "yes"}]},
        {"teams": "T"},
        {"users": []},
    ]
    for body in bad_bodies:
        response = control.post("/seed", json=body)
        assert response.status_code in (400, 404, 409) and response.json()["message"], body
        assert state(control) == before, body
    assert control.post("/seed", json=[]).status_code == 400


def test_calls_are_listed_and_cleared(control: Api, teams: Api) -> None:
    teams.get("/teams")
    teams.get("/teams")
    calls = control.get("/calls").json()["calls"]
    assert len(calls) == 2 and calls[1]["seq"] == calls[0]["seq"] + 1
    assert control.delete("/calls").json() == {"result": "Cleared"}
    assert control.get("/calls").json()["calls"] == []


def test_clock_endpoint(control: Api) -> None:
    now = control.get("/clock").json()
    moved = control.post("/clock", json={"advance_s": 90}).json()
    assert moved["now"] == now["now"] + 90 and moved["frozen"] is True
    for bad in ({"advance_s": -1}, {"advance_s": "soon"}, {"frozen": "no"}):
        assert control.post("/clock", json=bad).status_code == 400, bad
    assert control.post("/clock", json={"frozen": False}).json()["frozen"] is False


def test_server_lifecycle_and_seed_argument() -> None:
    with AtlassianSimulatorServer(seed="demo") as sim:
        assert sim.base_url.startswith("http://127.0.0.1:")
        body = requests.get(f"{sim.base_url}/__sim/state", timeout=10).json()
        assert len(body["teams"]) == 2
        url = sim.base_url
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/__sim/state", timeout=2)


def test_module_entry_point_rejects_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--port", "0", "--rate-limit", "-3"])
    assert exit_info.value.code == 2 and "rate_limit" in capsys.readouterr().err
