"""Keyset order of the search index (scim_order) and index generations (scim_generations).

The index is a cache of the mirror: it is emptied here and the next sync (forced by the index format the
last sync recorded) rebuilds it with its order rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from scim_bridge.store.columns import SortableText
from scim_bridge.store.migrations.ddl import create
from scim_bridge.store.migrations.ddl import drop
from scim_bridge.store.migrations.ddl import index
from scim_bridge.store.migrations.ddl import key
from scim_bridge.store.migrations.ddl import not_null
from scim_bridge.store.migrations.ddl import required
from scim_bridge.store.migrations.ddl import table

revision = "0008"
down_revision = "0007"

TABLES = (
    table(
        "scim_order",
        *not_null(kind=sa.String(), sort_path=sa.String()),
        *not_null(resource_id=SortableText, value_key=SortableText, tie_key=SortableText),
        sa.PrimaryKeyConstraint("kind", "resource_id", "sort_path", name="pk_scim_order"),
        index("kind", "sort_path", "value_key", "tie_key", name="ix_scim_order_position"),
    ),
    table("scim_generations", key("kind"), required("generation", sa.BigInteger())),
)


def upgrade() -> None:
    create(*TABLES)
    op.execute("DELETE FROM scim_values")
    op.execute("DELETE FROM scim_resources")


def downgrade() -> None:
    drop(*TABLES)
