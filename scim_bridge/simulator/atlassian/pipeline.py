"""What happens to every API request around its handler.

Before the handler, in this order: latency (``latency_ms``), authentication (Basic for Teams, JSM
Operations and Jira, Bearer for the admin API; 401 in the family's body), the rolling-window rate
limit (429 with ``Retry-After`` and ``X-RateLimit-Reset``), the JSON body (415, 400), then the
scripted faults. After the handler: an ``after_write`` fault replaces a successful response, and the
call is logged. The control surface (``/__sim/``) passes untouched.
"""

from __future__ import annotations

import base64
import binascii
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from flask import Response
from flask import g
from flask import request

from scim_bridge.simulator.atlassian.config import AtlassianSimConfig
from scim_bridge.simulator.atlassian.errors import ApiError
from scim_bridge.simulator.atlassian.errors import Family
from scim_bridge.simulator.atlassian.errors import error_response
from scim_bridge.simulator.atlassian.errors import family_of
from scim_bridge.simulator.atlassian.state import AtlassianState
from scim_bridge.simulator.calllog import call_entry
from scim_bridge.simulator.controlkit import json_object
from scim_bridge.simulator.faults import FaultAction
from scim_bridge.simulator.faults import after_write
from scim_bridge.simulator.faults import close_dropped
from scim_bridge.simulator.faults import perform

BODY_METHODS = frozenset({"POST", "PATCH", "PUT"})

_UNAUTHORIZED = {
    Family.TEAMS: "Unauthorized: the request needs valid Basic credentials",
    Family.JSM: "Unauthorized",
    Family.JIRA: "Client must be authenticated to access this resource.",
    Family.ADMIN: "The request needs a valid organization API key as a Bearer token",
}


def current_family() -> Family:
    family = g.get("family")
    return family if isinstance(family, Family) else family_of(request.path)


def render_error(state: AtlassianState, error: ApiError) -> Response:
    """``error`` in the body shape of the current request's family."""
    return error_response(error, current_family(), jsm_object=state.config.jsm_error_shape == "object")


def is_api_request() -> bool:
    return family_of(request.path) is not Family.OTHER


def before_api_request(state: AtlassianState) -> Response | None:
    config = state.config
    g.start = time.perf_counter()
    g.family = family_of(request.path)
    g.fault = None
    g.after_write = None
    g.rate_headers = {}
    g.body = None
    if config.latency_ms:
        state.sleep(config.latency_ms / 1000)
    try:
        _authenticate(config, g.family)
        _rate_limit(state)
        _read_body()
        return _apply_faults(state)
    except ApiError as error:
        return render_error(state, error)


def _authenticate(config: AtlassianSimConfig, family: Family) -> None:
    scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
    credentials = credentials.strip()
    if family is Family.ADMIN:
        if scheme.lower() == "bearer" and credentials == config.admin_api_key:
            g.auth = "bearer"
            return
    elif scheme.lower() == "basic":
        try:
            email, _, token = base64.b64decode(credentials, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            email, token = "", ""
        if email.lower() == config.admin_email.lower() and token == config.api_token:
            g.auth = "basic"
            return
    raise ApiError(401, _UNAUTHORIZED[family], code="UNAUTHORIZED", title="Unauthorized")


def _rate_limit(state: AtlassianState) -> None:
    config = state.config
    if not config.rate_limit:
        return
    verdict = state.window.take(state.clock.now(), config.rate_limit, float(config.rate_window_s))
    if verdict.allowed:
        return
    reset_at = datetime.now(UTC) + timedelta(seconds=verdict.reset_in)
    g.rate_headers = {
        "Retry-After": str(verdict.retry_after),
        "X-RateLimit-Reset": reset_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    raise ApiError(429, "Rate limit exceeded", code="RATE_LIMITED", title="Error.RateLimited")


def _read_body() -> None:
    if request.method not in BODY_METHODS:
        return
    raw = request.get_data(cache=True)
    if not raw.strip():
        g.body = {}
        return
    if request.mimetype != "application/json":
        raise ApiError(415, "Unsupported media type, use Content-Type: application/json")
    g.body = json_object(
        raw,
        lambda: ApiError(400, "The request body is not valid JSON"),
        lambda: ApiError(400, "The request body must be a JSON object"),
    )


def _apply_faults(state: AtlassianState) -> Response | None:
    rule = state.faults.take(request.method, request.path)
    if rule is None:
        return None
    action: FaultAction = rule.parsed
    g.fault = rule.action
    return perform(action, sleep=state.sleep, fail=lambda status: ApiError(status, "Simulated failure"))


def after_api_request(state: AtlassianState, response: Response) -> Response:
    response = after_write(response, lambda status: render_error(state, ApiError(status, "Simulated failure")))
    for name, value in (g.get("rate_headers") or {}).items():
        response.headers[name] = value
    state.calls.record(call_entry(response, family=str(current_family()), auth=g.get("auth")))
    close_dropped()
    return response
