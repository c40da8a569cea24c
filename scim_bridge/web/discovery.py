"""/ServiceProviderConfig, /ResourceTypes, /Schemas and /Me."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint
from flask import Response
from flask import request

from scim_bridge.scim import discovery
from scim_bridge.scim import errors
from scim_bridge.web.http import context
from scim_bridge.web.http import scim_response
from scim_bridge.web.state import bridge

bp = Blueprint("discovery", __name__)


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


# The discovery documents read by name or as a list: endpoint, URL rule, and what builds the body (from the
# base URL and the name in the URL, if any).
DOCUMENTS: tuple[tuple[str, str, Callable[..., dict[str, Any]]], ...] = (
    ("resource_types", "/ResourceTypes", discovery.resource_types),
    ("resource_type", "/ResourceTypes/<name>", discovery.resource_type),
    ("schemas", "/Schemas", discovery.schemas),
    ("schema", "/Schemas/<path:urn>", discovery.schema),
)


def _document_view(build: Callable[..., dict[str, Any]]) -> Callable[..., Response]:
    def view(**name: str) -> Response:
        return scim_response(build(context().base_url, *name.values()))

    return view


for _endpoint, _rule, _build in DOCUMENTS:
    bp.add_url_rule(_rule, _endpoint, _document_view(_build), methods=["GET"])

DISCOVERY_ENDPOINTS = frozenset({"discovery.service_provider_config", *(f"discovery.{e}" for e, _, _ in DOCUMENTS)})


@bp.route("/Me", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def me() -> Response:
    raise errors.NotImplementedFeature(
        "/Me is not available: the bridge is called by identity providers, not by end users"
    )


@bp.route("/Bulk", methods=["POST"])
def bulk() -> Response:
    raise errors.NotImplementedFeature("Bulk operations are not supported (see /ServiceProviderConfig)")
