"""Discovery documents (RFC 7644, Section 4): truthful about what the bridge supports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scim_bridge.scim import errors
from scim_bridge.scim.schema import ALL_SCHEMAS
from scim_bridge.scim.schema import LIST_RESPONSE
from scim_bridge.scim.schema import RESOURCE_TYPES
from scim_bridge.scim.schema import SPC_SCHEMA
from scim_bridge.scim.schema import schema_by_urn


@dataclass(frozen=True)
class Limits:
    max_results: int
    max_body_bytes: int
    max_patch_operations: int
    max_filter_length: int
    default_count: int


def service_provider_config(
    base_url: str, limits: Limits, documentation_uri: str = "", *, oauth_token_url: str = ""
) -> dict[str, Any]:
    """The ServiceProviderConfig; ``oauth_token_url`` is set when OAuth client credentials are configured."""
    schemes: list[dict[str, Any]] = [
        {
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A bearer token in the Authorization header.",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
            "primary": True,
        }
    ]
    if oauth_token_url:
        schemes.append({
            "type": "oauth2",
            "name": "OAuth 2.0 Client Credentials",
            "description": f"Access tokens from the client_credentials grant at {oauth_token_url}, sent as "
                           "Authorization: Bearer.",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6749",
            "primary": False,
        })
    body: dict[str, Any] = {
        "schemas": [SPC_SCHEMA],
        "patch": {"supported": True},
        # Bulk is not offered: every SCIM operation is already several upstream calls.
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": limits.max_results},
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": schemes,
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base_url}/ServiceProviderConfig",
        },
    }
    if documentation_uri:
        body["documentationUri"] = documentation_uri
    return body


def _list(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(items),
        "startIndex": 1,
        "itemsPerPage": len(items),
        "Resources": items,
    }


def resource_types(base_url: str) -> dict[str, Any]:
    return _list([rt.to_json(base_url) for rt in RESOURCE_TYPES])


def resource_type(base_url: str, name: str) -> dict[str, Any]:
    for rt in RESOURCE_TYPES:
        if rt.id.lower() == name.lower():
            return rt.to_json(base_url)
    raise errors.NotFound(f"Resource type {name!r} not found")


def schemas(base_url: str) -> dict[str, Any]:
    return _list([schema.to_json(base_url) for schema in ALL_SCHEMAS])


def schema(base_url: str, urn: str) -> dict[str, Any]:
    found = schema_by_urn(urn)
    if found is None:
        raise errors.NotFound(f"Schema {urn!r} not found")
    return found.to_json(base_url)


def pagination_config(
    *,
    default_page_size: int,
    max_page_size: int,
    cursor_timeout: int,
    cursor: bool = True,
    default_method: str = "index",
) -> dict[str, Any]:
    """The ServiceProviderConfig ``pagination`` block (RFC 9865, Section 4).

    Index paging stays the default so that clients which never send ``cursor`` see no change.
    """
    if default_method not in ("index", "cursor") or (default_method == "cursor" and not cursor):
        raise ValueError(f"unsupported default pagination method {default_method!r}")
    block: dict[str, Any] = {
        "cursor": cursor,
        "index": True,
        "defaultPaginationMethod": default_method,
        "defaultPageSize": max(1, int(default_page_size)),
        "maxPageSize": max(1, int(max_page_size)),
    }
    if cursor:
        block["cursorTimeout"] = max(1, int(cursor_timeout))
    return block
