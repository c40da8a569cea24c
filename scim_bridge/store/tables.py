"""SQLAlchemy Core table definitions. Keep in step with ``migrations/versions``."""

from __future__ import annotations

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import CheckConstraint
from sqlalchemy import Column
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import PrimaryKeyConstraint
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint

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
