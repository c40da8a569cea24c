"""Reconciliation: refresh the store's mirror of the upstream directory."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import replace
from datetime import timedelta
from typing import Any

from scim_bridge.config import Settings
from scim_bridge.directory import errors as d
from scim_bridge.directory.base import Directory
from scim_bridge.directory.models import DirectoryRole
from scim_bridge.directory.models import DirectoryTeam
from scim_bridge.directory.models import DirectoryUser
from scim_bridge.scim import errors
from scim_bridge.service.context import iso
from scim_bridge.service.context import now
from scim_bridge.service.documents import MirrorIndexer
from scim_bridge.service.errors import explain_failure
from scim_bridge.service.errors import to_scim_error
from scim_bridge.service.naming import role_group_id
from scim_bridge.service.naming import role_group_name
from scim_bridge.store.records import GroupRecord
from scim_bridge.store.records import Membership
from scim_bridge.store.records import SyncGroup
from scim_bridge.store.records import SyncUser
from scim_bridge.store.store import Store

log = logging.getLogger(__name__)
LEASE = "sync"
LAST_SYNC = "last_sync"
# Recorded with each successful sync: the shape of the search index it built. A mirror synced by a version
# whose index differs (or had none) is synced again before it answers. 2: Users carry the extension's
# ``suspended`` flag, and a suspended user's ``roleId`` is that of the role it gets back.
INDEX_FORMAT = 2


@dataclass(frozen=True)
class SyncResult:
    users: int
    teams: int
    roles: int
    seconds: float


class SyncService:
    """Full syncs on demand, at start and every ``interval`` seconds; one replica at a time."""

    def __init__(
        self, directory: Directory, store: Store, *, interval: float = 600.0,
        progress: Callable[[str, int, int | None], None] | None = None, upstream: str = "opsgenie",
        audit_retention_days: float = 0.0,
    ) -> None:
        self.directory = directory
        self.store = store
        # Told (stage, done, total or None) as a full sync reads users and teams: the CLI's progress display.
        self.progress = progress
        self.upstream = upstream  # SCIM_BRIDGE_UPSTREAM: which settings a failure message names
        self.audit_retention_days = audit_retention_days  # 0: the audit log is kept whole
        if not store.indexing:  # every writer of the mirror keeps the search index in step
            store.set_indexer(MirrorIndexer())
        self.interval = interval
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._initial_done = False
        # Called with each finished run's record (as ``last`` returns it, plus "seconds"); e.g. the console's
        # sync history. An observer must not raise.
        self.observers: list[Callable[[dict[str, Any]], None]] = []

    @classmethod
    def for_settings(
        cls, directory: Directory, store: Store, settings: Settings, *,
        progress: Callable[[str, int, int | None], None] | None = None,
    ) -> SyncService:
        """The sync the configuration asks for: its interval, upstream and the audit log's retention."""
        return cls(directory, store, interval=settings.sync_interval, progress=progress,
                   upstream=settings.upstream, audit_retention_days=settings.audit_retention_days)

    # --- running --------------------------------------------------------------------------
    def run(self) -> SyncResult | None:
        """One full sync now. Returns None when another replica holds the sync lease."""
        if not self._lock.acquire(blocking=False):
            return None  # this process is already syncing
        try:
            if not self.store.try_acquire_lease(LEASE, self.owner, ttl_seconds=max(60.0, self.interval)):
                return None
            try:
                return self._run_locked()
            finally:
                self.prune_audit()
                self.store.release_lease(LEASE, self.owner)
        finally:
            self._lock.release()

    def prune_audit(self) -> int:
        """Delete audit events older than the retention (by the replica holding the sync lease)."""
        if self.audit_retention_days <= 0:
            return 0
        try:
            pruned = self.store.prune_audit(now() - timedelta(days=self.audit_retention_days))
        except Exception:  # pruning waits for the next sync; the sync itself is not affected
            log.exception("could not prune the audit log")
            return 0
        if pruned:
            log.info("audit: %d events older than %g days deleted", pruned, self.audit_retention_days)
        return pruned

    def _run_locked(self) -> SyncResult:
        started = time.monotonic()
        try:
            users = []
            for user in self.directory.iter_users():
                users.append(user)
                self._report("users", len(users), None)
            listed = self.directory.list_teams()
            teams = []
            for team in listed:
                teams.append(self.directory.get_team(team.id))
                self._report("teams", len(teams), len(listed))
            roles = self.directory.list_roles()
        except d.DirectoryError as exc:
            failed = {"at": iso(now()), "ok": False, "error": exc.message, "request_id": exc.request_id}
            self.store.put_setting(LAST_SYNC, failed)
            self._tell({**failed, "seconds": round(time.monotonic() - started, 3)})
            raise
        self._apply(users, teams, roles)
        result = SyncResult(
            users=len(users), teams=len(teams), roles=len(roles), seconds=time.monotonic() - started
        )
        done = {"at": iso(now()), "ok": True, "users": result.users, "teams": result.teams,
                "roles": result.roles, "seconds": round(result.seconds, 3), "index": INDEX_FORMAT}
        self.store.put_setting(LAST_SYNC, done)
        self._tell(done)
        self._initial_done = True
        log.info("sync: %d users, %d teams, %d roles in %.2fs", result.users, result.teams, result.roles,
                 result.seconds)
        return result

    def _report(self, stage: str, done: int, total: int | None) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    def _tell(self, record: dict[str, Any]) -> None:
        for observer in self.observers:
            observer(record)

    def _apply(self, users: list[DirectoryUser], teams: list[DirectoryTeam], roles: list[DirectoryRole]) -> None:
        # A user list carries no contacts: keep the ones the mirror learnt from single reads.
        contacts = {r.id: r.upstream.get("contacts") for r in self.store.list_users()}
        user_rows: list[SyncUser] = []
        for user in users:
            snapshot = user.to_json()
            if snapshot.get("contacts") is None:
                snapshot["contacts"] = contacts.get(user.id)
            user_rows.append(SyncUser(user.id, user.username, snapshot))
        known_users = {u.id for u in users}
        group_rows: list[SyncGroup] = []
        for team in teams:
            members = [
                Membership(group_id=team.id, user_id=m.user_id, role=m.role)
                for m in team.members or ()
                if m.user_id in known_users
            ]
            upstream: dict[str, Any] = {"id": team.id, "name": team.name, "description": team.description}
            group_rows.append(SyncGroup(team.id, "team", team.name, upstream, members))
        # OpsGenie may not list the built-in roles' ids; every user carries its role's id, and the mirror keeps
        # what it learnt before for a role nobody holds now.
        held = {u.role.lower(): u.role_id for u in users if u.role and u.role_id}
        known = {g.id: g.upstream.get("id") for g in self.store.list_groups("role")}
        for role in roles:
            gid = role_group_id(role.name)
            upstream = role_upstream(role)
            upstream["id"] = role.id or held.get(role.name.lower()) or known.get(gid) or ""
            group_rows.append(SyncGroup(gid, "role", role_group_name(role.name), upstream))
        self.store.apply_sync(user_rows, group_rows)

    def refresh_roles(self) -> None:
        """Re-read the roles alone (one call), e.g. when a client names a role the mirror lacks."""
        roles = self.directory.list_roles()
        for role in roles:
            upstream = role_upstream(role)
            gid = role_group_id(role.name)
            record = self.store.get_group(gid)
            if record is not None and not upstream["id"]:
                upstream["id"] = record.upstream.get("id") or ""  # learnt from its holders
            if record is None:
                self.store.upsert_group(GroupRecord(id=gid, kind="role", display_name=role_group_name(role.name),
                                                    upstream=upstream))
            elif record.upstream != upstream:
                self.store.upsert_group(replace(record, upstream=upstream))

    def last(self) -> dict[str, Any] | None:
        value = self.store.get_setting(LAST_SYNC)
        return value if isinstance(value, dict) else None

    def ensure_initial(self, wait: float = 60.0) -> None:
        """Make sure the mirror has been filled once (by this or another replica).

        While another worker or replica holds the sync lease, wait for its result (up to ``wait``
        seconds) rather than answering from an empty mirror.
        """
        if self._initial_done:
            return
        deadline = time.monotonic() + wait
        while True:
            last = self.last()
            if last is not None and last.get("at") and self._index_ready(last):
                self._initial_done = bool(last.get("ok")) or self._initial_done
                if last.get("ok"):
                    return
            try:
                if self.run() is not None:
                    return
            except d.DirectoryError as exc:
                raise to_scim_error(exc) from exc
            if time.monotonic() >= deadline:
                raise errors.ServiceUnavailable(
                    "The bridge is still loading the OpsGenie directory; retry shortly", retry_after=5
                )
            time.sleep(0.2)

    def _index_ready(self, last: dict[str, Any]) -> bool:
        return not self.store.indexing or not last.get("ok") or last.get("index") == INDEX_FORMAT

    # --- background loop ------------------------------------------------------------------------
    def start_background(self) -> None:
        if self._thread is not None or self.interval <= 0:
            return
        self._thread = threading.Thread(target=self._loop, name="scim-bridge-sync", daemon=True)
        self._thread.start()

    def stop_background(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run()
            except d.DirectoryError as exc:  # expected (configuration, outage): one line with the fix
                log.error("sync failed: %s", explain_failure(exc, self.upstream))
            except Exception:  # the loop must survive any failure; the outcome is recorded
                log.exception("sync failed")
            self._stop.wait(self.interval)


def role_upstream(role: DirectoryRole) -> dict[str, Any]:
    return {"id": role.id, "name": role.name, "builtin": role.builtin, "extended_role": role.extended_role}
