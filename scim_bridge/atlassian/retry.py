"""When the Atlassian client repeats a failed call, and how long it waits first.

- 429 is retried for every request (the call was refused, not applied), after ``Retry-After`` seconds when
  the answer carries it, else after a capped exponential back-off with jitter;
- a 5xx (except 501), a read timeout or a connection dropped after sending are retried only when the
  request is *repeatable* (GET, DELETE, PATCH, and POSTs whose repetition changes nothing, such as a member
  listing or a role assignment). A create that may have been applied is raised instead, so the caller
  reads the state before deciding to send it again;
- a connection that never reached the server is retried for every request;
- every logical call has a time budget; a wait that would overrun it ends the retries.

``sleep``, ``random`` and ``clock`` are injectable so tests never wait. The enable-operations window
(atlassian-api.md 6.1: 404/403/422 for a while after a team is created) is a separate budget,
``enable_ops_window``, spent by :meth:`AtlassianClient.enable_ops`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

from scim_bridge.upstream_http import RetryRules
from scim_bridge.upstream_http import UpstreamError


@dataclass(frozen=True)
class RetryPolicy(RetryRules):
    """Retry rules for one Atlassian client; ``clock`` (with ``sleep`` and ``random``) is injectable."""

    enable_ops_window: float = 30.0
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    def delay_for(self, error: UpstreamError, attempt: int) -> float:
        """``Retry-After`` when the answer has one (reissuing earlier fails again), else the back-off."""
        server = error.header_seconds("Retry-After")
        return server if server is not None else self.backoff(attempt)
