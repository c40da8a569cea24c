"""Queries on the users table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import tuple_
from sqlalchemy.engine import Connection

from scim_bridge.store.members import bump_groups
from scim_bridge.store.records import UserRecord
from scim_bridge.store.sqlutil import Row
from scim_bridge.store.sqlutil import chunks
from scim_bridge.store.sqlutil import first_row
from scim_bridge.store.sqlutil import record_from_row
from scim_bridge.store.sqlutil import rows_by_key
from scim_bridge.store.tables import memberships
from scim_bridge.store.tables import suspensions
from scim_bridge.store.tables import users
from scim_bridge.store.versioned import mirrored_values
from scim_bridge.store.versioned import upsert_versioned

USER_CONTENT = ("user_name", "username_lower", "external_id", "upstream", "scim")
_ORDER = (users.c.created, users.c.id)


def user_from_row(row: Row) -> UserRecord:
    return record_from_row(UserRecord, row)


def get_user(conn: Connection, user_id: str) -> UserRecord | None:
    return first_row(conn, select(users).where(users.c.id == user_id), user_from_row)


def get_users(conn: Connection, user_ids: Sequence[str]) -> dict[str, UserRecord]:
    return rows_by_key(conn, users, users.c.id, user_ids, user_from_row)


def user_roles(conn: Connection) -> dict[str, tuple[str, str]]:
    """id -> (user_name, upstream role name) of every user; the snapshots are read one row at a time and not
    kept, so memory holds two short strings per user."""
    found: dict[str, tuple[str, str]] = {}
    for row in conn.execute(select(users.c.id, users.c.user_name, users.c.upstream)):
        upstream = row.upstream if isinstance(row.upstream, dict) else {}
        found[row.id] = (row.user_name, str(upstream.get("role") or ""))
    return found


def user_summaries(conn: Connection, user_ids: Sequence[str] | None) -> dict[str, tuple[str, Any]]:
    """id -> (user_name, upstream) of the given users (or all), without the full records."""
    columns = select(users.c.id, users.c.user_name, users.c.upstream)
    if user_ids is None:
        return {row.id: (row.user_name, row.upstream) for row in conn.execute(columns)}
    found: dict[str, tuple[str, Any]] = {}
    for part in chunks(list(dict.fromkeys(user_ids))):
        for row in conn.execute(columns.where(users.c.id.in_(part))):
            found[row.id] = (row.user_name, row.upstream)
    return found


def user_names(conn: Connection, user_ids: Sequence[str]) -> dict[str, str]:
    """id -> user_name of the given users that exist."""
    found: dict[str, str] = {}
    for part in chunks(list(dict.fromkeys(user_ids))):
        for row in conn.execute(select(users.c.id, users.c.user_name).where(users.c.id.in_(part))):
            found[row.id] = row.user_name
    return found


def get_user_by_username(conn: Connection, username: str) -> UserRecord | None:
    return first_row(conn, select(users).where(users.c.username_lower == username.lower()), user_from_row)


def list_users(conn: Connection, offset: int = 0, limit: int | None = None) -> list[UserRecord]:
    stmt = select(users).order_by(*_ORDER).offset(offset).limit(limit)
    return [user_from_row(row) for row in conn.execute(stmt).mappings()]


def users_after(conn: Connection, after: UserRecord | None, limit: int) -> list[UserRecord]:
    """Up to ``limit`` users following ``after`` in (created, id) order (from the first when None)."""
    stmt = select(users).order_by(*_ORDER).limit(limit)
    if after is not None:
        stmt = stmt.where(tuple_(*_ORDER) > tuple_(after.created, after.id))
    return [user_from_row(row) for row in conn.execute(stmt).mappings()]


def count_users(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(users)).scalar_one())


def upsert_user(
    conn: Connection, record: UserRecord, now: datetime, expected_version: int | None, *, touch: bool = True
) -> tuple[UserRecord, str | None]:
    """The stored record, and the userName it had before (None for a new user)."""
    if not record.id or not record.user_name:
        raise ValueError("a user needs an id and a userName")
    values = mirrored_values(record, username_lower=record.username_lower, user_name=record.user_name)
    row, before = upsert_versioned(conn, users, values, USER_CONTENT, now, expected_version, touch=touch)
    return user_from_row(row), None if before is None else str(before["user_name"])


def delete_user(conn: Connection, user_id: str, now: datetime) -> tuple[bool, list[str]]:
    """Delete a user, its suspension record and its memberships (bumping those groups); returns whether
    the user existed and the ids of the groups it was in."""
    stmt = select(memberships.c.group_id).where(memberships.c.user_id == user_id)
    group_ids = list(conn.execute(stmt).scalars())
    conn.execute(delete(suspensions).where(suspensions.c.user_id == user_id))
    deleted = conn.execute(delete(users).where(users.c.id == user_id)).rowcount > 0
    bump_groups(conn, group_ids, now)
    return deleted, group_ids
