"""Sizing a server's rate budget from ``GET /v2/request-limits/`` without holding up its start.

The server asks once while starting; the call does not wait for a slot of the budget (see
:meth:`OpsGenieClient.request_limits`), so a batch job that filled the shared window does not leave the
server on its fallback limits. Refused (a team key, an older account) or listing nothing: the budget learns
the limits from the answers for good. Failed for a passing reason (OpsGenie unreachable, a 5xx, 429s until
the retries ran out): the budget learns meanwhile, and the question is asked again, in the background, by
the first upstream call made ``every`` seconds or more after the last try, until OpsGenie answers it one way
or the other. The retries ride on the client's own traffic, so an idle server (or one that was stopped) asks
nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from scim_bridge import logs
from scim_bridge.opsgenie.client import OpsGenieClient
from scim_bridge.opsgenie.errors import OpsGenieError
from scim_bridge.ratewindow import FALLBACK
from scim_bridge.ratewindow import LEARNING
from scim_bridge.ratewindow import format_limits

log = logs.get_logger("scim_bridge")
RETRY_EVERY = 60.0


def run_in_daemon_thread(work: Callable[[], object]) -> None:
    threading.Thread(target=work, name="rate-limits-calibration", daemon=True).start()


class Calibration:
    """The calibration of one client's budget. ``clock``, ``spawn`` (how a retry is run off the caller's thread)
    are injectable for tests."""

    def __init__(
        self,
        client: OpsGenieClient,
        *,
        every: float = RETRY_EVERY,
        clock: Callable[[], float] = time.monotonic,
        spawn: Callable[[Callable[[], object]], None] = run_in_daemon_thread,
    ) -> None:
        self.client = client
        self.every = every
        self.mode: str | None = None  # None while the question is open
        self._clock = clock
        self._spawn = spawn
        self._lock = threading.Lock()
        self._next_try = 0.0
        self._trying = False

    def start(self) -> str | None:
        """Ask once now; when that failed for a passing reason, ask again later (see the module). Returns the
        budget's mode, or None while the question is open."""
        self._next_try = self._clock() + self.every
        if self.attempt() is None:
            self.client.before_each_call(self._retry_when_due)
        return self.mode

    def attempt(self) -> str | None:
        """One try: the budget's mode, or None (the budget then learns meanwhile) when OpsGenie did not answer."""
        try:
            self.mode = self.client.calibrate_budget()
        except OpsGenieError as exc:
            learn = getattr(self.client.budget, "learn", None)
            if callable(learn):
                learn()
            log.warning("could not read the OpsGenie request limits; learning them from the answers meanwhile",
                        error=str(exc), retry_in_s=self.every)
            return None
        if self.mode == LEARNING:
            log.warning("OpsGenie does not tell this key its request limits; learning them from the answers")
        elif self.mode != FALLBACK:
            limits = getattr(self.client.budget, "limits", None)
            log.info("rate budget sized from OpsGenie's request limits",
                     limits=format_limits(limits()) if callable(limits) else "")
        return self.mode

    def _retry_when_due(self) -> None:
        """Before each upstream call while the question is open: start one retry when ``every`` seconds passed."""
        with self._lock:
            if self._trying or self.mode is not None or self._clock() < self._next_try:
                return
            self._trying = True
        self._spawn(self._retry)

    def _retry(self) -> None:
        try:
            if self.attempt() is not None:
                self.client.before_each_call(None)
        finally:
            with self._lock:
                self._next_try = self._clock() + self.every
                self._trying = False
