"""SCIM errors (RFC 7644, Section 3.12), one class per status/scimType pair."""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    """An error that is answered to the client as an RFC 7644 error body."""

    status: int = 400
    scim_type: str | None = None

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        scim_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        if scim_type is not None:
            self.scim_type = scim_type
        self.headers: dict[str, str] = dict(headers or {})

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(self.status)}
        if self.scim_type:
            body["scimType"] = self.scim_type
        body["detail"] = self.detail
        return body


class InvalidFilter(ScimError):
    scim_type = "invalidFilter"


class TooMany(ScimError):
    scim_type = "tooMany"


class InvalidSyntax(ScimError):
    scim_type = "invalidSyntax"


class InvalidPath(ScimError):
    scim_type = "invalidPath"


class NoTarget(ScimError):
    scim_type = "noTarget"


class InvalidValue(ScimError):
    scim_type = "invalidValue"


class InvalidVersion(ScimError):
    scim_type = "invalidVers"


class Mutability(ScimError):
    scim_type = "mutability"


class Sensitive(ScimError):
    scim_type = "sensitive"


class Uniqueness(ScimError):
    status = 409
    scim_type = "uniqueness"


class Conflict(ScimError):
    """409 without a scimType: the request conflicts with the resource's state."""

    status = 409


class Unauthorized(ScimError):
    status = 401


class Forbidden(ScimError):
    status = 403


class InsufficientScope(Forbidden):
    """The credential is valid but lacks a scope the request needs (RFC 6750, Section 3.1)."""

    def __init__(self, scope: str, action: str) -> None:
        super().__init__(
            f"This credential lacks the {scope!r} scope, which {action} needs",
            headers={"WWW-Authenticate": f'Bearer realm="scim-bridge", error="insufficient_scope", scope="{scope}"'},
        )
        self.scope = scope


class NotFound(ScimError):
    status = 404


class MethodNotAllowed(ScimError):
    status = 405


class PreconditionFailed(ScimError):
    status = 412


class PayloadTooLarge(ScimError):
    status = 413


class UnsupportedMediaType(ScimError):
    status = 415


class RateLimited(ScimError):
    """429: the client (or the upstream budget on its behalf) must slow down."""

    status = 429

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, int(retry_after)))})
        self.retry_after = retry_after


class InternalError(ScimError):
    status = 500


class NotImplementedFeature(ScimError):
    status = 501


class BadGateway(ScimError):
    """502: the upstream answered something the bridge cannot use."""

    status = 502


class ServiceUnavailable(ScimError):
    status = 503

    def __init__(self, detail: str, *, retry_after: int = 30) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, int(retry_after)))})
        self.retry_after = retry_after


class GatewayTimeout(ScimError):
    status = 504
