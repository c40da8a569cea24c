"""Insert-or-update for the versioned resource tables (users, groups)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from scim_bridge.store.errors import StoreConflict
from scim_bridge.store.errors import StoreNotFound
from scim_bridge.store.records import MirroredRecord
from scim_bridge.store.sqlutil import insert_ignoring
from scim_bridge.store.sqlutil import normalize_json

_STORE_MANAGED = ("id", "created", "last_modified", "version")


def mirrored_values(record: MirroredRecord, **own: Any) -> dict[str, Any]:
    """The ``values`` of a user or group for :func:`upsert_versioned`: ``own`` (the columns of its table alone)
    and those every mirrored table has."""
    return {
        "id": record.id,
        **own,
        "external_id": record.external_id,
        "upstream": normalize_json(record.upstream),
        "scim": normalize_json(record.scim),
        "created": record.created,
        "synced_at": record.synced_at,
    }


def _locked_row(conn: Connection, table: Table, key: str) -> dict[str, Any] | None:
    stmt = select(table).where(table.c.id == key).with_for_update()
    row = conn.execute(stmt).mappings().first()
    return None if row is None else dict(row)


def upsert_versioned(
    conn: Connection,
    table: Table,
    values: dict[str, Any],
    content: Sequence[str],
    now: datetime,
    expected_version: int | None,
    *,
    touch: bool = True,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Insert ``values`` or update the row with the same id; return the resulting row and the row as it
    was before (None for an insert).

    ``values`` holds every column but ``last_modified`` and ``version``; its ``created`` is used
    only on insert. ``version`` and ``last_modified`` move only when a column named in
    ``content`` changes. A ``synced_at`` of None keeps the stored value. With
    ``expected_version``, the row must exist (StoreNotFound) at that version (StoreConflict).
    ``touch=False``: a change that only completes what the row lacked moves ``version`` but keeps
    ``last_modified`` (the resource itself did not change).
    """
    key = values["id"]
    existing = _locked_row(conn, table, key)
    if existing is None:
        if expected_version is not None:
            raise StoreNotFound(f"{table.name} {key!r} does not exist")
        row = {**values, "last_modified": now, "version": 1}
        try:
            with conn.begin_nested():
                inserted = conn.execute(insert_ignoring(conn, table, row, "id")).rowcount == 1
        except IntegrityError:
            # On PostgreSQL a concurrent insert of the same id can surface as a violation of
            # another unique index (the name) rather than as the id conflict we ignore.
            if _locked_row(conn, table, key) is None:
                raise
            inserted = False
        if inserted:
            return row, None
        # Another transaction inserted the same id since our read: update that row instead.
        existing = _locked_row(conn, table, key)
        if existing is None:
            raise StoreConflict(f"{table.name} {key!r} is being written concurrently")
    if expected_version is not None and existing["version"] != expected_version:
        raise StoreConflict(
            f"{table.name} {key!r} is at version {existing['version']}, not {expected_version}"
        )
    updates = {name: value for name, value in values.items() if name not in _STORE_MANAGED}
    if updates.get("synced_at") is None:
        updates.pop("synced_at", None)
    if any(values[name] != existing[name] for name in content):
        if touch:
            updates["last_modified"] = now
        updates["version"] = existing["version"] + 1
    updates = {name: value for name, value in updates.items() if value != existing[name]}
    if updates:
        conn.execute(update(table).where(table.c.id == key).values(updates))
    return {**existing, **updates}, existing
