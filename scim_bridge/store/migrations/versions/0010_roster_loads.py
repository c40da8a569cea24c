"""When each team's roster was last read from the upstream (roster_loads).

Rosters are loaded lazily and refreshed oldest first by the incremental sync loop; a team without a row is
refreshed first. Existing rosters stay as they are (``groups.members_known`` still says whether one is held).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roster_loads",
        sa.Column("group_id", sa.String(), sa.ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_roster_loads_loaded_at", "roster_loads", ["loaded_at"])


def downgrade() -> None:
    op.drop_index("ix_roster_loads_loaded_at", table_name="roster_loads")
    op.drop_table("roster_loads")
