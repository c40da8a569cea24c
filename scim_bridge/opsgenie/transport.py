"""One HTTP call to OpsGenie: rate budget, pooled session, retries and a CallRecord per attempt."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError
from urllib3.exceptions import NewConnectionError

from scim_bridge import __version__
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

logger = logging.getLogger(__name__)

Params = Mapping[str, str | int | None]


class Transport:
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
        self._auth = f"GenieKey {api_key}"
        self._clock = clock
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = retry
        self.budget = budget
        self._on_call = on_call
        self._owns_session = session is None
        self.session = session if session is not None else _pooled_session(pool_size)

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        domain: str = CONFIGURATION,
        repeatable: bool | None = None,
    ) -> dict[str, Any]:
        """Send one logical call, retrying per the policy; return the parsed JSON body.

        ``repeatable`` says whether sending the request twice is harmless; it defaults to True for
        every method but POST.
        """
        if repeatable is None:
            repeatable = method != "POST"
        start = self._clock()
        deadline = start + self.retry.total_budget
        attempt = 0
        waited = 0.0  # counted apart from the clock, so an injected sleep still spends the budget
        while True:
            attempt += 1
            try:
                self.budget.acquire(domain, deadline)
            except BudgetExhausted as exc:
                self._record(method, path, domain, attempt, None, None, 0.0, exc)
                raise
            result = self._attempt(method, path, params, body, domain, attempt)
            if not isinstance(result, OpsGenieError):
                return result
            delay = self.retry.next_delay(
                result,
                attempt=attempt,
                repeatable=repeatable,
                elapsed=max(self._clock() - start, waited),
            )
            if isinstance(result, RateLimited):
                pause = self.retry.delay_for(result, attempt) if delay is None else delay
                self.budget.throttled(domain, pause)
            if delay is None:
                raise result
            self.retry.sleep(delay)
            waited += delay

    def _attempt(
        self, method: str, path: str, params: Params | None, body: Any, domain: str, attempt: int
    ) -> dict[str, Any] | OpsGenieError:
        headers = {"Authorization": self._auth, "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        began = time.perf_counter()
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                params={k: v for k, v in (params or {}).items() if v is not None},
                json=body,
                headers=headers,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            lost = transport_error(exc)
            self._record(method, path, domain, attempt, None, None, time.perf_counter() - began, lost)
            return lost
        duration = time.perf_counter() - began
        if response.status_code >= 300:
            error = error_for(response)
            self._record(method, path, domain, attempt, error.status, error.request_id, duration, error)
            return error
        parsed = _success_body(response)
        header_id = response.headers.get("X-Request-ID")
        if parsed is None:
            invalid = ServerError(
                "OpsGenie returned a body that is not a JSON object",
                status=response.status_code,
                request_id=header_id,
            )
            self._record(method, path, domain, attempt, invalid.status, header_id, duration, invalid)
            return invalid
        body_id = parsed.get("requestId")
        request_id = body_id if isinstance(body_id, str) else header_id
        self._record(method, path, domain, attempt, response.status_code, request_id, duration, None)
        return parsed

    def _record(
        self,
        method: str,
        path: str,
        domain: str,
        attempt: int,
        status: int | None,
        request_id: str | None,
        duration: float,
        error: OpsGenieError | None,
    ) -> None:
        if self._on_call is None:
            return
        record = CallRecord(
            method=method,
            path=path,
            status=status,
            request_id=request_id,
            duration=duration,
            attempt=attempt,
            domain=domain,
            error=None if error is None else f"{type(error).__name__}: {error.message}",
        )
        try:
            self._on_call(record)
        except Exception:  # an observer must never break the call it observes
            logger.exception("on_call observer failed for %s %s", method, path)


def transport_error(exc: requests.RequestException) -> TransportError:
    """Classify a requests failure by whether the request may have reached the server."""
    if isinstance(exc, requests.ConnectTimeout):
        return TransportError("timed out connecting to OpsGenie", maybe_applied=False)
    if isinstance(exc, requests.ReadTimeout):
        return TransportError("timed out waiting for OpsGenie's response", maybe_applied=True)
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        if isinstance(reason, MaxRetryError):
            reason = reason.reason
        if isinstance(reason, NewConnectionError):
            return TransportError("could not connect to OpsGenie", maybe_applied=False)
        return TransportError("connection to OpsGenie dropped", maybe_applied=True)
    return TransportError(f"HTTP exchange with OpsGenie failed ({type(exc).__name__})", maybe_applied=True)


def _pooled_session(pool_size: int) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = f"scim-bridge/{__version__}"
    return session


def _success_body(response: requests.Response) -> dict[str, Any] | None:
    """The JSON object of a 2xx body ({} when empty), or None when it is not a JSON object."""
    if not response.content:
        return {}
    try:
        parsed = response.json()
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None
