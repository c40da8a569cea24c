"""Initial schema: users, groups, memberships, suspensions, audit, leases, settings.

Revision ID: 0001
Revises:
Create Date: 2024-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("username_lower", sa.String(), nullable=False),
        sa.Column("user_name", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=True),
        sa.Column("upstream", sa.JSON(), nullable=False),
        sa.Column("scim", sa.JSON(), nullable=False),
        _ts("created"),
        _ts("last_modified"),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("synced_at", nullable=True),
    )
    op.create_index("ix_users_username_lower", "users", ["username_lower"], unique=True)
    op.create_index("ix_users_external_id", "users", ["external_id"])
    op.create_index("ix_users_created_id", "users", ["created", "id"])

    op.create_table(
        "groups",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.Column("display_lower", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=True),
        sa.Column("upstream", sa.JSON(), nullable=False),
        sa.Column("scim", sa.JSON(), nullable=False),
        sa.Column("members_known", sa.Boolean(), nullable=False),
        _ts("created"),
        _ts("last_modified"),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("synced_at", nullable=True),
        sa.UniqueConstraint("kind", "display_lower", name="uq_groups_kind_display_lower"),
        sa.CheckConstraint("kind IN ('team', 'role')", name="ck_groups_kind"),
    )
    op.create_index("ix_groups_external_id", "groups", ["external_id"])
    op.create_index("ix_groups_created_id", "groups", ["created", "id"])

    op.create_table(
        "memberships",
        sa.Column(
            "group_id",
            sa.String(),
            sa.ForeignKey("groups.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "user_id",
            sa.String(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("role", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("group_id", "user_id", name="pk_memberships"),
    )
    op.create_index("ix_memberships_user_id", "memberships", ["user_id"])

    op.create_table(
        "suspensions",
        sa.Column("user_id", sa.String(), primary_key=True),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("teams", sa.JSON(), nullable=False),
        _ts("suspended_at"),
    )

    op.create_table(
        "audit_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        _ts("at"),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("request_id", sa.String(), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("resource_type", sa.String(), nullable=False),
        sa.Column("resource_id", sa.String(), nullable=True),
        sa.Column("operation", sa.String(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("upstream_calls", sa.JSON(), nullable=False),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_index("ix_audit_events_resource_id", "audit_events", ["resource_id"])

    op.create_table(
        "leases",
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("owner", sa.String(), nullable=False),
        _ts("expires_at"),
    )

    op.create_table(
        "settings_kv",
        sa.Column("key", sa.String(), primary_key=True),
        sa.Column("value", sa.JSON(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("settings_kv")
    op.drop_table("leases")
    op.drop_index("ix_audit_events_resource_id", table_name="audit_events")
    op.drop_index("ix_audit_events_at", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_table("suspensions")
    op.drop_index("ix_memberships_user_id", table_name="memberships")
    op.drop_table("memberships")
    op.drop_index("ix_groups_created_id", table_name="groups")
    op.drop_index("ix_groups_external_id", table_name="groups")
    op.drop_table("groups")
    op.drop_index("ix_users_created_id", table_name="users")
    op.drop_index("ix_users_external_id", table_name="users")
    op.drop_index("ix_users_username_lower", table_name="users")
    op.drop_table("users")
