"""Resource versions as entity tags (RFC 7644 section 3.14, RFC 7232): matching and preconditions."""

from __future__ import annotations

from typing import Any

from scim_bridge.scim import errors


def etag_matches(header: str, version: str) -> bool:
    """RFC 7232 weak comparison of ``version`` against a list of entity tags (or ``*``)."""
    def opaque(tag: str) -> str:
        tag = tag.strip()
        return tag[2:] if tag.startswith("W/") else tag

    tags = [t for t in header.split(",") if t.strip()]
    return any(t.strip() == "*" or opaque(t) == opaque(version) for t in tags)


def require_version(if_match: str | None, resource: dict[str, Any]) -> None:
    """412 when an If-Match header is given and names none of the resource's current version."""
    version = resource["meta"]["version"]
    if if_match is not None and not etag_matches(if_match, version):
        kind = resource["meta"].get("resourceType", "Resource")
        raise errors.PreconditionFailed(f"{kind} {resource['id']} has changed: its version is {version}")
