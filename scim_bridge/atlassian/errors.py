"""Errors raised by the Atlassian client, one class per status, parsed from each API family's error body.

The four families answer errors in four shapes (atlassian-api.md section 2):

- Teams: ``{"code": "...", "message": "..."}``
- JSM Operations: ``{"errors": [{"title", "code"}]}``, sometimes ``{"errors": {"<title>": "<code>"}}``;
  its 401 is ``{"code": 401, "message": "..."}``
- Jira: ``{"errorMessages": ["..."], "errors": {"<field>": "<message>"}}``
- Organizations admin: ``{"errors": [{"id", "code", "status", "title", "detail"}]}``

:func:`error_for` reads any of them; the message names the family so an operator knows which API refused. For a
status with a class of its own (``NotFound``, ``RateLimited``... of :mod:`scim_bridge.upstream_http`, importable
from here) the error is also that class (:data:`FAMILY`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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

TEAMS = "teams"
OPS = "ops"
JIRA = "jira"
ADMIN = "admin"
FAMILIES = (TEAMS, OPS, JIRA, ADMIN)
_FAMILY_NAMES = {TEAMS: "Atlassian Teams", OPS: "JSM Operations", JIRA: "Jira", ADMIN: "Atlassian admin"}


class AtlassianError(UpstreamError):
    """An error response of one Atlassian API family (or a client-side failure standing in for one).

    ``code`` is the first machine-readable code the body carried (``ADMIN-UAM-400-5``, ``NOT_FOUND``...);
    ``errors`` maps a field or title to its message or code.
    """

    def __init__(
        self,
        message: str,
        *,
        family: str = "",
        status: int | None = None,
        code: str | None = None,
        errors: Mapping[str, str] | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, status=status, errors=errors, request_id=request_id, headers=headers)
        self.family = family
        self.code = code

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.request_id:
            parts.append(f"requestId={self.request_id}")
        return " ".join(parts)

    def retry_after(self) -> float | None:
        """``Retry-After`` in seconds when present and numeric."""
        return self.header_seconds("Retry-After")


class TransportError(AtlassianError):
    """No HTTP response. ``maybe_applied``: the request may have reached the server (read timeout, drop)."""

    def __init__(self, message: str, *, family: str = "", maybe_applied: bool) -> None:
        super().__init__(message, family=family)
        self.maybe_applied = maybe_applied


FAMILY = ErrorFamily(AtlassianError)


def family_name(family: str) -> str:
    return _FAMILY_NAMES.get(family, "Atlassian")


def error_for(response: requests.Response, family: str) -> AtlassianError:
    """The error for a non-2xx ``response`` of ``family``, from its status, body and headers."""
    body = json_object(response)
    message, code, errors = parse_body(body, family)
    status = response.status_code
    prefix = f"{family_name(family)} answered HTTP {status}"
    text = f"{prefix}: {message}" if message else prefix
    request_id = response.headers.get("X-Request-Id") or response.headers.get("atl-traceid")
    return FAMILY.for_status(status)(text, family=family, status=status, code=code, errors=errors,
                                     request_id=request_id, headers=dict(response.headers))


def parse_body(body: Mapping[str, Any], family: str = "") -> tuple[str, str | None, dict[str, str]]:
    """(message, first code, {field or title: message or code}) of any of the four error shapes. In the object
    form of ``errors`` JSM Operations puts codes as the values, Jira messages."""
    messages: list[str] = []
    codes: list[str] = []
    errors: dict[str, str] = {}
    for key in ("message", "detail"):
        if isinstance(body.get(key), str) and body[key]:
            messages.append(body[key])
    if body.get("code") is not None and not isinstance(body.get("code"), bool):
        codes.append(str(body["code"]))
    for text in body.get("errorMessages") or ():
        if isinstance(text, str) and text:
            messages.append(text)
    raw = body.get("errors")
    if isinstance(raw, list):
        for item in raw:
            if not isinstance(item, dict):
                continue
            title = str(item.get("title") or "")
            detail = str(item.get("detail") or "")
            item_code = str(item.get("code") or "")
            text = ": ".join(part for part in (title, detail) if part)
            if text:
                messages.append(text)
            if item_code:
                codes.append(item_code)
                errors[title or item_code] = item_code
    elif isinstance(raw, dict):
        for key, value in raw.items():
            errors[str(key)] = str(value)
            messages.append(f"{key}: {value}")
            if family == OPS:
                codes.append(str(value))
    return "; ".join(messages), (codes[0] if codes else None), errors
