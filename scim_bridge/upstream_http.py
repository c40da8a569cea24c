"""HTTP pieces every upstream client shares: the pooled session, the record of one attempt and how it is
reported, how a failure below HTTP is classified, jittered back-off, and reading error bodies and headers.

Knows no upstream: the OpsGenie and Atlassian clients build their own errors and rules on top of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError
from urllib3.exceptions import NewConnectionError

from scim_bridge import __version__

logger = logging.getLogger(__name__)


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


def jittered_backoff(attempt: int, *, base: float, ceiling: float, random: Callable[[], float]) -> float:
    """The wait after attempt ``attempt`` (1-based): between half and all of the capped exponential."""
    top = min(ceiling, base * 2.0 ** max(0, attempt - 1))
    return top / 2 + random() * top / 2


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
