"""Run a simulator's WSGI app as a real HTTP server (threaded werkzeug), in a daemon thread or in the foreground.

Generic: both the OpsGenie and the Atlassian simulator servers are built on :class:`BackgroundServer`.
"""

from __future__ import annotations

import threading
from socketserver import ThreadingMixIn
from types import TracebackType
from typing import Any
from typing import Self

from werkzeug.serving import BaseWSGIServer
from werkzeug.serving import WSGIRequestHandler
from werkzeug.serving import make_server


class QuietHandler(WSGIRequestHandler):
    """Request handler without the per-request access log line."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log(self, type: str, message: str, *args: Any) -> None:
        if type == "error":
            super().log(type, message, *args)


class BackgroundServer:
    """``app`` served on ``host:port`` (port 0 picks a free port); the socket is bound on first use."""

    thread_name = "simulator"

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, log_requests: bool = False) -> None:
        self.app = app
        self._host = host
        self._port = port
        self._log_requests = log_requests
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def _make_server(self) -> BaseWSGIServer:
        if self._server is None:
            handler = WSGIRequestHandler if self._log_requests else QuietHandler
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

    def start(self) -> Self:
        """Serve in a daemon thread; returns self."""
        if self._thread is None:
            server = self._make_server()
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=self.thread_name,
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

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
