"""/Users and /Groups: thin views over the service layer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint
from flask import Response
from flask import request
from flask.views import MethodView

from scim_bridge.scim import errors
from scim_bridge.scim.listing import ListParams
from scim_bridge.scim.listing import cursor_links
from scim_bridge.scim.listing import cursor_list_response
from scim_bridge.scim.listing import cursor_scope
from scim_bridge.scim.listing import list_response
from scim_bridge.scim.listing import page_start
from scim_bridge.scim.listing import parse_list_params
from scim_bridge.scim.listing import position_links
from scim_bridge.scim.patch import PatchResult
from scim_bridge.scim.patch import apply_patch
from scim_bridge.scim.patch import parse_patch_request
from scim_bridge.scim.payloads import load_resource
from scim_bridge.scim.projection import Projection
from scim_bridge.scim.projection import for_response
from scim_bridge.scim.projection import parse_attribute_list
from scim_bridge.scim.projection import wants
from scim_bridge.scim.schema import GROUP
from scim_bridge.scim.schema import USER
from scim_bridge.scim.schema import ResourceType
from scim_bridge.scim.unknown import ignored_message
from scim_bridge.scim.unknown import unknown_attributes
from scim_bridge.scim.versions import etag_matches
from scim_bridge.scim.versions import require_version
from scim_bridge.service.context import RequestContext
from scim_bridge.service.naming import with_role_aliases
from scim_bridge.store.keyset import KeysetPage
from scim_bridge.web.http import context
from scim_bridge.web.http import json_body
from scim_bridge.web.http import query_args
from scim_bridge.web.http import scim_response
from scim_bridge.web.state import bridge

bp = Blueprint("resources", __name__)

def _projection(resource_type: ResourceType) -> Projection:
    args = query_args()
    return Projection(
        parse_attribute_list(args.get("attributes"), resource_type),
        parse_attribute_list(args.get("excludedAttributes"), resource_type),
    )


def _show(resource: dict[str, Any], resource_type: ResourceType, proj: Projection) -> dict[str, Any]:
    if resource_type is USER:
        resource = with_role_aliases(resource, bridge().settings.role_group_aliases)
    return for_response(resource, resource_type, proj)


def _single(resource: dict[str, Any], resource_type: ResourceType, status: int = 200) -> Response:
    shown = _show(resource, resource_type, _projection(resource_type))
    location = resource["meta"]["location"]
    return scim_response(
        shown,
        status,
        location=location if status == 201 else None,
        etag=resource["meta"]["version"],
    )


# (context, list parameters, 1-based start index) -> (totalResults, the page of absolute resources)
PageOf = Callable[[RequestContext, ListParams, int], tuple[int, list[dict[str, Any]]]]


# (context, list parameters, position or None, backward) -> the page read by keyset, or None (page by offset)
KeysetOf = Callable[[RequestContext, ListParams, tuple[str, ...] | None, bool], KeysetPage | None]


def _list(resource_type: ResourceType, source: dict[str, Any], *, search: bool = False) -> Response:
    """A list (query parameters) or search (SearchRequest body) answer: index paging (``startIndex``) or
    cursor paging (RFC 9865 ``cursor``).

    Cursors of queries with a keyset order hold a position (the sort keys of the row they follow), so a walk
    neither skips nor repeats rows when others are written meanwhile; other cursors hold an offset.
    """
    params = _list_params(source, resource_type, search=search)
    page_of, keyset_of = _READERS[resource_type.id]
    codec = bridge().cursor_codec
    if params.cursor is not None:
        keyset_answer = _keyset_list(resource_type, params, keyset_of)
        if keyset_answer is not None:
            return keyset_answer
    start = page_start(params, resource_type, codec)
    proj = params.projection
    total, page = page_of(context(), params, start)
    shown = [_show(r, resource_type, proj) for r in page]
    if params.cursor is not None:
        links = cursor_links(params, resource_type, codec, start_index=start, returned=len(page), total=total)
        return scim_response(cursor_list_response(shown, total, links))
    return scim_response(list_response(shown, total, start))


def _keyset_list(resource_type: ResourceType, params: ListParams, keyset_of: KeysetOf) -> Response | None:
    codec = bridge().cursor_codec
    requested = (None if not params.cursor else
                 codec.decode_any(params.cursor, cursor_scope(resource_type, params)))
    if isinstance(requested, int):
        return None  # an offset cursor (a query without keyset order)
    after = requested.keys if requested is not None else None
    page = keyset_of(context(), params, after, requested is not None and requested.backward)
    if page is None:
        return None
    proj = params.projection
    shown = [_show(r, resource_type, proj) for r in page.resources]
    links = position_links(params, resource_type, codec, requested=requested,
                           keys=[tuple(p) for p in page.positions], more=page.more)
    return scim_response(cursor_list_response(shown, page.total, links))


def _list_params(source: dict[str, Any], resource_type: ResourceType, *, search: bool = False) -> ListParams:
    settings = bridge().settings
    return parse_list_params(
        source, resource_type=resource_type, default_count=settings.default_count,
        max_count=settings.max_results, search_request=search,
        max_filter_length=settings.max_filter_length, max_filter_depth=settings.max_filter_depth,
    )


def _search_body() -> dict[str, Any]:
    body = json_body()
    if not isinstance(body, dict):
        raise errors.InvalidSyntax("A SearchRequest must be a JSON object")
    return body


def _if_none_match(resource: dict[str, Any]) -> Response | None:
    """Conditional GET (RFC 7232): 304 when If-None-Match names the current version (weak comparison, or
    ``*``); 412 when If-Match names none of it."""
    version = resource["meta"]["version"]
    if request.headers.get("If-Match"):
        require_version(request.headers["If-Match"], resource)
    header = request.headers.get("If-None-Match")
    if header and etag_matches(header, version):
        return scim_response(None, 304, etag=version)
    return None


def _ignoring(names: list[str] | tuple[str, ...]) -> None:
    """Record attributes the request named that the resource type does not have (they are ignored)."""
    if names:
        context().warn("ignored", ignored_message(list(names)))


def _loaded(resource_type: ResourceType, *, for_replace: bool = False) -> dict[str, Any]:
    """The POST or PUT body, validated; unknown attributes are dropped and recorded."""
    body = json_body()
    resource = load_resource(body, resource_type, for_replace=for_replace)
    _ignoring(unknown_attributes(body, resource_type))
    return resource


def _patcher(resource_type: ResourceType) -> Callable[[dict[str, Any]], PatchResult]:
    """Apply the request's PATCH operations to the current resource; unknown paths are ignored and recorded.
    The services get the whole change record (the members added and removed among it)."""
    operations = parse_patch_request(json_body(), max_operations=bridge().settings.max_patch_operations)
    if resource_type is GROUP:
        _check_member_count([v for op in operations for v in _member_values(op)])

    def new_of(current: dict[str, Any]) -> PatchResult:
        result = apply_patch(current, operations, resource_type)
        _ignoring(result.ignored)
        return result

    return new_of


# --- Users ---------------------------------------------------------------------------------------
def _wants_groups(proj: Projection) -> bool:
    return wants("groups", USER, *proj)


def _user_page(ctx: RequestContext, params: ListParams, start: int) -> tuple[int, list[dict[str, Any]]]:
    bridge().sync.rosters.before_user_page(params.query, start, params.count, _wants_groups(params.projection))
    return bridge().users.search_page(ctx, params.query, start_index=start, count=params.count)


def _user_keyset(ctx: RequestContext, params: ListParams, after: tuple[str, ...] | None, backward: bool
                 ) -> KeysetPage | None:
    bridge().sync.rosters.before_user_walk(params.filter,
                                           _wants_groups(params.projection))
    return bridge().users.keyset_page(ctx, params.query, after=after, backward=backward, count=params.count)


def _rosters_for_user(user_id: str) -> None:
    """Before a user is answered: its outstanding team rosters loaded, when the projection asks for ``groups``."""
    bridge().sync.rosters.before_user(user_id, _wants_groups(_projection(USER)))


class StatelessView(MethodView):
    """A view class whose one instance serves every request (the views keep no state of their own)."""

    init_every_request = False


class UserList(StatelessView):
    """/Users: list (GET) and create (POST)."""

    def get(self) -> Response:
        return _list(USER, query_args())

    def post(self) -> Response:
        resource = _loaded(USER)
        return _single(bridge().users.create(context(), resource), USER, 201)


class UserItem(StatelessView):
    """/Users/<user_id>: read, replace, patch, delete."""

    def get(self, user_id: str) -> Response:
        _rosters_for_user(user_id)
        resource = bridge().users.get(context(), user_id)
        return _if_none_match(resource) or _single(resource, USER)

    def put(self, user_id: str) -> Response:
        resource = _loaded(USER, for_replace=True)
        _rosters_for_user(user_id)
        updated = bridge().users.replace(context(), user_id, resource, request.headers.get("If-Match"))
        return _single(updated, USER)

    def patch(self, user_id: str) -> Response:
        _rosters_for_user(user_id)
        updated = bridge().users.patch(context(), user_id, _patcher(USER), request.headers.get("If-Match"))
        return _single(updated, USER)

    def delete(self, user_id: str) -> Response:
        bridge().users.delete(context(), user_id, request.headers.get("If-Match"))
        return scim_response(None, 204)


@bp.post("/.search")
def search_root() -> Response:
    raise errors.NotImplementedFeature(
        "Searching several resource types at once is not supported: use /Users/.search or /Groups/.search"
    )


@bp.post("/Users/.search")
def search_users() -> Response:
    return _list(USER, _search_body(), search=True)


# --- Groups --------------------------------------------------------------------------------------
def _wants_members(proj: Projection) -> bool:
    return wants("members", GROUP, *proj)


def _group_page(ctx: RequestContext, params: ListParams, start: int) -> tuple[int, list[dict[str, Any]]]:
    want_members = _wants_members(params.projection)
    bridge().sync.rosters.before_group_page(params.query, start, params.count, want_members)
    return bridge().groups.search_page(ctx, params.query, want_members=want_members, start_index=start,
                                       count=params.count)


def _group_keyset(ctx: RequestContext, params: ListParams, after: tuple[str, ...] | None, backward: bool
                  ) -> KeysetPage | None:
    want_members = _wants_members(params.projection)
    return bridge().groups.keyset_page(ctx, params.query, want_members=want_members, after=after,
                                       backward=backward, count=params.count)


# How each resource type is read for a list answer: by offset, and by keyset position.
_READERS: dict[str, tuple[PageOf, KeysetOf]] = {
    USER.id: (_user_page, _user_keyset),
    GROUP.id: (_group_page, _group_keyset),
}


class GroupList(StatelessView):
    """/Groups: list (GET) and create (POST)."""

    def get(self) -> Response:
        return _list(GROUP, query_args())

    def post(self) -> Response:
        resource = _loaded(GROUP)
        _check_member_count(resource.get("members"))
        return _single(bridge().groups.create(context(), resource), GROUP, 201)


class GroupItem(StatelessView):
    """/Groups/<group_id>: read, replace, patch, delete."""

    def get(self, group_id: str) -> Response:
        proj = _projection(GROUP)
        bridge().sync.rosters.before_group(group_id, _wants_members(proj))
        resource = bridge().groups.get(context(), group_id, want_members=_wants_members(proj))
        return _if_none_match(resource) or _single(resource, GROUP)

    def put(self, group_id: str) -> Response:
        resource = _loaded(GROUP, for_replace=True)
        _check_member_count(resource.get("members"))
        updated = bridge().groups.replace(context(), group_id, resource, request.headers.get("If-Match"))
        return _single(updated, GROUP)

    def patch(self, group_id: str) -> Response:
        updated = bridge().groups.patch(context(), group_id, _patcher(GROUP), request.headers.get("If-Match"))
        if "attributes" in request.args or "excludedAttributes" in request.args:
            return _single(updated, GROUP)
        return scim_response(None, 204, etag=updated["meta"]["version"])

    def delete(self, group_id: str) -> Response:
        bridge().groups.delete(context(), group_id, request.headers.get("If-Match"))
        return scim_response(None, 204)


@bp.post("/Groups/.search")
def search_groups() -> Response:
    return _list(GROUP, _search_body(), search=True)


# One URL rule per resource URL, its methods dispatched by the view class: each rule an app registers costs
# werkzeug a compiled URL builder (two, in fact) at every app start.
for _rule, _endpoint, _view in (("/Users", "users", UserList), ("/Users/<user_id>", "user", UserItem),
                                ("/Groups", "groups", GroupList), ("/Groups/<group_id>", "group", GroupItem)):
    bp.add_url_rule(_rule, view_func=_view.as_view(_endpoint))


def _member_values(operation: Any) -> list[Any]:
    """Members an operation carries: its list value, or a path-less value's ``members`` (any case)."""
    value = getattr(operation, "value", None)
    if isinstance(value, dict):
        value = next((v for k, v in value.items() if isinstance(k, str) and k.lower() == "members"), None)
    return value if isinstance(value, list) else []


def _check_member_count(members: Any) -> None:
    limit = bridge().settings.max_members_per_patch
    if isinstance(members, list) and len(members) > limit:
        raise errors.TooMany(f"At most {limit} members may be sent in one request; split the change")
