"""Keyset order of the search index (scim_order) and index generations (scim_generations).

The index is a cache of the mirror: it is emptied here and the next sync (forced by the index format the
last sync recorded) rebuilds it with its order rows.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _text() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "scim_order",
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("sort_path", sa.String(), nullable=False),
        sa.Column("resource_id", _text(), nullable=False),
        sa.Column("value_key", _text(), nullable=False),
        sa.Column("tie_key", _text(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "resource_id", "sort_path", name="pk_scim_order"),
    )
    op.create_index("ix_scim_order_position", "scim_order", ["kind", "sort_path", "value_key", "tie_key"])
    op.create_table(
        "scim_generations",
        sa.Column("kind", sa.String(), primary_key=True),
        sa.Column("generation", sa.BigInteger(), nullable=False),
    )
    op.execute("DELETE FROM scim_values")
    op.execute("DELETE FROM scim_resources")


def downgrade() -> None:
    op.drop_table("scim_generations")
    op.drop_index("ix_scim_order_position", table_name="scim_order")
    op.drop_table("scim_order")
