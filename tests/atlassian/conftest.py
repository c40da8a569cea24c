"""Fixtures: one Atlassian simulator per session over real HTTP, reset before every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from atlassian_sim import AtlassianSim
from atlassian_sim import SimSleep
from atlassian_sim import make_client
from atlassian_sim import make_directory
from sim_http import fresh

from scim_bridge.atlassian import AtlassianClient
from scim_bridge.directory.jsm import JsmDirectory
from scim_bridge.directory.links import MemoryLinkStore
from scim_bridge.opsgenie.records import CallRecord
from scim_bridge.simulator.atlassian.server import AtlassianSimulatorServer


@pytest.fixture(scope="session")
def asim_server() -> Iterator[AtlassianSimulatorServer]:
    with AtlassianSimulatorServer() as server:
        yield server


@pytest.fixture(scope="session")
def _asim_defaults(asim_server: AtlassianSimulatorServer) -> dict[str, Any]:
    return AtlassianSim(asim_server).config()


@pytest.fixture
def asim(asim_server: AtlassianSimulatorServer, _asim_defaults: dict[str, Any]) -> Iterator[AtlassianSim]:
    yield from fresh(AtlassianSim(asim_server), _asim_defaults)


@pytest.fixture
def sleeps(asim: AtlassianSim) -> SimSleep:
    return SimSleep(asim)


@pytest.fixture
def records() -> list[CallRecord]:
    return []


@pytest.fixture
def client(asim: AtlassianSim, sleeps: SimSleep, records: list[CallRecord]) -> Iterator[AtlassianClient]:
    made = make_client(asim, sleeps, records)
    yield made
    made.close()


@pytest.fixture
def links() -> MemoryLinkStore:
    return MemoryLinkStore()


@pytest.fixture
def jsm(client: AtlassianClient, links: MemoryLinkStore) -> JsmDirectory:
    return make_directory(client, links=links, make_team_id=iter(f"team-{n}" for n in range(1000)).__next__)
