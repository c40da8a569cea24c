"""One HTTP call to OpsGenie: rate budget, pooled session, retries and a CallRecord per attempt."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

import requests

from scim_bridge.opsgenie.errors import FAMILY
from scim_bridge.opsgenie.errors import BudgetExhausted
from scim_bridge.opsgenie.errors import OpsGenieError
from scim_bridge.opsgenie.errors import RateLimited
from scim_bridge.opsgenie.errors import ServerError
from scim_bridge.opsgenie.errors import TransportError
from scim_bridge.opsgenie.errors import error_for
from scim_bridge.opsgenie.ratelimit import CONFIGURATION
from scim_bridge.opsgenie.ratelimit import RateBudget
from scim_bridge.opsgenie.records import CallRecord
from scim_bridge.opsgenie.retry import RetryPolicy
from scim_bridge.ratewindow import NoSlot
from scim_bridge.upstream_http import PooledTransport
from scim_bridge.upstream_http import request_failure
from scim_bridge.upstream_http import seconds

Params = Mapping[str, str | int | None]


class Transport(PooledTransport):
    """Sends requests with the GenieKey header over one pooled session.

    The key lives only in the header built for each request; it is never stored on the session,
    logged, or put into a CallRecord or an error.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str,
        session: requests.Session | None,
        timeout: tuple[float, float],
        retry: RetryPolicy,
        budget: RateBudget,
        on_call: Callable[[CallRecord], None] | None,
        pool_size: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(session=session, timeout=timeout, on_call=on_call, pool_size=pool_size)
        self._auth = f"GenieKey {api_key}"
        self._clock = clock
        self.base_url = base_url.rstrip("/")
        self.retry = retry
        self.budget = budget
        self.before_send: Callable[[], None] | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        domain: str = CONFIGURATION,
        repeatable: bool | None = None,
        metered: bool = True,
    ) -> dict[str, Any]:
        """Send one logical call, retrying per the policy; return the parsed JSON body.

        ``repeatable`` says whether sending the request twice is harmless; it defaults to True for
        every method but POST. ``metered=False`` takes a slot of the rate budget when one is free now and
        otherwise sends without waiting for one (the call that reads the limits must not depend on the budget it
        sizes); its 429s still reach the budget.
        """
        if repeatable is None:
            repeatable = method != "POST"
        if self.before_send is not None:
            self.before_send()
        start = self._clock()
        deadline = start + self.retry.total_budget
        attempt = 0
        waited = 0.0  # counted apart from the clock, so an injected sleep still spends the budget
        failed: OpsGenieError | None = None  # the previous attempt's failure
        while True:
            attempt += 1
            try:
                self.budget.acquire(domain, deadline if metered else -math.inf)
            except NoSlot as full:
                if metered:
                    exc = BudgetExhausted(str(full), retry_after=full.retry_after, domain=full.domain)
                    self.record(method, path, domain, attempt, None, None, 0.0, exc)
                    raise exc from None
            result = self.retry.settled(method, self._attempt(method, path, params, body, domain, attempt), failed)
            if not isinstance(result, OpsGenieError):
                return result
            failed = result
            delay = self.retry.next_delay(
                result,
                attempt=attempt,
                repeatable=repeatable,
                elapsed=max(self._clock() - start, waited),
            )
            if isinstance(result, RateLimited):
                pause = self.retry.delay_for(result, attempt) if delay is None else delay
                self.budget.throttled(domain, pause, result.rate_limit_period())
            if delay is None:
                raise result
            self.retry.sleep(delay)
            waited += delay

    def _attempt(
        self, method: str, path: str, params: Params | None, body: Any, domain: str, attempt: int
    ) -> dict[str, Any] | OpsGenieError:
        began = time.perf_counter()
        try:
            response = self.send(method, self.base_url + path, self._auth, params, body)
        except requests.RequestException as exc:
            lost = transport_error(exc)
            self.record(method, path, domain, attempt, None, None, time.perf_counter() - began, lost)
            return lost
        duration = time.perf_counter() - began
        if response.status_code >= 300:
            error = error_for(response)
            self.record(method, path, domain, attempt, error.status, error.request_id, duration, error)
            return error
        parsed = _success_body(response)
        header_id = response.headers.get("X-Request-ID")
        if parsed is None:
            invalid = FAMILY.of(ServerError)(
                "OpsGenie returned a body that is not a JSON object",
                status=response.status_code,
                request_id=header_id,
            )
            self.record(method, path, domain, attempt, invalid.status, header_id, duration, invalid)
            return invalid
        if response.headers.get("X-RateLimit-State", "").upper() == "THROTTLED":  # answered, but held back
            self.budget.throttled(domain, 0.0, seconds(response.headers.get("X-RateLimit-Period-In-Sec")))
        body_id = parsed.get("requestId")
        request_id = body_id if isinstance(body_id, str) else header_id
        self.record(method, path, domain, attempt, response.status_code, request_id, duration, None)
        return parsed


def transport_error(exc: requests.RequestException) -> TransportError:
    """Classify a requests failure by whether the request may have reached the server."""
    message, maybe_applied = request_failure(exc, "OpsGenie")
    return TransportError(message, maybe_applied=maybe_applied)


def _success_body(response: requests.Response) -> dict[str, Any] | None:
    """The JSON object of a 2xx body ({} when empty), or None when it is not a JSON object."""
    if not response.content:
        return {}
    try:
        parsed = response.json()
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None
