"""The bridge's state store: one object the service layer talks to."""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from scim_bridge.scim.filters import FilterNode
from scim_bridge.scim.schema import AttributePath
from scim_bridge.scim.schema import ResourceType
from scim_bridge.store import groups
from scim_bridge.store import index
from scim_bridge.store import keyset
from scim_bridge.store import members as member_ops
from scim_bridge.store import order
from scim_bridge.store import sync
from scim_bridge.store import users
from scim_bridge.store.bookkeeping import Bookkeeping
from scim_bridge.store.engine import WRITE_OPTION
from scim_bridge.store.errors import StoreError
from scim_bridge.store.locks import DIRECTORY_LOCK
from scim_bridge.store.locks import lock_exclusive
from scim_bridge.store.records import GROUP_KINDS
from scim_bridge.store.records import GroupKind
from scim_bridge.store.records import GroupRecord
from scim_bridge.store.records import Membership
from scim_bridge.store.records import SyncStats
from scim_bridge.store.records import UserRecord
from scim_bridge.store.sqlutil import translate_integrity_error


class Store(Bookkeeping):
    """Thread-safe; one instance per process. Every method is its own transaction unless
    called inside ``with store.transaction():``, which makes them share one.

    Constraint violations surface as ``StoreConflict`` (unique keys, versions) and
    ``StoreNotFound`` (memberships naming a missing user or group).
    """

    # --- the search index ------------------------------------------------------------------
    def search_index(
        self,
        resource_type: ResourceType,
        node: FilterNode | None,
        *,
        sort_by: AttributePath | None = None,
        descending: bool = False,
        start_index: int = 1,
        count: int = 100,
    ) -> index.SearchPage:
        """One page of indexed resources and the exact total, from one snapshot.

        Orders with keyset rows (the default one and sortBy on the paths of ``order.ORDERED_PATHS``) reach
        the page from a remembered boundary (see ``keyset.py``); others sort at query time.
        """
        path = keyset.order_path(resource_type, sort_by)
        with self._snapshot() as conn:
            if path is None:
                return index.search(conn, resource_type, node, sort_by=sort_by, descending=descending,
                                    start_index=start_index, count=count)
            page = keyset.page_at(conn, resource_type, node, path, descending=descending,
                                  start_index=start_index, count=count, marks=self._marks)
            return index.SearchPage(page.total, page.resources)

    def keyset_page(
        self,
        resource_type: ResourceType,
        node: FilterNode | None,
        *,
        sort_by: AttributePath | None,
        descending: bool,
        after: order.Position | None,
        count: int,
        backward: bool = False,
    ) -> keyset.KeysetPage | None:
        """The page following (``backward``: preceding) position ``after``; None when ``sort_by`` has no keyset
        order (page by index then)."""
        path = keyset.order_path(resource_type, sort_by)
        if path is None:
            return None
        with self._snapshot() as conn:
            return keyset.page_after(conn, resource_type, node, path, descending=descending, after=after,
                                     count=count, backward=backward, marks=self._marks)

    @contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        """A read transaction; on PostgreSQL one snapshot (REPEATABLE READ), so that totalResults always
        matches the page."""
        outer = self._current.get()
        if outer is not None:
            yield outer
            return
        with self._engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def indexed_documents(self, resource_type: ResourceType, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The indexed documents of these ids (those present), by id."""
        return self._reading(index.documents, resource_type, ids)

    # --- users ---------------------------------------------------------------------------
    def get_user(self, user_id: str) -> UserRecord | None:
        return self._reading(users.get_user, user_id)

    def get_users(self, user_ids: Sequence[str]) -> dict[str, UserRecord]:
        """The users among ``user_ids`` that exist, by id."""
        return self._reading(users.get_users, user_ids)

    def user_summaries(self, user_ids: Sequence[str] | None = None) -> dict[str, tuple[str, Any]]:
        """id -> (user_name, upstream snapshot) of the given users that exist (or of all users):
        a narrow read for large rosters."""
        return self._reading(users.user_summaries, user_ids)

    def user_roles(self) -> dict[str, tuple[str, str]]:
        """id -> (user_name, upstream role name) of every user: a narrow read for role groups."""
        return self._reading(users.user_roles)

    def user_names(self, user_ids: Sequence[str]) -> dict[str, str]:
        """id -> user_name of the given users that exist: a narrow read for large rosters."""
        return self._reading(users.user_names, user_ids)

    def get_user_by_username(self, username: str) -> UserRecord | None:
        """Case-insensitive lookup."""
        return self._reading(users.get_user_by_username, username)

    def list_users(self, *, offset: int = 0, limit: int | None = None) -> list[UserRecord]:
        """Users ordered by (created, id)."""
        return self._reading(users.list_users, offset, limit)

    def users_after(self, after: UserRecord | None, limit: int) -> list[UserRecord]:
        """A page of users in (created, id) order following ``after``: a walk costs the same at any depth."""
        return self._reading(users.users_after, after, limit)

    def count_users(self) -> int:
        return self._reading(users.count_users)

    def upsert_user(self, record: UserRecord, *, expected_version: int | None = None, touch: bool = True) -> UserRecord:
        """Insert or update by id and return the stored record.

        ``version`` and ``last_modified`` move only when user_name, external_id, upstream or
        scim changed; ``created`` is kept (taken from ``record`` on insert); the record's own
        version/last_modified are ignored. StoreConflict when the userName is taken (any case)
        or ``expected_version`` does not match; StoreNotFound when ``expected_version`` is
        given and the user does not exist. ``touch=False`` keeps ``last_modified`` (the write only completes
        what the mirror lacked, such as contacts a list did not carry).
        """
        with self._write() as conn:
            stored, before = users.upsert_user(conn, record, self._clock(), expected_version, touch=touch)
            self._mark(users=[record.id])
            if self._indexer is not None and before is not None and before != stored.user_name:
                # team rosters show the name
                self._mark(groups=[m.group_id for m in member_ops.groups_of(conn, record.id, GroupKind.TEAM)])
            return stored

    def delete_user(self, user_id: str) -> bool:
        """Delete a user with its memberships and suspension record. False if absent."""
        with self._write() as conn:
            deleted, group_ids = users.delete_user(conn, user_id, self._clock())
            self._mark(users=[user_id], groups=group_ids)
            return deleted

    # --- groups --------------------------------------------------------------------------
    def get_group(self, group_id: str) -> GroupRecord | None:
        return self._reading(groups.get_group, group_id)

    def get_groups(self, group_ids: Sequence[str]) -> dict[str, GroupRecord]:
        """The groups among ``group_ids`` that exist, by id."""
        return self._reading(groups.get_groups, group_ids)

    def get_group_by_name(self, kind: GroupKind, name: str) -> GroupRecord | None:
        """Case-insensitive lookup within one kind of group."""
        return self._reading(groups.get_group_by_name, kind, name)

    def find_groups_by_external_id(self, value: str) -> list[GroupRecord]:
        return self._reading(groups.find_groups_by_external_id, value)

    def list_groups(
        self, kind: GroupKind | None = None, *, offset: int = 0, limit: int | None = None
    ) -> list[GroupRecord]:
        """Groups (of one kind, or all) ordered by (created, id)."""
        return self._reading(groups.list_groups, kind, offset, limit)

    def count_groups(self, kind: GroupKind | None = None) -> int:
        return self._reading(groups.count_groups, kind)

    def upsert_group(self, record: GroupRecord, *, expected_version: int | None = None) -> GroupRecord:
        """Like ``upsert_user``; the content is kind, display_name, external_id, upstream and
        scim. ``members_known`` is stored as given without moving the version."""
        with self._write() as conn:
            stored, before = groups.upsert_group(conn, record, self._clock(), expected_version)
            self._mark(groups=[record.id])
            if self._indexer is not None and before is not None and before != stored.display_name:
                # members' groups show the name
                self._mark(users=[m.user_id for m in member_ops.members_of(conn, record.id)])
            return stored

    def delete_group(self, group_id: str) -> bool:
        """Delete a group with its memberships. False if absent."""
        with self._write() as conn:
            if self._indexer is not None:
                self._mark(users=[m.user_id for m in member_ops.members_of(conn, group_id)], groups=[group_id])
            return groups.delete_group(conn, group_id)

    # --- memberships ---------------------------------------------------------------------
    def members_of(self, group_id: str) -> list[Membership]:
        return self._reading(member_ops.members_of, group_id)

    def groups_of(self, user_id: str, kind: GroupKind | None = None) -> list[Membership]:
        return self._reading(member_ops.groups_of, user_id, kind)

    def memberships_for_users(self, user_ids: Sequence[str]) -> dict[str, list[Membership]]:
        """Memberships of many users in one query; every requested id is a key."""
        return self._reading(member_ops.memberships_for_users, user_ids)

    def members_for_groups(self, group_ids: Sequence[str]) -> dict[str, list[Membership]]:
        """Members of many groups in one query; every requested id is a key."""
        return self._reading(member_ops.members_for_groups, group_ids)

    def set_members(self, group_id: str, members: Sequence[Membership]) -> GroupRecord:
        """Replace the roster (group_id of each membership ignored); marks it known."""
        with self._write() as conn:
            record, changed = member_ops.set_members(conn, group_id, members, self._clock())
            self._mark_roster_change(group_id, changed)
            return record

    def add_members(self, group_id: str, members: Sequence[Membership]) -> GroupRecord:
        """Add members; an existing member given with another role gets that role."""
        with self._write() as conn:
            record, changed = member_ops.add_members(conn, group_id, members, self._clock())
            self._mark_roster_change(group_id, changed)
            return record

    def remove_members(self, group_id: str, user_ids: Sequence[str]) -> GroupRecord:
        with self._write() as conn:
            record, changed = member_ops.remove_members(conn, group_id, user_ids, self._clock())
            self._mark_roster_change(group_id, changed)
            return record

    def set_user_groups(self, user_id: str, kind: GroupKind, memberships: Sequence[Membership]) -> list[str]:
        """Make the user's groups of ``kind`` exactly ``memberships``; returns changed group ids."""
        with self._write() as conn:
            changed = member_ops.set_user_groups(conn, user_id, kind, memberships, self._clock())
            if changed:
                self._mark(users=[user_id], groups=changed)
            return changed

    def _mark_roster_change(self, group_id: str, joined_or_left: set[str]) -> None:
        if joined_or_left:
            self._mark(users=joined_or_left, groups=[group_id])

    # --- full sync -----------------------------------------------------------------------
    def apply_sync(
        self,
        users_snapshot: Sequence[sync.UserSnapshot] | None,
        groups_snapshot: Sequence[sync.GroupSnapshot] | None,
        *,
        group_kinds: Collection[GroupKind] = GROUP_KINDS,
        started_at: datetime | None = None,
    ) -> SyncStats:
        """Mirror a full upstream snapshot, in one transaction.

        ``users_snapshot``: ``SyncUser(id, username, upstream_json)`` tuples — every upstream
        user. ``groups_snapshot``: ``SyncGroup(id, kind, name, upstream_json, members)`` tuples
        — every upstream team and role; ``members`` is the full roster, or None when not
        fetched (roster and members_known then stay as stored). Pass None for a snapshot that
        was not taken: that table is left alone.

        Rows are inserted, updated (only when upstream data or the lower-case name changed;
        bridge-held scim, external_id and the original-case name are kept) or deleted when
        absent upstream; only groups whose kind is in ``group_kinds`` are deleted that way.
        Memberships naming users the store does not hold are ignored (counted in the stats).
        Rows modified at or after ``started_at`` (when the snapshot began) are newer than the
        snapshot and are neither updated nor deleted. StoreConflict if upstream names collide.
        """
        with self._sync_transaction() as conn:
            stats = sync.apply_sync(conn, users_snapshot, groups_snapshot, group_kinds, started_at, self._clock())
            if self._indexer is not None:
                self._indexer.rebuild(conn)
            return stats

    def apply_sync_page(
        self,
        users_snapshot: Sequence[sync.UserSnapshot] | None,
        groups_snapshot: Sequence[sync.GroupSnapshot] | None,
        *,
        started_at: datetime | None = None,
        index_new_users: bool = True,
    ) -> SyncStats:
        """One page of a sync in a transaction of its own: insert and update these users or groups (and
        rosters) as ``apply_sync`` does, remove nothing, re-index what changed. Finish the run with
        :meth:`sweep_sync`.

        ``index_new_users`` False: the users new to the mirror are not indexed yet, because the run goes on to
        read the rosters that give them their groups (each would be indexed twice otherwise); the first write
        that touches them again indexes them, and :meth:`sweep_sync` (or :meth:`index_pending`) those left."""
        with self._sync_transaction() as conn:
            stats, touched_users, touched_groups, added_users = sync.apply_page(
                conn, users_snapshot, groups_snapshot, started_at, self._clock())
            if self._indexer is not None:
                self._indexer.reindex(conn, touched_users if index_new_users else touched_users - added_users,
                                      touched_groups)
            return stats

    def index_pending(self) -> None:
        """Index the mirrored users the search index lacks (left out by :meth:`apply_sync_page`)."""
        if self._indexer is None:
            return
        with self._sync_transaction() as conn:
            self._indexer.index_missing(conn)

    def sweep_sync(
        self, run_started: datetime, *, group_kinds: Collection[GroupKind] = GROUP_KINDS, sweep_users: bool = True
    ) -> SyncStats:
        """End a paged sync: remove the users and groups the run (begun at ``run_started``) did not see."""
        with self._sync_transaction() as conn:
            swept = sync.sweep(conn, run_started, group_kinds, self._clock(), sweep_users=sweep_users)
            if self._indexer is not None:
                self._indexer.refresh(conn, swept.users, swept.groups)
                self._indexer.reindex(conn, swept.touched_users, swept.touched_groups)
                self._indexer.index_missing(conn)
            return swept.stats

    @contextmanager
    def _sync_transaction(self) -> Iterator[Connection]:
        if self._current.get() is not None:
            raise StoreError("a sync runs in its own transactions, not inside transaction()")
        with self._engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            try:
                with conn.begin():
                    lock_exclusive(conn, DIRECTORY_LOCK)
                    yield conn
            except IntegrityError as exc:
                raise translate_integrity_error(exc) from exc
