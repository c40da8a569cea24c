"""Upstream-neutral errors raised by every Directory implementation."""

from __future__ import annotations

from typing import Any

from scim_bridge import upstream_http as up


class DirectoryError(Exception):
    """Base class; carries what the upstream said so it can be quoted to an operator, and which upstream
    said it ("OpsGenie", "Atlassian")."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        field_errors: dict[str, str] | None = None,
        upstream: str = "OpsGenie",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.upstream = upstream
        self.status = status
        self.request_id = request_id
        self.field_errors: dict[str, str] = dict(field_errors or {})


class NotFoundError(DirectoryError):
    """The user, team, role or contact does not exist upstream."""


class ConflictError(DirectoryError):
    """The upstream refused because a name or username is already taken."""


class InvalidError(DirectoryError):
    """The upstream rejected a value (validation)."""


class ReferencedError(DirectoryError):
    """The entity is still referenced elsewhere (OpsGenie 428)."""


class ReadOnlyError(DirectoryError):
    """The upstream has no API for this write (JSM Operations global admin and owner roles are granted only in
    Atlassian's admin UI); the message says why. SCIM answers ``400 mutability``."""


class ForbiddenError(DirectoryError):
    """The credentials are valid but lack a right, or the plan does not allow the action."""


class AuthenticationError(DirectoryError):
    """The upstream rejected the credentials: the bridge is misconfigured."""


class ThrottledError(DirectoryError):
    """The upstream rate budget could not be met in time."""

    def __init__(self, message: str, *, retry_after: float, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class UnavailableError(DirectoryError):
    """The upstream is down, failing or timing out; the request may be retried later."""

    def __init__(self, message: str, *, retry_after: float = 30.0, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


# What each status class of an upstream client becomes (checked in order; a class not here: DirectoryError).
_BY_KIND: tuple[tuple[type[up.UpstreamError], type[DirectoryError]], ...] = (
    (up.BadRequest, InvalidError),
    (up.Unprocessable, InvalidError),
    (up.AuthenticationFailed, AuthenticationError),
    (up.PaymentRequired, ForbiddenError),
    (up.PermissionDenied, ForbiddenError),
    (up.NotFound, NotFoundError),
    (up.Gone, NotFoundError),
    (up.Conflict, ConflictError),
    (up.PreconditionRequired, ReferencedError),
)


def from_upstream(exc: up.UpstreamError, *, upstream: str, retry_after: float | None = None) -> DirectoryError:
    """The directory error for an upstream client's error. ``retry_after``: the server's hint, in seconds, for
    a throttled call (default 1 s) or a failed or lost one (default 30 s)."""
    kwargs: dict[str, Any] = {"status": exc.status, "request_id": exc.request_id, "field_errors": exc.errors,
                              "upstream": upstream}
    if exc.throttled:
        return ThrottledError(exc.message, retry_after=retry_after or 1.0, **kwargs)
    if exc.server_failure or exc.maybe_applied is not None:
        return UnavailableError(exc.message, retry_after=retry_after or 30.0, **kwargs)
    cls = next((mapped for kind, mapped in _BY_KIND if isinstance(exc, kind)), DirectoryError)
    return cls(exc.message, **kwargs)
