"""Small typed results of the OpsGenie client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CallRecord:
    """One HTTP attempt (or one refused by the rate budget), for the audit log and metrics.

    ``status`` is None when no response arrived; ``error`` names the failure, None on success.
    ``duration`` is in seconds and covers the HTTP exchange only, not rate-budget waits.
    """

    method: str
    path: str
    status: int | None
    request_id: str | None
    duration: float
    attempt: int
    domain: str
    error: str | None = None


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
