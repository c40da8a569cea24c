"""Run the simulator as a real HTTP server (threaded werkzeug), in a daemon thread or in the foreground."""

from __future__ import annotations

import threading
from socketserver import ThreadingMixIn
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer
from werkzeug.serving import WSGIRequestHandler
from werkzeug.serving import make_server

from scim_bridge.simulator.app import create_simulator_app
from scim_bridge.simulator.config import SimulatorConfig
from scim_bridge.simulator.state import SimulatorState


class _QuietHandler(WSGIRequestHandler):
    """Request handler without the per-request access log line."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log(self, type: str, message: str, *args: Any) -> None:
        if type == "error":
            super().log(type, message, *args)


class SimulatorServer:
    """An OpsGenie simulator on ``host:port`` (port 0 picks a free port).

    >>> with SimulatorServer(seed="demo") as sim:   # doctest: +SKIP
    ...     requests.get(f"{sim.base_url}/v2/users", headers={"Authorization": "GenieKey sim-key"})

    ``seed`` overrides ``config.seed`` for the initial data (see :class:`SimulatorState`).
    """

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: str | None = None,
        log_requests: bool = False,
    ) -> None:
        self.config = config or SimulatorConfig()
        self.state = SimulatorState(self.config, seed=seed)
        self.app = create_simulator_app(self.state, self.config)
        self._host = host
        self._port = port
        self._log_requests = log_requests
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def _make_server(self) -> BaseWSGIServer:
        if self._server is None:
            handler = WSGIRequestHandler if self._log_requests else _QuietHandler
            server = make_server(self._host, self._port, self.app, threaded=True, request_handler=handler)
            if isinstance(server, ThreadingMixIn):
                server.daemon_threads = True
            self._server = server
        return self._server

    @property
    def port(self) -> int:
        return self._make_server().server_port

    @property
    def base_url(self) -> str:
        """For example ``http://127.0.0.1:54321`` (no trailing slash)."""
        return f"http://{self._host}:{self.port}"

    def start(self) -> SimulatorServer:
        """Serve in a daemon thread; returns self."""
        if self._thread is None:
            server = self._make_server()
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="opsgenie-simulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
        self._server = None

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (for the CLI)."""
        server = self._make_server()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            self._server = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
