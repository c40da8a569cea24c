"""Initial schema: users, groups, memberships, suspensions, audit, leases, settings."""

from __future__ import annotations

import sqlalchemy as sa

from scim_bridge.store.migrations.ddl import creating
from scim_bridge.store.migrations.ddl import index
from scim_bridge.store.migrations.ddl import key
from scim_bridge.store.migrations.ddl import not_null
from scim_bridge.store.migrations.ddl import optional
from scim_bridge.store.migrations.ddl import required
from scim_bridge.store.migrations.ddl import serial_id
from scim_bridge.store.migrations.ddl import table
from scim_bridge.store.migrations.ddl import ts

revision = "0001"
down_revision = None


def _mirrored(*own: sa.Column[object]) -> list[sa.Column[object]]:
    """A mirrored user's or group's first columns: the id, its own columns, the upstream snapshot and the SCIM
    attributes the bridge keeps."""
    return [key("id"), *own, optional("external_id", sa.String()), *not_null(upstream=sa.JSON(), scim=sa.JSON())]


def _versions() -> list[sa.Column[object]]:
    """When a mirrored row was created, last changed (and its version then), and last synced."""
    return [ts("created"), ts("last_modified"), required("version", sa.Integer()), ts("synced_at", nullable=True)]


def _member(name: str, parent: str) -> sa.Column[object]:
    return required(name, sa.String(), sa.ForeignKey(f"{parent}.id", ondelete="CASCADE"))


upgrade, downgrade = creating(
    table(
        "users",
        *_mirrored(*not_null(username_lower=sa.String(), user_name=sa.String())),
        *_versions(),
        index("username_lower", unique=True),
        index("external_id"),
        index("created", "id"),
    ),
    table(
        "groups",
        *_mirrored(*not_null(kind=sa.String(), display_name=sa.String(), display_lower=sa.String())),
        required("members_known", sa.Boolean()),
        *_versions(),
        sa.UniqueConstraint("kind", "display_lower", name="uq_groups_kind_display_lower"),
        sa.CheckConstraint("kind IN ('team', 'role')", name="ck_groups_kind"),
        index("external_id"),
        index("created", "id"),
    ),
    table(
        "memberships",
        _member("group_id", "groups"),
        _member("user_id", "users"),
        required("role", sa.String()),
        sa.PrimaryKeyConstraint("group_id", "user_id", name="pk_memberships"),
        index("user_id"),
    ),
    table("suspensions", key("user_id"), *not_null(role=sa.String(), teams=sa.JSON()), ts("suspended_at")),
    table(
        "audit_events",
        serial_id(),
        ts("at"),
        *(required(name, sa.String()) for name in ("actor", "request_id", "method", "path", "resource_type")),
        optional("resource_id", sa.String()),
        *not_null(operation=sa.String(), status=sa.Integer(), outcome=sa.String(), detail=sa.Text()),
        required("upstream_calls", sa.JSON()),
        index("at"),
        index("resource_id"),
    ),
    table("leases", key("name"), required("owner", sa.String()), ts("expires_at")),
    table("settings_kv", key("key"), optional("value", sa.JSON())),
)
