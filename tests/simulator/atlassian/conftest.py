"""One real Atlassian simulator for the session, with a controllable clock and a recording sleep.

Knobs, data, call log, faults, rate window and clock are reset before each test. The clients are
plain ``requests`` sessions, one per API family, with that family's credentials and base path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sim_http import HttpApi

from scim_bridge.simulator.atlassian import ADMIN_API_KEY
from scim_bridge.simulator.atlassian import ADMIN_EMAIL
from scim_bridge.simulator.atlassian import API_TOKEN
from scim_bridge.simulator.atlassian import CLOUD_ID
from scim_bridge.simulator.atlassian import ORG_ID
from scim_bridge.simulator.atlassian import AtlassianSimConfig
from scim_bridge.simulator.atlassian import AtlassianSimulatorServer
from scim_bridge.simulator.atlassian import SimClock

TEAMS_BASE = f"/gateway/api/public/teams/v1/org/{ORG_ID}"
OPS_BASE = f"/jsm/ops/api/{CLOUD_ID}/v1"
JIRA_BASE = "/rest/api/3"
ADMIN_BASE = "/admin"
JSM_RESOURCE = "ari:cloud:jira-servicedesk::site/sim-site"


class Api(HttpApi):
    """``requests`` against one family: paths are relative to ``prefix``."""

    def __init__(self, base_url: str, prefix: str = "", **session_settings: Any) -> None:
        super().__init__(base_url)
        self.prefix = prefix
        for name, value in session_settings.items():
            if name == "bearer":
                self.session.headers["Authorization"] = f"Bearer {value}"
            else:
                setattr(self.session, name, value)

    def url(self, path: str) -> str:
        return self.base_url + self.prefix + path


class Sleeps(list[float]):
    """The sleeps the simulator asked for (nothing actually waits)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="session")
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture(scope="session")
def clock() -> SimClock:
    """Frozen at a round number, so the tests' time arithmetic is exact; only ``advance`` moves it."""
    return SimClock(source=lambda: 1000.0)


@pytest.fixture(scope="session")
def atl_server(clock: SimClock, sleeps: Sleeps) -> Iterator[AtlassianSimulatorServer]:
    with AtlassianSimulatorServer(AtlassianSimConfig(seed="tests"), clock=clock, sleep=sleeps) as sim:
        yield sim


@pytest.fixture
def sim(atl_server: AtlassianSimulatorServer, clock: SimClock, sleeps: Sleeps) -> AtlassianSimulatorServer:
    """The session server with default knobs, only the calling account, and a frozen clock."""
    atl_server.config.restore_defaults()
    atl_server.config.seed = "tests"
    atl_server.state.reset("tests")
    clock.freeze(True)
    sleeps.clear()
    return atl_server


@pytest.fixture
def teams(sim: AtlassianSimulatorServer) -> Api:
    return Api(sim.base_url, TEAMS_BASE, auth=(ADMIN_EMAIL, API_TOKEN))


@pytest.fixture
def ops(sim: AtlassianSimulatorServer) -> Api:
    return Api(sim.base_url, OPS_BASE, auth=(ADMIN_EMAIL, API_TOKEN))


@pytest.fixture
def jira(sim: AtlassianSimulatorServer) -> Api:
    return Api(sim.base_url, JIRA_BASE, auth=(ADMIN_EMAIL, API_TOKEN))


@pytest.fixture
def admin(sim: AtlassianSimulatorServer) -> Api:
    return Api(sim.base_url, ADMIN_BASE, bearer=ADMIN_API_KEY)


@pytest.fixture
def control(sim: AtlassianSimulatorServer) -> Api:
    return Api(sim.base_url, "/__sim")


@pytest.fixture
def anon(sim: AtlassianSimulatorServer) -> Api:
    return Api(sim.base_url)


def seed(control: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = control.post("/seed", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def seed_accounts(control: Api, *emails: str) -> list[str]:
    made = seed(control, {"accounts": [{"email": email} for email in emails]})
    by_email = {a["email"]: a["accountId"] for a in made["accounts"]}
    return [by_email[email] for email in emails]


def create_team(teams: Api, name: str = "SRE", **fields: Any) -> dict[str, Any]:
    body = {"displayName": name, "teamType": "MEMBER_INVITE", "siteId": "sim-site", **fields}
    response = teams.post("/teams", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def state(control: Api) -> dict[str, Any]:
    return dict(control.get("/state").json())
