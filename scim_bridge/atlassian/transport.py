"""One HTTP call to an Atlassian API family: auth per family, pooled session, retries, a record per attempt.

Each family has its own base URL and credentials (atlassian-api.md section 1): Teams, JSM Operations and
Jira take Basic ``email:api-token``, the Organizations admin API a Bearer organization key. The secrets live
only in the header built for each request; they are never put on the session, logged, or copied into a
CallRecord or an error. Every attempt is reported to ``on_call`` as a :class:`CallRecord` (the record the
OpsGenie client reports, with the family as its ``domain``), so the console, the audit log and the metrics
treat both upstreams alike.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import requests

from scim_bridge.atlassian.errors import FAMILY
from scim_bridge.atlassian.errors import AtlassianError
from scim_bridge.atlassian.errors import ServerError
from scim_bridge.atlassian.errors import TransportError
from scim_bridge.atlassian.errors import error_for
from scim_bridge.atlassian.errors import family_name
from scim_bridge.atlassian.retry import RetryPolicy
from scim_bridge.upstream_http import CallRecord
from scim_bridge.upstream_http import PooledTransport
from scim_bridge.upstream_http import request_failure

Params = Mapping[str, str | int | None]


@dataclass(frozen=True)
class Endpoint:
    """Where one family lives and the Authorization header it takes."""

    base_url: str
    authorization: str = field(repr=False)

    @classmethod
    def basic(cls, base_url: str, email: str, api_token: str) -> Endpoint:
        pair = base64.b64encode(f"{email}:{api_token}".encode()).decode()
        return cls(base_url.rstrip("/"), f"Basic {pair}")

    @classmethod
    def bearer(cls, base_url: str, key: str) -> Endpoint:
        return cls(base_url.rstrip("/"), f"Bearer {key}")


class Transport(PooledTransport):
    """Sends requests to the families of ``endpoints`` over one pooled session."""

    def __init__(
        self,
        endpoints: Mapping[str, Endpoint],
        *,
        session: requests.Session | None,
        timeout: tuple[float, float],
        retry: RetryPolicy,
        on_call: Callable[[CallRecord], None] | None,
        pool_size: int,
    ) -> None:
        super().__init__(session=session, timeout=timeout, on_call=on_call, pool_size=pool_size)
        self.endpoints = dict(endpoints)
        self.retry = retry

    def request(
        self,
        family: str,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        repeatable: bool | None = None,
    ) -> Any:
        """Send one logical call, retrying per the policy; return the parsed JSON body ({} when empty).

        ``repeatable``: whether sending the request twice is harmless; by default True for every method but POST.
        """
        if repeatable is None:
            repeatable = method != "POST"
        start = self.retry.clock()
        attempt = 0
        waited = 0.0  # counted apart from the clock, so an injected sleep still spends the budget
        failed: AtlassianError | None = None  # the previous attempt's failure
        while True:
            attempt += 1
            result = self.retry.settled(method, self._attempt(family, method, path, params, body, attempt), failed)
            if not isinstance(result, AtlassianError):
                return result
            failed = result
            elapsed = max(self.retry.clock() - start, waited)
            delay = self.retry.next_delay(result, attempt=attempt, repeatable=repeatable, elapsed=elapsed)
            if delay is None:
                raise result
            self.retry.sleep(delay)
            waited += delay

    def _attempt(
        self, family: str, method: str, path: str, params: Params | None, body: Any, attempt: int
    ) -> Any:
        endpoint = self.endpoints[family]
        began = time.perf_counter()
        try:
            response = self.send(method, endpoint.base_url + path, endpoint.authorization, params, body)
        except requests.RequestException as exc:
            lost = transport_error(exc, family)
            self.record(method, path, family, attempt, None, None, time.perf_counter() - began, lost)
            return lost
        duration = time.perf_counter() - began
        request_id = response.headers.get("X-Request-Id") or response.headers.get("atl-traceid")
        if response.status_code >= 300:
            error = error_for(response, family)
            self.record(method, path, family, attempt, error.status, request_id, duration, error)
            return error
        try:
            parsed = response.json() if response.content else {}
        except ValueError:
            invalid = FAMILY.of(ServerError)(f"{family_name(family)} returned a body that is not JSON",
                                             family=family, status=response.status_code, request_id=request_id)
            self.record(method, path, family, attempt, invalid.status, request_id, duration, invalid)
            return invalid
        self.record(method, path, family, attempt, response.status_code, request_id, duration, None)
        return parsed


def transport_error(exc: requests.RequestException, family: str) -> TransportError:
    """Classify a requests failure by whether the request may have reached the server."""
    message, maybe_applied = request_failure(exc, family_name(family))
    return TransportError(message, family=family, maybe_applied=maybe_applied)
