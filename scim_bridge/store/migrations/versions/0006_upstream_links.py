"""Links from the bridge's ids to Atlassian account and team ids (the jsm upstream).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_links",
        sa.Column("local_id", sa.String(), primary_key=True),
        sa.Column("account_id", sa.String(), nullable=False),
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("username_lower", sa.String(), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
    )
    op.create_index("ix_user_links_account_id", "user_links", ["account_id"], unique=True)
    op.create_index("ix_user_links_username_lower", "user_links", ["username_lower"], unique=True)
    op.create_table(
        "team_links",
        sa.Column("local_id", sa.String(), primary_key=True),
        sa.Column("team_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
    )
    op.create_index("ix_team_links_team_id", "team_links", ["team_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_team_links_team_id", table_name="team_links")
    op.drop_table("team_links")
    op.drop_index("ix_user_links_username_lower", table_name="user_links")
    op.drop_index("ix_user_links_account_id", table_name="user_links")
    op.drop_table("user_links")
