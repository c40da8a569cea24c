"""Queries on the groups table."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.engine import Connection

from scim_bridge.store.records import GROUP_KINDS
from scim_bridge.store.records import GroupKind
from scim_bridge.store.records import GroupRecord
from scim_bridge.store.sqlutil import chunks
from scim_bridge.store.sqlutil import normalize_json
from scim_bridge.store.tables import groups
from scim_bridge.store.versioned import upsert_versioned

GROUP_CONTENT = ("kind", "display_name", "display_lower", "external_id", "upstream", "scim")
_ORDER = (groups.c.created, groups.c.id)


def check_kind(kind: str) -> None:
    if kind not in GROUP_KINDS:
        raise ValueError(f"group kind must be one of {[str(k) for k in GROUP_KINDS]}, not {kind!r}")


def group_from_row(row: Mapping[Any, Any]) -> GroupRecord:
    return GroupRecord(
        id=row["id"],
        kind=GroupKind(row["kind"]),
        display_name=row["display_name"],
        external_id=row["external_id"],
        upstream=row["upstream"],
        scim=row["scim"],
        members_known=bool(row["members_known"]),
        created=row["created"],
        last_modified=row["last_modified"],
        version=row["version"],
        synced_at=row["synced_at"],
    )


def get_group(conn: Connection, group_id: str) -> GroupRecord | None:
    row = conn.execute(select(groups).where(groups.c.id == group_id)).mappings().first()
    return None if row is None else group_from_row(row)


def get_groups(conn: Connection, group_ids: Sequence[str]) -> dict[str, GroupRecord]:
    found: dict[str, GroupRecord] = {}
    for part in chunks(list(dict.fromkeys(group_ids))):
        for row in conn.execute(select(groups).where(groups.c.id.in_(part))).mappings():
            found[row["id"]] = group_from_row(row)
    return found


def get_group_by_name(conn: Connection, kind: GroupKind, name: str) -> GroupRecord | None:
    stmt = select(groups).where(groups.c.kind == kind, groups.c.display_lower == name.lower())
    row = conn.execute(stmt).mappings().first()
    return None if row is None else group_from_row(row)


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
    values = {
        "id": record.id,
        "kind": record.kind,
        "display_name": record.display_name,
        "display_lower": record.display_lower,
        "external_id": record.external_id,
        "upstream": normalize_json(record.upstream),
        "scim": normalize_json(record.scim),
        "members_known": record.members_known,
        "created": record.created,
        "synced_at": record.synced_at,
    }
    row, before = upsert_versioned(conn, groups, values, GROUP_CONTENT, now, expected_version)
    return group_from_row(row), None if before is None else str(before["display_name"])


def delete_group(conn: Connection, group_id: str) -> bool:
    return conn.execute(delete(groups).where(groups.c.id == group_id)).rowcount > 0
