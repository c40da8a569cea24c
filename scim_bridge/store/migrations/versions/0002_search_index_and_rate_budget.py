"""SCIM search index (scim_resources, scim_values) and the shared upstream rate budget."""

from __future__ import annotations

import sqlalchemy as sa

from scim_bridge.store.columns import SortableText
from scim_bridge.store.migrations.ddl import creating
from scim_bridge.store.migrations.ddl import index
from scim_bridge.store.migrations.ddl import key
from scim_bridge.store.migrations.ddl import not_null
from scim_bridge.store.migrations.ddl import nullable
from scim_bridge.store.migrations.ddl import required
from scim_bridge.store.migrations.ddl import serial_id
from scim_bridge.store.migrations.ddl import table
from scim_bridge.store.migrations.ddl import ts

revision = "0002"
down_revision = "0001"

upgrade, downgrade = creating(
    table(
        "scim_resources",
        *not_null(kind=sa.String(), id=SortableText),
        ts("created", nullable=True),
        required("document", sa.JSON()),
        sa.PrimaryKeyConstraint("kind", "id", name="pk_scim_resources"),
        index("kind", "created", "id"),
    ),
    table(
        "scim_values",
        *not_null(kind=sa.String(), resource_id=SortableText, path=sa.String(), element=sa.Integer(), seq=sa.Integer()),
        *not_null(value_type=sa.String(), present=sa.Boolean(), sort_key=sa.Boolean()),
        *nullable(value_text=SortableText, value_lower=SortableText, value_num=sa.Double()),
        ts("value_time", nullable=True),
        *nullable(value_bool=sa.Boolean()),
        sa.PrimaryKeyConstraint("kind", "resource_id", "path", "element", "seq", name="pk_scim_values"),
        *(
            index("kind", "path", f"value_{kind}", name=f"ix_scim_values_{kind}")
            for kind in ("lower", "text", "num", "time")
        ),
    ),
    table("rate_domains", key("domain"), required("blocked_until", sa.Double())),
    table("rate_slots", serial_id(), *not_null(domain=sa.String(), at=sa.Double()), index("domain", "at")),
)
