"""The Atlassian simulator as a real HTTP server (threaded werkzeug), in a daemon thread or in the foreground."""

from __future__ import annotations

from typing import Unpack

from scim_bridge.simulator.atlassian.app import create_atlassian_app
from scim_bridge.simulator.atlassian.config import AtlassianSimConfig
from scim_bridge.simulator.atlassian.state import AtlassianState
from scim_bridge.simulator.atlassian.state import StateOptions
from scim_bridge.simulator.httpserver import BackgroundServer


class AtlassianSimulatorServer(BackgroundServer):
    """An Atlassian simulator on ``host:port`` (port 0 picks a free port): the Teams, JSM Operations,
    Jira and Organizations admin APIs all on ``base_url``.

    >>> with AtlassianSimulatorServer(seed="demo") as sim:   # doctest: +SKIP
    ...     requests.get(f"{sim.base_url}/rest/api/3/myself", auth=("sim-admin@example.com", "sim-api-token"))

    ``seed``, ``clock`` and ``sleep`` are the :class:`StateOptions`: the seed overrides ``config.seed``, the
    clock and sleep let tests control time.
    """

    thread_name = "atlassian-simulator"

    def __init__(
        self,
        config: AtlassianSimConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_requests: bool = False,
        **options: Unpack[StateOptions],
    ) -> None:
        self.config = config or AtlassianSimConfig()
        self.state = AtlassianState(self.config, **options)
        super().__init__(create_atlassian_app(self.state), host=host, port=port, log_requests=log_requests)
