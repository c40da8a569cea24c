"""Auth and 401 bodies per family, the rolling-window 429, latency, scripted faults, request bodies."""

from __future__ import annotations

from datetime import datetime

import pytest
import requests

from scim_bridge.simulator.atlassian import ADMIN_API_KEY
from scim_bridge.simulator.atlassian import ADMIN_EMAIL
from scim_bridge.simulator.atlassian import API_TOKEN
from scim_bridge.simulator.atlassian import AtlassianSimulatorServer
from scim_bridge.simulator.atlassian import SimClock

from .conftest import ADMIN_BASE
from .conftest import JIRA_BASE
from .conftest import OPS_BASE
from .conftest import TEAMS_BASE
from .conftest import Api
from .conftest import Sleeps
from .conftest import create_team
from .conftest import state

SEARCH = "/v2/orgs/sim-org/directories/-/users"


def test_basic_families_refuse_bad_credentials_with_their_401_body(sim: AtlassianSimulatorServer) -> None:
    wrong = [
        {"auth": (ADMIN_EMAIL, "wrong-token")},
        {"auth": ("someone@example.com", API_TOKEN)},
        {"bearer": ADMIN_API_KEY},
        {"headers": {"Authorization": "Basic !!!"}},
        {},
    ]
    for settings in wrong:
        teams = Api(sim.base_url, TEAMS_BASE, **settings).get("/teams")
        assert teams.status_code == 401 and set(teams.json()) == {"code", "message"}, settings
        ops = Api(sim.base_url, OPS_BASE, **settings).get("/teams")
        assert ops.status_code == 401 and ops.json()["code"] == 401 and ops.json()["message"], settings
        jira = Api(sim.base_url, JIRA_BASE, **settings).get("/myself")
        assert jira.status_code == 401 and jira.json()["errorMessages"] and jira.json()["errors"] == {}, settings
    upper = Api(sim.base_url, JIRA_BASE, auth=(ADMIN_EMAIL.upper(), API_TOKEN)).get("/myself")
    assert upper.status_code == 200  # the e-mail is not case-sensitive, the token is


def test_admin_family_needs_the_bearer_key(sim: AtlassianSimulatorServer) -> None:
    for settings in ({"auth": (ADMIN_EMAIL, API_TOKEN)}, {"bearer": "wrong"}, {}):
        response = Api(sim.base_url, ADMIN_BASE, **settings).get(SEARCH)
        assert response.status_code == 401, settings
        [error] = response.json()["errors"]
        assert error["status"] == "401" and error["title"] == "Unauthorized" and error["detail"]
    assert Api(sim.base_url, ADMIN_BASE, bearer=ADMIN_API_KEY).get(SEARCH).status_code == 200


def test_credentials_are_knobs(control: Api, sim: AtlassianSimulatorServer) -> None:
    control.patch("/config", json={"api_token": "rotated", "admin_api_key": "new-key"})
    assert Api(sim.base_url, JIRA_BASE, auth=(ADMIN_EMAIL, API_TOKEN)).get("/myself").status_code == 401
    assert Api(sim.base_url, JIRA_BASE, auth=(ADMIN_EMAIL, "rotated")).get("/myself").status_code == 200
    assert Api(sim.base_url, ADMIN_BASE, bearer="new-key").get(SEARCH).status_code == 200


def test_rolling_window_rate_limit(teams: Api, admin: Api, jira: Api, ops: Api, control: Api, clock: SimClock) -> None:
    control.patch("/config", json={"rate_limit": 3, "rate_window_s": 10})
    assert teams.get("/teams").status_code == 200
    clock.advance(4)
    assert admin.get(SEARCH).status_code == 200
    assert jira.get("/myself").status_code == 200
    limited = ops.get("/teams")  # one window over all families
    assert limited.status_code == 429 and limited.json()["errors"][0]["title"]
    assert limited.headers["Retry-After"] == "6"
    reset = datetime.fromisoformat(limited.headers["X-RateLimit-Reset"].replace("Z", "+00:00"))
    assert reset.tzinfo is not None
    admin_limited = admin.get(SEARCH)
    assert admin_limited.status_code == 429 and admin_limited.json()["errors"][0]["status"] == "429"
    assert jira.get("/myself").json()["errorMessages"]
    assert teams.get("/teams").json()["code"] == "RATE_LIMITED"
    assert control.get("/state").status_code == 200  # the control surface is never limited
    clock.advance(6.5)
    assert ops.get("/teams").status_code == 200  # the first call left the window
    refused = teams.get("/teams")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "4"
    statuses = [c["status"] for c in control.get("/calls").json()["calls"]]
    assert statuses.count(429) == 5
    control.patch("/config", json={"rate_limit": 0})
    assert all(teams.get("/teams").status_code == 200 for _ in range(5))


def test_latency_is_slept(teams: Api, control: Api, sleeps: Sleeps) -> None:
    control.patch("/config", json={"latency_ms": 250})
    teams.get("/teams")
    control.get("/state")
    assert sleeps == [0.25]


def test_status_fault_answers_in_the_family_body_and_applies_nothing(teams: Api, admin: Api, control: Api) -> None:
    control.post("/faults", json={"method": "POST", "path": ".*/teams", "action": "503", "times": 2})
    for _ in range(2):
        response = teams.post("/teams", json={"displayName": "x", "teamType": "OPEN"})
        assert response.status_code == 503 and set(response.json()) == {"code", "message"}
    assert state(control)["teams"] == []
    assert control.get("/faults").json()["rules"] == []
    assert teams.post("/teams", json={"displayName": "x", "teamType": "OPEN"}).status_code == 201
    control.post("/faults", json={"path": "/admin/.*", "action": "status:500"})
    assert admin.get(SEARCH).json()["errors"][0]["status"] == "500"
    calls = control.get("/calls").json()["calls"]
    assert [c["fault"] for c in calls] == ["503", "503", None, "status:500"]


def test_after_write_fault_applies_then_fails(teams: Api, control: Api) -> None:
    control.post("/faults", json={"rules": [{"method": "POST", "path": ".*/teams", "action": "after_write:502"}]})
    response = teams.post("/teams", json={"displayName": "written", "teamType": "OPEN"})
    assert response.status_code == 502 and response.json()["code"] == "BAD_GATEWAY"
    assert [t["displayName"] for t in state(control)["teams"]] == ["written"]


def test_drop_and_delay_faults(teams: Api, control: Api, sleeps: Sleeps) -> None:
    control.post("/faults", json=[{"path": ".*/teams", "action": "drop"}, {"path": ".*/teams", "action": "delay:40"}])
    with pytest.raises(requests.ConnectionError):
        teams.get("/teams")
    assert teams.get("/teams").status_code == 200
    assert sleeps == [0.04]
    control.post("/faults", json={"method": "POST", "path": ".*/teams", "action": "after_write:drop"})
    with pytest.raises(requests.ConnectionError):
        teams.post("/teams", json={"displayName": "dropped", "teamType": "OPEN"})
    assert [t["displayName"] for t in state(control)["teams"]] == ["dropped"]


def test_bad_fault_rules_are_refused(control: Api) -> None:
    for rule in (
        {"action": "explode"},
        {"action": "200"},
        {"action": "503", "times": 0},
        {"action": "503", "path": "("},
        {"path": "x"},
        "503",
    ):
        assert control.post("/faults", json=rule).status_code == 400, rule
    assert control.get("/faults").json()["rules"] == []
    control.post("/faults", json={"action": "503"})
    assert control.delete("/faults").status_code == 200 and control.get("/faults").json()["rules"] == []


def test_request_bodies(teams: Api, ops: Api, control: Api) -> None:
    not_json = teams.post("/teams", data="{", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and set(not_json.json()) == {"code", "message"}
    assert teams.post("/teams", json=["a"]).status_code == 400
    wrong_type = teams.post("/teams", data="displayName=x", headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    ops_bad = ops.post("/roles", data="[", headers={"Content-Type": "application/json"})
    assert ops_bad.status_code == 400 and ops_bad.json()["errors"][0]["title"]
    assert state(control)["teams"] == [] and state(control)["customRoles"] == []


def test_unknown_routes_and_methods_answer_in_the_family_body(teams: Api, ops: Api, jira: Api, anon: Api) -> None:
    assert teams.get("/nowhere").json()["code"] == "NOT_FOUND"
    assert teams.put("/teams").status_code == 405
    assert ops.get("/nowhere").json()["errors"][0]["code"] == "NOT_FOUND"
    assert ops.delete("/teams").status_code == 405
    assert jira.get("/issue/1").json()["errorMessages"] == ["Not Found"]
    other = anon.get("/v2/users")
    assert other.status_code == 404 and other.json()["message"]


def test_team_writes_are_logged_with_family_and_auth(teams: Api, control: Api) -> None:
    team = create_team(teams)
    [call] = control.get("/calls").json()["calls"]
    assert call["method"] == "POST" and call["path"].endswith("/teams") and call["status"] == 201
    assert call["family"] == "teams" and call["auth"] == "basic" and call["body"]["displayName"] == "SRE"
    teams.get(f"/teams/{team['teamId']}", params={"siteId": "sim-site"})
    since = control.get("/calls", params={"since": call["seq"]}).json()["calls"]
    assert [c["query"] for c in since] == [{"siteId": "sim-site"}]


def test_odd_bodies_never_cause_a_server_error(sim: AtlassianSimulatorServer, teams: Api, control: Api) -> None:
    team_id = create_team(teams)["teamId"]
    basic = {"auth": (ADMIN_EMAIL, API_TOKEN)}
    routes = [
        (TEAMS_BASE, basic, "POST", "/teams"),
        (TEAMS_BASE, basic, "PATCH", f"/teams/{team_id}"),
        (TEAMS_BASE, basic, "POST", f"/teams/{team_id}/members"),
        (TEAMS_BASE, basic, "POST", f"/teams/{team_id}/members/add"),
        (TEAMS_BASE, basic, "POST", f"/teams/{team_id}/members/remove"),
        (OPS_BASE, basic, "POST", f"/teams/{team_id}/enable-ops"),
        (OPS_BASE, basic, "POST", "/roles"),
        (OPS_BASE, basic, "POST", "/roles/assign"),
        (ADMIN_BASE, {"bearer": ADMIN_API_KEY}, "POST", "/v2/orgs/sim-org/users/invite"),
        (ADMIN_BASE, {"bearer": ADMIN_API_KEY}, "POST", "/v1/orgs/sim-org/users/x/roles/assign"),
        ("/__sim", {}, "POST", "/seed"),
    ]
    odd_bodies: list[object] = [
        {"first": 1.5, "after": 3, "members": {"accountId": "x"}},
        {"displayName": None, "teamType": None, "adminAccountIds": [None], "platformTeamId": 1},
        {"emails": "a@example.com", "permissionRules": [{"role": None}], "role": ["x"], "resource": 1},
        {"name": ["x"], "accountId": 5, "roleName": {}, "accounts": [{"email": None}], "teams": [{}]},
        {"customRoles": [{"name": "r", "id": 7}], "grantedRights": [1]},
    ]
    for prefix, settings, method, path in routes:
        api = Api(sim.base_url, prefix, **settings)
        for body in odd_bodies:
            response = api.request(method, path, json=body)
            assert response.status_code < 500 and response.json() is not None, (path, body, response.text)
    assert [t["teamId"] for t in state(control)["teams"]] == [team_id]
