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

from gunicorn.workers import gthread
from gunicorn.workers.gthread import DEFAULT_WORKER_DATA_TIMEOUT
from gunicorn.workers.gthread import ThreadWorker

from scim_bridge.web.body import WATCHDOG

#: Seconds the request line and headers may take, when the bridge's settings are not at hand.
HEADER_DEADLINE = 30.0
#: What gthread's ``handle`` returns for a connection whose first bytes did not come in time: the main loop then
#: watches it without holding a thread. gthread gives the marker no public name; the lock file pins the release.
BACK_TO_MAIN_LOOP: Any = gthread._DEFER


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
        # A new connection whose first bytes have not arrived waits for them here, as gthread would, and goes back
        # to the main loop if they take longer; the header deadline starts when they arrive. (Counting the wait
        # in the deadline would give a client that connects and then stalls half-way through its headers up to
        # DEFAULT_WORKER_DATA_TIMEOUT more than the deadline.)
        if not conn.initialized and not conn.wait_for_data(DEFAULT_WORKER_DATA_TIMEOUT):
            return BACK_TO_MAIN_LOOP
        deadline = time.monotonic() + self.header_deadline()
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
