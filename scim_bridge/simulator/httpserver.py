"""Run a simulator's WSGI app as a real HTTP server (threaded werkzeug), in a daemon thread or in the foreground.

Generic: both the OpsGenie and the Atlassian simulator servers are built on :class:`BackgroundServer`, and
:class:`PromptServer` serves any WSGI app (the test suite serves its bridges with it).
"""

from __future__ import annotations

import selectors
import socket
import threading
from types import TracebackType
from typing import Any
from typing import Self
from typing import TypedDict

from werkzeug.serving import ThreadedWSGIServer
from werkzeug.serving import WSGIRequestHandler


class PromptServer(ThreadedWSGIServer):
    """A threaded werkzeug server whose ``shutdown()`` returns at once.

    The standard ``serve_forever`` wakes every ``poll_interval`` to look for a shutdown request, so stopping a
    server costs up to that long. Here the loop waits on the listening socket and on a wake-up socket pair
    together: ``shutdown()`` writes to the pair, and the loop ends without any timed wait.
    """

    daemon_threads = True
    # handle_request() is only called once the listening socket is readable; it must never wait itself.
    timeout = 0

    def __init__(self, host: str, port: int, app: Any, handler: type[WSGIRequestHandler] | None = None,
                 *, ssl_context: Any = None) -> None:
        super().__init__(host, port, app, handler, ssl_context=ssl_context)
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._serving = threading.Lock()  # held by serve_forever while it runs

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serve until :meth:`shutdown` (``poll_interval`` is accepted for compatibility and unused)."""
        with self._serving, selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while True:
                ready = [key.fileobj for key, _ in selector.select()]
                if self._wake_reader in ready:
                    self._wake_reader.recv(1)
                    return
                self.handle_request()

    def shutdown(self) -> None:
        """Stop :meth:`serve_forever` (running in another thread) and wait until it has returned.

        A loop that has not started yet ends as soon as it starts.
        """
        self._wake_writer.send(b"x")
        with self._serving:
            pass

    def server_close(self) -> None:
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()


class QuietHandler(WSGIRequestHandler):
    """Request handler without the per-request access log line."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log(self, type: str, message: str, *args: Any) -> None:
        if type == "error":
            super().log(type, message, *args)


class Listen(TypedDict, total=False):
    """Where and how a :class:`BackgroundServer` listens; a simulator server takes these as keywords."""

    host: str
    port: int
    log_requests: bool


class BackgroundServer:
    """``app`` served on ``host:port`` (port 0 picks a free port); the socket is bound on first use."""

    thread_name = "simulator"

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, log_requests: bool = False) -> None:
        self.app = app
        self._host = host
        self._port = port
        self._log_requests = log_requests
        self._server: PromptServer | None = None
        self._thread: threading.Thread | None = None

    def _make_server(self) -> PromptServer:
        if self._server is None:
            handler = WSGIRequestHandler if self._log_requests else QuietHandler
            self._server = PromptServer(self._host, self._port, self.app, handler)
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
            self._thread = threading.Thread(target=server.serve_forever, name=self.thread_name, daemon=True)
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
