"""OpsGenie response envelopes: ``data``/``result``/``took``/``requestId`` and the error body."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from flask import Response
from flask import g
from flask import has_request_context

from scim_bridge.simulator.errors import SimError

JSON_MIMETYPE = "application/json"


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype=JSON_MIMETYPE)


def request_id() -> str:
    """The id of the current request (also sent as ``X-Request-ID``)."""
    if not has_request_context():
        return str(uuid.uuid4())
    if "request_id" not in g:
        g.request_id = str(uuid.uuid4())
    return str(g.request_id)


def took() -> float:
    start = g.get("start") if has_request_context() else None
    return max(0.001, round(time.perf_counter() - start, 3)) if start is not None else 0.001


def envelope(
    data: Any = None,
    *,
    result: str | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    """A success body: ``result`` and/or ``data`` plus any extra top-level keys."""
    body: dict[str, Any] = {}
    if result is not None:
        body["result"] = result
    if data is not None:
        body["data"] = data
    body.update(extra)
    body["took"] = took()
    body["requestId"] = request_id()
    return json_response(body, status)


def done(record: Mapping[str, Any], result: str, *, status: int = 200, name_key: str = "name") -> Response:
    """What OpsGenie answers to a write of a user, team or role: ``result`` and the record's id and name (a
    user's name is its ``username``)."""
    return envelope({"id": record["id"], "name": record[name_key]}, result=result, status=status)


def error_response(error: SimError) -> Response:
    """``{message, took, requestId, errors?, code?}`` with the error's status."""
    body: dict[str, Any] = {"message": error.message, "took": took(), "requestId": request_id()}
    if error.errors:
        body["errors"] = dict(error.errors)
    if error.code is not None:
        body["code"] = error.code
    return json_response(body, error.status)
