"""The mirror gateway: how the services read and confirm the mirror's copies of upstream users and teams.

Every copy carries the time the bridge last confirmed it upstream (``synced_at``: a sync page, an upstream
read, or the bridge's own write). With ``SCIM_BRIDGE_READ_THROUGH=false`` (the default) a single-resource read
is answered by the copy while it is younger than ``SCIM_BRIDGE_FRESHNESS_WINDOW`` seconds, and read upstream
again (one call, shared by the concurrent readers of the same resource in this process) once it is older.
With ``true`` every such read goes upstream. Either way an upstream 404 means the resource was deleted in
OpsGenie: the copy is forgotten and the client gets 404 (README "Freshness").
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import datetime
from typing import Generic
from typing import TypeVar

from scim_bridge.config import Settings
from scim_bridge.directory.base import Directory
from scim_bridge.directory.models import DirectoryTeam
from scim_bridge.directory.models import DirectoryUser
from scim_bridge.scim import errors
from scim_bridge.service.errors import upstream_errors
from scim_bridge.service.roles import learn_role_id
from scim_bridge.store.records import GroupKind
from scim_bridge.store.records import GroupRecord
from scim_bridge.store.records import UserRecord
from scim_bridge.store.sqlutil import normalize_json
from scim_bridge.store.store import Store

T = TypeVar("T")
OWNER = "owner"


# --- snapshots ---------------------------------------------------------------------------------
def remember_user(store: Store, upstream: DirectoryUser, confirmed: datetime | None = None) -> UserRecord:
    """Write an upstream snapshot of a user into the mirror, keeping what the bridge holds itself.
    ``confirmed``: when the snapshot was read upstream (stored as the copy's confirmation time)."""
    record = store.get_user(upstream.id)
    if record is None:
        stale = store.get_user_by_username(upstream.username)
        if stale is not None and stale.id != upstream.id:
            store.delete_user(stale.id)
        stamp = store.now()
        record = UserRecord(id=upstream.id, user_name=upstream.username, external_id=None,
                            upstream=upstream.to_json(), scim={}, created=stamp, last_modified=stamp, version=1,
                            synced_at=confirmed)
        learn_role_id(store, upstream)
        return store.upsert_user(record)
    user_name = record.user_name
    if user_name.lower() != upstream.username.lower():
        user_name = upstream.username
    snapshot = upstream.to_json()
    if snapshot.get("contacts") is None:
        snapshot["contacts"] = record.upstream.get("contacts")
    if user_name == record.user_name and normalize_json(snapshot) == record.upstream:
        if confirmed is None:
            return record  # nothing changed: no write (and no re-indexing) for a read
        return store.upsert_user(replace(record, synced_at=confirmed))
    if snapshot.get("role_id") != record.upstream.get("role_id"):
        learn_role_id(store, upstream)
    # Contacts a list did not carry, read now for the first time, are not a change of the user.
    completed = (record.upstream.get("contacts") is None and user_name == record.user_name
                 and normalize_json({**snapshot, "contacts": None}) == record.upstream)
    return store.upsert_user(replace(record, user_name=user_name, upstream=snapshot, synced_at=confirmed),
                             touch=not completed)


# --- single flight -----------------------------------------------------------------------------------
@dataclass
class _Flight(Generic[T]):
    done: threading.Event = field(default_factory=threading.Event)
    value: T | None = None
    error: BaseException | None = None
    followers: int = 0


class SingleFlight:
    """Concurrent callers of ``do(key, load)`` with the same key share one ``load()``: the first runs it, the
    others wait for its result (or its exception)."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self._flights: dict[str, _Flight[object]] = {}

    def followers(self, key: str) -> int:
        """How many callers wait for the flight of ``key`` now (0 when none is under way)."""
        with self.changed:
            flight = self._flights.get(key)
            return 0 if flight is None else flight.followers

    def do(self, key: str, load: Callable[[], T]) -> T:
        with self.changed:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
            else:
                flight.followers += 1
                self.changed.notify_all()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.value  # type: ignore[return-value]
        try:
            flight.value = load()
            return flight.value
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self.changed:
                del self._flights[key]
                self.changed.notify_all()
            flight.done.set()


# --- the gateway ----------------------------------------------------------------------------------
class MirrorGateway:
    """Reads of single users and teams under the configured freshness policy, and forget-on-404."""

    def __init__(self, directory: Directory, store: Store, settings: Settings) -> None:
        self.directory = directory
        self.store = store
        self.settings = settings
        self.flights = SingleFlight()

    @property
    def read_through(self) -> bool:
        return self.settings.read_through

    def now(self) -> datetime:
        """The store's clock (injectable): what confirmation times are written and compared with."""
        return self.store.now()

    def stamp(self) -> datetime | None:
        """The confirmation time of a copy just read upstream; None (no write for it) when reading through,
        which never looks at it."""
        return None if self.read_through else self.now()

    def fresh(self, confirmed: datetime | None) -> bool:
        """Whether a copy confirmed upstream at ``confirmed`` may be served without reading it again."""
        if self.read_through or confirmed is None:
            return False
        return (self.now() - confirmed).total_seconds() < self.settings.freshness_window

    # users
    def read_user(self, user_id: str) -> DirectoryUser:
        """The user as the upstream has it now, with contacts (one call, shared with concurrent readers); a
        user gone there is forgotten and reported as not found, as is an identifier that matched a username."""
        return self.flights.do(f"user:{user_id}", lambda: self._read_user(user_id))

    def _read_user(self, user_id: str) -> DirectoryUser:
        try:
            with upstream_errors():
                upstream = self.directory.get_user(user_id, with_contacts=True)
        except errors.NotFound:
            raise self.user_gone(user_id) from None
        if upstream.id != user_id:
            raise errors.NotFound(f"User {user_id} not found")
        return upstream

    def refresh_user(self, user_id: str) -> UserRecord:
        """Read the user upstream and store it as confirmed now (one call, shared)."""
        return self.flights.do(f"user-refresh:{user_id}",
                               lambda: remember_user(self.store, self._read_user(user_id), self.stamp()))

    def user_for_read(self, user_id: str) -> UserRecord | None:
        """The user a single read shows: the mirror's copy while fresh, else read upstream; None when gone."""
        if not self.read_through:
            record = self.store.get_user(user_id)
            # A copy from a list (the sync's) lacks the contacts: its phoneNumbers are read once.
            if record is None or (self.fresh(record.synced_at) and record.upstream.get("contacts") is not None):
                return record
        try:
            return self.refresh_user(user_id)
        except errors.NotFound:
            return None

    def complete_contacts(self, value: str, *, by_name: bool) -> None:
        """Before a look-up by userName or id answers from the mirror: a user whose contacts the bridge never
        read (the sync's list carries none) is read once, so its phoneNumbers show."""
        record = self.store.get_user_by_username(value) if by_name else self.store.get_user(value)
        if record is not None and record.upstream.get("contacts") is None:
            with contextlib.suppress(errors.NotFound):  # deleted in OpsGenie: forgotten, the look-up finds nothing
                self.refresh_user(record.id)

    def remember(self, upstream: DirectoryUser) -> UserRecord:
        """Store a user just read upstream as confirmed now."""
        return remember_user(self.store, upstream, self.stamp())

    def owner_among(self, user_ids: Sequence[str]) -> str | None:
        """After OpsGenie refused a role change, deactivation or delete: the first of ``user_ids`` that is an
        Owner upstream now (read one call each; the mirror learns the role), else None."""
        for user_id in user_ids:
            try:
                upstream = self.read_user(user_id)
            except errors.ScimError:
                continue
            if upstream.role.lower() == OWNER:
                self.remember(upstream)
                return user_id
        return None

    def user_gone(self, user_id: str) -> errors.NotFound:
        """The upstream answered 404 for the user: forget the copy; the error to raise."""
        if self.store.get_user(user_id) is not None:
            self.store.delete_user(user_id)
        return errors.NotFound(f"User {user_id} not found")

    # teams
    def team_stale(self, group_id: str) -> bool:
        """Whether a single read of the team must read it upstream first (read-through, or an old copy)."""
        if self.read_through:
            return True
        record = self.store.get_group(group_id)
        return record is not None and record.kind == GroupKind.TEAM and not self.fresh(record.synced_at)

    def refresh_team(self, group_id: str,
                     remember: Callable[[DirectoryTeam], GroupRecord]) -> tuple[DirectoryTeam, GroupRecord]:
        """Read the team upstream (one call, shared with concurrent readers), store it with ``remember`` and
        mark it confirmed now; a team gone there is forgotten and reported as not found."""

        def load() -> tuple[DirectoryTeam, GroupRecord]:
            try:
                with upstream_errors():
                    team = self.directory.get_team(group_id)
            except errors.NotFound:
                raise self.team_gone(group_id) from None
            record = remember(team)
            stamp = self.stamp()
            return team, record if stamp is None else self.store.upsert_group(replace(record, synced_at=stamp))

        return self.flights.do(f"team:{group_id}", load)

    def team_gone(self, group_id: str) -> errors.NotFound:
        """The upstream answered 404 for the team: forget the copy; the error to raise."""
        record = self.store.get_group(group_id)
        if record is not None and record.kind == GroupKind.TEAM:
            self.store.delete_group(group_id)
        return errors.NotFound(f"Group {group_id} not found")
