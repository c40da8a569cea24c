"""When the client repeats a failed call, and how long it waits first.

OpsGenie has no idempotency keys, so the rules depend on whether repeating the request is safe:

- a connection that never reached the server, and 429, are retried for every request;
- a 5xx (except 501), a read timeout or a connection dropped after sending are retried only when the
  request is *repeatable* (GET, DELETE, PATCH/PUT with the same body, team member add/remove). A
  create (POST) that may have been applied is raised instead, so the caller can look the entity up
  before repeating it;
- every call has an overall time budget; a wait that would overrun it ends the retries.

Waits are capped exponential backoff with jitter; a ``Retry-After`` header is honoured, and on 429
so is ``X-RateLimit-Period-In-Sec`` (capped at ``max_delay``).
"""

from __future__ import annotations

from dataclasses import dataclass

from scim_bridge.opsgenie.errors import RateLimited
from scim_bridge.upstream_http import RetryRules
from scim_bridge.upstream_http import UpstreamError


@dataclass(frozen=True)
class RetryPolicy(RetryRules):
    """Retry rules for one OpsGenie client. ``sleep`` and ``random`` are injectable for tests."""

    def delay_for(self, error: UpstreamError, attempt: int) -> float:
        """The wait before the next attempt, taking the server's hints into account."""
        delay = self.backoff(attempt)
        retry_after = error.header_seconds("Retry-After")
        if retry_after is not None:
            return max(delay, retry_after)
        if isinstance(error, RateLimited):
            period = error.header_seconds("X-RateLimit-Period-In-Sec")
            if period is not None:
                return max(delay, min(period, self.max_delay))
        return delay
