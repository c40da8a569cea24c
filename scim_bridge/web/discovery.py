"""/ServiceProviderConfig, /ResourceTypes, /Schemas and /Me."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import request

from scim_bridge.scim import discovery
from scim_bridge.scim import errors
from scim_bridge.web.http import context
from scim_bridge.web.http import scim_response
from scim_bridge.web.state import bridge

bp = Blueprint("discovery", __name__)
DISCOVERY_ENDPOINTS = frozenset({"discovery.service_provider_config", "discovery.resource_types",
                                 "discovery.resource_type", "discovery.schemas", "discovery.schema"})


@bp.before_request
def refuse_filters() -> None:
    """RFC 7644 §4: discovery endpoints ignore filtering, so a request with a filter gets 403 rather than an
    answer the client could take for a filtered one."""
    if "filter" in request.args and request.endpoint in DISCOVERY_ENDPOINTS:
        raise errors.Forbidden(
            "Filtering is not supported on the discovery endpoints (RFC 7644 section 4); request them whole"
        )


@bp.get("/ServiceProviderConfig")
def service_provider_config() -> Response:
    s = bridge().settings
    limits = discovery.Limits(
        max_results=s.max_results,
        max_body_bytes=s.max_body_bytes,
        max_patch_operations=s.max_patch_operations,
        max_filter_length=s.max_filter_length,
        default_count=s.default_count,
    )
    token_url = request.host_url.rstrip("/") + "/oauth/token" if s.oauth_clients else ""
    body = discovery.service_provider_config(context().base_url, limits, oauth_token_url=token_url)
    body["pagination"] = discovery.pagination_config(
        default_page_size=s.default_count, max_page_size=s.max_results,
        cursor_timeout=int(bridge().cursor_codec.timeout_seconds), cursor=True,
    )
    return scim_response(body)


@bp.get("/ResourceTypes")
def resource_types() -> Response:
    return scim_response(discovery.resource_types(context().base_url))


@bp.get("/ResourceTypes/<name>")
def resource_type(name: str) -> Response:
    return scim_response(discovery.resource_type(context().base_url, name))


@bp.get("/Schemas")
def schemas() -> Response:
    return scim_response(discovery.schemas(context().base_url))


@bp.get("/Schemas/<path:urn>")
def schema(urn: str) -> Response:
    return scim_response(discovery.schema(context().base_url, urn))


@bp.route("/Me", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def me() -> Response:
    raise errors.NotImplementedFeature(
        "/Me is not available: the bridge is called by identity providers, not by end users"
    )


@bp.route("/Bulk", methods=["POST"])
def bulk() -> Response:
    raise errors.NotImplementedFeature("Bulk operations are not supported (see /ServiceProviderConfig)")
