"""Console sessions and failed logins kept in the database; the scopes each audited request exercised."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from scim_bridge.store.migrations.ddl import create
from scim_bridge.store.migrations.ddl import drop
from scim_bridge.store.migrations.ddl import index
from scim_bridge.store.migrations.ddl import key
from scim_bridge.store.migrations.ddl import not_null
from scim_bridge.store.migrations.ddl import required
from scim_bridge.store.migrations.ddl import serial_id
from scim_bridge.store.migrations.ddl import table

revision = "0005"
down_revision = "0002"

TABLES = (
    table("console_sessions", key("id_sha256"), *not_null(created_at=sa.Double(), expires_at=sa.Double())),
    table("console_login_failures", serial_id(), *not_null(key=sa.String(), at=sa.Double()), index("key", "at")),
)


def upgrade() -> None:
    create(*TABLES)
    op.add_column("audit_events", required("scopes", sa.String(), server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("scopes")
    drop(*TABLES)
