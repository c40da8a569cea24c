"""Errors raised by the OpsGenie client.

Every non-2xx response becomes an :class:`OpsGenieError` subclass chosen by :func:`error_for`;
failures below HTTP become :class:`TransportError`; a client-side rate budget that cannot be met
in time becomes :class:`BudgetExhausted`.
"""

from __future__ import annotations

import requests

from scim_bridge.upstream_http import UpstreamError
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


class BadRequest(OpsGenieError):
    """400: the request body is not valid JSON or has a syntax error."""


class AuthenticationFailed(OpsGenieError):
    """401: the API key is invalid or its integration is disabled."""


class PaymentRequired(OpsGenieError):
    """402: the subscription plan does not allow the action (for example no seats left)."""


class PermissionDenied(OpsGenieError):
    """403: the key is valid but lacks the right for this operation."""


class NotFound(OpsGenieError):
    """404: the entity or the handler does not exist."""


class Conflict(OpsGenieError):
    """409: the id or name conflicts with another entity."""


class Unprocessable(OpsGenieError):
    """422: the body failed validation."""


class PreconditionRequired(OpsGenieError):
    """428: the entity is still referenced by another entity."""


class RateLimited(OpsGenieError):
    """429: the rate-limit domain is throttled."""

    throttled = True


class ServerError(OpsGenieError):
    """5xx: OpsGenie failed."""

    server_failure = True


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


_BY_STATUS: dict[int, type[OpsGenieError]] = {
    400: BadRequest,
    401: AuthenticationFailed,
    402: PaymentRequired,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    422: Unprocessable,
    428: PreconditionRequired,
    429: RateLimited,
}


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
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else OpsGenieError)
    return cls(
        message,
        status=status,
        errors=errors,
        request_id=request_id,
        headers=dict(response.headers),
    )
