"""Request parsing and SCIM responses (application/scim+json)."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from flask import Request
from flask import Response
from flask import g
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
        document = json.loads(raw, object_pairs_hook=_object, parse_constant=_constant, parse_float=_float)
    except RecursionError:
        raise errors.InvalidSyntax(f"The request body nests deeper than {MAX_JSON_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.InvalidSyntax(f"The request body is not valid JSON: {exc}") from None
    if _depth(document) > MAX_JSON_DEPTH:
        raise errors.InvalidSyntax(f"The request body nests deeper than {MAX_JSON_DEPTH} levels")
    if SURROGATE_ESCAPE.search(raw) and not _all_text(document):
        raise errors.InvalidSyntax("The request body has a lone surrogate escape (\\ud800 to \\udfff unpaired): "
                                   "it stands for no character")
    if req is request:
        g.request_json = document  # for after-request readers (the console's change record): never read twice
    return document


# JSON the bridge accepts (README, "Security"): no SCIM document nests beyond a handful of levels, and every
# later step (validation, PATCH, copies) may recurse; names appear once per object (RFC 8259, Section 4: a
# repeated name means different things to different parsers); numbers are finite (no NaN, no Infinity, no
# 1e400).
MAX_JSON_DEPTH = 32
# The escapes of UTF-16 surrogates: only a pair stands for a character; the parser lets a lone one through as a
# string no encoder takes (the database driver would fail on it). Only a body that has one is searched.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, value in pairs:
        if name in found:
            raise ValueError(f"the name {name[:100]!r} appears twice in one object")
        found[name] = value
    return found


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def _depth(document: Any) -> int:
    """How deeply arrays and objects nest in ``document`` (without recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, level)
            if level <= MAX_JSON_DEPTH:
                stack.extend((item, level + 1) for item in value if isinstance(item, dict | list))
    return deepest


def _all_text(document: Any) -> bool:
    """Whether every name and string in ``document`` is encodable text (no lone surrogate)."""
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            try:
                value.encode()
            except UnicodeEncodeError:
                return False
    return True


def context() -> RequestContext:
    ctx = getattr(request, "scim_context", None)
    if isinstance(ctx, RequestContext):
        return ctx
    ctx = RequestContext(base_url=request.host_url.rstrip("/") + "/scim/v2")
    request.scim_context = ctx  # type: ignore[attr-defined]
    return ctx


def query_args() -> dict[str, str]:
    return dict(request.args.items())
