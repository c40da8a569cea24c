"""Team rosters loaded on demand: a roster the mirror does not hold yet is read before an answer uses it.

The initial import reads the user pages and the team list, and only a few rosters (``SCIM_BRIDGE_SYNC_IMPORT_
ROSTERS``); the sync loop loads the others, never-read ones first. Until then every answer that shows or
filters on team membership loads what it needs first, so ``members`` and ``groups`` are always exact:

* a Group with its members (``GET /Groups/{id}``, a list page): the rosters of those teams, one call each;
* a User with its ``groups`` (a read, a write's answer, a small page): per user the OpsGenie call listing the
  user's teams (one call), then the outstanding rosters among those teams; a larger page, or once this process
  has spent as many such per-user calls as there are outstanding rosters, all outstanding rosters instead (so
  the detour never costs more than loading everything would have);
* a filter or sort on ``members`` or ``groups``: every outstanding roster;
* nothing when the answer leaves ``members``/``groups`` out (``attributes``/``excludedAttributes``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

from scim_bridge.directory import errors as d
from scim_bridge.directory.base import Directory
from scim_bridge.directory.models import DirectoryTeam
from scim_bridge.scim.filters import FilterNode
from scim_bridge.scim.filters import mentions
from scim_bridge.scim.schema import GROUP
from scim_bridge.scim.schema import USER
from scim_bridge.scim.schema import AttributePath
from scim_bridge.scim.schema import ResourceType
from scim_bridge.service.errors import upstream_errors
from scim_bridge.store.records import GroupKind
from scim_bridge.store.records import Membership
from scim_bridge.store.records import SyncGroup
from scim_bridge.store.rosters import RosterLedger
from scim_bridge.store.store import Store

log = logging.getLogger(__name__)

PER_USER_MAX = 10  # answers showing more users than this load every outstanding roster


def roster_row(team: DirectoryTeam) -> SyncGroup:
    """A team read with its roster, as a sync writes it."""
    members = [Membership(group_id=team.id, user_id=m.user_id, role=m.role) for m in team.members or ()]
    upstream: dict[str, Any] = {"id": team.id, "name": team.name, "description": team.description}
    return SyncGroup(team.id, GroupKind.TEAM, team.name, upstream, members)


class RosterLoader:
    """Loads team rosters into the mirror: for the sync loop (:meth:`load`) and before answers (``before_*``)."""

    def __init__(self, directory: Directory, store: Store, *, read_through: bool = False,
                 ensure_initial: Callable[[], None] | None = None) -> None:
        self.directory = directory
        self.store = store
        self.ledger = RosterLedger(store)
        # Read-through Group reads fetch the team with its roster anyway: no load before them.
        self.read_through = read_through
        self._ensure_initial = ensure_initial or (lambda: None)
        self._lock = threading.Lock()  # one load at a time in this process: concurrent answers share it
        self.detour_calls = 0  # per-user team look-ups made so far by this process

    # --- loading --------------------------------------------------------------------------------
    def load(self, team_ids: Sequence[str]) -> int:
        """Read these teams' rosters (one call each), then write them into the mirror together: one
        transaction, in which each member whose teams changed is re-indexed once, however many of the rosters
        name it. A team gone upstream is forgotten. Returns the calls made. Directory errors propagate (the
        rosters read before the failure are written first)."""
        fetched = self.store.now()
        rows: list[SyncGroup] = []
        calls = 0
        try:
            for team_id in team_ids:
                calls += 1
                try:
                    rows.append(roster_row(self.directory.get_team(team_id)))
                except d.NotFoundError:
                    self.store.delete_group(team_id)  # deleted in OpsGenie
        finally:
            if rows:
                self.store.apply_sync_page(None, rows, started_at=fetched)
        return calls

    def warm(self, limit: int) -> int:
        """Load up to ``limit`` outstanding rosters (the warm-up after an import); returns the calls made."""
        if limit <= 0:
            return 0
        with self._lock:
            return self.load(self.ledger.outstanding()[:limit])

    def _load_outstanding(self, among: Sequence[str] | None = None) -> int:
        """Load the rosters (of the teams ``among``, or all) the mirror does not hold; None held: no call."""
        if among is not None and not among:
            return 0
        with self._lock, upstream_errors():
            return self.load(self.ledger.outstanding(among))

    def everything(self) -> int:
        """Every outstanding roster."""
        return self._load_outstanding()

    def for_groups(self, group_ids: Sequence[str]) -> int:
        """The rosters of these teams, where outstanding (role groups and unknown ids are ignored)."""
        return self._load_outstanding(group_ids)

    def for_users(self, user_ids: Sequence[str]) -> int:
        """Enough rosters for these users' ``groups`` to be exact; returns the calls made."""
        if not user_ids or not self.ledger.any_outstanding():
            return 0
        outstanding = self.ledger.outstanding()
        if len(user_ids) > PER_USER_MAX or len(outstanding) <= len(user_ids) + self.detour_calls:
            return self.everything()
        self.detour_calls += len(user_ids)
        calls = 0
        teams: set[str] = set()
        with upstream_errors():
            for user_id in user_ids:
                calls += 1
                try:
                    teams.update(ref.id for ref in self.directory.user_teams(user_id))
                except d.NotFoundError:
                    continue  # deleted in OpsGenie: the answer's own read says so
        return calls + self._load_outstanding(sorted(teams))

    # --- before answers (called by the views, which know the projection) ----------------------------
    def before_user(self, user_id: str, wants_groups: bool) -> None:
        if wants_groups:
            self._ensure_initial()
            self.for_users([user_id])

    def before_user_page(self, node: FilterNode | None, sort_by: AttributePath | None, descending: bool,
                         start_index: int, count: int, wants_groups: bool) -> None:
        """Before a page of Users: every roster for a filter or sort on ``groups``; else, when the page shows
        ``groups``, those of its users (found in the search index, which the rosters do not change)."""
        self._before_page(USER, "groups", node, sort_by, descending, start_index, count, wants_groups)

    def before_user_walk(self, node: FilterNode | None, wants_groups: bool) -> None:
        """Before a cursor (keyset) page of Users: a walk over the users, so every outstanding roster."""
        if wants_groups or (node is not None and mentions(node, "groups")):
            self._ensure_initial()
            self.everything()

    def before_group(self, group_id: str, want_members: bool) -> None:
        if want_members and not self.read_through:
            self._ensure_initial()
            self.for_groups([group_id])

    def before_group_page(self, node: FilterNode | None, sort_by: AttributePath | None, descending: bool,
                          start_index: int, count: int, want_members: bool) -> None:
        """Before a page of Groups: every roster for a filter or sort on ``members``; else, when the page
        shows members, those of its teams (with a margin for the role groups merged into the page)."""
        self._before_page(GROUP, "members", node, sort_by, descending, start_index, count, want_members)

    def _before_page(self, kind: ResourceType, attribute: str, node: FilterNode | None, sort_by: AttributePath | None,
                     descending: bool, start_index: int, count: int, shown: bool) -> None:
        """Before a page of ``kind``: every roster when the filter or the sort reads ``attribute`` (the rosters'
        side of a resource); else, when the page shows ``attribute`` (``shown``), those of its resources."""
        by_rosters = (node is not None and mentions(node, attribute)) or (
            sort_by is not None and sort_by.attribute.name.lower() == attribute)
        if not (by_rosters or shown):
            return
        self._ensure_initial()
        if not self.ledger.any_outstanding():
            return
        if by_rosters:
            self.everything()
            return
        margin = self.store.count_groups(GroupKind.ROLE) * 2 if kind == GROUP else 0
        page = self.store.search_index(kind, node, sort_by=sort_by, descending=descending,
                                       start_index=max(1, start_index - margin), count=count + 2 * margin)
        ids = [str(doc["id"]) for doc in page.resources]
        if kind == GROUP:
            self.for_groups(ids)
        else:
            self.for_users(ids)
