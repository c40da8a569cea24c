"""Fixtures: one OpsGenie simulator per session over real HTTP, reset before every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sim_http import RecordingSleep as Sleeps
from sim_http import SimControl
from sim_http import fresh

from scim_bridge.directory.opsgenie import OpsGenieDirectory
from scim_bridge.opsgenie import CallRecord
from scim_bridge.opsgenie import OpsGenieClient
from scim_bridge.opsgenie import RetryPolicy
from scim_bridge.simulator.server import SimulatorServer

API_KEY = "sim-key"


class Sim(SimControl):
    """The simulator's ``/__sim`` control surface."""

    def __init__(self, server: SimulatorServer) -> None:
        super().__init__(server.base_url)
        self.server = server

    def calls_to(self, method: str, path: str) -> list[dict[str, Any]]:
        return [c for c in self.calls() if c["method"] == method and c["path"] == path]

    def bulk(self, **counts: Any) -> dict[str, Any]:
        response = self.http.post(self.sim_url("bulk"), json=counts)
        assert response.status_code == 201, response.text
        made: dict[str, Any] = response.json()
        return made

    def user(self, identifier: str) -> requests.Response:
        return self.http.get(self.sim_url(f"users/{identifier}"))


@pytest.fixture(scope="session")
def sim_server() -> Iterator[SimulatorServer]:
    with SimulatorServer(seed="opsgenie-tests") as server:
        yield server


@pytest.fixture(scope="session")
def _default_config(sim_server: SimulatorServer) -> dict[str, Any]:
    return Sim(sim_server).config()


@pytest.fixture
def sim(sim_server: SimulatorServer, _default_config: dict[str, Any]) -> Iterator[Sim]:
    yield from fresh(Sim(sim_server), _default_config)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def records() -> list[CallRecord]:
    return []


class ClientFactory:
    """Builds clients on the simulator with a fast retry policy, recording every call."""

    def __init__(self, sim: Sim, sleeps: Sleeps, records: list[CallRecord]) -> None:
        self.sim, self.sleeps, self.records = sim, sleeps, records
        self.made: list[OpsGenieClient] = []

    def __call__(self, *, api_key: str = API_KEY, **kwargs: Any) -> OpsGenieClient:
        kwargs.setdefault("retry", self.fast_retry())
        kwargs.setdefault("timeout", (1.0, 2.0))
        kwargs.setdefault("base_url", self.sim.base_url)
        made = OpsGenieClient(api_key, on_call=self.records.append, **kwargs)
        self.made.append(made)
        return made

    def fast_retry(self, **overrides: Any) -> RetryPolicy:
        settings: dict[str, Any] = {"base_delay": 0.01, "max_delay": 0.05, "total_budget": 5.0}
        return RetryPolicy(sleep=self.sleeps, **(settings | overrides))


@pytest.fixture
def make_client(sim: Sim, sleeps: Sleeps, records: list[CallRecord]) -> Iterator[ClientFactory]:
    factory = ClientFactory(sim, sleeps, records)
    yield factory
    for made in factory.made:
        made.close()


@pytest.fixture
def client(make_client: ClientFactory) -> OpsGenieClient:
    return make_client()


@pytest.fixture
def directory(client: OpsGenieClient) -> OpsGenieDirectory:
    return OpsGenieDirectory(client)
