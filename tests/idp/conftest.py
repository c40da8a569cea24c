"""The IdP replays run once per upstream: the bridge over the OpsGenie simulator, and the bridge with
``SCIM_BRIDGE_UPSTREAM=jsm`` over the Atlassian simulator.

Each replay sees the upstream through an :class:`~tests.upstream_views.UpstreamView`, so the same steps
assert against either simulator's state.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from conftest import RecordedBackoff
from conftest import Running
from conftest import ScimClient
from conftest import start_bridge

from scim_bridge.atlassian.client import AtlassianClient
from scim_bridge.config import JSM_SUSPENDED_ROLE
from scim_bridge.ops.migrate import MigrationReport
from scim_bridge.ops.migrate import contact_reader
from scim_bridge.ops.migrate import plan
from scim_bridge.simulator.atlassian import AtlassianSimConfig
from scim_bridge.simulator.atlassian import AtlassianSimulatorServer
from scim_bridge.simulator.server import SimulatorServer
from scim_bridge.store.links import SqlLinkStore
from scim_bridge.store.store import Store
from tests.upstream_views import JsmView
from tests.upstream_views import OpsGenieView
from tests.upstream_views import UpstreamView
from tests.upstream_views import atlassian_settings
from tests.upstream_views import migrated_from

UPSTREAMS = ["opsgenie", "jsm"]


@dataclass
class Replay:
    """A bridge under test and the upstream it writes to."""

    scim: ScimClient
    up: UpstreamView
    app: Any

    def sync(self) -> None:
        """One full sync of the mirror, as the sync loop would run it."""
        self.app.extensions["scim_bridge"].sync.run()

    def user_id(self, username: str) -> str:
        """The SCIM id of a user, by userName."""
        response = self.scim.get("/Users", params={"filter": f'userName eq "{username}"'})
        assert response.status_code == 200, response.text
        resources = response.json()["Resources"]
        assert len(resources) == 1, (username, resources)
        return str(resources[0]["id"])

    def group_id(self, name: str) -> str:
        """The SCIM id of a group, by displayName."""
        response = self.scim.get("/Groups", params={"filter": f'displayName eq "{name}"',
                                                    "excludedAttributes": "members"})
        assert response.status_code == 200, response.text
        resources = response.json()["Resources"]
        assert len(resources) == 1, (name, resources)
        return str(resources[0]["id"])


@pytest.fixture(scope="session")
def atlassian_simulator() -> Iterator[AtlassianSimulatorServer]:
    server = AtlassianSimulatorServer(seed=None).start()
    yield server
    server.stop()


@dataclass
class Migrated:
    """The OpsGenie-backed bridge before the move, the report of the migration, and the jsm bridge after it."""

    before: Running
    report: MigrationReport
    after: Replay


@pytest.fixture()
def migrate_to_jsm(atlassian_simulator: AtlassianSimulatorServer, simulator: SimulatorServer) -> Iterator[Any]:
    """``migrate(before)``: seed the Atlassian simulator as Atlassian's migration leaves the OpsGenie account
    of the bridge ``before``, run ``migrate --to jsm --apply`` on that bridge's store, and start a bridge with
    ``SCIM_BRIDGE_UPSTREAM=jsm`` on the same database."""
    started: list[tuple[Any, Store]] = []
    backoffs: list[RecordedBackoff] = []
    atlassian_simulator.state.update_config(AtlassianSimConfig().to_dict())
    atlassian_simulator.state.reset(None)
    requests.delete(f"{atlassian_simulator.base_url}/__sim/faults", timeout=10).raise_for_status()

    def migrate(before: Running, **overrides: Any) -> Migrated:
        view = JsmView(atlassian_simulator.base_url, SqlLinkStore(before.app.extensions["scim_bridge"].store))
        view.seed(migrated_from(before.sim.state()))
        settings = atlassian_settings(atlassian_simulator.base_url)
        with AtlassianClient.from_settings(settings) as client:
            bridge = before.app.extensions["scim_bridge"]
            report = plan(bridge.store, client, view.links, apply=True, read_contacts=contact_reader(bridge.directory))
        overrides = {"upstream": "jsm", "atlassian": settings, "suspended_role": JSM_SUSPENDED_ROLE,
                     "record_backoff": before.backoff is not None, **overrides}  # back-off as the bridge before
        running, server, store = start_bridge(simulator, None, None, database_url=before.settings.database_url,
                                              **overrides)
        started.append((server, store))
        if running.backoff is not None:
            backoffs.append(running.backoff)
        view.clear_calls()
        return Migrated(before, report, Replay(running.scim, view, running.app))

    yield migrate
    for server, store in started:
        server.shutdown()
        server.server_close()
        store.close()
    atlassian_simulator.state.reset(None)
    for backoff in backoffs:
        backoff.check()


@pytest.fixture(params=UPSTREAMS)
def upstream(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture()
def bridge(upstream: str, bridge_factory: Any, request: pytest.FixtureRequest) -> Replay:
    """A bridge over the demo directory of the upstream: OpsGenie's, or for jsm that directory migrated to
    Atlassian (so the replays also show that the SCIM ids carried over keep working)."""
    running: Running = bridge_factory()
    if upstream == "opsgenie":
        return Replay(running.scim, OpsGenieView(running.sim.base_url), running.app)
    migrated: Migrated = request.getfixturevalue("migrate_to_jsm")(running)
    return migrated.after
