"""The directories the contract suite compares: OpsGenie and JSM, each on its simulator (reset when built), and
the in-process one (new for each test)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
from atlassian_sim import AtlassianSim
from atlassian_sim import SimSleep
from atlassian_sim import make_client
from atlassian_sim import make_directory

from scim_bridge.directory.base import Directory
from scim_bridge.directory.memory import MemoryDirectory
from scim_bridge.directory.opsgenie import OpsGenieDirectory
from scim_bridge.opsgenie import OpsGenieClient
from scim_bridge.opsgenie import RetryPolicy
from scim_bridge.simulator.atlassian.server import AtlassianSimulatorServer
from scim_bridge.simulator.server import SimulatorServer

OPSGENIE_KEY = "sim-key"


@dataclass
class Upstream:
    kind: str
    directory: Directory


def opsgenie_upstream(server: SimulatorServer) -> Iterator[Upstream]:
    http = requests.Session()
    http.post(f"{server.base_url}/__sim/reset", json={}).raise_for_status()
    http.delete(f"{server.base_url}/__sim/faults").raise_for_status()
    client = OpsGenieClient(OPSGENIE_KEY, base_url=server.base_url, timeout=(1.0, 3.0),
                            retry=RetryPolicy(base_delay=0.01, max_delay=0.05, sleep=lambda _s: None))
    yield Upstream("opsgenie", OpsGenieDirectory(client))
    client.close()
    http.close()


def jsm_upstream(server: AtlassianSimulatorServer, defaults: dict[str, Any]) -> Iterator[Upstream]:
    sim = AtlassianSim(server)
    sim.reset(defaults)
    client = make_client(sim, SimSleep(sim), [])
    yield Upstream("jsm", make_directory(client))
    client.close()
    sim.http.close()


def memory_upstream() -> Iterator[Upstream]:
    yield Upstream("memory", MemoryDirectory())
