"""The full sync: bring the mirror of the upstream directory in line with a snapshot.

Everything happens in the caller's single transaction, with set-based statements: one read of
each table, then bulk deletes, inserts and updates (executemany), so 10,000 users and a few
hundred teams take well under a second on SQLite.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import Table
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import Connection

from scim_bridge.store import order
from scim_bridge.store.groups import check_kind
from scim_bridge.store.members import apply_roster_changes
from scim_bridge.store.members import bump_groups
from scim_bridge.store.records import Membership
from scim_bridge.store.records import SyncStats
from scim_bridge.store.sqlutil import chunks
from scim_bridge.store.sqlutil import normalize_json
from scim_bridge.store.tables import groups
from scim_bridge.store.tables import memberships
from scim_bridge.store.tables import roster_loads
from scim_bridge.store.tables import suspensions
from scim_bridge.store.tables import users

UserSnapshot = tuple[str, str, dict[str, Any]]
GroupSnapshot = tuple[str, str, str, dict[str, Any], Sequence[Membership] | None]

# Temporary lower-case name for rows being renamed, so that swaps never trip the unique index.
_RENAME_PREFIX = "#sync-rename#"


@dataclass
class _Plan:
    """What to do with one table. ``updates`` rows are keyed by ``b_id`` plus column names."""

    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _Names:
    """Column names of the display name and its lower-case key in one table."""

    name: str
    lower: str


_USER_NAMES = _Names("user_name", "username_lower")
_GROUP_NAMES = _Names("display_name", "display_lower")


def _plan(
    existing: dict[str, dict[str, Any]],
    incoming: dict[str, dict[str, Any]],
    names: _Names,
    removable: Collection[str],
    started_at: datetime | None,
    now: datetime,
    optional: dict[str, Any] | None = None,
) -> _Plan:
    """Compare snapshot rows (content columns only) with stored rows.

    The stored name keeps its case unless its lower-case form changed upstream. ``scim`` and
    ``external_id`` are never in ``incoming``, so they are kept. Rows modified at or after
    ``started_at`` are newer than the snapshot and left alone. Columns named in ``optional``
    may be missing from a snapshot row: they then keep their stored value, or take the given
    default on insert. Only changes to other columns move ``version`` and ``last_modified``.
    """
    plan = _Plan()
    optional = optional or {}

    def newer(row: dict[str, Any]) -> bool:
        return started_at is not None and row["last_modified"] >= started_at

    for key, wanted in incoming.items():
        row = existing.get(key)
        if row is None:
            stamps: dict[str, Any] = {
                "external_id": None,
                "scim": {},
                "created": now,
                "last_modified": now,
                "version": 1,
                "synced_at": now,
            }
            plan.inserts.append({"id": key, **optional, **wanted, **stamps})
            continue
        if newer(row):
            plan.skipped.add(key)
            continue
        wanted = {**{name: row[name] for name in optional}, **wanted}
        if row[names.lower] == wanted[names.lower]:
            wanted[names.name] = row[names.name]
        content = {name: value for name, value in wanted.items() if name not in optional}
        if any(row[name] != value for name, value in content.items()):
            version, modified = row["version"] + 1, now
        elif any(row[name] != value for name, value in wanted.items()):
            version, modified = row["version"], row["last_modified"]
        else:
            plan.unchanged.append(key)
            continue
        if row[names.lower] != wanted[names.lower]:
            plan.renamed.append(key)
        plan.updates.append(
            {"b_id": key, **wanted, "version": version, "last_modified": modified, "synced_at": now}
        )
    plan.removed = [key for key in removable if key not in incoming and not newer(existing[key])]
    return plan


def _note_held_rosters(conn: Connection, stored: dict[str, dict[str, Any]], plan: _Plan) -> None:
    """Move the generation of Groups when ``plan`` adds a group whose roster is not held, or changes whether a
    stored group's is (see :func:`scim_bridge.store.order.held_rosters_changed`)."""
    if any(not row["members_known"] for row in plan.inserts) or any(
            bool(stored[row["b_id"]]["members_known"]) != bool(row["members_known"]) for row in plan.updates):
        order.held_rosters_changed(conn)


def _load(conn: Connection, table: Table, columns: Iterable[str]) -> dict[str, dict[str, Any]]:
    stmt = select(*(table.c[name] for name in ("id", *columns)))
    return {row["id"]: dict(row) for row in conn.execute(stmt).mappings()}


def _delete_ids(conn: Connection, table: Table, key: str, ids: Sequence[str]) -> None:
    for part in chunks(ids):
        conn.execute(delete(table).where(table.c[key].in_(part)))


def _execute(conn: Connection, table: Table, plan: _Plan, names: _Names, now: datetime) -> None:
    by_id = table.c.id == bindparam("b_id")
    if plan.renamed:
        params = [{"b_id": key, "b_tmp": _RENAME_PREFIX + key} for key in plan.renamed]
        conn.execute(update(table).where(by_id).values({names.lower: bindparam("b_tmp")}), params)
    if plan.inserts:
        conn.execute(insert(table), plan.inserts)
    if plan.updates:
        conn.execute(update(table).where(by_id), plan.updates)
    for part in chunks(plan.unchanged):
        conn.execute(update(table).where(table.c.id.in_(part)).values(synced_at=now))


def _user_rows(snapshot: Sequence[UserSnapshot]) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for user_id, username, upstream in snapshot:
        rows[user_id] = {
            "user_name": username,
            "username_lower": username.lower(),
            "upstream": normalize_json(upstream),
        }
    return rows


def _group_rows(snapshot: Sequence[GroupSnapshot]) -> tuple[dict[str, dict[str, Any]], set[str]]:
    rows: dict[str, dict[str, Any]] = {}
    with_members: set[str] = set()
    for group_id, kind, name, upstream, members in snapshot:
        check_kind(kind)
        rows[group_id] = {
            "kind": kind,
            "display_name": name,
            "display_lower": name.lower(),
            "upstream": normalize_json(upstream),
        }
        if members is not None:
            rows[group_id]["members_known"] = True
            with_members.add(group_id)
        else:
            with_members.discard(group_id)
    return rows, with_members


def apply_sync(
    conn: Connection,
    user_snapshot: Sequence[UserSnapshot] | None,
    group_snapshot: Sequence[GroupSnapshot] | None,
    group_kinds: Collection[str],
    started_at: datetime | None,
    now: datetime,
) -> SyncStats:
    stats = SyncStats()
    user_cols = ("user_name", "username_lower", "upstream", "version", "last_modified")
    stored_users = _load(conn, users, user_cols)
    group_cols = (
        "kind",
        "display_name",
        "display_lower",
        "upstream",
        "members_known",
        "version",
        "last_modified",
    )
    stored_groups = _load(conn, groups, group_cols)
    rosters: dict[str, dict[str, str]] = {}
    for group_id, user_id, role in conn.execute(select(memberships)):
        rosters.setdefault(group_id, {})[user_id] = role

    user_plan = _Plan()
    if user_snapshot is not None:
        incoming_users = _user_rows(user_snapshot)
        user_plan = _plan(stored_users, incoming_users, _USER_NAMES, list(stored_users), started_at, now)
    group_plan = _Plan()
    group_members: dict[str, Sequence[Membership]] = {}
    if group_snapshot is not None:
        incoming, with_members = _group_rows(group_snapshot)
        removable = [key for key, row in stored_groups.items() if row["kind"] in group_kinds]
        group_plan = _plan(
            stored_groups, incoming, _GROUP_NAMES, removable, started_at, now, {"members_known": False}
        )
        group_members = {g[0]: g[4] for g in group_snapshot if g[0] in with_members and g[4] is not None}

    removed_users = set(user_plan.removed)
    _delete_ids(conn, suspensions, "user_id", user_plan.removed)
    _delete_ids(conn, users, "id", user_plan.removed)
    _delete_ids(conn, groups, "id", group_plan.removed)
    _execute(conn, users, user_plan, _USER_NAMES, now)
    _execute(conn, groups, group_plan, _GROUP_NAMES, now)
    _note_held_rosters(conn, stored_groups, group_plan)

    # Memberships: rosters of removed users and groups are gone through ON DELETE CASCADE.
    known_users = (set(stored_users) - removed_users) | {row["id"] for row in user_plan.inserts}
    gone_groups = set(group_plan.removed)
    roster_changed = {
        group_id
        for group_id, roster in rosters.items()
        if group_id not in gone_groups and removed_users.intersection(roster)
    }
    removals: list[tuple[str, str]] = []
    additions: list[Membership] = []
    role_changes: list[Membership] = []
    for group_id, members in group_members.items():
        if group_id in group_plan.skipped:
            continue
        wanted = {m.user_id: m.role for m in members if m.user_id in known_users}
        stats.memberships_ignored += len({m.user_id for m in members}) - len(wanted)
        current = {u: r for u, r in rosters.get(group_id, {}).items() if u not in removed_users}
        before = len(removals) + len(additions) + len(role_changes)
        removals.extend((group_id, u) for u in current if u not in wanted)
        additions.extend(Membership(group_id, u, r) for u, r in wanted.items() if u not in current)
        role_changes.extend(
            Membership(group_id, u, r) for u, r in wanted.items() if u in current and current[u] != r
        )
        if len(removals) + len(additions) + len(role_changes) != before:
            roster_changed.add(group_id)
    apply_roster_changes(conn, removals, additions, role_changes)
    stamp_rosters(conn, [gid for gid in group_members if gid not in group_plan.skipped], now)
    already_bumped = {row["id"] for row in group_plan.inserts} | {
        row["b_id"] for row in group_plan.updates if row["last_modified"] == now
    }
    bump_groups(conn, roster_changed - already_bumped, now)

    stats.users_added = len(user_plan.inserts)
    stats.users_updated = len(user_plan.updates)
    stats.users_removed = len(user_plan.removed)
    stats.users_unchanged = len(user_plan.unchanged)
    stats.users_skipped = len(user_plan.skipped)
    stats.groups_added = len(group_plan.inserts)
    stats.groups_updated = len(group_plan.updates)
    stats.groups_removed = len(group_plan.removed)
    stats.groups_unchanged = len(group_plan.unchanged)
    stats.groups_skipped = len(group_plan.skipped)
    stats.memberships_added = len(additions)
    stats.memberships_removed = len(removals)
    stats.memberships_changed = len(role_changes)
    return stats


# ---------------------------------------------------------------------------------------------------------
# A sync page by page: each page is applied on its own (nothing is removed then), and once every page is in,
# rows the run did not see are swept. Memory and transaction size follow the page, not the directory.


def _load_ids(
    conn: Connection, table: Table, columns: Iterable[str], ids: Collection[str]
) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for part in chunks(sorted(ids)):
        stmt = select(*(table.c[name] for name in ("id", *columns))).where(table.c.id.in_(part))
        found.update({row["id"]: dict(row) for row in conn.execute(stmt).mappings()})
    return found


def _park_name_holders(conn: Connection, table: Table, names: _Names, incoming: dict[str, dict[str, Any]],
                       where: ColumnElement[bool] | None = None) -> None:
    """Rows outside the page holding a name the page brings: renamed upstream, their own page will give them
    their new name (or the sweep removes them). Until then they hold a temporary one."""
    wanted = {row[names.lower]: key for key, row in incoming.items()}
    for part in chunks(sorted(wanted)):
        stmt = select(table.c.id, table.c[names.lower]).where(table.c[names.lower].in_(part))
        if where is not None:
            stmt = stmt.where(where)
        holders = [row.id for row in conn.execute(stmt) if wanted[row[1]] != row.id]
        for holder in holders:
            conn.execute(update(table).where(table.c.id == holder).values({names.lower: _RENAME_PREFIX + holder}))


def apply_page(
    conn: Connection,
    user_snapshot: Sequence[UserSnapshot] | None,
    group_snapshot: Sequence[GroupSnapshot] | None,
    started_at: datetime | None,
    now: datetime,
) -> tuple[SyncStats, set[str], set[str], set[str]]:
    """Apply one page of a sync: insert and update these users or groups (and the groups' rosters), remove
    nothing. Returns the stats, the users and groups whose documents may have changed, and the users that are
    new to the mirror (among those touched)."""
    stats = SyncStats()
    touched_users: set[str] = set()
    touched_groups: set[str] = set()
    added_users: set[str] = set()
    if user_snapshot:
        incoming = _user_rows(user_snapshot)
        stored = _load_ids(conn, users, ("user_name", "username_lower", "upstream", "version", "last_modified"),
                           incoming)
        plan = _plan(stored, incoming, _USER_NAMES, (), started_at, now)
        _park_name_holders(conn, users, _USER_NAMES, {k: v for k, v in incoming.items() if k not in plan.skipped})
        _execute(conn, users, plan, _USER_NAMES, now)
        touched_users.update(incoming)
        added_users.update(row["id"] for row in plan.inserts)
        stats.users_added, stats.users_updated = len(plan.inserts), len(plan.updates)
        stats.users_unchanged, stats.users_skipped = len(plan.unchanged), len(plan.skipped)
    if group_snapshot:
        incoming, with_members = _group_rows(group_snapshot)
        columns = ("kind", "display_name", "display_lower", "upstream", "members_known", "version", "last_modified")
        stored = _load_ids(conn, groups, columns, incoming)
        plan = _plan(stored, incoming, _GROUP_NAMES, (), started_at, now, {"members_known": False})
        for kind in {row["kind"] for row in incoming.values()}:
            _park_name_holders(conn, groups, _GROUP_NAMES,
                               {k: v for k, v in incoming.items() if k not in plan.skipped and v["kind"] == kind},
                               groups.c.kind == kind)
        _execute(conn, groups, plan, _GROUP_NAMES, now)
        _note_held_rosters(conn, stored, plan)
        touched_groups.update(incoming)
        rosters = {g[0]: g[4] for g in group_snapshot if g[0] in with_members and g[4] is not None}
        touched_users |= _apply_rosters(conn, rosters, plan, now, stats)
        stamp_rosters(conn, [gid for gid in rosters if gid not in plan.skipped], now)
        stats.groups_added, stats.groups_updated = len(plan.inserts), len(plan.updates)
        stats.groups_unchanged, stats.groups_skipped = len(plan.unchanged), len(plan.skipped)
    return stats, touched_users, touched_groups, added_users


def _apply_rosters(conn: Connection, rosters: dict[str, Sequence[Membership]], plan: _Plan, now: datetime,
                   stats: SyncStats) -> set[str]:
    """Make the rosters of these groups the given ones; returns the users who joined, left or changed role."""
    named = {m.user_id for members in rosters.values() for m in members}
    known = set(_load_ids(conn, users, (), named))
    current: dict[str, dict[str, str]] = {}
    for part in chunks(sorted(rosters)):
        for group_id, user_id, role in conn.execute(select(memberships).where(memberships.c.group_id.in_(part))):
            current.setdefault(group_id, {})[user_id] = role
    removals: list[tuple[str, str]] = []
    additions: list[Membership] = []
    role_changes: list[Membership] = []
    changed_groups: set[str] = set()
    for group_id, members in rosters.items():
        if group_id in plan.skipped:
            continue
        wanted = {m.user_id: m.role for m in members if m.user_id in known}
        stats.memberships_ignored += len({m.user_id for m in members}) - len(wanted)
        have = current.get(group_id, {})
        before = len(removals) + len(additions) + len(role_changes)
        removals.extend((group_id, u) for u in have if u not in wanted)
        additions.extend(Membership(group_id, u, r) for u, r in wanted.items() if u not in have)
        role_changes.extend(Membership(group_id, u, r) for u, r in wanted.items() if u in have and have[u] != r)
        if len(removals) + len(additions) + len(role_changes) != before:
            changed_groups.add(group_id)
    apply_roster_changes(conn, removals, additions, role_changes)
    bumped = {row["id"] for row in plan.inserts} | {row["b_id"] for row in plan.updates if row["last_modified"] == now}
    bump_groups(conn, changed_groups - bumped, now)
    stats.memberships_added += len(additions)
    stats.memberships_removed += len(removals)
    stats.memberships_changed += len(role_changes)
    return {u for _, u in removals} | {m.user_id for m in additions} | {m.user_id for m in role_changes}


def stamp_rosters(conn: Connection, group_ids: Collection[str], now: datetime) -> None:
    """Record that the rosters of ``group_ids`` were read from the upstream at ``now``."""
    ids = sorted(group_ids)
    for part in chunks(ids):
        conn.execute(delete(roster_loads).where(roster_loads.c.group_id.in_(part)))
    existing: set[str] = set()
    for part in chunks(ids):
        existing.update(conn.execute(select(groups.c.id).where(groups.c.id.in_(part))).scalars())
    rows = [{"group_id": gid, "loaded_at": now} for gid in ids if gid in existing]
    if rows:
        conn.execute(insert(roster_loads), rows)


@dataclass
class Swept:
    """What :func:`sweep` removed, and the documents that changed with it."""

    stats: SyncStats
    users: set[str]
    groups: set[str]
    touched_users: set[str]
    touched_groups: set[str]


def sweep(
    conn: Connection, run_started: datetime, group_kinds: Collection[str], now: datetime, *, sweep_users: bool = True
) -> Swept:
    """Remove the users (with ``sweep_users``) and the groups of ``group_kinds`` that the run started at
    ``run_started`` did not see and nobody wrote since; groups that lost members are bumped."""
    stats = SyncStats()

    def unseen(table: Table) -> ColumnElement[bool]:
        return and_(or_(table.c.synced_at.is_(None), table.c.synced_at < run_started),
                    table.c.last_modified < run_started)

    gone_users = set(conn.execute(select(users.c.id).where(unseen(users))).scalars()) if sweep_users else set()
    gone_groups = set(conn.execute(
        select(groups.c.id).where(unseen(groups), groups.c.kind.in_(sorted(group_kinds)))).scalars())
    losing: set[str] = set()
    for part in chunks(sorted(gone_users)):
        losing.update(conn.execute(select(memberships.c.group_id).where(memberships.c.user_id.in_(part))).scalars())
    leaving: set[str] = set()
    for part in chunks(sorted(gone_groups)):
        leaving.update(conn.execute(select(memberships.c.user_id).where(memberships.c.group_id.in_(part))).scalars())
    _delete_ids(conn, suspensions, "user_id", sorted(gone_users))
    _delete_ids(conn, users, "id", sorted(gone_users))
    _delete_ids(conn, groups, "id", sorted(gone_groups))
    bump_groups(conn, losing - gone_groups, now)
    stats.users_removed, stats.groups_removed = len(gone_users), len(gone_groups)
    return Swept(stats, gone_users, gone_groups, leaving - gone_users, losing - gone_groups)
