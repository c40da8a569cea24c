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
from conftest import Running
from conftest import ScimClient

from tests.upstream_views import OpsGenieView
from tests.upstream_views import UpstreamView

UPSTREAMS = ["opsgenie"]


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


@pytest.fixture(params=UPSTREAMS)
def upstream(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture()
def bridge(upstream: str, bridge_factory: Any) -> Iterator[Replay]:
    """A bridge over the demo directory of the upstream."""
    running: Running = bridge_factory()
    yield Replay(running.scim, OpsGenieView(running.sim.base_url), running.app)
