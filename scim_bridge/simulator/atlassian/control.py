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

from scim_bridge.simulator.atlassian.errors import ApiError
from scim_bridge.simulator.atlassian.errors import json_response
from scim_bridge.simulator.atlassian.seed import apply_seed
from scim_bridge.simulator.atlassian.state import AtlassianState
from scim_bridge.simulator.controlkit import add_common_routes
from scim_bridge.simulator.controlkit import object_body


def _fail(message: str) -> ApiError:
    return ApiError(400, message)


def _object_body() -> dict[str, Any]:
    return object_body(_fail)


def control_blueprint(state: AtlassianState) -> Blueprint:
    bp = Blueprint("atlassian_control", __name__, url_prefix="/__sim")

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

    add_common_routes(bp, state, json_response, _fail)
    return bp
