"""What happens to every ``/v2`` request around its handler.

Before the handler, in this order: latency (base + jitter, random slow spikes), authentication
(401), rate limit (429), access rights (403/40301), content negotiation (406, 415, 400), then faults
(scripted rules first, else the random ``drop_rate``, ``fail_rate`` and ``fail_after_write_rate``).
After the handler: an ``after_write`` fault replaces a successful response, response headers are
set, and the call is logged.

``fail_rate`` applies to every ``/v2`` request (reads too) and nothing is applied; ``drop_rate``
likewise closes the connection before handling; ``fail_after_write_rate`` applies to writes only.
"""

from __future__ import annotations

import time

from flask import Response
from flask import g
from flask import request

from scim_bridge.simulator.calllog import call_entry
from scim_bridge.simulator.config import SimulatorConfig
from scim_bridge.simulator.controlkit import json_object
from scim_bridge.simulator.errors import SimError
from scim_bridge.simulator.faults import FaultAction
from scim_bridge.simulator.faults import after_write
from scim_bridge.simulator.faults import close_dropped
from scim_bridge.simulator.faults import perform
from scim_bridge.simulator.responses import error_response
from scim_bridge.simulator.responses import request_id
from scim_bridge.simulator.state import SimulatorState

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
BODY_METHODS = frozenset({"POST", "PATCH", "PUT"})
METHOD_RIGHTS = {"GET": "read", "HEAD": "read", "POST": "create_update", "PATCH": "create_update"}
METHOD_RIGHTS |= {"PUT": "create_update", "DELETE": "delete"}
RANDOM_FAILURES = [500, 502, 503]


def is_api_request() -> bool:
    return request.path == "/v2" or request.path.startswith("/v2/")


def domain_of() -> str:
    """``search`` for list users, ``configuration`` for everything else."""
    if request.method == "GET" and request.path.rstrip("/") == "/v2/users":
        return "search"
    return "configuration"


def before_api_request(state: SimulatorState, config: SimulatorConfig) -> Response | None:
    g.start = time.perf_counter()
    g.domain = domain_of()
    g.fault = None
    g.after_write = None
    g.rate_state = None
    g.body = None
    _sleep_latency(state, config)
    try:
        _authenticate(config)
        _rate_limit(state, config)
        _check_rights(config)
        _negotiate()
        return _apply_faults(state, config)
    except SimError as error:
        return error_response(error)


def _sleep_latency(state: SimulatorState, config: SimulatorConfig) -> None:
    delay = config.latency_ms
    if config.latency_jitter_ms:
        delay += int(state.random() * config.latency_jitter_ms)
    if config.slow_rate and state.random() < config.slow_rate:
        delay += config.slow_ms
    if delay > 0:
        time.sleep(delay / 1000)


def _authenticate(config: SimulatorConfig) -> None:
    scheme, _, key = request.headers.get("Authorization", "").strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "geniekey" or key not in config.api_keys:
        raise SimError(401, "Could not authenticate")
    if config.key_regions.get(key, config.region) != config.region:
        raise SimError(401, "Could not authenticate")  # a key of the other region's host
    g.api_key = key


def _rate_limit(state: SimulatorState, config: SimulatorConfig) -> None:
    limits = config.rate_limits.get(g.domain)
    if not config.rate_limit_enabled or limits is None:
        return
    decision = state.limiter.take(g.domain, limits)
    if decision.allowed:
        g.rate_state = {"X-RateLimit-State": "OK"}
        return
    g.rate_state = {
        "X-RateLimit-State": "THROTTLED",
        "X-RateLimit-Reason": g.domain.upper(),
        "X-RateLimit-Period-In-Sec": str(decision.period),
    }
    if config.retry_after_header:
        g.rate_state["Retry-After"] = str(decision.retry_after)
    raise SimError(429, "You are making too many requests!")


def _check_rights(config: SimulatorConfig) -> None:
    rights = config.api_keys[g.api_key]
    needed = {METHOD_RIGHTS.get(request.method, "read")}
    if not request.path.startswith("/v2/request-limits"):
        needed.add("configuration")
    missing = needed - rights
    if missing:
        raise SimError(403, "You are not authorized for this operation", code=40301)


def _negotiate() -> None:
    accept = request.headers.get("Accept")
    if accept and not request.accept_mimetypes.accept_json:
        raise SimError(406, "Responses are available only as application/json")
    if request.method not in BODY_METHODS:
        return
    raw = request.get_data(cache=True)
    content_type = request.headers.get("Content-Type")
    if (content_type or raw) and request.mimetype != "application/json":
        raise SimError(415, "Unsupported media type, use Content-Type: application/json")
    if not raw.strip():
        g.body = {}
        return
    g.body = json_object(
        raw,
        lambda: SimError(400, "Could not parse the request body as JSON"),
        lambda: SimError(422, "Request body must be a JSON object"),
    )


def _apply_faults(state: SimulatorState, config: SimulatorConfig) -> Response | None:
    action: FaultAction | None = None
    rule = state.faults.take(request.method, request.path)
    if rule is not None:
        action = rule.parsed
        g.fault = rule.action
    elif config.drop_rate and state.random() < config.drop_rate:
        action, g.fault = FaultAction("drop"), "random:drop"
    elif config.fail_rate and state.random() < config.fail_rate:
        status = state.choice(RANDOM_FAILURES)
        action, g.fault = FaultAction("status", status=status), f"random:{status}"
    elif (
        request.method in WRITE_METHODS
        and config.fail_after_write_rate
        and state.random() < config.fail_after_write_rate
    ):
        status = state.choice(RANDOM_FAILURES)
        action, g.fault = FaultAction("after_write", status=status), f"random:after_write:{status}"
    if action is None:
        return None
    return perform(action, sleep=time.sleep, fail=SimError)


def after_api_request(state: SimulatorState, response: Response) -> Response:
    response = after_write(response, lambda status: error_response(SimError(status)))
    response.headers["X-Request-ID"] = request_id()
    start = g.get("start")
    elapsed_ms = (time.perf_counter() - start) * 1000 if start is not None else 0.0
    response.headers["X-Response-Time"] = f"{elapsed_ms:.0f}ms"
    for name, value in (g.get("rate_state") or {}).items():
        response.headers[name] = value
    state.calls.record(call_entry(response, domain=g.get("domain"), requestId=request_id()))
    close_dropped()
    return response
