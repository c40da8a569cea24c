"""HTTP pieces every upstream client shares: the pooled session and one request on it, the record of one
attempt and how it is reported, the base of the clients' errors, how a failure below HTTP is classified, the
retry rules, and reading error bodies and headers.

Knows no upstream: the OpsGenie and Atlassian clients build their own errors and rules on top of it.
"""

from __future__ import annotations

import logging
import random as _random
import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import ClassVar
from typing import Generic
from typing import Self
from typing import TypeVar
from typing import cast

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError
from urllib3.exceptions import NewConnectionError

from scim_bridge import __version__

logger = logging.getLogger(__name__)
E = TypeVar("E", bound="UpstreamError")
AttemptResult = TypeVar("AttemptResult")  # one attempt's result: a parsed body or an UpstreamError


@dataclass(frozen=True)
class CallRecord:
    """One HTTP attempt (or one refused by the rate budget), for the audit log and metrics.

    ``status`` is None when no response arrived; ``error`` names the failure, None on success.
    ``duration`` is in seconds and covers the HTTP exchange only, not rate-budget waits. ``domain`` is the
    OpsGenie rate-limit domain, or the Atlassian API family.
    """

    method: str
    path: str
    status: int | None
    request_id: str | None
    duration: float
    attempt: int
    domain: str
    error: str | None = None


def report(on_call: Callable[[CallRecord], None] | None, record: CallRecord) -> None:
    """Hand ``record`` to the observer; an observer must never break the call it observes."""
    if on_call is None:
        return
    try:
        on_call(record)
    except Exception:
        logger.exception("on_call observer failed for %s %s", record.method, record.path)


def pooled_session(pool_size: int) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = f"scim-bridge/{__version__}"
    return session


class UpstreamError(Exception):
    """What every upstream client's error carries: the message, the HTTP status (None without a response),
    ``errors`` (field or title to message or code), the request id and the response headers.

    ``maybe_applied`` is set only on a failure below HTTP (True when the request may have reached the
    server); ``throttled`` and ``server_failure`` mark the 429 and 5xx classes. The retry rules read these.
    """

    throttled: ClassVar[bool] = False
    server_failure: ClassVar[bool] = False
    maybe_applied: bool | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        errors: Mapping[str, str] | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors: dict[str, str] = dict(errors or {})
        self.request_id = request_id
        self.headers: dict[str, str] = dict(headers or {})

    def header_seconds(self, name: str) -> float | None:
        """A response header holding seconds (``Retry-After``...), when present and numeric."""
        return seconds(header(self.headers, name))


# --- one class per HTTP status, shared by every upstream ----------------------------------------------
class BadRequest(UpstreamError):
    """400: the request was malformed or a value is invalid."""


class AuthenticationFailed(UpstreamError):
    """401: the credentials (API key, e-mail and API token, organization key) were refused."""


class PaymentRequired(UpstreamError):
    """402: the plan does not allow the action (for example no seats left)."""


class PermissionDenied(UpstreamError):
    """403: the credentials are valid but lack the right for this operation."""


class NotFound(UpstreamError):
    """404: the entity (or the handler) does not exist, or is not visible."""


class Conflict(UpstreamError):
    """409: the id or name is taken, or the entity is in a state that forbids the call."""


class Gone(UpstreamError):
    """410: the entity was deleted."""


class Unprocessable(UpstreamError):
    """422: the body failed validation."""


class PreconditionRequired(UpstreamError):
    """428: the entity is still referenced by another entity."""


class RateLimited(UpstreamError):
    """429: slow down; ``Retry-After`` says for how long when present."""

    throttled = True


class ServerError(UpstreamError):
    """5xx: the upstream service failed."""

    server_failure = True


KIND_BY_STATUS: dict[int, type[UpstreamError]] = {
    400: BadRequest, 401: AuthenticationFailed, 402: PaymentRequired, 403: PermissionDenied, 404: NotFound,
    409: Conflict, 410: Gone, 422: Unprocessable, 428: PreconditionRequired, 429: RateLimited,
}


def status_kind(status: int) -> type[UpstreamError] | None:
    """The class of an HTTP error status (a 5xx is :class:`ServerError`); None for one without its own class."""
    return KIND_BY_STATUS.get(status, ServerError if status >= 500 else None)


class ErrorFamily(Generic[E]):
    """One upstream's error classes: for each status class, a subclass of it and of the upstream's ``base``,
    made once. What a client raises is both, so ``except NotFound`` and ``except OpsGenieError`` both catch it.
    """

    def __init__(self, base: type[E]) -> None:
        self.base = base
        self.classes: dict[type[UpstreamError], type[E]] = {
            kind: cast("type[E]", type(kind.__name__, (base, kind), {"__module__": base.__module__,
                                                                      "__doc__": kind.__doc__}))
            for kind in (*KIND_BY_STATUS.values(), ServerError)
        }

    def of(self, kind: type[UpstreamError]) -> type[E]:
        """This upstream's class for ``kind`` (``ServerError``...)."""
        return self.classes[kind]

    def for_status(self, status: int) -> type[E]:
        """This upstream's class for an HTTP error status; the base for a status without its own class."""
        kind = status_kind(status)
        return self.base if kind is None else self.classes[kind]


class PooledTransport:
    """Owns (or borrows) the pooled session, sends one request on it and reports each attempt."""

    def __init__(
        self,
        *,
        session: requests.Session | None,
        timeout: tuple[float, float],
        on_call: Callable[[CallRecord], None] | None,
        pool_size: int,
    ) -> None:
        self.timeout = timeout
        self.on_call = on_call
        self.owns_session = session is None
        self.session = session if session is not None else pooled_session(pool_size)

    def close(self) -> None:
        if self.owns_session:
            self.session.close()

    def send(
        self, method: str, url: str, authorization: str, params: Mapping[str, str | int | None] | None, body: Any
    ) -> requests.Response:
        """One HTTP exchange with JSON in and out; parameters whose value is None are left out."""
        headers = {"Authorization": authorization, "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        return self.session.request(
            method,
            url,
            params={k: v for k, v in (params or {}).items() if v is not None},
            json=body,
            headers=headers,
            timeout=self.timeout,
        )

    def record(
        self,
        method: str,
        path: str,
        domain: str,
        attempt: int,
        status: int | None,
        request_id: str | None,
        duration: float,
        error: UpstreamError | None,
    ) -> None:
        """Report one attempt; the error is named by its class and message, never its headers."""
        report(self.on_call, CallRecord(
            method=method, path=path, status=status, request_id=request_id, duration=duration, attempt=attempt,
            domain=domain, error=None if error is None else f"{type(error).__name__}: {error.message}",
        ))


TransportT = TypeVar("TransportT", bound=PooledTransport)


class PooledClient(Generic[TransportT]):
    """An upstream client over its transport (``_http``): closing the client closes the transport (and the
    session when the transport owns it); the client is also a context manager that closes it on exit."""

    _http: TransportT

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def request_failure(exc: requests.RequestException, upstream: str) -> tuple[str, bool]:
    """(what happened, whether the request may have reached the server) for a requests failure."""
    if isinstance(exc, requests.ConnectTimeout):
        return f"timed out connecting to {upstream}", False
    if isinstance(exc, requests.ReadTimeout):
        return f"timed out waiting for {upstream}'s response", True
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        if isinstance(reason, MaxRetryError):
            reason = reason.reason
        if isinstance(reason, NewConnectionError):
            return f"could not connect to {upstream}", False
        return f"connection to {upstream} dropped", True
    return f"HTTP exchange with {upstream} failed ({type(exc).__name__})", True


@dataclass(frozen=True)
class RetryRules:
    """What both clients' retry policies share: attempts, capped jittered back-off, one time budget per call.

    A failure is retried when it reached no server (``maybe_applied`` False), was throttled (429: refused,
    not applied), or is a 5xx other than 501 or a lost answer of a request that is safe to repeat.
    ``sleep`` and ``random`` are injectable for tests.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    total_budget: float = 20.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    random: Callable[[], float] = field(default=_random.random, compare=False)

    def backoff(self, attempt: int) -> float:
        """Jittered wait after attempt ``attempt`` (1-based): between half and all of the capped exponential."""
        top = min(self.max_delay, self.base_delay * 2.0 ** max(0, attempt - 1))
        return top / 2 + self.random() * top / 2

    def retryable(self, *, attempt: int, repeatable: bool, maybe_applied: bool | None = None,
                  throttled: bool = False, status: int | None = None) -> bool:
        """``maybe_applied``: set for a failure below HTTP; ``status``: set for a 5xx answer."""
        if attempt >= self.max_attempts:
            return False
        if maybe_applied is not None:
            return repeatable or not maybe_applied
        if throttled:
            return True
        return status is not None and repeatable and status != 501

    def within_budget(self, delay: float, elapsed: float) -> float | None:
        """``delay``, or None when waiting it would overrun the call's time budget."""
        return None if elapsed + delay > self.total_budget else delay

    def should_retry(self, error: UpstreamError, *, attempt: int, repeatable: bool) -> bool:
        """Whether ``error`` on attempt ``attempt`` (1-based) deserves another attempt."""
        return self.retryable(
            attempt=attempt,
            repeatable=repeatable,
            maybe_applied=error.maybe_applied,
            throttled=error.throttled,
            status=error.status if error.server_failure else None,
        )

    def delay_for(self, error: UpstreamError, attempt: int) -> float:
        """The wait before the next attempt; each client adds the server's hints it honours."""
        return self.backoff(attempt)

    @staticmethod
    def settled(method: str, result: AttemptResult, earlier: UpstreamError | None) -> AttemptResult | dict[str, Any]:
        """An attempt's result (a body or an UpstreamError) as the call's: a repeated DELETE answered 404 after an
        attempt that may have been applied (a 5xx, or an answer lost after sending) succeeded, since that attempt
        deleted the entity (an empty body)."""
        if method == "DELETE" and isinstance(result, NotFound) and earlier is not None and (
                earlier.server_failure or earlier.maybe_applied):
            return {}
        return result

    def next_delay(self, error: UpstreamError, *, attempt: int, repeatable: bool, elapsed: float) -> float | None:
        """The wait before the next attempt, or None to give up (not retryable, or over the time budget)."""
        if not self.should_retry(error, attempt=attempt, repeatable=repeatable):
            return None
        return self.within_budget(self.delay_for(error, attempt), elapsed)


def json_object(response: requests.Response) -> dict[str, Any]:
    """The response body when it is a JSON object, else {}."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name."""
    lowered = name.lower()
    return next((value for key, value in headers.items() if key.lower() == lowered), None)


def seconds(value: str | None) -> float | None:
    """A header holding seconds (``Retry-After``), when present and numeric; never negative."""
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None
