"""``/__sim/`` control routes for tests and the demo: no GenieKey, no call log, no rate limits.

The ``/__sim/users`` and ``/__sim/teams`` routes change the account as if someone did it in the
OpsGenie UI: they skip the knob-driven refusals and the owner guard, and may set ``blocked`` and
``verified``. Bodies use the OpsGenie field names. Success bodies are plain JSON (no envelope);
errors use the OpsGenie error body.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import request

from scim_bridge.simulator.controlkit import add_common_routes
from scim_bridge.simulator.controlkit import object_body
from scim_bridge.simulator.errors import SimError
from scim_bridge.simulator.responses import json_response
from scim_bridge.simulator.state import SimulatorState


def _fail(message: str) -> SimError:
    return SimError(400, message)


def _object_body() -> dict[str, Any]:
    return object_body(_fail)


def _count(data: dict[str, Any], *names: str) -> int:
    for name in names:
        if name in data:
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int):
                raise SimError(400, f"{name} must be an integer")
            return value
    return 0


def control_blueprint(state: SimulatorState) -> Blueprint:
    bp = Blueprint("sim_control", __name__, url_prefix="/__sim")

    @bp.post("/bulk")
    def bulk() -> Response:
        data = _object_body()
        try:
            made = state.bulk(
                _count(data, "users"),
                _count(data, "teams"),
                _count(data, "membersPerTeam", "members_per_team"),
                domain=str(data.get("domain", "example.com")),
                prefix=str(data.get("prefix", "user")),
                role=str(data.get("role", "User")),
            )
        except ValueError as exc:
            raise SimError(400, str(exc)) from None
        return json_response(made, 201)

    add_common_routes(bp, state, json_response, _fail)
    _direct_routes(bp, state)
    return bp


def _direct_routes(bp: Blueprint, state: SimulatorState) -> None:
    """Changes "made in the OpsGenie UI"."""

    @bp.post("/users")
    def create_user() -> Response:
        return json_response(state.create_user(_object_body(), direct=True), 201)

    @bp.get("/users/<identifier>")
    def get_user(identifier: str) -> Response:
        return json_response(state.get_user(identifier, expand_contacts=True))

    @bp.patch("/users/<identifier>")
    def update_user(identifier: str) -> Response:
        return json_response(state.update_user(identifier, _object_body(), direct=True))

    @bp.delete("/users/<identifier>")
    def delete_user(identifier: str) -> Response:
        return json_response(state.delete_user(identifier, direct=True))

    @bp.post("/users/<identifier>/contacts")
    def create_contact(identifier: str) -> Response:
        return json_response(state.create_contact(identifier, _object_body()), 201)

    @bp.delete("/users/<identifier>/contacts/<contact_id>")
    def delete_contact(identifier: str, contact_id: str) -> Response:
        state.delete_contact(identifier, contact_id)
        return json_response({"result": "Deleted"})

    @bp.post("/teams")
    def create_team() -> Response:
        return json_response(state.create_team(_object_body()), 201)

    @bp.patch("/teams/<identifier>")
    def update_team(identifier: str) -> Response:
        id_type = request.args.get("identifierType", "id")
        return json_response(state.update_team(identifier, _object_body(), identifier_type=id_type))

    @bp.delete("/teams/<identifier>")
    def delete_team(identifier: str) -> Response:
        return json_response(state.delete_team(identifier, request.args.get("identifierType", "id")))

    @bp.post("/teams/<identifier>/members")
    def add_member(identifier: str) -> Response:
        id_type = request.args.get("teamIdentifierType", "id")
        added = state.add_team_member(identifier, _object_body(), identifier_type=id_type, direct=True)
        return json_response(added)

    @bp.delete("/teams/<identifier>/members/<member>")
    def remove_member(identifier: str, member: str) -> Response:
        id_type = request.args.get("teamIdentifierType", "id")
        removed = state.remove_team_member(identifier, member, identifier_type=id_type, direct=True)
        return json_response(removed)

    @bp.post("/roles")
    def create_role() -> Response:
        return json_response(state.create_role(_object_body()), 201)

    @bp.delete("/roles/<identifier>")
    def delete_role(identifier: str) -> Response:
        return json_response(state.delete_role(identifier, request.args.get("identifierType", "id")))
