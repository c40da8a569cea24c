"""The JSM Operations API (Basic): ``/jsm/ops/api/{cloudId}/v1/...``.

Enable operations for a team (204), the ops-enabled teams, and custom user roles. Lists page with
``offset`` and ``size`` (default 20, at most 100) and answer ``{"values", "links": {"next"?}}`` where
``next`` is a path relative to the API base (``/v1/teams?offset=20&size=20``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint
from flask import Response
from flask import request

from scim_bridge.simulator.atlassian.errors import ApiError
from scim_bridge.simulator.atlassian.errors import bad_request
from scim_bridge.simulator.atlassian.errors import empty_response
from scim_bridge.simulator.atlassian.errors import json_response
from scim_bridge.simulator.atlassian.params import guard_path_value
from scim_bridge.simulator.atlassian.params import int_param
from scim_bridge.simulator.atlassian.params import request_body
from scim_bridge.simulator.atlassian.params import string_field
from scim_bridge.simulator.atlassian.params import string_list
from scim_bridge.simulator.atlassian.state import AtlassianState

OPS_PREFIX = "/jsm/ops/api/<cloud_id>/v1"
PAGE_DEFAULT = 20
PAGE_MAX = 100


def offset_page(path: str, values: list[Any], next_offset: int | None, size: int) -> Response:
    """``{"values", "links"}`` with ``links.next`` only when there is a next page."""
    links = {"next": f"{path}?{urlencode({'offset': next_offset, 'size': size})}"} if next_offset is not None else {}
    return json_response({"values": values, "links": links})


def _paging() -> tuple[int, int]:
    return int_param(request.args, "offset", 0, 0), int_param(request.args, "size", PAGE_DEFAULT, 1, PAGE_MAX)


def ops_blueprint(state: AtlassianState) -> Blueprint:
    bp = Blueprint("atlassian_ops", __name__, url_prefix=OPS_PREFIX)
    config = state.config

    guard_path_value(bp, "cloud_id", lambda: config.cloud_id, lambda cloud: ApiError(404, f"Site {cloud} not found"))

    @bp.before_request
    def check_rights() -> None:
        if request.path.rstrip("/").split("/v1/", 1)[1].startswith("roles") and not config.caller_ops_admin:
            raise ApiError(403, "The user should have admin role and custom user role right", code="FORBIDDEN")

    @bp.post("/teams/<team_id>/enable-ops")
    def enable_ops(team_id: str) -> Response:
        state.enable_ops(team_id, request_body())
        return empty_response()

    @bp.get("/teams")
    def list_teams() -> Response:
        offset, size = _paging()
        teams, next_offset = state.ops_teams(offset, size)
        values = [{"teamId": t.team_id, "teamName": t.display_name} for t in teams]
        return offset_page("/v1/teams", values, next_offset, size)

    @bp.get("/roles")
    def list_roles() -> Response:
        offset, size = _paging()
        roles, next_offset = state.list_roles(offset, size)
        return offset_page("/v1/roles", [r.to_json() for r in roles], next_offset, size)

    @bp.post("/roles")
    def create_role() -> Response:
        body = request_body()
        role = state.create_role(
            str(string_field(body, "name", required=True, max_len=255)),
            string_list(body, "grantedRights"),
            string_list(body, "disallowedRights"),
            str(string_field(body, "extendedRole") or "user"),
        )
        return json_response({"message": "Created", "data": {"id": role.id, "name": role.name}}, 201)

    @bp.post("/roles/assign")
    def assign_role() -> Response:
        body = request_body()
        account_id = string_field(body, config.role_assign_account_field, required=True)
        role_ref = string_field(body, config.role_assign_role_field, required=True)
        state.assign_role_to(str(account_id), str(role_ref))
        return empty_response()

    def identifier_type() -> str:
        return request.args.get("identifierType", "id")

    @bp.get("/roles/<identifier>")
    def get_role(identifier: str) -> Response:
        return json_response(state.get_role(identifier, identifier_type()).to_json())

    @bp.put("/roles/<identifier>")
    def update_role(identifier: str) -> Response:
        body = request_body()
        name = string_field(body, "name", max_len=255)
        if name is not None and not name.strip():
            raise bad_request("name must not be blank")
        granted = string_list(body, "grantedRights") if "grantedRights" in body else None
        disallowed = string_list(body, "disallowedRights") if "disallowedRights" in body else None
        role = state.update_role(identifier, identifier_type(), name, granted, disallowed)
        return json_response({"message": "Updated", "data": {"id": role.id, "name": role.name}})

    @bp.delete("/roles/<identifier>")
    def delete_role(identifier: str) -> Response:
        state.delete_role(identifier, identifier_type())
        return empty_response()

    return bp
