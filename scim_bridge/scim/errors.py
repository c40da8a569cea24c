"""SCIM errors (RFC 7644, Section 3.12), one class per status/scimType pair.

The status and scimType of each class stand in one table, :data:`ERROR_TABLE`, at the end of the module.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    """An error that is answered to the client as an RFC 7644 error body."""

    status: int = 400
    scim_type: str | None = None

    def __init__(self, detail: str, *, status: int | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        self.headers: dict[str, str] = dict(headers or {})

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(self.status)}
        if self.scim_type:
            body["scimType"] = self.scim_type
        body["detail"] = self.detail
        return body


class InvalidFilter(ScimError):
    """400: the filter expression is malformed or uses what the attribute does not support."""


class TooMany(ScimError):
    """400: the query would return more results than the service answers at once."""


class InvalidSyntax(ScimError):
    """400: the request body does not parse or does not follow the schema of the message."""


class InvalidPath(ScimError):
    """400: a PATCH path is malformed or names no attribute."""


class NoTarget(ScimError):
    """400: a PATCH path with a filter matched no value."""


class InvalidValue(ScimError):
    """400: a value is missing, of the wrong type, or not allowed."""


class InvalidVersion(ScimError):
    """400: the version in ``If-Match`` / ``If-None-Match`` is malformed."""


class Mutability(ScimError):
    """400: the request changes an attribute whose mutability forbids it."""


class Sensitive(ScimError):
    """400: the request carries confidential data where it must not (e.g. in a URL)."""


class Uniqueness(ScimError):
    """409: a value that must be unique is already taken."""


class Conflict(ScimError):
    """409 without a scimType: the request conflicts with the resource's state."""


class Unauthorized(ScimError):
    """401: no credential, or one the bridge does not accept."""


class Forbidden(ScimError):
    """403: the credential may not do this."""


class InsufficientScope(Forbidden):
    """The credential is valid but lacks a scope the request needs (RFC 6750, Section 3.1)."""

    def __init__(self, scope: str, action: str) -> None:
        super().__init__(
            f"This credential lacks the {scope!r} scope, which {action} needs",
            headers={"WWW-Authenticate": f'Bearer realm="scim-bridge", error="insufficient_scope", scope="{scope}"'},
        )
        self.scope = scope


class NotFound(ScimError):
    """404: no resource (or endpoint) by that name."""


class MethodNotAllowed(ScimError):
    """405: the endpoint does not take this method."""


class PreconditionFailed(ScimError):
    """412: the resource's version is not the one ``If-Match`` names."""


class PayloadTooLarge(ScimError):
    """413: the request body is larger than the service accepts."""


class UnsupportedMediaType(ScimError):
    """415: the request body is not JSON."""


class RetryLater(ScimError):
    """An error that tells the client when to try again (``Retry-After``, in whole seconds, at least 1)."""

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, int(retry_after)))})
        self.retry_after = retry_after


class RateLimited(RetryLater):
    """429: the client (or the upstream budget on its behalf) must slow down."""


class InternalError(ScimError):
    """500: the bridge failed; the detail says what, never how."""


class NotImplementedFeature(ScimError):
    """501: the service does not offer what the request asks for."""


class BadGateway(ScimError):
    """502: the upstream answered something the bridge cannot use."""


class ServiceUnavailable(RetryLater):
    """503: the bridge (or its upstream) cannot serve the request now."""

    def __init__(self, detail: str, *, retry_after: int = 30) -> None:
        super().__init__(detail, retry_after=retry_after)


class GatewayTimeout(ScimError):
    """504: the upstream did not answer in time."""


ERROR_TABLE: dict[type[ScimError], tuple[int, str | None]] = {
    InvalidFilter: (400, "invalidFilter"),
    TooMany: (400, "tooMany"),
    InvalidSyntax: (400, "invalidSyntax"),
    InvalidPath: (400, "invalidPath"),
    NoTarget: (400, "noTarget"),
    InvalidValue: (400, "invalidValue"),
    InvalidVersion: (400, "invalidVers"),
    Mutability: (400, "mutability"),
    Sensitive: (400, "sensitive"),
    Uniqueness: (409, "uniqueness"),
    Conflict: (409, None),
    Unauthorized: (401, None),
    Forbidden: (403, None),
    NotFound: (404, None),
    MethodNotAllowed: (405, None),
    PreconditionFailed: (412, None),
    PayloadTooLarge: (413, None),
    UnsupportedMediaType: (415, None),
    RateLimited: (429, None),
    InternalError: (500, None),
    NotImplementedFeature: (501, None),
    BadGateway: (502, None),
    ServiceUnavailable: (503, None),
    GatewayTimeout: (504, None),
}
"""Each error class: its HTTP status and its ``scimType`` (None: the body carries none). Subclasses inherit."""

for _error, (_status, _scim_type) in ERROR_TABLE.items():
    _error.status, _error.scim_type = _status, _scim_type
