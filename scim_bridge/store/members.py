"""Queries on the memberships table. Roster changes bump the group's version."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Column
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import Connection

from scim_bridge.store import order
from scim_bridge.store.errors import StoreNotFound
from scim_bridge.store.groups import check_kind
from scim_bridge.store.groups import get_group
from scim_bridge.store.records import GroupKind
from scim_bridge.store.records import GroupRecord
from scim_bridge.store.records import Membership
from scim_bridge.store.sqlutil import chunks
from scim_bridge.store.tables import groups
from scim_bridge.store.tables import memberships

_COLUMNS = (memberships.c.group_id, memberships.c.user_id, memberships.c.role)


def members_of(conn: Connection, group_id: str) -> list[Membership]:
    stmt = select(*_COLUMNS).where(memberships.c.group_id == group_id).order_by(memberships.c.user_id)
    return [Membership(*row) for row in conn.execute(stmt)]


def groups_of(conn: Connection, user_id: str, kind: GroupKind | None = None) -> list[Membership]:
    stmt = select(*_COLUMNS).where(memberships.c.user_id == user_id).order_by(memberships.c.group_id)
    if kind is not None:
        stmt = stmt.join(groups, groups.c.id == memberships.c.group_id).where(groups.c.kind == kind)
    return [Membership(*row) for row in conn.execute(stmt)]


def memberships_for_users(conn: Connection, user_ids: Sequence[str]) -> dict[str, list[Membership]]:
    """Every requested user id maps to its memberships (possibly none), by group id."""
    return _memberships_by(conn, memberships.c.user_id, memberships.c.group_id, user_ids)


def members_for_groups(conn: Connection, group_ids: Sequence[str]) -> dict[str, list[Membership]]:
    """Every requested group id maps to its members (possibly none), by user id."""
    return _memberships_by(conn, memberships.c.group_id, memberships.c.user_id, group_ids)


def _memberships_by(
    conn: Connection, column: Column[str], then: Column[str], keys: Sequence[str]
) -> dict[str, list[Membership]]:
    """Every key maps to the memberships whose ``column`` it is (possibly none), ordered by ``then``."""
    result: dict[str, list[Membership]] = {key: [] for key in keys}
    for part in chunks(list(result), 5000):
        for row in conn.execute(select(*_COLUMNS).where(column.in_(part)).order_by(column, then)):
            membership = Membership(*row)
            result[getattr(membership, column.key)].append(membership)
    return result


def bump_groups(conn: Connection, group_ids: Iterable[str], now: datetime) -> None:
    """Move the version and last_modified of groups whose roster changed."""
    for part in chunks(sorted(set(group_ids))):
        stmt = (
            update(groups)
            .where(groups.c.id.in_(part))
            .values(version=groups.c.version + 1, last_modified=now)
        )
        conn.execute(stmt)


def apply_roster_changes(
    conn: Connection,
    removals: Sequence[tuple[str, str]],
    additions: Sequence[Membership],
    role_changes: Sequence[Membership],
) -> None:
    """Bulk delete (group_id, user_id) pairs, insert memberships and change roles."""
    if removals:
        stmt = delete(memberships).where(
            memberships.c.group_id == bindparam("b_group"),
            memberships.c.user_id == bindparam("b_user"),
        )
        conn.execute(stmt, [{"b_group": g, "b_user": u} for g, u in removals])
    if additions:
        rows = [{"group_id": m.group_id, "user_id": m.user_id, "role": m.role} for m in additions]
        conn.execute(insert(memberships), rows)
    if role_changes:
        change = (
            update(memberships)
            .where(
                memberships.c.group_id == bindparam("b_group"),
                memberships.c.user_id == bindparam("b_user"),
            )
            .values(role=bindparam("b_role"))
        )
        params = [{"b_group": m.group_id, "b_user": m.user_id, "b_role": m.role} for m in role_changes]
        conn.execute(change, params)


def _lock_groups(conn: Connection, group_ids: Iterable[str]) -> dict[str, str]:
    """Lock group rows in id order (so concurrent writers cannot deadlock); id -> kind."""
    found: dict[str, str] = {}
    for part in chunks(sorted(set(group_ids))):
        stmt = select(groups.c.id, groups.c.kind).where(groups.c.id.in_(part))
        for row in conn.execute(stmt.order_by(groups.c.id).with_for_update()):
            found[row.id] = row.kind
    return found


def _require_group(conn: Connection, group_id: str) -> None:
    if group_id not in _lock_groups(conn, [group_id]):
        raise StoreNotFound(f"group {group_id!r} does not exist")


def _roster(conn: Connection, group_id: str) -> dict[str, str]:
    return {m.user_id: m.role for m in members_of(conn, group_id)}


def _diff(
    group_id: str, current: dict[str, str], wanted: dict[str, str], *, remove_missing: bool
) -> tuple[list[tuple[str, str]], list[Membership], list[Membership]]:
    removals = [(group_id, u) for u in current if u not in wanted] if remove_missing else []
    additions = [Membership(group_id, u, r) for u, r in wanted.items() if u not in current]
    role_changes = [Membership(group_id, u, r) for u, r in wanted.items() if u in current and current[u] != r]
    return removals, additions, role_changes


def _change_roster(
    conn: Connection,
    group_id: str,
    wanted: dict[str, str],
    now: datetime,
    *,
    remove_missing: bool,
    mark_known: bool,
) -> tuple[GroupRecord, set[str]]:
    """The group after the change, and the users who joined or left it."""
    _require_group(conn, group_id)
    removals, additions, role_changes = _diff(
        group_id, _roster(conn, group_id), wanted, remove_missing=remove_missing
    )
    apply_roster_changes(conn, removals, additions, role_changes)
    if removals or additions or role_changes:
        bump_groups(conn, [group_id], now)
    if mark_known:
        stmt = update(groups).where(groups.c.id == group_id, groups.c.members_known.is_(False))
        if conn.execute(stmt.values(members_known=True)).rowcount:
            order.held_rosters_changed(conn)
    return _group(conn, group_id), {u for _, u in removals} | {m.user_id for m in additions}


def _group(conn: Connection, group_id: str) -> GroupRecord:
    record = get_group(conn, group_id)
    if record is None:
        raise StoreNotFound(f"group {group_id!r} does not exist")
    return record


def set_members(
    conn: Connection, group_id: str, members: Sequence[Membership], now: datetime
) -> tuple[GroupRecord, set[str]]:
    wanted = {m.user_id: m.role for m in members}
    return _change_roster(conn, group_id, wanted, now, remove_missing=True, mark_known=True)


def add_members(
    conn: Connection, group_id: str, members: Sequence[Membership], now: datetime
) -> tuple[GroupRecord, set[str]]:
    wanted = {m.user_id: m.role for m in members}
    return _change_roster(conn, group_id, wanted, now, remove_missing=False, mark_known=False)


def remove_members(
    conn: Connection, group_id: str, user_ids: Sequence[str], now: datetime
) -> tuple[GroupRecord, set[str]]:
    _require_group(conn, group_id)
    current = _roster(conn, group_id)
    removals = [(group_id, u) for u in dict.fromkeys(user_ids) if u in current]
    apply_roster_changes(conn, removals, [], [])
    if removals:
        bump_groups(conn, [group_id], now)
    return _group(conn, group_id), {u for _, u in removals}


def set_user_groups(
    conn: Connection, user_id: str, kind: GroupKind, wanted: Sequence[Membership], now: datetime
) -> list[str]:
    """Make the user's memberships in groups of ``kind`` exactly ``wanted``.

    The ``user_id`` of each membership is ignored. Returns the ids of the groups whose roster
    changed (their versions were bumped).
    """
    check_kind(kind)
    target = {m.group_id: m.role for m in wanted}
    current = {m.group_id: m.role for m in groups_of(conn, user_id, kind)}
    kinds = _lock_groups(conn, set(target) | set(current))
    # Read again under the locks: the roster may have moved between the read and the lock.
    current = {m.group_id: m.role for m in groups_of(conn, user_id, kind) if m.group_id in kinds}
    unknown = sorted(g for g in target if kinds.get(g) != kind)
    if unknown:
        raise StoreNotFound(f"no {kind} group with id {', '.join(map(repr, unknown))}")
    removals = [(g, user_id) for g in current if g not in target]
    additions = [Membership(g, user_id, r) for g, r in target.items() if g not in current]
    role_changes = [Membership(g, user_id, r) for g, r in target.items() if g in current and current[g] != r]
    apply_roster_changes(conn, removals, additions, role_changes)
    changed = sorted({g for g, _ in removals} | {m.group_id for m in additions + role_changes})
    bump_groups(conn, changed, now)
    return changed
