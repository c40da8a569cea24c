"""The bookkeeping tables of the Store: suspension records, the audit log, leases and settings."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from scim_bridge.store import audit
from scim_bridge.store import coordination
from scim_bridge.store.base import StoreBase
from scim_bridge.store.records import AuditEvent
from scim_bridge.store.records import Suspension
from scim_bridge.store.sqlutil import insert_ignoring
from scim_bridge.store.tables import settings_kv

_ABSENT = object()  # a setting never stored (any JSON value, null included, may be stored)


class Bookkeeping(StoreBase):
    """Suspensions, audit, leases and settings: the Store methods outside the mirrored directory."""

    # --- suspensions ---------------------------------------------------------------------
    def get_suspension(self, user_id: str) -> Suspension | None:
        return self._reading(coordination.get_suspension, user_id)

    def suspensions_for(self, user_ids: Sequence[str]) -> dict[str, Suspension]:
        """The suspension records of those of ``user_ids`` that have one, in one query."""
        return self._reading(coordination.suspensions_for_users, user_ids)

    def all_suspensions(self) -> dict[str, Suspension]:
        """Every suspension record, by user id (suspended users are few)."""
        return self._reading(coordination.all_suspensions)

    def put_suspension(self, suspension: Suspension) -> None:
        """Insert or replace the suspension record of ``suspension.user_id``."""
        with self._write(directory=False) as conn:
            self._mark(users=[suspension.user_id])
            coordination.put_suspension(conn, suspension)

    def update_suspension(
        self, user_id: str, change: Callable[[Suspension], Suspension | None]
    ) -> Suspension | None:
        """Read-modify-write of one suspension record in one transaction, the row locked from the read to the
        write, so concurrent changes of one user's record never lose each other. ``change`` gets the record
        and returns the new one (None deletes it); nothing happens when the user has no record. Returns the
        record written (None when deleted or absent)."""
        with self._write() as conn:
            held = coordination.locked_suspension(conn, user_id)
            if held is None:
                return None
            self._mark(users=[user_id])
            new = change(held)
            if new is None:
                coordination.delete_suspension(conn, user_id)
            elif new != held:
                coordination.put_suspension(conn, new)
            return new

    def delete_suspension(self, user_id: str) -> bool:
        with self._write(directory=False) as conn:
            self._mark(users=[user_id])
            return coordination.delete_suspension(conn, user_id)

    # --- audit ---------------------------------------------------------------------------
    def add_audit(self, event: AuditEvent) -> AuditEvent:
        """Append an event; returns it with its id."""
        return self._writing_aside(audit.add_audit, event)

    def get_audit(self, event_id: int) -> AuditEvent | None:
        return self._reading(audit.get_audit, event_id)

    def list_audit(
        self,
        limit: int = 100,
        since: datetime | None = None,
        resource_id: str | None = None,
        actor: str | None = None,
        outcome: str | None = None,
    ) -> list[AuditEvent]:
        """Newest first; ``since`` is inclusive."""
        flt = audit.AuditFilter(since=since, equal={"resource_id": resource_id or "", "actor": actor or "",
                                                    "outcome": outcome or ""})
        return self._reading(audit.list_audit, flt, limit)

    def prune_audit(self, before: datetime) -> int:
        """Delete events older than ``before``; returns how many."""
        return self._writing_aside(audit.prune_audit, before)

    # --- leases --------------------------------------------------------------------------
    def try_acquire_lease(self, name: str, owner: str, ttl_seconds: float) -> bool:
        """True if ``owner`` now holds the lease (free, expired, or renewed) until now+ttl."""
        with self._write(directory=False) as conn:  # the clock read once the write lock is held
            return coordination.try_acquire_lease(conn, name, owner, ttl_seconds, self._clock())

    def try_acquire_leases(self, names: Sequence[str], owner: str, ttl_seconds: float) -> bool:
        """All of the leases of ``names`` for ``owner`` (taken or renewed until now+ttl), or none of them:
        one transaction, rolled back when another owner holds one."""
        try:
            with self._write(directory=False) as conn:
                if not coordination.try_acquire_leases(conn, names, owner, ttl_seconds, self._clock()):
                    raise LeaseBusy
        except LeaseBusy:
            return False
        return True

    def release_leases(self, names: Sequence[str], owner: str) -> int:
        """Give up those leases of ``names`` that ``owner`` holds; returns how many."""
        return self._writing_aside(coordination.release_leases, names, owner)

    def release_lease(self, name: str, owner: str) -> bool:
        """Give the lease up if ``owner`` holds it."""
        return self._writing_aside(coordination.release_lease, name, owner)

    def lease_owner(self, name: str) -> str | None:
        """The current, unexpired holder of the lease, if any."""
        with self._read() as conn:
            return coordination.lease_owner(conn, name, self._clock())

    # --- settings ------------------------------------------------------------------------
    def get_setting(self, key: str, default: Any = None) -> Any:
        return self._reading(coordination.get_setting, key, default)

    def setting_default(self, key: str, value: Any) -> Any:
        """The stored value of ``key``; stores ``value`` first when there is none. Replicas racing to
        store different values all read back the one that won. Once stored, a read: no write transaction
        (nor, on SQLite, the database write lock) at every process start."""
        stored = self.get_setting(key, _ABSENT)
        if stored is not _ABSENT:
            return stored
        with self._write(directory=False) as conn:
            conn.execute(insert_ignoring(conn, settings_kv, {"key": key, "value": value}, "key"))
            return coordination.get_setting(conn, key, value)

    def put_setting(self, key: str, value: Any) -> None:
        """Store any JSON-serializable value."""
        self._writing_aside(coordination.put_setting, key, value)


class LeaseBusy(Exception):
    """Rolls back a batch of leases of which another owner holds one."""
