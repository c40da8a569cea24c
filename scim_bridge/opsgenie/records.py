"""Small typed results of the OpsGenie client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scim_bridge.upstream_http import CallRecord


@dataclass(frozen=True)
class Created:
    """The ``data`` of a 201: the new entity's id (and name, where OpsGenie returns one)."""

    id: str
    name: str = ""


@dataclass(frozen=True)
class UsersPage:
    """One page of GET /v2/users."""

    users: list[dict[str, Any]]
    total_count: int
    offset: int
    has_next: bool

    @property
    def next_offset(self) -> int | None:
        return self.offset + len(self.users) if self.has_next and self.users else None


__all__ = ["CallRecord", "Created", "UsersPage"]
