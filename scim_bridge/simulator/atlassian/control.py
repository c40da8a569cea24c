"""``/__sim/`` control routes for tests and the demo: no auth, no call log, no rate limit.

- ``GET /__sim/state``: the organization (accounts, teams, customRoles).
- ``GET|DELETE /__sim/calls`` (``?since=<seq>``): the API calls received.
- ``POST /__sim/reset`` ``{"seed": name?}``: back to the calling account only (``"demo"`` loads the demo org).
- ``GET|PATCH /__sim/config``: every knob.
- ``GET|POST|DELETE /__sim/faults``: scripted fault rules (a rule, a list, or ``{"rules": [...]}``).
- ``POST /__sim/seed``: add accounts, teams and custom roles directly (see the seed module).
- ``GET|POST /__sim/clock`` ``{"advance_s"?, "frozen"?}``: move the simulator's clock.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import request

from scim_bridge.simulator.atlassian.errors import ApiError
from scim_bridge.simulator.atlassian.errors import json_response
from scim_bridge.simulator.atlassian.seed import apply_seed
from scim_bridge.simulator.atlassian.state import AtlassianState


def _json_body() -> Any:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    parsed = request.get_json(force=True, silent=True)
    if parsed is None:
        raise ApiError(400, "Could not parse the request body as JSON")
    return parsed


def _object_body() -> dict[str, Any]:
    parsed = _json_body()
    if not isinstance(parsed, dict):
        raise ApiError(400, "The request body must be a JSON object")
    return parsed


def control_blueprint(state: AtlassianState) -> Blueprint:
    bp = Blueprint("atlassian_control", __name__, url_prefix="/__sim")

    @bp.get("/state")
    def dump() -> Response:
        return json_response(state.dump())

    @bp.get("/calls")
    def calls() -> Response:
        since = request.args.get("since", "0")
        return json_response({"calls": state.call_log(int(since) if since.isdigit() else 0)})

    @bp.delete("/calls")
    def clear_calls() -> Response:
        state.calls.clear()
        return json_response({"result": "Cleared"})

    @bp.post("/reset")
    def reset() -> Response:
        seed = _object_body().get("seed")
        state.reset(None if seed is None else str(seed))
        return json_response({"result": "Reset", **state.counts()})

    @bp.get("/config")
    def get_config() -> Response:
        return json_response(state.config.to_dict())

    @bp.patch("/config")
    def patch_config() -> Response:
        try:
            return json_response(state.update_config(_object_body()))
        except (ValueError, TypeError) as exc:
            raise ApiError(400, str(exc)) from None

    @bp.get("/faults")
    def list_faults() -> Response:
        return json_response({"rules": state.faults.rules()})

    @bp.post("/faults")
    def add_faults() -> Response:
        data = _json_body()
        rules = data.get("rules", [data]) if isinstance(data, dict) else data
        if not isinstance(rules, list):
            raise ApiError(400, 'Send a rule object, a list of rules, or {"rules": [...]}')
        try:
            state.add_faults(rules)
        except (ValueError, TypeError) as exc:
            raise ApiError(400, str(exc)) from None
        return json_response({"rules": state.faults.rules()}, 201)

    @bp.delete("/faults")
    def clear_faults() -> Response:
        state.faults.clear()
        return json_response({"result": "Cleared"})

    @bp.post("/seed")
    def seed() -> Response:
        return json_response(apply_seed(state, _object_body()), 201)

    @bp.get("/clock")
    def get_clock() -> Response:
        return json_response({"now": state.clock.now(), "frozen": state.clock.frozen})

    @bp.post("/clock")
    def move_clock() -> Response:
        body = _object_body()
        advance = body.get("advance_s", 0)
        frozen = body.get("frozen")
        if isinstance(advance, bool) or not isinstance(advance, int | float) or advance < 0:
            raise ApiError(400, "advance_s must be a non-negative number of seconds")
        if frozen is not None and not isinstance(frozen, bool):
            raise ApiError(400, "frozen must be a boolean")
        if frozen is not None:
            state.clock.freeze(frozen)
        state.clock.advance(float(advance))
        return get_clock()

    return bp
