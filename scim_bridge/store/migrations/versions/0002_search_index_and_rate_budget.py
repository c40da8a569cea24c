"""SCIM search index (scim_resources, scim_values) and the shared upstream rate budget.

Revision ID: 0002
Revises: 0001
Create Date: 2024-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _text() -> sa.types.TypeEngine[str]:
    # Code-point ordering on PostgreSQL whatever the database locale (SQLite's BINARY already is).
    return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def _ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "scim_resources",
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("id", _text(), nullable=False),
        _ts("created", nullable=True),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "id", name="pk_scim_resources"),
    )
    op.create_index("ix_scim_resources_kind_created_id", "scim_resources", ["kind", "created", "id"])

    op.create_table(
        "scim_values",
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("resource_id", _text(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("element", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("value_type", sa.String(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("sort_key", sa.Boolean(), nullable=False),
        sa.Column("value_text", _text(), nullable=True),
        sa.Column("value_lower", _text(), nullable=True),
        sa.Column("value_num", sa.Double(), nullable=True),
        _ts("value_time", nullable=True),
        sa.Column("value_bool", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("kind", "resource_id", "path", "element", "seq", name="pk_scim_values"),
    )
    op.create_index("ix_scim_values_lower", "scim_values", ["kind", "path", "value_lower"])
    op.create_index("ix_scim_values_text", "scim_values", ["kind", "path", "value_text"])
    op.create_index("ix_scim_values_num", "scim_values", ["kind", "path", "value_num"])
    op.create_index("ix_scim_values_time", "scim_values", ["kind", "path", "value_time"])

    op.create_table(
        "rate_domains",
        sa.Column("domain", sa.String(), primary_key=True),
        sa.Column("blocked_until", sa.Double(), nullable=False),
    )
    op.create_table(
        "rate_slots",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("domain", sa.String(), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
    )
    op.create_index("ix_rate_slots_domain_at", "rate_slots", ["domain", "at"])


def downgrade() -> None:
    op.drop_index("ix_rate_slots_domain_at", table_name="rate_slots")
    op.drop_table("rate_slots")
    op.drop_table("rate_domains")
    op.drop_index("ix_scim_values_time", table_name="scim_values")
    op.drop_index("ix_scim_values_num", table_name="scim_values")
    op.drop_index("ix_scim_values_text", table_name="scim_values")
    op.drop_index("ix_scim_values_lower", table_name="scim_values")
    op.drop_table("scim_values")
    op.drop_index("ix_scim_resources_kind_created_id", table_name="scim_resources")
    op.drop_table("scim_resources")
