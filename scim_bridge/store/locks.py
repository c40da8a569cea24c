"""PostgreSQL advisory lock keys and helpers (SQLite serializes writers by itself)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

# Held while migrations run, so replicas starting together migrate one after the other.
MIGRATION_LOCK = 0x5C1B_0001
# Held shared by every write transaction on users, groups and memberships, and exclusively
# by the full sync, which touches thousands of rows and must not interleave with them.
DIRECTORY_LOCK = 0x5C1B_0002


def lock_shared(conn: Connection, key: int) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": key})


def lock_exclusive(conn: Connection, key: int) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
