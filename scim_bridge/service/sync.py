"""Reconciliation: refresh the store's mirror of the upstream directory."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import datetime
from datetime import timedelta
from typing import Any

from scim_bridge.config import Settings
from scim_bridge.directory import errors as d
from scim_bridge.directory.base import Directory
from scim_bridge.directory.base import PagedUsers
from scim_bridge.directory.base import UserPage
from scim_bridge.directory.models import DirectoryRole
from scim_bridge.directory.models import DirectoryUser
from scim_bridge.scim import errors
from scim_bridge.service.context import iso
from scim_bridge.service.context import now
from scim_bridge.service.documents import MirrorIndexer
from scim_bridge.service.errors import explain_failure
from scim_bridge.service.errors import to_scim_error
from scim_bridge.service.naming import role_group_id
from scim_bridge.service.naming import role_group_name
from scim_bridge.service.roster_loader import RosterLoader
from scim_bridge.service.roster_loader import roster_row
from scim_bridge.service.sync_loop import CYCLE
from scim_bridge.service.sync_loop import SyncCycle
from scim_bridge.service.sync_loop import TickResult
from scim_bridge.service.sync_loop import saved_position
from scim_bridge.store.records import GroupKind
from scim_bridge.store.records import GroupRecord
from scim_bridge.store.records import SyncGroup
from scim_bridge.store.records import SyncUser
from scim_bridge.store.sqlutil import chunks
from scim_bridge.store.store import Store

log = logging.getLogger(__name__)
LEASE = "sync"
LEASE_TTL = 600.0  # seconds the sync lease lasts unless renewed (a run renews it after every page it writes)
LAST_SYNC = "last_sync"
# Recorded with each successful sync: the shape of the search index it built. A mirror synced by a version
# whose index differs (or had none) is synced again before it answers.
# 2: Users carry the extension's ``suspended`` flag, and a suspended user's ``roleId`` is that of the role it
# gets back. 3: with the keyset order rows (scim_order).
INDEX_FORMAT = 3


PROGRESS = "sync_progress"  # the position of the current (or interrupted) run
PAGE_SIZE = 100
PAGE_OVERLAP = 100  # users read again when a run resumes
TEAM_BATCH = 50  # teams written per transaction
RESUME_WITHIN = timedelta(hours=6)  # an older interrupted run starts over


@dataclass(frozen=True)
class SyncProgress:
    """Where a sync stands: ``phase`` ("users", "teams", "done"), items written so far of ``total``."""

    phase: str
    done: int
    total: int


ProgressHook = Callable[[SyncProgress], None]


@dataclass
class _Run:
    """A sync run's position, kept in the store after every page."""

    started: datetime
    phase: str = "users"
    offset: int = 0
    users: int = 0
    teams_done: list[str] = field(default_factory=list)
    held: dict[str, str] = field(default_factory=dict)  # role name (lower case) -> role id, from the users
    resumed_from: int | None = None

    @classmethod
    def resume(cls, saved: Any, moment: datetime) -> _Run:
        position = saved_position(saved)
        if position is None or moment - position["started"] >= RESUME_WITHIN or position.get("phase") not in (
                "users", "teams"):
            return cls(moment)
        offset = int(position.get("offset") or 0)
        return cls(position["started"], position["phase"], offset, int(position.get("users") or 0),
                   [str(t) for t in position.get("teams_done") or []], dict(position.get("held") or {}),
                   resumed_from=offset)

    def to_json(self) -> dict[str, Any]:
        return {"started": self.started.isoformat(), "phase": self.phase, "offset": self.offset,
                "users": self.users, "teams_done": self.teams_done, "held": self.held}


@dataclass(frozen=True)
class SyncResult:
    users: int
    teams: int
    roles: int
    seconds: float


class SyncService:
    """The mirror's refresh: a full sync on demand (:meth:`run`), the initial import (a full sync that reads few
    rosters, :meth:`ensure_initial`), and in the background a tick every ``interval`` seconds, each reading a
    slice of the directory so that one full refresh takes ``cycle`` seconds (:meth:`tick`, service/sync_loop.py).
    One replica at a time."""

    def __init__(
        self, directory: Directory, store: Store, *, interval: float = 60.0, cycle: float = 7200.0,
        import_rosters: int | None = None, read_through: bool = False, warmup: int = 0,
        progress: ProgressHook | None = None, upstream: str = "opsgenie", audit_retention_days: float = 0.0,
    ) -> None:
        self.directory = directory
        self.store = store
        # Told each step of a run that is given no hook of its own: the CLI's progress display.
        self.progress = progress
        self.upstream = upstream  # SCIM_BRIDGE_UPSTREAM: which settings a failure message names
        self.audit_retention_days = audit_retention_days  # 0: the audit log is kept whole
        if not store.indexing:  # every writer of the mirror keeps the search index in step
            store.set_indexer(MirrorIndexer())
        self.interval = interval
        self.cycle = cycle  # seconds a full refresh by the loop's ticks takes
        # Rosters the initial import reads (the outstanding ones first); None: all of them.
        self.import_rosters = import_rosters
        # Outstanding rosters each tick loads on top of its budget until none is left (the warm-up, see
        # service/sync_loop.py), while ``room`` (when set: whether the upstream rate budget has room now) allows.
        self.warmup = warmup
        self.room: Callable[[], bool] | None = None
        self.rosters = RosterLoader(directory, store, read_through=read_through, ensure_initial=self.ensure_initial)
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
        cls, directory: Directory, store: Store, settings: Settings, *, progress: ProgressHook | None = None,
    ) -> SyncService:
        """The sync the configuration asks for: its interval, upstream and the audit log's retention."""
        return cls(directory, store, interval=settings.sync_interval, cycle=settings.sync_cycle,
                   import_rosters=settings.sync_import_rosters, warmup=settings.sync_warmup_rosters,
                   read_through=settings.read_through,
                   progress=progress, upstream=settings.upstream, audit_retention_days=settings.audit_retention_days)

    # --- running --------------------------------------------------------------------------
    def run(self, progress: ProgressHook | None = None, *, rosters: int | None = None) -> SyncResult | None:
        """One full sync now. Returns None when another replica holds the sync lease.

        ``progress`` is called after every page written (see :class:`SyncProgress`). A run interrupted by an
        upstream failure (or a stopped process) is resumed by the next one, from where it stopped. ``rosters``:
        read at most that many team rosters (those the mirror lacks first); the others are loaded on demand
        or by the loop. None: every roster."""
        if not self._lock.acquire(blocking=False):
            return None  # this process is already syncing
        try:
            if not self.store.try_acquire_lease(LEASE, self.owner, ttl_seconds=LEASE_TTL):
                return None
            try:
                return self._run_locked(progress, rosters)
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

    def _run_locked(self, progress: ProgressHook | None, roster_limit: int | None) -> SyncResult:
        started = time.monotonic()
        run = _Run.resume(self.store.get_setting(PROGRESS), self.store.now())
        report = progress or self.progress or (lambda _step: None)
        self.store.index_pending()  # users an interrupted run left out of the index
        try:
            users = self._sync_users(run, report)
            teams = self._sync_teams(run, report, roster_limit)
            roles = self.directory.list_roles()
        except d.DirectoryError as exc:
            self.store.index_pending()
            failed = {"at": iso(now()), "ok": False, "error": exc.message, "request_id": exc.request_id,
                      "resumable": True, "last_ok_at": synced_at(self.last())}
            self.store.put_setting(LAST_SYNC, failed)
            self._tell({**failed, "seconds": round(time.monotonic() - started, 3)})
            raise
        self.apply_roles(roles, run.held)
        self.store.sweep_sync(run.started)
        self.store.put_setting(PROGRESS, None)
        self.store.put_setting(CYCLE, None)  # the loop's next cycle starts from this refresh
        result = SyncResult(users=users, teams=teams, roles=len(roles), seconds=time.monotonic() - started)
        done = {"at": iso(now()), "ok": True, "users": result.users, "teams": result.teams,
                "roles": result.roles, "seconds": round(result.seconds, 3), "index": INDEX_FORMAT,
                **({"resumed_at_user": run.resumed_from} if run.resumed_from is not None else {})}
        self.store.put_setting(LAST_SYNC, done)
        self._tell(done)
        self._initial_done = True
        log.info("sync: %d users, %d teams, %d roles in %.2fs", result.users, result.teams, result.roles,
                 result.seconds)
        report(SyncProgress("done", result.users + result.teams, result.users + result.teams))
        return result

    def _save(self, run: _Run) -> None:
        """Keep the run's position, and the sync lease for another LEASE_TTL: a long run keeps it to the end."""
        self.store.put_setting(PROGRESS, run.to_json())
        self.store.try_acquire_lease(LEASE, self.owner, ttl_seconds=LEASE_TTL)

    def _tell(self, record: dict[str, Any]) -> None:
        for observer in self.observers:
            observer(record)

    def _sync_users(self, run: _Run, report: ProgressHook) -> int:
        """Read the users page by page (one call each) and write each page; the position is kept, so an
        interrupted run goes on from there (one page back, in case a deletion upstream moved users up)."""
        if run.phase != "users":
            return run.users
        offset = max(0, run.offset - PAGE_OVERLAP) if run.offset else 0
        for page in self.user_pages(offset):
            # Users new to the mirror are indexed once the rosters have given them their groups (by the teams
            # phase, or at its end for those in no roster read), not twice.
            self.write_users(page.users, run.held, self.store.now(), index_new_users=False)
            run.users = max(run.users, page.offset + len(page.users))
            run.offset = page.next_offset or 0
            if page.next_offset is None:
                run.phase = "teams"
            self._save(run)
            report(SyncProgress("users", run.users, max(page.total, run.users)))
        run.phase = "teams"
        return run.users

    def write_users(self, found: list[DirectoryUser], held: dict[str, str], fetched: datetime, *,
                    index_new_users: bool = True) -> None:
        """Write users read from the upstream at ``fetched`` (a page, or single reads) into the mirror, and note
        in ``held`` the role ids they carry. ``index_new_users``: see :meth:`Store.apply_sync_page`."""
        known = self.store.get_users([u.id for u in found])
        rows: list[SyncUser] = []
        for user in found:
            snapshot = user.to_json()
            if snapshot.get("contacts") is None and user.id in known:
                # A user list carries no contacts: keep the ones the mirror learnt from single reads.
                snapshot["contacts"] = known[user.id].upstream.get("contacts")
            rows.append(SyncUser(user.id, user.username, snapshot))
            if user.role and user.role_id:
                held[user.role.lower()] = user.role_id
        self.store.apply_sync_page(rows, None, started_at=fetched, index_new_users=index_new_users)

    def user_pages(self, offset: int) -> Iterator[UserPage]:
        """Pages of upstream users from ``offset`` (one call each where the directory pages)."""
        if isinstance(self.directory, PagedUsers):
            yield from self.directory.user_pages(offset)
            return
        batch: list[DirectoryUser] = []
        position = 0
        for user in self.directory.iter_users():  # no offsets: read from the start, write from the position
            position += 1
            if position > offset:
                batch.append(user)
            if len(batch) == PAGE_SIZE:
                yield UserPage(batch, position - len(batch), position, position)
                batch = []
        yield UserPage(batch, position - len(batch), None, position)

    def write_team_list(self) -> list[str]:
        """Read the team list (one call) and write the teams without their rosters (a team new to the mirror
        has none yet); returns their ids, sorted."""
        fetched = self.store.now()
        listed = self.directory.list_teams()
        rows = [SyncGroup(t.id, GroupKind.TEAM, t.name,
                          {"id": t.id, "name": t.name, "description": t.description}, None) for t in listed]
        for part in chunks(rows, TEAM_BATCH * 10):
            self.store.apply_sync_page(None, part, started_at=fetched)
        return sorted(t.id for t in listed)

    def _sync_teams(self, run: _Run, report: ProgressHook, limit: int | None = None) -> int:
        """The team list (one call), then each team's roster (one call each), written a batch at a time.
        With ``limit``, the list is written first and at most that many rosters are read, outstanding first."""
        done = set(run.teams_done)
        if limit is None:
            listed = sorted(t.id for t in self.directory.list_teams())
            pending = [team_id for team_id in listed if team_id not in done]
        else:
            listed = self.write_team_list()
            pending = [t for t in self.rosters.ledger.outstanding(listed) if t not in done][:limit]
        for part in chunks(pending, TEAM_BATCH):
            fetched = self.store.now()
            rows: list[SyncGroup] = []
            for team_id in part:
                try:
                    rows.append(roster_row(self.directory.get_team(team_id)))
                except d.NotFoundError:
                    continue  # deleted since the list was read: the sweep removes it
            self.store.apply_sync_page(None, rows, started_at=fetched)
            run.teams_done += list(part)
            self._save(run)
            report(SyncProgress("teams", len(run.teams_done), len(listed) + len(done - set(listed))))
        return len(listed)

    def apply_roles(self, roles: list[DirectoryRole], held: dict[str, str]) -> None:
        # OpsGenie may not list the built-in roles' ids; every user carries its role's id, and the mirror keeps
        # what it learnt before for a role nobody holds now.
        known = {g.id: g.upstream.get("id") for g in self.store.list_groups(GroupKind.ROLE)}
        rows: list[SyncGroup] = []
        for role in roles:
            gid = role_group_id(role.name)
            upstream = role_upstream(role)
            upstream["id"] = role.id or held.get(role.name.lower()) or known.get(gid) or ""
            rows.append(SyncGroup(gid, GroupKind.ROLE, role_group_name(role.name), upstream))
        self.store.apply_sync_page(None, rows)

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
                self.store.upsert_group(GroupRecord(id=gid, kind=GroupKind.ROLE,
                                                    display_name=role_group_name(role.name), upstream=upstream))
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
                # A failed tick of the loop leaves the mirror as filled as before it.
                filled = bool(last.get("ok") or (last.get("tick") and synced_at(last)))
                self._initial_done = filled or self._initial_done
                if filled:
                    return
            try:
                if self.run(rosters=self.import_rosters) is not None:
                    return
            except d.DirectoryError as exc:
                raise to_scim_error(exc) from exc
            if time.monotonic() >= deadline:
                raise errors.ServiceUnavailable(
                    "The bridge is still loading the OpsGenie directory; retry shortly", retry_after=5
                )
            time.sleep(0.2)

    def _index_ready(self, last: dict[str, Any]) -> bool:
        return (not self.store.indexing or not (last.get("ok") or last.get("tick"))
                or last.get("index") == INDEX_FORMAT)

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

    def tick(self) -> TickResult | None:
        """One tick of the incremental loop: read the next slice of the current refresh cycle (see
        service/sync_loop.py). None when another worker or replica holds the sync lease, or ticked less than
        an interval ago."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            if not self.store.try_acquire_lease(LEASE, self.owner, ttl_seconds=LEASE_TTL):
                return None
            try:
                result = SyncCycle(self).tick()
            except d.DirectoryError as exc:
                self._tick_failed(exc)
                raise
            finally:
                self.store.release_lease(LEASE, self.owner)
        finally:
            self._lock.release()
        last = self.last()
        if result is not None and result.finished is None and last and last.get("tick") and not last.get("ok"):
            # The loop works again after a failed tick: the record is again that of the last refresh.
            self.store.put_setting(LAST_SYNC, last.get("last_ok"))
        if result is not None and result.finished is not None:
            self._tell(result.finished)
            self.prune_audit()
        return result

    def _tick_failed(self, exc: d.DirectoryError) -> None:
        """Record a tick that failed: not a sync (``ok`` false, so /readyz and the metrics say so), with the time
        of the last one that succeeded (the mirror's age); the cycle goes on from its position at the next tick."""
        last = self.last() or {}
        good = last if last.get("ok") else last.get("last_ok")
        failed = {"at": iso(now()), "ok": False, "error": exc.message, "request_id": exc.request_id, "tick": True,
                  "last_ok_at": synced_at(last), "index": last.get("index"), "last_ok": good}
        self.store.put_setting(LAST_SYNC, failed)
        self._tell(failed)

    def mirror_current(self) -> bool:
        """Whether the mirror was filled (with this index format) by a refresh that ended less than two cycles
        ago: the loop's ticks keep it so. Otherwise (a new or long-stopped bridge) a sync runs first."""
        last = self.last()
        ended_at = synced_at(last) if last is not None and (last.get("ok") or last.get("tick")) else None
        if last is None or ended_at is None or not self._index_ready(last):
            return False
        try:
            ended = datetime.fromisoformat(ended_at)
        except ValueError:
            return False
        return bool(now() - ended < timedelta(seconds=2 * self.cycle))

    def record_cycle(self, counts: dict[str, int], seconds: float) -> dict[str, Any]:
        """Note a refresh cycle of the loop that ended now, as a sync does; returns the record."""
        done = {"at": iso(now()), "ok": True, **counts, "seconds": round(seconds, 3), "index": INDEX_FORMAT,
                "cycle": True}
        self.store.put_setting(LAST_SYNC, done)
        return done

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.mirror_current():
                    self.tick()
                else:
                    self.run(rosters=self.import_rosters)
            except d.DirectoryError as exc:  # expected (configuration, outage): one line with the fix
                log.error("sync failed: %s", explain_failure(exc, self.upstream))
            except Exception:  # the loop must survive any failure; the outcome is recorded
                log.exception("sync failed")
            self._stop.wait(self.interval)


def synced_at(last: dict[str, Any] | None) -> str | None:
    """When the mirror was last refreshed by a sync or a cycle that succeeded, from a LAST_SYNC record (a
    failed one carries it as ``last_ok_at``); None: never."""
    if not last:
        return None
    found = last.get("at") if last.get("ok") else last.get("last_ok_at")
    return str(found) if found else None


def role_upstream(role: DirectoryRole) -> dict[str, Any]:
    return {"id": role.id, "name": role.name, "builtin": role.builtin, "extended_role": role.extended_role}
