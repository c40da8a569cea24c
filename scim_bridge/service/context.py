"""Per-request context shared by the service layer: where the bridge is served, who is asking."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Any


@dataclass
class RequestContext:
    base_url: str = ""
    actor: str = "system"
    request_id: str = ""
    # Upstream calls made while serving this request (filled through the client's call hook).
    upstream_calls: list[dict[str, Any]] = field(default_factory=list)

    def location(self, endpoint: str, resource_id: str) -> str:
        return f"{self.base_url}{endpoint}/{resource_id}"


def iso(moment: datetime | str | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, str):
        return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def weak_etag(resource: dict[str, Any]) -> str:
    """A weak ETag over the resource's content (meta excluded), so any visible change changes it."""
    content = {k: v for k, v in resource.items() if k != "meta"}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
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
