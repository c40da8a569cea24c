"""Links from the bridge's ids to Atlassian account and team ids (the jsm upstream)."""

from __future__ import annotations

import sqlalchemy as sa

from scim_bridge.store.migrations.ddl import creating
from scim_bridge.store.migrations.ddl import index
from scim_bridge.store.migrations.ddl import key
from scim_bridge.store.migrations.ddl import not_null
from scim_bridge.store.migrations.ddl import table

revision = "0006"
down_revision = "0005"

upgrade, downgrade = creating(
    table(
        "user_links",
        key("local_id"),
        *not_null(account_id=sa.String(), username=sa.String(), username_lower=sa.String(), profile=sa.JSON()),
        index("account_id", unique=True),
        index("username_lower", unique=True),
    ),
    table(
        "team_links",
        key("local_id"),
        *not_null(team_id=sa.String(), name=sa.String()),
        index("team_id", unique=True),
    ),
)
