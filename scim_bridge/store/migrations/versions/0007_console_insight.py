"""Console insight: each SCIM write's body and before/after state, per-minute traffic counts, sync history."""

from __future__ import annotations

import sqlalchemy as sa

from scim_bridge.store.migrations.ddl import creating
from scim_bridge.store.migrations.ddl import index
from scim_bridge.store.migrations.ddl import not_null
from scim_bridge.store.migrations.ddl import nullable
from scim_bridge.store.migrations.ddl import serial_id
from scim_bridge.store.migrations.ddl import table

revision = "0007"
down_revision = "0006"

upgrade, downgrade = creating(
    table(
        "console_changes",
        serial_id(),
        *not_null(request_id=sa.String(), at=sa.Double(), name_lower=sa.String()),
        *nullable(body=sa.JSON(), before=sa.JSON(), after=sa.JSON()),
        index("request_id"),
        index("at"),
    ),
    table(
        "console_traffic",
        *not_null(minute=sa.BigInteger(), kind=sa.String(), credential=sa.String(), source=sa.String()),
        *not_null(status=sa.Integer(), count=sa.BigInteger()),
        sa.PrimaryKeyConstraint("minute", "kind", "credential", "source", "status"),
    ),
    table(
        "console_sync_runs",
        serial_id(),
        *not_null(at=sa.Double(), ok=sa.Boolean(), seconds=sa.Double(), detail=sa.String()),
        index("at"),
    ),
)
