"""When each team's roster was last read from the upstream (roster_loads).

Rosters are loaded lazily and refreshed oldest first by the incremental sync loop; a team without a row is
refreshed first. Existing rosters stay as they are (``groups.members_known`` still says whether one is held).
"""

from __future__ import annotations

import sqlalchemy as sa

from scim_bridge.store.migrations.ddl import creating
from scim_bridge.store.migrations.ddl import index
from scim_bridge.store.migrations.ddl import key
from scim_bridge.store.migrations.ddl import table
from scim_bridge.store.migrations.ddl import ts

revision = "0010"
down_revision = "0009"

upgrade, downgrade = creating(
    table(
        "roster_loads",
        key("group_id", sa.String(), sa.ForeignKey("groups.id", ondelete="CASCADE")),
        ts("loaded_at"),
        index("loaded_at"),
    ),
)
