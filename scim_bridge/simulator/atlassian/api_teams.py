"""The Teams public API (Basic): ``/gateway/api/public/teams/v1/org/{orgId}/teams...``.

Paging: the team list takes ``size`` (default 50, at most 300) and an opaque ``cursor`` and answers
``{"entities", "cursor"}``; the member list takes ``{"first" (at most 50), "after"}`` and answers
``{"results", "pageInfo": {"endCursor", "hasNextPage"}}``. Member add/remove take 1 to 50 unique
members and answer per member (``errors``) with 200.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import request

from scim_bridge.simulator.atlassian.errors import bad_request
from scim_bridge.simulator.atlassian.errors import empty_response
from scim_bridge.simulator.atlassian.errors import json_response
from scim_bridge.simulator.atlassian.models import TEAM_TYPES
from scim_bridge.simulator.atlassian.params import decode_cursor
from scim_bridge.simulator.atlassian.params import encode_cursor
from scim_bridge.simulator.atlassian.params import guard_org
from scim_bridge.simulator.atlassian.params import int_param
from scim_bridge.simulator.atlassian.params import member_list
from scim_bridge.simulator.atlassian.params import request_body
from scim_bridge.simulator.atlassian.params import string_field
from scim_bridge.simulator.atlassian.state import AtlassianState

TEAMS_PREFIX = "/gateway/api/public/teams/v1/org/<org_id>"
TEAM_PAGE_DEFAULT = 50
TEAM_PAGE_MAX = 300
MEMBER_PAGE_MAX = 50
PATCHABLE = frozenset({"displayName", "description"})


def _team_changes(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """The ``displayName`` and ``description`` a team PATCH sets (None: left as is); 400 for any other field
    or a blank name."""
    fixed = sorted(set(body) - PATCHABLE)
    if fixed:
        raise bad_request(f"Only displayName and description can be changed, not {', '.join(fixed)}")
    name = string_field(body, "displayName", max_len=250)
    if name is not None and not name.strip():
        raise bad_request("displayName must not be blank")
    return name, string_field(body, "description", max_len=360)


def _member_page(body: dict[str, Any], kind: str) -> tuple[int, int]:
    """Where a member page starts (``after``, a cursor of ``kind``) and how long it is (``first``)."""
    first = int_param(body, "first", MEMBER_PAGE_MAX, 1, MEMBER_PAGE_MAX)
    after = body.get("after")
    if after is not None and not isinstance(after, str):
        raise bad_request("after must be a string cursor")
    return decode_cursor(kind, after, name="after"), first


def teams_blueprint(state: AtlassianState) -> Blueprint:
    bp = Blueprint("atlassian_teams", __name__, url_prefix=TEAMS_PREFIX)
    config = state.config

    guard_org(bp, lambda: config.org_id, "ORG_NOT_FOUND")

    def team_json(team: Any, *, with_members: bool = False) -> dict[str, Any]:
        return dict(team.to_json(config.org_id, with_members=with_members))

    @bp.post("/teams")
    def create_team() -> Response:
        body = request_body()
        name = str(string_field(body, "displayName", required=True, max_len=250))
        description = string_field(body, "description", max_len=360) or ""
        team_type = string_field(body, "teamType", required=True)
        if team_type not in TEAM_TYPES:
            raise bad_request(f"teamType must be one of {list(TEAM_TYPES)}")
        site_id = string_field(body, "siteId", max_len=255)
        if site_id is None and config.require_site_id:
            raise bad_request("siteId is required: this organization has site-scoped teams", code="SITE_ID_REQUIRED")
        if site_id is not None and site_id != config.site_id:
            raise bad_request(f"Site {site_id} does not belong to the organization", code="INVALID_SITE_ID")
        team = state.create_team(name, description, team_type, site_id)
        return json_response(team_json(team, with_members=True), 201)

    @bp.get("/teams")
    def list_teams() -> Response:
        size = int_param(request.args, "size", TEAM_PAGE_DEFAULT, 1, TEAM_PAGE_MAX)
        offset = decode_cursor("teams", request.args.get("cursor"))
        teams, next_offset = state.list_teams(request.args.get("siteId") or None, offset, size)
        cursor = encode_cursor("teams", next_offset) if next_offset is not None else None
        return json_response({"entities": [team_json(t) for t in teams], "cursor": cursor})

    @bp.get("/teams/<team_id>")
    def get_team(team_id: str) -> Response:
        return json_response(team_json(state.get_team(team_id)))

    @bp.patch("/teams/<team_id>")
    def update_team(team_id: str) -> Response:
        name, description = _team_changes(request_body())
        return json_response(team_json(state.update_team(team_id, name, description)))

    @bp.delete("/teams/<team_id>")
    def delete_team(team_id: str) -> Response:
        state.delete_team(team_id)
        return empty_response()

    @bp.post("/teams/<team_id>/restore")
    def restore_team(team_id: str) -> Response:
        return json_response(team_json(state.restore_team(team_id)))

    @bp.post("/teams/<team_id>/members")
    def list_members(team_id: str) -> Response:
        kind = f"members-{team_id}"
        offset, first = _member_page(request_body(), kind)
        members, next_offset = state.list_members(team_id, offset, first)
        page_info = {
            "endCursor": encode_cursor(kind, offset + len(members)) if members else None,
            "hasNextPage": next_offset is not None,
        }
        return json_response({"results": [{"accountId": m} for m in members], "pageInfo": page_info})

    @bp.post("/teams/<team_id>/members/add")
    def add_members(team_id: str) -> Response:
        added, errors = state.add_members(team_id, member_list(request_body()))
        return json_response({"members": [{"accountId": a} for a in added], "errors": errors})

    @bp.post("/teams/<team_id>/members/remove")
    def remove_members(team_id: str) -> Response:
        return json_response({"errors": state.remove_members(team_id, member_list(request_body()))})

    return bp
