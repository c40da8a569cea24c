"""Sizing a server's rate budget from ``GET /v2/request-limits/`` without holding up its start.

The server asks once while starting (the call does not wait for a slot of the budget, see
:meth:`OpsGenieClient.request_limits`). Refused (a team key, an older account) or listing nothing: the budget
learns the limits from the answers for good. Failed for a passing reason (OpsGenie unreachable, a 5xx, 429s
until the retries ran out): the budget learns meanwhile, and the question is asked again every ``every``
seconds in a daemon thread until OpsGenie answers it one way or the other.
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
    """The calibration of one client's budget. ``sleep`` and ``spawn`` (how the retries are run in the
    background) are injectable for tests."""

    def __init__(
        self,
        client: OpsGenieClient,
        *,
        every: float = RETRY_EVERY,
        sleep: Callable[[float], None] = time.sleep,
        spawn: Callable[[Callable[[], object]], None] = run_in_daemon_thread,
    ) -> None:
        self.client = client
        self.every = every
        self._sleep = sleep
        self._spawn = spawn

    def start(self) -> str | None:
        """Ask once now; when that failed for a passing reason, keep asking in the background. Returns the
        budget's mode, or None when the question is still open."""
        mode = self.attempt()
        if mode is None:
            self._spawn(self.retry_until_answered)
        return mode

    def attempt(self) -> str | None:
        """One try: the budget's mode, or None (the budget then learns meanwhile) when OpsGenie did not answer."""
        try:
            mode = self.client.calibrate_budget()
        except OpsGenieError as exc:
            learn = getattr(self.client.budget, "learn", None)
            if callable(learn):
                learn()
            log.warning("could not read the OpsGenie request limits; learning them from the answers meanwhile",
                        error=str(exc), retry_in_s=self.every)
            return None
        if mode == LEARNING:
            log.warning("OpsGenie does not tell this key its request limits; learning them from the answers")
        elif mode != FALLBACK:
            limits = getattr(self.client.budget, "limits", None)
            shown = format_limits(limits()) if callable(limits) else ""
            log.info("rate budget sized from OpsGenie's request limits", limits=shown)
        return mode

    def retry_until_answered(self) -> int:
        """Ask every ``every`` seconds until OpsGenie answers; returns the number of tries."""
        tries = 0
        while True:
            self._sleep(self.every)
            tries += 1
            if self.attempt() is not None:
                return tries
