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

import random as _random
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

from scim_bridge.atlassian.errors import AtlassianError
from scim_bridge.atlassian.errors import RateLimited
from scim_bridge.atlassian.errors import ServerError
from scim_bridge.atlassian.errors import TransportError


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    total_budget: float = 20.0
    enable_ops_window: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    random: Callable[[], float] = field(default=_random.random, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    def should_retry(self, error: AtlassianError, *, attempt: int, repeatable: bool) -> bool:
        """Whether ``error`` on attempt ``attempt`` (1-based) deserves another attempt."""
        if attempt >= self.max_attempts:
            return False
        if isinstance(error, TransportError):
            return repeatable or not error.maybe_applied
        if isinstance(error, RateLimited):
            return True
        if isinstance(error, ServerError):
            return repeatable and error.status != 501
        return False

    def backoff(self, attempt: int) -> float:
        """Jittered wait after attempt ``attempt``: between half and all of the capped exponential."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** max(0, attempt - 1))
        return ceiling / 2 + self.random() * ceiling / 2

    def delay_for(self, error: AtlassianError, attempt: int) -> float:
        """``Retry-After`` when the answer has one (reissuing earlier fails again), else the back-off."""
        server = error.retry_after()
        return server if server is not None else self.backoff(attempt)

    def next_delay(self, error: AtlassianError, *, attempt: int, repeatable: bool, elapsed: float) -> float | None:
        """The wait before the next attempt, or None to give up (not retryable, or over the time budget)."""
        if not self.should_retry(error, attempt=attempt, repeatable=repeatable):
            return None
        delay = self.delay_for(error, attempt)
        if elapsed + delay > self.total_budget:
            return None
        return delay
