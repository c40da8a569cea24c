"""SQLAlchemy Core table definitions. Keep in step with ``migrations/versions``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import CheckConstraint
from sqlalchemy import Column
from sqlalchemy import Double
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import PrimaryKeyConstraint
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import text

from scim_bridge.store.columns import SortableText
from scim_bridge.store.columns import key
from scim_bridge.store.columns import not_null
from scim_bridge.store.columns import nullable
from scim_bridge.store.columns import optional
from scim_bridge.store.columns import required
from scim_bridge.store.columns import serial_id
from scim_bridge.store.sqltypes import UTCDateTime

metadata = MetaData()


def _mirrored(*own: Column[Any]) -> list[Column[Any]]:
    """A mirrored user's or group's first columns: the id, its own columns, the upstream snapshot
    (``DirectoryUser.to_json()`` and the like) and the SCIM attributes the bridge keeps itself."""
    return [key("id"), *own, optional("external_id", String), *not_null(upstream=JSON, scim=JSON)]


def _versions() -> list[Column[Any]]:
    """When a mirrored row was created, last changed (and its version then), and last synced."""
    return [
        *not_null(created=UTCDateTime, last_modified=UTCDateTime, version=Integer),
        optional("synced_at", UTCDateTime),
    ]


def _member(name: str, parent: str) -> Column[Any]:
    return required(name, String, ForeignKey(f"{parent}.id", ondelete="CASCADE"))


users = Table(
    "users",
    metadata,
    *_mirrored(*not_null(username_lower=String, user_name=String)),
    *_versions(),
    Index("ix_users_username_lower", "username_lower", unique=True),
    Index("ix_users_external_id", "external_id"),
    Index("ix_users_created_id", "created", "id"),
)

groups = Table(
    "groups",
    metadata,
    *_mirrored(*not_null(kind=String, display_name=String, display_lower=String)),
    required("members_known", Boolean),
    *_versions(),
    UniqueConstraint("kind", "display_lower", name="uq_groups_kind_display_lower"),
    CheckConstraint("kind IN ('team', 'role')", name="ck_groups_kind"),
    Index("ix_groups_external_id", "external_id"),
    Index("ix_groups_created_id", "created", "id"),
)

memberships = Table(
    "memberships",
    metadata,
    _member("group_id", "groups"),
    _member("user_id", "users"),
    required("role", String),
    PrimaryKeyConstraint("group_id", "user_id", name="pk_memberships"),
    Index("ix_memberships_user_id", "user_id"),
)

suspensions = Table(
    "suspensions",
    metadata,
    key("user_id"),
    *not_null(role=String, teams=JSON, suspended_at=UTCDateTime),
)

audit_events = Table(
    "audit_events",
    metadata,
    serial_id(),
    required("at", UTCDateTime),
    *not_null(actor=String, request_id=String, method=String, path=String, resource_type=String),
    optional("resource_id", String),
    *not_null(operation=String, status=Integer, outcome=String, detail=Text, upstream_calls=JSON),
    # The scopes the request exercised ("read", "write+roles"); empty when it was refused before any.
    required("scopes", String, server_default=""),
    Index("ix_audit_events_at", "at"),
    Index("ix_audit_events_resource_id", "resource_id"),
)

leases = Table("leases", metadata, key("name"), *not_null(owner=String, expires_at=UTCDateTime))

settings_kv = Table("settings_kv", metadata, key("key"), optional("value", JSON))

ALL_TABLES = (memberships, suspensions, audit_events, leases, settings_kv, groups, users)


# --- SCIM search index and shared rate budget (migration 0002) -------------------------------------
# Text that is compared or sorted is SortableText (store/columns.py): code-point order on every backend.
scim_resources = Table(
    "scim_resources",
    metadata,
    *not_null(kind=String, id=SortableText),
    optional("created", UTCDateTime),
    required("document", JSON),
    PrimaryKeyConstraint("kind", "id", name="pk_scim_resources"),
    Index("ix_scim_resources_kind_created_id", "kind", "created", "id"),
)


def _partial_index(name: str, column: str) -> Index:
    """Partial (migration 0009): only the rows holding a value of the column's type."""
    where = text(f"{column} IS NOT NULL")
    return Index(name, "kind", "path", column, sqlite_where=where, postgresql_where=where)


scim_values = Table(
    "scim_values",
    metadata,
    *not_null(kind=String, resource_id=SortableText, path=String, element=Integer, seq=Integer),
    *not_null(value_type=String, present=Boolean, sort_key=Boolean),
    *nullable(value_text=SortableText, value_lower=SortableText, value_num=Double, value_time=UTCDateTime),
    optional("value_bool", Boolean),
    PrimaryKeyConstraint("kind", "resource_id", "path", "element", "seq", name="pk_scim_values"),
    Index("ix_scim_values_lower", "kind", "path", "value_lower"),
    Index("ix_scim_values_text", "kind", "path", "value_text"),
    _partial_index("ix_scim_values_num", "value_num"),
    _partial_index("ix_scim_values_time", "value_time"),
)

rate_domains = Table("rate_domains", metadata, key("domain"), required("blocked_until", Double))



def _sliding_window(name: str, key_column: str) -> Table:
    """Events per key (when each happened, in seconds since the epoch), counted over a sliding window to limit
    a rate; the index serves "how many for this key since ..."."""
    return Table(
        name,
        metadata,
        serial_id(),
        *not_null(**{key_column: String}, at=Double),
        Index(f"ix_{name}_{key_column}_at", key_column, "at"),
    )


# Upstream calls per rate domain, and how long a domain is blocked (the shared budget of store/budget.py).
rate_slots = _sliding_window("rate_slots", "domain")


# --- Keyset order of the search index (migration 0008) ---------------------------------------
# One row per indexed resource and sortable path ("" is the default order): ``value_key`` encodes the sort
# value so that byte order is the SCIM order ("1" + value, "2" when missing), ``tie_key`` the default order
# (created, then id). Paging walks the index (kind, sort_path, value_key, tie_key) from a position.
scim_order = Table(
    "scim_order",
    metadata,
    *not_null(kind=String, sort_path=String, resource_id=SortableText, value_key=SortableText, tie_key=SortableText),
    PrimaryKeyConstraint("kind", "resource_id", "sort_path", name="pk_scim_order"),
    Index("ix_scim_order_position", "kind", "sort_path", "value_key", "tie_key"),
)

# A counter per resource kind, moved by every write to the index: remembered page boundaries of one
# generation are valid until the next write.
scim_generations = Table("scim_generations", metadata, key("kind"), required("generation", BigInteger))

MIRROR_TABLES = (scim_values, scim_resources, scim_order, scim_generations, rate_slots, rate_domains)


# Operator console: its sessions (a logout deletes the row, so the cookie stops working everywhere) and its
# failed logins (one row per failure and throttle key, shared by every worker and replica). Times are seconds
# since the epoch.
console_sessions = Table(
    "console_sessions",
    metadata,
    key("id_sha256"),
    *not_null(created_at=Double, expires_at=Double),
)

console_login_failures = _sliding_window("console_login_failures", "key")


# --- links to an upstream that does not keep the bridge's ids (migration 0006) ---------------------
# SCIM id -> Atlassian accountId / teamId, for the jsm upstream (scim_bridge/directory/links.py).
user_links = Table(
    "user_links",
    metadata,
    key("local_id"),
    *not_null(account_id=String, username=String, username_lower=String, profile=JSON),
    Index("ix_user_links_account_id", "account_id", unique=True),
    Index("ix_user_links_username_lower", "username_lower", unique=True),
)

team_links = Table(
    "team_links",
    metadata,
    key("local_id"),
    *not_null(team_id=String, name=String),
    Index("ix_team_links_team_id", "team_id", unique=True),
)

LINK_TABLES = (user_links, team_links)


# --- console insight: what each change did, traffic counts, sync history (migration 0007) ------------
# One SCIM write's request body (secrets masked) and the resource as the mirror held it before and after;
# ``name_lower`` is the userName or displayName involved, for filtering.
console_changes = Table(
    "console_changes",
    metadata,
    serial_id(),
    *not_null(request_id=String, at=Double, name_lower=String),
    *nullable(body=JSON, before=JSON, after=JSON),
    Index("ix_console_changes_request_id", "request_id"),
    Index("ix_console_changes_at", "at"),
)

# Requests counted per minute (never stored one by one): kind "read", "write", "rejected" or "upstream".
console_traffic = Table(
    "console_traffic",
    metadata,
    *not_null(minute=BigInteger, kind=String, credential=String, source=String, status=Integer, count=BigInteger),
    PrimaryKeyConstraint("minute", "kind", "credential", "source", "status"),
)

console_sync_runs = Table(
    "console_sync_runs",
    metadata,
    serial_id(),
    *not_null(at=Double, ok=Boolean, seconds=Double, detail=String),
    Index("ix_console_sync_runs_at", "at"),
)

# --- Rosters read from the upstream (migration 0010) ----------------------------------------------------
# When each team's roster was last read whole from the upstream (a sync, the incremental loop or an on-demand
# load). A team without a row was never read that way: its roster is loaded or refreshed first.
roster_loads = Table(
    "roster_loads",
    metadata,
    key("group_id", String, ForeignKey("groups.id", ondelete="CASCADE")),
    required("loaded_at", UTCDateTime),
    Index("ix_roster_loads_loaded_at", "loaded_at"),
)
