"""Queries on the groups table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.engine import Connection

from scim_bridge.store import order
from scim_bridge.store.records import GROUP_KINDS
from scim_bridge.store.records import GroupKind
from scim_bridge.store.records import GroupRecord
from scim_bridge.store.sqlutil import Row
from scim_bridge.store.sqlutil import first_row
from scim_bridge.store.sqlutil import record_from_row
from scim_bridge.store.sqlutil import rows_by_key
from scim_bridge.store.tables import groups
from scim_bridge.store.versioned import mirrored_values
from scim_bridge.store.versioned import upsert_versioned

GROUP_CONTENT = ("kind", "display_name", "display_lower", "external_id", "upstream", "scim")
_ORDER = (groups.c.created, groups.c.id)


def check_kind(kind: str) -> None:
    if kind not in GROUP_KINDS:
        raise ValueError(f"group kind must be one of {[str(k) for k in GROUP_KINDS]}, not {kind!r}")


def group_from_row(row: Row) -> GroupRecord:
    return record_from_row(GroupRecord, row, kind=GroupKind(row["kind"]), members_known=bool(row["members_known"]))


def get_group(conn: Connection, group_id: str) -> GroupRecord | None:
    return first_row(conn, select(groups).where(groups.c.id == group_id), group_from_row)


def get_groups(conn: Connection, group_ids: Sequence[str]) -> dict[str, GroupRecord]:
    return rows_by_key(conn, groups, groups.c.id, group_ids, group_from_row)


def get_group_by_name(conn: Connection, kind: GroupKind, name: str) -> GroupRecord | None:
    stmt = select(groups).where(groups.c.kind == kind, groups.c.display_lower == name.lower())
    return first_row(conn, stmt, group_from_row)


def find_groups_by_external_id(conn: Connection, value: str) -> list[GroupRecord]:
    stmt = select(groups).where(groups.c.external_id == value).order_by(*_ORDER)
    return [group_from_row(row) for row in conn.execute(stmt).mappings()]


def list_groups(
    conn: Connection, kind: GroupKind | None = None, offset: int = 0, limit: int | None = None
) -> list[GroupRecord]:
    stmt = select(groups).order_by(*_ORDER).offset(offset).limit(limit)
    if kind is not None:
        stmt = stmt.where(groups.c.kind == kind)
    return [group_from_row(row) for row in conn.execute(stmt).mappings()]


def count_groups(conn: Connection, kind: GroupKind | None = None) -> int:
    stmt = select(func.count()).select_from(groups)
    if kind is not None:
        stmt = stmt.where(groups.c.kind == kind)
    return int(conn.execute(stmt).scalar_one())


def upsert_group(
    conn: Connection, record: GroupRecord, now: datetime, expected_version: int | None
) -> tuple[GroupRecord, str | None]:
    """The stored record, and the displayName it had before (None for a new group)."""
    check_kind(record.kind)
    if not record.id or not record.display_name:
        raise ValueError("a group needs an id and a displayName")
    values = mirrored_values(
        record,
        kind=record.kind,
        display_name=record.display_name,
        display_lower=record.display_lower,
        members_known=record.members_known,
    )
    row, before = upsert_versioned(conn, groups, values, GROUP_CONTENT, now, expected_version)
    if (before is None and not record.members_known) or (
            before is not None and bool(before["members_known"]) != record.members_known):
        order.held_rosters_changed(conn)
    return group_from_row(row), None if before is None else str(before["display_name"])


def delete_group(conn: Connection, group_id: str) -> bool:
    return conn.execute(delete(groups).where(groups.c.id == group_id)).rowcount > 0
