"""The Atlassian simulator as a real HTTP server (threaded werkzeug), in a daemon thread or in the foreground."""

from __future__ import annotations

import time
from collections.abc import Callable

from scim_bridge.simulator.atlassian.app import create_atlassian_app
from scim_bridge.simulator.atlassian.clock import SimClock
from scim_bridge.simulator.atlassian.config import AtlassianSimConfig
from scim_bridge.simulator.atlassian.state import AtlassianState
from scim_bridge.simulator.httpserver import BackgroundServer


class AtlassianSimulatorServer(BackgroundServer):
    """An Atlassian simulator on ``host:port`` (port 0 picks a free port): the Teams, JSM Operations,
    Jira and Organizations admin APIs all on ``base_url``.

    >>> with AtlassianSimulatorServer(seed="demo") as sim:   # doctest: +SKIP
    ...     requests.get(f"{sim.base_url}/rest/api/3/myself", auth=("sim-admin@example.com", "sim-api-token"))

    ``seed`` overrides ``config.seed``; ``clock`` and ``sleep`` let tests control time.
    """

    thread_name = "atlassian-simulator"

    def __init__(
        self,
        config: AtlassianSimConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: str | None = None,
        log_requests: bool = False,
        clock: SimClock | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config or AtlassianSimConfig()
        self.state = AtlassianState(self.config, seed=seed, clock=clock, sleep=sleep)
        super().__init__(create_atlassian_app(self.state), host=host, port=port, log_requests=log_requests)
