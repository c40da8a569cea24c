"""Suspension records, leases and key/value settings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import ColumnElement

from scim_bridge.store.records import Suspension
from scim_bridge.store.sqlutil import Row
from scim_bridge.store.sqlutil import chunks
from scim_bridge.store.sqlutil import first_row
from scim_bridge.store.sqlutil import insert_or_replace
from scim_bridge.store.sqlutil import normalize_json
from scim_bridge.store.sqlutil import record_from_row
from scim_bridge.store.sqlutil import rows_by_key
from scim_bridge.store.tables import leases
from scim_bridge.store.tables import settings_kv
from scim_bridge.store.tables import suspensions


def suspension_from_row(row: Row) -> Suspension:
    return record_from_row(Suspension, row)


def get_suspension(conn: Connection, user_id: str) -> Suspension | None:
    return first_row(conn, select(suspensions).where(suspensions.c.user_id == user_id), suspension_from_row)


def all_suspensions(conn: Connection) -> dict[str, Suspension]:
    return {row["user_id"]: suspension_from_row(row) for row in conn.execute(select(suspensions)).mappings()}


def suspensions_for_users(conn: Connection, user_ids: Sequence[str]) -> dict[str, Suspension]:
    """The suspension records of those of ``user_ids`` that have one, in one query per 500 ids."""
    return rows_by_key(conn, suspensions, suspensions.c.user_id, user_ids, suspension_from_row)


def put_suspension(conn: Connection, suspension: Suspension) -> None:
    values = {
        "user_id": suspension.user_id,
        "role": suspension.role,
        "teams": normalize_json(suspension.teams),
        "suspended_at": suspension.suspended_at,
    }
    conn.execute(insert_or_replace(conn, suspensions, values, "user_id"))


def locked_suspension(conn: Connection, user_id: str) -> Suspension | None:
    """The suspension record of ``user_id``, its row locked until the transaction ends (PostgreSQL; SQLite
    write transactions already hold the database's write lock)."""
    stmt = select(suspensions).where(suspensions.c.user_id == user_id).with_for_update()
    return first_row(conn, stmt, suspension_from_row)


def delete_suspension(conn: Connection, user_id: str) -> bool:
    return conn.execute(delete(suspensions).where(suspensions.c.user_id == user_id)).rowcount > 0


def try_acquire_lease(conn: Connection, name: str, owner: str, ttl_seconds: float, now: datetime) -> bool:
    """Take the lease if it is free, expired, or already ours (which renews it).

    One conditional upsert, so two owners racing for a free lease cannot both get it.
    """
    values = {"name": name, "owner": owner, "expires_at": now + timedelta(seconds=ttl_seconds)}

    def replaceable(excluded: Any) -> ColumnElement[bool]:
        return or_(leases.c.owner == excluded.owner, leases.c.expires_at <= now)

    conn.execute(insert_or_replace(conn, leases, values, "name", where=replaceable))
    holder = conn.execute(select(leases.c.owner).where(leases.c.name == name)).scalar_one_or_none()
    return holder == owner


def try_acquire_leases(conn: Connection, names: Sequence[str], owner: str, ttl_seconds: float,
                       now: datetime) -> bool:
    """Take (or renew) every lease of ``names`` for ``owner``; True when all are now ``owner``'s. On False the
    caller rolls the transaction back, so no lease of the batch is kept."""
    taken = [try_acquire_lease(conn, name, owner, ttl_seconds, now) for name in names]
    return all(taken)


def release_leases(conn: Connection, names: Sequence[str], owner: str) -> int:
    released = 0
    for part in chunks(list(names)):
        stmt = delete(leases).where(leases.c.name.in_(part), leases.c.owner == owner)
        released += conn.execute(stmt).rowcount
    return released


def release_lease(conn: Connection, name: str, owner: str) -> bool:
    stmt = delete(leases).where(leases.c.name == name, leases.c.owner == owner)
    return conn.execute(stmt).rowcount > 0


def lease_owner(conn: Connection, name: str, now: datetime) -> str | None:
    stmt = select(leases.c.owner).where(leases.c.name == name, leases.c.expires_at > now)
    owner = conn.execute(stmt).scalar_one_or_none()
    return None if owner is None else str(owner)


def get_setting(conn: Connection, key: str, default: Any) -> Any:
    row = conn.execute(select(settings_kv.c.value).where(settings_kv.c.key == key)).first()
    return default if row is None else row[0]


def put_setting(conn: Connection, key: str, value: Any) -> None:
    conn.execute(insert_or_replace(conn, settings_kv, {"key": key, "value": normalize_json(value)}, "key"))
