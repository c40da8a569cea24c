"""The OpsGenie and JSM directories on their simulators over HTTP, reset before every test, and the in-process
directory: the contract suite runs each test once per upstream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from atlassian_sim import AtlassianSim
from upstreams import Upstream
from upstreams import jsm_upstream
from upstreams import memory_upstream
from upstreams import opsgenie_upstream

from scim_bridge.simulator.atlassian.server import AtlassianSimulatorServer
from scim_bridge.simulator.server import SimulatorServer


@pytest.fixture(scope="session")
def opsgenie_server() -> Iterator[SimulatorServer]:
    with SimulatorServer() as server:
        yield server


@pytest.fixture(scope="session")
def atlassian_server() -> Iterator[AtlassianSimulatorServer]:
    with AtlassianSimulatorServer() as server:
        yield server


@pytest.fixture(scope="session")
def atlassian_defaults(atlassian_server: AtlassianSimulatorServer) -> dict[str, Any]:
    return AtlassianSim(atlassian_server).config()


@pytest.fixture(params=["opsgenie", "jsm", "memory"])
def upstream(request: pytest.FixtureRequest) -> Iterator[Upstream]:
    if request.param == "memory":
        yield from memory_upstream()
    elif request.param == "opsgenie":
        yield from opsgenie_upstream(request.getfixturevalue("opsgenie_server"))
    else:
        server = request.getfixturevalue("atlassian_server")
        yield from jsm_upstream(server, request.getfixturevalue("atlassian_defaults"))
