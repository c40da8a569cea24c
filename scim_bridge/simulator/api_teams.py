"""``/v2/teams``, ``/v2/roles`` and ``/v2/request-limits/`` routes."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import request

from scim_bridge.simulator.api_users import body
from scim_bridge.simulator.config import SimulatorConfig
from scim_bridge.simulator.errors import SimError
from scim_bridge.simulator.responses import done
from scim_bridge.simulator.responses import envelope
from scim_bridge.simulator.state import SimulatorState

# How OpsGenie refuses GET /v2/request-limits/ (request_limits_status): a team key, a key without the right,
# an account without the endpoint.
REQUEST_LIMITS_REFUSALS = {
    401: "Could not authenticate",
    403: "Team API Keys are not authorized to perform this operation",
    404: "Not Found",
}


def _id_type(param: str = "identifierType") -> str:
    return request.args.get(param) or "id"


def teams_blueprint(state: SimulatorState, config: SimulatorConfig) -> Blueprint:
    bp = Blueprint("sim_teams", __name__, url_prefix="/v2")

    @bp.post("/teams", strict_slashes=False)
    def create_team() -> Response:
        team = state.create_team(body())
        return done(team, "Created", status=201)

    @bp.get("/teams", strict_slashes=False)
    def list_teams() -> Response:
        return envelope(state.list_teams())

    @bp.get("/teams/<identifier>")
    def get_team(identifier: str) -> Response:
        return envelope(state.get_team(identifier, _id_type()))

    @bp.patch("/teams/<team_id>")
    def update_team(team_id: str) -> Response:
        team = state.update_team(team_id, body())  # PATCH takes the id only
        return done(team, "Updated")

    @bp.delete("/teams/<identifier>")
    def delete_team(identifier: str) -> Response:
        state.delete_team(identifier, _id_type())
        return envelope(result="Deleted")

    @bp.post("/teams/<identifier>/members")
    def add_member(identifier: str) -> Response:
        added = state.add_team_member(identifier, body(), identifier_type=_id_type("teamIdentifierType"))
        return done(added, "Added")

    @bp.delete("/teams/<identifier>/members/<member>")
    def remove_member(identifier: str, member: str) -> Response:
        removed = state.remove_team_member(identifier, member, identifier_type=_id_type("teamIdentifierType"))
        return done(removed, "Removed")

    @bp.get("/roles", strict_slashes=False)
    def list_roles() -> Response:
        return envelope(state.list_roles())

    @bp.post("/roles", strict_slashes=False)
    def create_role() -> Response:
        role = state.create_role(body())
        return done(role, "Created", status=201)

    @bp.get("/roles/<identifier>")
    def get_role(identifier: str) -> Response:
        return envelope(state.get_role(identifier, _id_type()))

    @bp.put("/roles/<identifier>")
    def update_role(identifier: str) -> Response:
        role = state.update_role(identifier, body(), _id_type())
        return done(role, "Updated")

    @bp.delete("/roles/<identifier>")
    def delete_role(identifier: str) -> Response:
        state.delete_role(identifier, _id_type())
        return envelope(result="Deleted")

    @bp.get("/request-limits", strict_slashes=False)
    def request_limits() -> Response:
        refused = config.request_limits_status
        if refused != 200:
            raise SimError(refused, REQUEST_LIMITS_REFUSALS[refused])
        limits = [
            {
                "domain": domain,
                "limits": [
                    {"limit": limit.per_minute, "periodInSeconds": 60},
                    {"limit": limit.per_second, "periodInSeconds": 1},
                ],
            }
            for domain, limit in config.rate_limits.items()
        ]
        return envelope({"rateLimits": limits})

    return bp
