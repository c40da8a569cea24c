"""Jira user search on the site (Basic): ``/rest/api/3/user/search``, ``/rest/api/3/user``, ``/rest/api/3/myself``.

The search answers a JSON array of active users (``jira_search_includes_suspended`` adds suspended
ones); ``query`` matches a prefix of the e-mail or of a word of the display name; ``startAt`` and
``maxResults`` (default 50, at most 1000) page it. ``jira_hide_email`` leaves ``emailAddress`` out.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import request

from scim_bridge.simulator.atlassian.errors import ApiError
from scim_bridge.simulator.atlassian.errors import json_response
from scim_bridge.simulator.atlassian.params import int_param
from scim_bridge.simulator.atlassian.state import AtlassianState

SEARCH_DEFAULT = 50
SEARCH_MAX = 1000


def jira_blueprint(state: AtlassianState) -> Blueprint:
    bp = Blueprint("atlassian_jira", __name__, url_prefix="/rest/api/3")

    def base_url() -> str:
        return request.host_url.rstrip("/")

    @bp.get("/user/search")
    def search() -> Response:
        query = request.args.get("query")
        account_id = request.args.get("accountId")
        if not query and not account_id and not request.args.get("property"):
            raise ApiError(400, "One of 'query', 'accountId' or 'property' query parameters must be provided.")
        start = int_param(request.args, "startAt", 0, 0)
        limit = int_param(request.args, "maxResults", SEARCH_DEFAULT, 0, SEARCH_MAX)
        found = state.jira_search(query, account_id or None, start, limit)
        hide = state.config.jira_hide_email
        return json_response([a.jira_json(base_url(), hide_email=hide) for a in found])

    @bp.get("/user")
    def user() -> Response:
        account_id = request.args.get("accountId")
        if not account_id:
            raise ApiError(400, "The accountId query parameter needs to be provided.", fields={"accountId": "required"})
        account = state.jira_user(account_id)
        if account is None:
            raise ApiError(404, "Specified user does not exist or you do not have required permissions")
        return json_response(account.jira_json(base_url(), hide_email=state.config.jira_hide_email))

    @bp.get("/myself")
    def myself() -> Response:
        account = state.jira_user(state.caller_account_id)
        if account is None:  # the caller is protected from removal; this only guards a hand-edited state
            raise ApiError(401, "Client must be authenticated to access this resource.")
        return json_response(account.jira_json(base_url(), hide_email=False))

    return bp
