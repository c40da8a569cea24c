"""Immutable records exchanged between the store and the service layer."""

from __future__ import annotations

from dataclasses import KW_ONLY
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from enum import StrEnum
from typing import Any
from typing import NamedTuple

from scim_bridge.store.sqltypes import utcnow


class GroupKind(StrEnum):
    """What a SCIM group stands for upstream; the values are what the store holds in ``groups.kind``."""

    TEAM = "team"
    ROLE = "role"


GROUP_KINDS = tuple(GroupKind)


@dataclass(frozen=True)
class MirroredRecord:
    """What users and groups have alike.

    ``upstream`` is the last upstream snapshot (``DirectoryUser.to_json()`` and the like); ``scim`` holds the
    SCIM attributes the bridge keeps itself. ``created``, ``last_modified`` and ``version`` are maintained by
    the store: on insert ``created`` is taken from the record, afterwards it never changes; ``last_modified``
    and ``version`` move only when content changes. The fields after ``id`` are keyword-only.
    """

    id: str
    _: KW_ONLY
    external_id: str | None = None
    upstream: dict[str, Any] = field(default_factory=dict)
    scim: dict[str, Any] = field(default_factory=dict)
    created: datetime = field(default_factory=utcnow)
    last_modified: datetime = field(default_factory=utcnow)
    version: int = 0
    synced_at: datetime | None = None


@dataclass(frozen=True)
class UserRecord(MirroredRecord):
    """A user as the bridge knows it."""

    user_name: str

    @property
    def username_lower(self) -> str:
        return self.user_name.lower()


@dataclass(frozen=True)
class GroupRecord(MirroredRecord):
    """A SCIM group: an upstream team (``GroupKind.TEAM``) or role (``GroupKind.ROLE``)."""

    kind: GroupKind
    display_name: str
    members_known: bool = False

    @property
    def display_lower(self) -> str:
        return self.display_name.lower()


@dataclass(frozen=True)
class Membership:
    """One user in one group. ``role`` is the team role ("user", "admin", ...) or "" for roles."""

    group_id: str
    user_id: str
    role: str = ""


@dataclass(frozen=True)
class Suspension:
    """What a suspended user had before suspension, so it can be given back."""

    user_id: str
    role: str
    teams: list[dict[str, Any]] = field(default_factory=list)
    suspended_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class AuditEvent:
    """One audited SCIM request. ``id`` is assigned by the store."""

    at: datetime = field(default_factory=utcnow)
    actor: str = ""
    request_id: str = ""
    method: str = ""
    path: str = ""
    resource_type: str = ""
    resource_id: str | None = None
    operation: str = ""
    status: int = 0
    outcome: str = "ok"
    detail: str = ""
    upstream_calls: list[dict[str, Any]] = field(default_factory=list)
    id: int | None = None
    scopes: str = ""  # the scopes the request exercised, "+"-joined ("write+roles")


class SyncUser(NamedTuple):
    """One upstream user for ``Store.apply_sync``: id, username, ``DirectoryUser.to_json()``."""

    id: str
    username: str
    upstream: dict[str, Any]


class SyncGroup(NamedTuple):
    """One upstream team or role for ``Store.apply_sync``.

    ``members`` is the full roster, or None when the snapshot did not include it (the stored
    roster and ``members_known`` are then left as they are). The ``group_id`` of each
    membership is ignored: the group's own id is used.
    """

    id: str
    kind: GroupKind
    name: str
    upstream: dict[str, Any]
    members: list[Membership] | None = None


@dataclass
class SyncStats:
    """What ``Store.apply_sync`` did."""

    users_added: int = 0
    users_updated: int = 0
    users_removed: int = 0
    users_unchanged: int = 0
    users_skipped: int = 0
    groups_added: int = 0
    groups_updated: int = 0
    groups_removed: int = 0
    groups_unchanged: int = 0
    groups_skipped: int = 0
    memberships_added: int = 0
    memberships_removed: int = 0
    memberships_changed: int = 0
    memberships_ignored: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)
