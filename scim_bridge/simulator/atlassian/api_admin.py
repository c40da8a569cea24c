"""The Organizations admin API (Bearer): ``/admin/v1/orgs/{orgId}/...`` and ``/admin/v2/orgs/{orgId}/...``.

The directory search pages with ``limit`` (default 100, at most 100) and an opaque ``cursor``, and
answers ``{"data", "links": {"next"?}}``; pass ``links.next`` back as ``cursor``. Directory ids:
``-`` (all directories) or the org's one directory.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import request

from scim_bridge.simulator.atlassian.config import DIRECTORY_ID
from scim_bridge.simulator.atlassian.errors import ApiError
from scim_bridge.simulator.atlassian.errors import bad_request
from scim_bridge.simulator.atlassian.errors import empty_response
from scim_bridge.simulator.atlassian.errors import json_response
from scim_bridge.simulator.atlassian.params import decode_cursor
from scim_bridge.simulator.atlassian.params import encode_cursor
from scim_bridge.simulator.atlassian.params import guard_org
from scim_bridge.simulator.atlassian.params import int_param
from scim_bridge.simulator.atlassian.params import request_body
from scim_bridge.simulator.atlassian.params import string_list
from scim_bridge.simulator.atlassian.state import AtlassianState

DIRECTORY_PAGE_MAX = 100


def _rules(state: AtlassianState, body: dict[str, Any]) -> list[tuple[str, str]]:
    raw = body.get("permissionRules", [])
    if not isinstance(raw, list) or not all(isinstance(rule, dict) for rule in raw):
        raise bad_request("permissionRules must be a list of {role, resource} objects", code="ADMIN-400")
    return [state.check_permission_rule(rule.get("role"), rule.get("resource")) for rule in raw]


def admin_blueprint(state: AtlassianState) -> Blueprint:
    bp = Blueprint("atlassian_admin", __name__, url_prefix="/admin")
    config = state.config

    guard_org(bp, lambda: config.org_id, "ADMIN-404")

    def org() -> dict[str, Any]:
        return {"id": config.org_id, "type": "orgs", "attributes": {"name": "Simulated organization"}}

    @bp.get("/v1/orgs")
    def list_orgs() -> Response:
        return json_response({"data": [org()], "links": {}})

    @bp.get("/v1/orgs/<org_id>")
    def get_org() -> Response:
        return json_response({"data": org()})

    @bp.get("/v2/orgs/<org_id>/directories/<directory_id>/users")
    def search_users(directory_id: str) -> Response:
        if directory_id not in ("-", DIRECTORY_ID):
            raise ApiError(404, f"Directory {directory_id} not found", code="ADMIN-404")
        limit = int_param(request.args, "limit", DIRECTORY_PAGE_MAX, 1, DIRECTORY_PAGE_MAX)
        offset = decode_cursor("directory", request.args.get("cursor"))
        users, next_offset = state.directory_search(request.args.get("searchTerm", ""), limit, offset)
        links = {"next": encode_cursor("directory", next_offset)} if next_offset is not None else {}
        return json_response({"data": users, "links": links})

    @bp.post("/v2/orgs/<org_id>/users/invite")
    def invite() -> Response:
        body = request_body()
        emails = string_list(body, "emails", required=True)
        rules = _rules(state, body)
        string_list(body, "additionalGroups")
        if not isinstance(body.get("sendNotification", False), bool):
            raise bad_request("sendNotification must be a boolean", code="ADMIN-400")
        return json_response({"data": state.invite(emails, rules)})

    @bp.post("/v1/orgs/<org_id>/users/<account_id>/roles/<action>")
    def product_role(account_id: str, action: str) -> Response:
        body = request_body()
        if action == "assign":
            state.assign_role(account_id, body.get("role"), body.get("resource"))
        elif action == "revoke":
            state.revoke_role(account_id, body.get("role"), body.get("resource"))
        else:
            raise ApiError(404, f"No route for roles/{action}", code="ADMIN-404")
        return empty_response()

    @bp.post("/v1/orgs/<org_id>/directory/users/<account_id>/suspend-access")
    def suspend(account_id: str) -> Response:
        return json_response({"message": state.suspend(account_id)})

    @bp.post("/v1/orgs/<org_id>/directory/users/<account_id>/restore-access")
    def restore(account_id: str) -> Response:
        return json_response({"message": state.restore(account_id)})

    @bp.delete("/v1/orgs/<org_id>/directory/users/<account_id>")
    def remove(account_id: str) -> Response:
        state.remove(account_id)
        return empty_response()

    return bp
