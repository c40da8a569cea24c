"""One real simulator server for the whole session; state and knobs are reset before each test."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from sim_http import HttpApi

from scim_bridge.simulator.config import SimulatorConfig
from scim_bridge.simulator.server import SimulatorServer

KEY = "sim-key"


class Api(HttpApi):
    """A thin ``requests`` wrapper that talks to the simulator with a GenieKey."""

    def __init__(self, base_url: str, key: str | None = KEY) -> None:
        super().__init__(base_url)
        if key is not None:
            self.session.headers["Authorization"] = f"GenieKey {key}"

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base_url + path

    def create_user(self, username: str, role: str = "User", **fields: Any) -> str:
        body = {"username": username, "fullName": fields.pop("fullName", username.split("@")[0]), **fields}
        body["role"] = {"name": role}
        response = self.post("/v2/users", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["data"]["id"])

    def create_team(self, name: str, members: list[dict[str, Any]] | None = None) -> str:
        response = self.post("/v2/teams", json={"name": name, "members": members or []})
        assert response.status_code == 201, response.text
        return str(response.json()["data"]["id"])


@pytest.fixture(scope="session")
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(SimulatorConfig(seed="tests")) as sim:
        yield sim


@pytest.fixture
def sim(server: SimulatorServer) -> SimulatorServer:
    """The session server with default knobs and an empty account."""
    defaults = SimulatorConfig(seed="tests")
    for f in dataclasses.fields(defaults):
        setattr(server.config, f.name, getattr(defaults, f.name))
    server.state.reset()
    return server


@pytest.fixture
def api(sim: SimulatorServer) -> Api:
    return Api(sim.base_url)


@pytest.fixture
def anon(sim: SimulatorServer) -> Api:
    """No Authorization header (also used for the /__sim/ control surface)."""
    return Api(sim.base_url, key=None)
