"""Run the OpsGenie simulator as a real HTTP server (threaded werkzeug), in a daemon thread or in the foreground."""

from __future__ import annotations

from typing import Unpack

from scim_bridge.simulator.app import create_simulator_app
from scim_bridge.simulator.config import SimulatorConfig
from scim_bridge.simulator.httpserver import BackgroundServer
from scim_bridge.simulator.httpserver import Listen
from scim_bridge.simulator.state import SimulatorState


class SimulatorServer(BackgroundServer):
    """An OpsGenie simulator on ``host:port`` (port 0 picks a free port).

    >>> with SimulatorServer(seed="demo") as sim:   # doctest: +SKIP
    ...     requests.get(f"{sim.base_url}/v2/users", headers={"Authorization": "GenieKey sim-key"})

    ``seed`` overrides ``config.seed`` for the initial data (see :class:`SimulatorState`); ``host``, ``port``
    and ``log_requests`` are the :class:`Listen` options.
    """

    thread_name = "opsgenie-simulator"

    def __init__(
        self, config: SimulatorConfig | None = None, *, seed: str | None = None, **listen: Unpack[Listen]
    ) -> None:
        self.config = config or SimulatorConfig()
        self.state = SimulatorState(self.config, seed=seed)
        super().__init__(create_simulator_app(self.state, self.config), **listen)
