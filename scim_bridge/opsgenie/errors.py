"""Errors raised by the OpsGenie client.

Every non-2xx response becomes an :class:`OpsGenieError` chosen by :func:`error_for`: for a status with a class of
its own (``NotFound``, ``RateLimited``... of :mod:`scim_bridge.upstream_http`, importable from here) one that is
also that class (:data:`FAMILY`). Failures below HTTP become :class:`TransportError`; a client-side rate budget
that cannot be met in time becomes :class:`BudgetExhausted`.
"""

from __future__ import annotations

import requests

from scim_bridge.upstream_http import AuthenticationFailed as AuthenticationFailed
from scim_bridge.upstream_http import BadRequest as BadRequest
from scim_bridge.upstream_http import Conflict as Conflict
from scim_bridge.upstream_http import ErrorFamily
from scim_bridge.upstream_http import Gone as Gone
from scim_bridge.upstream_http import NotFound as NotFound
from scim_bridge.upstream_http import PaymentRequired as PaymentRequired
from scim_bridge.upstream_http import PermissionDenied as PermissionDenied
from scim_bridge.upstream_http import PreconditionRequired as PreconditionRequired
from scim_bridge.upstream_http import RateLimited as RateLimited
from scim_bridge.upstream_http import ServerError as ServerError
from scim_bridge.upstream_http import Unprocessable as Unprocessable
from scim_bridge.upstream_http import UpstreamError as UpstreamError
from scim_bridge.upstream_http import json_object


class OpsGenieError(UpstreamError):
    """An OpsGenie error response (or a client-side failure that stands in for one)."""

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.errors:
            parts.append("errors=" + ", ".join(f"{k}: {v}" for k, v in sorted(self.errors.items())))
        if self.request_id:
            parts.append(f"requestId={self.request_id}")
        return " ".join(parts)

    def server_retry_after(self) -> float | None:
        """The ``Retry-After`` header alone, in seconds, when present and numeric."""
        return self.header_seconds("Retry-After")

    def rate_limit_period(self) -> float | None:
        """``X-RateLimit-Period-In-Sec``: the window (1 or 60 s) that triggered throttling."""
        return self.header_seconds("X-RateLimit-Period-In-Sec")


class TransportError(OpsGenieError):
    """No HTTP response: the connection failed or timed out.

    ``maybe_applied`` is True when the request may have reached the server (a read timeout, or a
    connection dropped after sending), so repeating a non-idempotent write could apply it twice.
    """

    def __init__(self, message: str, *, maybe_applied: bool) -> None:
        super().__init__(message)
        self.maybe_applied = maybe_applied


class BudgetExhausted(OpsGenieError):
    """The client-side rate budget cannot be met before the call's deadline."""

    def __init__(self, message: str, *, retry_after: float, domain: str = "") -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.domain = domain


FAMILY = ErrorFamily(OpsGenieError)


def error_for(response: requests.Response) -> OpsGenieError:
    """Build the error for a non-2xx ``response`` from its status, body and headers."""
    body = json_object(response)
    message = body.get("message")
    if not isinstance(message, str) or not message:
        message = f"OpsGenie returned HTTP {response.status_code}"
    raw_errors = body.get("errors")
    errors = {str(k): str(v) for k, v in raw_errors.items()} if isinstance(raw_errors, dict) else {}
    request_id = body.get("requestId")
    if not isinstance(request_id, str):
        request_id = response.headers.get("X-Request-ID")
    status = response.status_code
    return FAMILY.for_status(status)(
        message,
        status=status,
        errors=errors,
        request_id=request_id,
        headers=dict(response.headers),
    )
