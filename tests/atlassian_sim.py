"""Test helpers for the Atlassian simulator: its /__sim control surface, a sleep that moves its clock, and
clients and directories built on it. Shared by tests/atlassian and tests/directory."""

from __future__ import annotations

from typing import Any

from sim_http import RecordingSleep
from sim_http import SimControl

from scim_bridge.atlassian import AtlassianClient
from scim_bridge.atlassian import RetryPolicy
from scim_bridge.directory.jsm import JsmDirectory
from scim_bridge.directory.links import MemoryLinkStore
from scim_bridge.opsgenie.records import CallRecord
from scim_bridge.simulator.atlassian.config import ADMIN_API_KEY
from scim_bridge.simulator.atlassian.config import ADMIN_EMAIL
from scim_bridge.simulator.atlassian.config import API_TOKEN
from scim_bridge.simulator.atlassian.config import CALLER_ACCOUNT_ID
from scim_bridge.simulator.atlassian.config import CLOUD_ID
from scim_bridge.simulator.atlassian.config import ORG_ID
from scim_bridge.simulator.atlassian.config import SITE_ID
from scim_bridge.simulator.atlassian.server import AtlassianSimulatorServer

CALLER = CALLER_ACCOUNT_ID


class AtlassianSim(SimControl):
    """The simulator's ``/__sim`` control surface."""

    def __init__(self, server: AtlassianSimulatorServer) -> None:
        super().__init__(server.base_url)

    def reset(self, defaults: dict[str, Any]) -> None:
        """As for every simulator, and the clock follows real time again."""
        super().reset(defaults)
        self.http.post(self.sim_url("clock"), json={"frozen": False}).raise_for_status()

    def seed(self, **body: Any) -> dict[str, Any]:
        response = self.http.post(self.sim_url("seed"), json=body)
        assert response.status_code == 201, response.text
        made: dict[str, Any] = response.json()
        return made

    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = self.http.get(self.sim_url("state")).json()
        return data

    def account(self, email: str) -> dict[str, Any]:
        return next(a for a in self.state()["accounts"] if a["email"] == email.lower())

    def team(self, team_id: str) -> dict[str, Any]:
        return next(t for t in self.state()["teams"] if t["teamId"] == team_id)

    def calls_to(self, method: str, path_end: str) -> list[dict[str, Any]]:
        return [c for c in self.calls() if c["method"] == method and c["path"].endswith(path_end)]

    def freeze(self) -> None:
        """Stop real time from counting on the simulator's clock: only SimSleep moves it."""
        self.http.post(self.sim_url("clock"), json={"frozen": True}).raise_for_status()

    def advance(self, seconds: float) -> None:
        self.http.post(self.sim_url("clock"), json={"advance_s": seconds}).raise_for_status()


class SimSleep(RecordingSleep):
    """A ``sleep`` that does not wait: it moves the simulator's clock and remembers what it was asked."""

    def __init__(self, sim: AtlassianSim) -> None:
        super().__init__()
        self.sim = sim

    def __call__(self, seconds: float) -> None:
        super().__call__(seconds)
        self.sim.advance(seconds)


def make_client(sim: AtlassianSim, sleep: SimSleep, records: list[CallRecord], **overrides: Any) -> AtlassianClient:
    rules: dict[str, Any] = {"base_delay": 0.01, "max_delay": 0.05, "total_budget": 5.0}
    retry = RetryPolicy(sleep=sleep, **(rules | overrides.pop("retry", {})))
    settings: dict[str, Any] = {
        "api_url": sim.base_url, "site_url": sim.base_url, "org_id": ORG_ID, "cloud_id": CLOUD_ID,
        "site_id": SITE_ID, "email": ADMIN_EMAIL, "api_token": API_TOKEN, "admin_api_key": ADMIN_API_KEY,
        "timeout": (1.0, 3.0), "retry": retry, "on_call": records.append,
    }
    return AtlassianClient(**(settings | overrides))


def make_directory(client: AtlassianClient, **kwargs: Any) -> JsmDirectory:
    return JsmDirectory(client, kwargs.pop("links", None) or MemoryLinkStore(), **kwargs)
