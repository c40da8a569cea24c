"""Per-request context shared by the service layer: where the bridge is served, who is asking."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Any

from scim_bridge import jsoncodec
from scim_bridge.config import ALL_SCOPES
from scim_bridge.scim import errors


@dataclass
class RequestContext:
    base_url: str = ""
    actor: str = "system"
    request_id: str = ""
    # Upstream calls made while serving this request (filled through the client's call hook).
    upstream_calls: list[dict[str, Any]] = field(default_factory=list)
    # What the request asked that the bridge did not do, though it succeeded: (kind, message) pairs for the
    # audit log, the console and the scim_bridge_warnings_total metric (e.g. "phone", "ignored").
    warnings: list[tuple[str, str]] = field(default_factory=list)

    # The scopes the caller's credential grants, and those this request has exercised (for the audit log).
    scopes: frozenset[str] = ALL_SCOPES
    used_scopes: set[str] = field(default_factory=set)

    def require(self, scope: str, action: str) -> None:
        """Go on only when the credential grants ``scope``; InsufficientScope (403) naming it otherwise.

        Called before the first upstream write of the action, so a refused request changes nothing.
        """
        if scope not in self.scopes:
            raise errors.InsufficientScope(scope, action)
        self.used_scopes.add(scope)

    def warn(self, kind: str, message: str) -> None:
        if (kind, message) not in self.warnings:
            self.warnings.append((kind, message))

    def absolute(self, resource: dict[str, Any]) -> dict[str, Any]:
        """``resource`` with its relative URLs made absolute under this request's base URL."""
        return absolute(resource, self.base_url)


# Attributes whose elements carry a ``$ref`` to another resource of the bridge.
REF_ATTRIBUTES = ("groups", "members")


def relative(endpoint: str, resource_id: str) -> str:
    """The URL of a resource relative to the SCIM base URL ("/Users/<id>"): what stored documents hold."""
    return f"{endpoint}/{resource_id}"


def absolute(resource: dict[str, Any], base_url: str) -> dict[str, Any]:
    """A copy of ``resource`` whose relative ``meta.location`` and ``$ref`` URLs start with ``base_url``.

    Stored documents (the search index) hold URLs relative to the SCIM base ("/Users/<id>"), since the
    base depends on the request (host name, scheme, proxy); they are made absolute on the way out.
    Only the containers that change are copied.
    """
    if not base_url:
        return resource
    out = dict(resource)
    meta = out.get("meta")
    if isinstance(meta, dict) and isinstance(meta.get("location"), str) and meta["location"].startswith("/"):
        out["meta"] = {**meta, "location": base_url + meta["location"]}
    for key in REF_ATTRIBUTES:
        items = out.get(key)
        if isinstance(items, list):
            out[key] = [
                {**item, "$ref": base_url + item["$ref"]}
                if isinstance(item, dict) and isinstance(item.get("$ref"), str) and item["$ref"].startswith("/")
                else item
                for item in items
            ]
    return out


def iso(moment: datetime | str | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, str):
        return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def weak_etag(resource: dict[str, Any]) -> str:
    """A weak ETag over the resource's content (meta excluded), so any visible change changes it.

    Resources are rendered with ``$ref`` URLs relative to the SCIM base (``relative``) and made absolute
    only for a response, so the version does not depend on the host name a request used.
    """
    content = {k: v for k, v in resource.items() if k != "meta"}
    digest = hashlib.sha256(jsoncodec.canonical(content)).hexdigest()
    return f'W/"{digest[:20]}"'


def add_meta(
    resource: dict[str, Any],
    *,
    resource_type: str,
    location: str,
    created: datetime | str | None,
    last_modified: datetime | str | None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceType": resource_type}
    if created is not None:
        meta["created"] = iso(created)
    if last_modified is not None:
        meta["lastModified"] = iso(last_modified)
    meta["location"] = location
    meta["version"] = weak_etag(resource)
    resource["meta"] = meta
    return resource


def now() -> datetime:
    return datetime.now(UTC)
