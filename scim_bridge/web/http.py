"""Request parsing and SCIM responses (application/scim+json)."""

from __future__ import annotations

import json
from typing import Any

from flask import Request
from flask import Response
from flask import request

from scim_bridge import jsoncodec
from scim_bridge.scim import errors
from scim_bridge.service.context import RequestContext

SCIM_JSON = "application/scim+json"
ACCEPTED_TYPES = ("application/scim+json", "application/json")


def scim_response(
    body: dict[str, Any] | None,
    status: int = 200,
    *,
    location: str | None = None,
    etag: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    data = b"" if body is None else jsoncodec.dumps(body)
    response = Response(data, status=status, mimetype=SCIM_JSON if body is not None else None)
    if body is not None:
        response.headers["Content-Type"] = f"{SCIM_JSON}; charset=utf-8"
    else:
        del response.headers["Content-Type"]  # no body, no media type (not Flask's default text/html)
    if location:
        response.headers["Location"] = location
    if etag:
        response.headers["ETag"] = etag
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def json_body(req: Request | None = None) -> Any:
    """The request's JSON body; SCIM errors for a wrong media type or malformed JSON."""
    req = req or request
    mimetype = (req.mimetype or "").lower()
    if mimetype and mimetype not in ACCEPTED_TYPES:
        raise errors.UnsupportedMediaType(
            f"Content-Type {mimetype!r} is not supported; send application/scim+json or application/json"
        )
    raw = req.get_data(cache=True)
    if not raw.strip():
        raise errors.InvalidSyntax("The request body is empty; a JSON object is required")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.InvalidSyntax(f"The request body is not valid JSON: {exc}") from None


def context() -> RequestContext:
    ctx = getattr(request, "scim_context", None)
    if isinstance(ctx, RequestContext):
        return ctx
    ctx = RequestContext(base_url=request.host_url.rstrip("/") + "/scim/v2")
    request.scim_context = ctx  # type: ignore[attr-defined]
    return ctx


def query_args() -> dict[str, str]:
    return dict(request.args.items())
