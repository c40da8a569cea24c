"""Translate upstream-neutral directory errors into SCIM errors, in one place."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

from scim_bridge.directory import errors as d
from scim_bridge.scim import errors as s


def _quote(exc: d.DirectoryError) -> str:
    text = exc.message
    if exc.field_errors:
        text += " (" + "; ".join(f"{k}: {v}" for k, v in sorted(exc.field_errors.items())) + ")"
    if exc.request_id:
        text += f" [upstream requestId {exc.request_id}]"
    return text


_CREDENTIALS = {
    "OpsGenie": "API key; check OPSGENIE_API_KEY and OPSGENIE_API_URL",
    "Atlassian": "credentials; check ATLASSIAN_EMAIL, ATLASSIAN_API_TOKEN, ATLASSIAN_ADMIN_API_KEY and the URLs",
}


def to_scim_error(exc: d.DirectoryError) -> s.ScimError:
    if isinstance(exc, d.NotFoundError):
        return s.NotFound(f"Not found upstream: {_quote(exc)}")
    if isinstance(exc, d.ConflictError):
        return s.Uniqueness(f"Already exists upstream: {_quote(exc)}")
    if isinstance(exc, d.ReadOnlyError):
        return s.Mutability(f"Read-only upstream: {_quote(exc)}")
    name = exc.upstream
    if isinstance(exc, d.InvalidError):
        return s.InvalidValue(f"Rejected by {name}: {_quote(exc)}")
    if isinstance(exc, d.ReferencedError):
        return s.Conflict(f"Still referenced in {name}: {_quote(exc)}")
    if isinstance(exc, d.ForbiddenError):
        return s.Forbidden(f"{name} refused the operation: {_quote(exc)}")
    if isinstance(exc, d.AuthenticationError):
        return s.BadGateway(f"{name} rejected the bridge's {_CREDENTIALS.get(name, 'credentials')} "
                            f"(run 'scim-bridge check'). {_quote(exc)}")
    if isinstance(exc, d.ThrottledError):
        return s.RateLimited(
            f"The {name} rate limit is exhausted; retry later. {_quote(exc)}",
            retry_after=math.ceil(exc.retry_after),
        )
    if isinstance(exc, d.UnavailableError):
        return s.ServiceUnavailable(
            f"{name} is unavailable; retry later. {_quote(exc)}", retry_after=math.ceil(exc.retry_after)
        )
    return s.BadGateway(f"Unexpected upstream error: {_quote(exc)}")


@contextmanager
def upstream_errors() -> Iterator[None]:
    """Re-raise any DirectoryError raised inside the block as the matching ScimError."""
    try:
        yield
    except d.DirectoryError as exc:
        raise to_scim_error(exc) from exc
