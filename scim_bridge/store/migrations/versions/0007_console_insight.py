"""Console insight: each SCIM write's body and before/after state, per-minute traffic counts, sync history.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "console_changes",
        _id(),
        sa.Column("request_id", sa.String(), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("name_lower", sa.String(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
    )
    op.create_index("ix_console_changes_request_id", "console_changes", ["request_id"])
    op.create_index("ix_console_changes_at", "console_changes", ["at"])
    op.create_table(
        "console_traffic",
        sa.Column("minute", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("credential", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("minute", "kind", "credential", "source", "status"),
    )
    op.create_table(
        "console_sync_runs",
        _id(),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("seconds", sa.Double(), nullable=False),
        sa.Column("detail", sa.String(), nullable=False),
    )
    op.create_index("ix_console_sync_runs_at", "console_sync_runs", ["at"])


def downgrade() -> None:
    op.drop_index("ix_console_sync_runs_at", table_name="console_sync_runs")
    op.drop_table("console_sync_runs")
    op.drop_table("console_traffic")
    op.drop_index("ix_console_changes_at", table_name="console_changes")
    op.drop_index("ix_console_changes_request_id", table_name="console_changes")
    op.drop_table("console_changes")
