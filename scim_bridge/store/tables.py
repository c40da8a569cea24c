"""SQLAlchemy Core table definitions. Keep in step with ``migrations/versions``."""

from __future__ import annotations

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

from scim_bridge.store.sqltypes import UTCDateTime

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", String, primary_key=True),
    Column("username_lower", String, nullable=False),
    Column("user_name", String, nullable=False),
    Column("external_id", String, nullable=True),
    Column("upstream", JSON, nullable=False),
    Column("scim", JSON, nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("last_modified", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("synced_at", UTCDateTime, nullable=True),
    Index("ix_users_username_lower", "username_lower", unique=True),
    Index("ix_users_external_id", "external_id"),
    Index("ix_users_created_id", "created", "id"),
)

groups = Table(
    "groups",
    metadata,
    Column("id", String, primary_key=True),
    Column("kind", String, nullable=False),
    Column("display_name", String, nullable=False),
    Column("display_lower", String, nullable=False),
    Column("external_id", String, nullable=True),
    Column("upstream", JSON, nullable=False),
    Column("scim", JSON, nullable=False),
    Column("members_known", Boolean, nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("last_modified", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("synced_at", UTCDateTime, nullable=True),
    UniqueConstraint("kind", "display_lower", name="uq_groups_kind_display_lower"),
    CheckConstraint("kind IN ('team', 'role')", name="ck_groups_kind"),
    Index("ix_groups_external_id", "external_id"),
    Index("ix_groups_created_id", "created", "id"),
)

memberships = Table(
    "memberships",
    metadata,
    Column("group_id", String, ForeignKey("groups.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("role", String, nullable=False),
    PrimaryKeyConstraint("group_id", "user_id", name="pk_memberships"),
    Index("ix_memberships_user_id", "user_id"),
)

suspensions = Table(
    "suspensions",
    metadata,
    Column("user_id", String, primary_key=True),
    Column("role", String, nullable=False),
    Column("teams", JSON, nullable=False),
    Column("suspended_at", UTCDateTime, nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column(
        "id",
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String, nullable=False),
    Column("request_id", String, nullable=False),
    Column("method", String, nullable=False),
    Column("path", String, nullable=False),
    Column("resource_type", String, nullable=False),
    Column("resource_id", String, nullable=True),
    Column("operation", String, nullable=False),
    Column("status", Integer, nullable=False),
    Column("outcome", String, nullable=False),
    Column("detail", Text, nullable=False),
    Column("upstream_calls", JSON, nullable=False),
    # The scopes the request exercised ("read", "write+roles"); empty when it was refused before any.
    Column("scopes", String, nullable=False, server_default=""),
    Index("ix_audit_events_at", "at"),
    Index("ix_audit_events_resource_id", "resource_id"),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String, primary_key=True),
    Column("owner", String, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

settings_kv = Table(
    "settings_kv",
    metadata,
    Column("key", String, primary_key=True),
    Column("value", JSON, nullable=True),
)

ALL_TABLES = (memberships, suspensions, audit_events, leases, settings_kv, groups, users)


# --- SCIM search index and shared rate budget (migration 0002) -------------------------------------
# Text that is compared or sorted uses the "C" collation on PostgreSQL, so that ordering is by code
# point (as in Python and in SQLite's BINARY collation) whatever the database's default locale.
IndexText = Text().with_variant(Text(collation="C"), "postgresql")

scim_resources = Table(
    "scim_resources",
    metadata,
    Column("kind", String, nullable=False),
    Column("id", IndexText, nullable=False),
    Column("created", UTCDateTime, nullable=True),
    Column("document", JSON, nullable=False),
    PrimaryKeyConstraint("kind", "id", name="pk_scim_resources"),
    Index("ix_scim_resources_kind_created_id", "kind", "created", "id"),
)

scim_values = Table(
    "scim_values",
    metadata,
    Column("kind", String, nullable=False),
    Column("resource_id", IndexText, nullable=False),
    Column("path", String, nullable=False),
    Column("element", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("value_type", String, nullable=False),
    Column("present", Boolean, nullable=False),
    Column("sort_key", Boolean, nullable=False),
    Column("value_text", IndexText, nullable=True),
    Column("value_lower", IndexText, nullable=True),
    Column("value_num", Double, nullable=True),
    Column("value_time", UTCDateTime, nullable=True),
    Column("value_bool", Boolean, nullable=True),
    PrimaryKeyConstraint("kind", "resource_id", "path", "element", "seq", name="pk_scim_values"),
    Index("ix_scim_values_lower", "kind", "path", "value_lower"),
    Index("ix_scim_values_text", "kind", "path", "value_text"),
    # Partial (migration 0009): only the rows holding a number or a dateTime.
    Index("ix_scim_values_num", "kind", "path", "value_num", sqlite_where=text("value_num IS NOT NULL"),
          postgresql_where=text("value_num IS NOT NULL")),
    Index("ix_scim_values_time", "kind", "path", "value_time", sqlite_where=text("value_time IS NOT NULL"),
          postgresql_where=text("value_time IS NOT NULL")),
)

rate_domains = Table(
    "rate_domains",
    metadata,
    Column("domain", String, primary_key=True),
    Column("blocked_until", Double, nullable=False),
)

rate_slots = Table(
    "rate_slots",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("domain", String, nullable=False),
    Column("at", Double, nullable=False),
    Index("ix_rate_slots_domain_at", "domain", "at"),
)



# --- Keyset order of the search index (migration 0008) ---------------------------------------
# One row per indexed resource and sortable path ("" is the default order): ``value_key`` encodes the sort
# value so that byte order is the SCIM order ("1" + value, "2" when missing), ``tie_key`` the default order
# (created, then id). Paging walks the index (kind, sort_path, value_key, tie_key) from a position.
scim_order = Table(
    "scim_order",
    metadata,
    Column("kind", String, nullable=False),
    Column("sort_path", String, nullable=False),
    Column("resource_id", IndexText, nullable=False),
    Column("value_key", IndexText, nullable=False),
    Column("tie_key", IndexText, nullable=False),
    PrimaryKeyConstraint("kind", "resource_id", "sort_path", name="pk_scim_order"),
    Index("ix_scim_order_position", "kind", "sort_path", "value_key", "tie_key"),
)

# A counter per resource kind, moved by every write to the index: remembered page boundaries of one
# generation are valid until the next write.
scim_generations = Table(
    "scim_generations",
    metadata,
    Column("kind", String, primary_key=True),
    Column("generation", BigInteger, nullable=False),
)

MIRROR_TABLES = (scim_values, scim_resources, scim_order, scim_generations, rate_slots, rate_domains)


# Operator console: its sessions (a logout deletes the row, so the cookie stops working everywhere) and its
# failed logins (one row per failure and throttle key, shared by every worker and replica). Times are seconds
# since the epoch.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_sha256", String, primary_key=True),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False),
)

console_login_failures = Table(
    "console_login_failures",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("key", String, nullable=False),
    Column("at", Double, nullable=False),
    Index("ix_console_login_failures_key_at", "key", "at"),
)


# --- links to an upstream that does not keep the bridge's ids (migration 0006) ---------------------
# SCIM id -> Atlassian accountId / teamId, for the jsm upstream (scim_bridge/directory/links.py).
user_links = Table(
    "user_links",
    metadata,
    Column("local_id", String, primary_key=True),
    Column("account_id", String, nullable=False),
    Column("username", String, nullable=False),
    Column("username_lower", String, nullable=False),
    Column("profile", JSON, nullable=False),
    Index("ix_user_links_account_id", "account_id", unique=True),
    Index("ix_user_links_username_lower", "username_lower", unique=True),
)

team_links = Table(
    "team_links",
    metadata,
    Column("local_id", String, primary_key=True),
    Column("team_id", String, nullable=False),
    Column("name", String, nullable=False),
    Index("ix_team_links_team_id", "team_id", unique=True),
)

LINK_TABLES = (user_links, team_links)


# --- console insight: what each change did, traffic counts, sync history (migration 0007) ------------
# One SCIM write's request body (secrets masked) and the resource as the mirror held it before and after.
console_changes = Table(
    "console_changes",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("request_id", String, nullable=False),
    Column("at", Double, nullable=False),
    Column("name_lower", String, nullable=False),  # the userName or displayName involved, for filtering
    Column("body", JSON, nullable=True),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Index("ix_console_changes_request_id", "request_id"),
    Index("ix_console_changes_at", "at"),
)

# Requests counted per minute (never stored one by one): kind "read", "write", "rejected" or "upstream".
console_traffic = Table(
    "console_traffic",
    metadata,
    Column("minute", BigInteger, nullable=False),
    Column("kind", String, nullable=False),
    Column("credential", String, nullable=False),
    Column("source", String, nullable=False),
    Column("status", Integer, nullable=False),
    Column("count", BigInteger, nullable=False),
    PrimaryKeyConstraint("minute", "kind", "credential", "source", "status"),
)

console_sync_runs = Table(
    "console_sync_runs",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("at", Double, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("seconds", Double, nullable=False),
    Column("detail", String, nullable=False),
    Index("ix_console_sync_runs_at", "at"),
)

# --- Rosters read from the upstream (migration 0010) ----------------------------------------------------
# When each team's roster was last read whole from the upstream (a sync, the incremental loop or an on-demand
# load). A team without a row was never read that way: its roster is loaded or refreshed first.
roster_loads = Table(
    "roster_loads",
    metadata,
    Column("group_id", String, ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("loaded_at", UTCDateTime, nullable=False),
    Index("ix_roster_loads_loaded_at", "loaded_at"),
)
