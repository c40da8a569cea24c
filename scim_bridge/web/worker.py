"""The gunicorn worker of ``scim-bridge serve``: gunicorn's gthread worker, with two time limits it lacks, and an end
that closes what the bridge opened.

- **Request headers** must be complete within a deadline. gthread waits for a connection's first bytes
  without a thread, but then reads the header lines in a thread with no time limit: a client sending them
  a byte at a time (or stopping half-way) would hold that thread for as long as it likes. The body
  deadline's watchdog (:data:`scim_bridge.web.body.WATCHDOG`) shuts the connection's read side when the
  headers are late, which ends the read; the watch ends as soon as the application is called.
- **Its end** closes the bridge's database connections and stops its sync loop (``Bridge.close``) instead of
  leaving them to the interpreter's exit.
- **Closing a connection** (after ``Connection: close``, an error, or a body the bridge gave up on) waits up
  to 2 s for the client to finish sending, so that unread bytes do not turn the close into a reset. gthread
  does that wait in the worker's main loop, where it stops every other connection from being accepted or
  served; here it happens in the request's own thread.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from gunicorn.workers.gthread import DEFAULT_WORKER_DATA_TIMEOUT
from gunicorn.workers.gthread import ThreadWorker

from scim_bridge.web.body import WATCHDOG

#: Seconds the request line and headers may take, when the bridge's settings are not at hand.
HEADER_DEADLINE = 30.0


class BridgeThreadWorker(ThreadWorker):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watching = threading.local()

    def header_deadline(self) -> float:
        settings = getattr(self.app, "settings", None)
        return float(getattr(settings, "body_deadline", HEADER_DEADLINE))

    def load_wsgi(self) -> None:
        super().load_wsgi()
        application: Any = getattr(self, "wsgi")  # noqa: B009 - set by gunicorn, untyped

        def headers_arrived(environ: dict[str, Any], start_response: Any) -> Any:
            self._stop_watching()  # the request line and headers are in: the header deadline is over
            return application(environ, start_response)

        self.wsgi = headers_arrived
        self.application = application

    def run(self) -> None:
        try:
            super().run()
        finally:  # the last request is answered (or the graceful timeout passed): close the bridge's resources
            bridge = getattr(getattr(self, "application", None), "extensions", {}).get("scim_bridge")
            if bridge is not None:
                bridge.close()

    def handle(self, conn: Any) -> Any:
        # A new connection whose first bytes have not arrived yet waits up to DEFAULT_WORKER_DATA_TIMEOUT for
        # them (then goes back to the main loop); the headers then have the deadline. One whose bytes are
        # there (most: the main loop hands over a readable connection) has the deadline from now.
        first_bytes = 0.0 if conn.wait_for_data(0) else DEFAULT_WORKER_DATA_TIMEOUT
        deadline = time.monotonic() + first_bytes + self.header_deadline()
        self._watching.ident = WATCHDOG.watch(deadline, conn.sock)
        try:
            result = super().handle(conn)
        finally:
            self._stop_watching()
        if result is False:
            conn.close(graceful=True)  # here, not in the main loop (see the module's notes)
            conn.close = _closed
        return result

    def _stop_watching(self) -> None:
        ident = getattr(self._watching, "ident", None)
        if ident is not None:
            WATCHDOG.release(ident)
            self._watching.ident = None


def _closed(graceful: bool = False) -> None:
    """What closing a connection closed already does: nothing."""
