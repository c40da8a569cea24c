"""How a team's changes reach the upstream: the member diff, and the two roster strategies.

Which members a write adds and removes is turned into upstream and ledger changes in one place,
:func:`diff_members`, from the request's change record (:class:`~scim_bridge.scim.patch.PatchResult`).
The change then goes upstream in one of two ways, chosen per request by its size (see docs/groups-strategy.md for the
measurements behind the threshold):

* per member: ``POST``/``DELETE /v2/teams/{id}/members`` for each added or removed user; a change
  of ``k`` members costs ``k`` calls and never touches anyone else's membership;
* roster: one ``PATCH /v2/teams/{id}`` carrying the complete new roster (existing members keep their
  team role), then one ``GET`` that checks the result and repairs what the upstream did not apply
  (an upstream that merges instead of replacing, for instance) member by member.

Every call notes its undo in the request's compensation log, so a failed call undoes the calls before it
(the rename too, and members taken out are put back).
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from scim_bridge.directory.base import Directory
from scim_bridge.directory.models import DirectoryTeam
from scim_bridge.directory.models import TeamMember
from scim_bridge.scim.patch import ValueChanges
from scim_bridge.service.writes import Compensation

# A membership change of more than this many users goes upstream as one roster PATCH (+ one check
# GET); smaller ones as one call per member. Measured: docs/groups-strategy.md.
ROSTER_THRESHOLD = 2


@dataclass(frozen=True)
class MemberDiff:
    """What a team write changes in the team's members."""

    to_add: list[str]  # join the team upstream now
    to_remove: list[str]  # leave the team upstream
    pending_add: list[str]  # suspended: the team goes into what their reactivation gives back
    pending_drop: list[str]  # suspended: the team leaves what their reactivation gives back

    @property
    def joining(self) -> list[str]:
        return [*self.to_add, *self.pending_add]


def diff_members(roster: Mapping[str, str], changes: ValueChanges, pending: Collection[str],
                 suspended: Collection[str]) -> MemberDiff:
    """The member changes a write makes to a team whose members are ``roster`` (user id -> team role, upstream)
    and ``pending`` (suspended users whose reactivation gives the team back): ``changes`` names the member ids
    the request added and removed (the PATCH's change record, or a PUT's compared with the team). Users in
    ``suspended`` join or leave the team through their suspension record instead of upstream."""
    joining = [uid for uid in changes.added if uid not in roster]
    return MemberDiff(
        to_add=[uid for uid in joining if uid not in suspended],
        to_remove=sorted(uid for uid in changes.removed if uid in roster),
        pending_add=[uid for uid in joining if uid in suspended],
        pending_drop=sorted(uid for uid in changes.removed if uid in pending and uid in suspended),
    )


class RosterWriter:
    """Writes a team's rename, description and member changes upstream, by one strategy or the other."""

    def __init__(self, directory: Directory, threshold: int = ROSTER_THRESHOLD) -> None:
        self.directory = directory
        # Membership changes larger than this go upstream as one roster update.
        self.threshold = threshold

    def write(self, team: DirectoryTeam, roster: dict[str, str], to_add: Sequence[str], to_remove: Sequence[str],
              changes: dict[str, Any], undo: Compensation) -> list[TeamMember]:
        """Write the changes, each call noted in ``undo``; returns the resulting roster."""
        if len(to_add) + len(to_remove) > self.threshold:
            return self._roster(team, roster, to_add, to_remove, changes, undo)
        if changes:
            self.directory.update_team(team.id, **changes)
            undo.add(f"restore the name of team {team.id}", partial(
                self.directory.update_team, team.id, **{key: getattr(team, key) for key in changes}))
        return self._members(team.id, roster, to_add, to_remove, undo)

    def _members(self, team_id: str, roster: dict[str, str], to_add: Sequence[str], to_remove: Sequence[str],
                 undo: Compensation) -> list[TeamMember]:
        """One call per added or removed member, each noted in ``undo``; returns the resulting roster."""
        result = dict(roster)
        for uid in to_add:
            self.directory.add_team_member(team_id, uid, "user")
            undo.add(f"remove user {uid} from team {team_id}",
                     partial(self.directory.remove_team_member, team_id, uid))
            result[uid] = "user"
        for uid in to_remove:
            if self.directory.remove_team_member(team_id, uid):
                undo.add(f"add user {uid} back to team {team_id}",
                         partial(self.directory.add_team_member, team_id, uid, result[uid]))
            result.pop(uid, None)
        return [TeamMember(uid, role=role) for uid, role in result.items()]

    def _roster(self, team: DirectoryTeam, roster: dict[str, str], to_add: Sequence[str], to_remove: Sequence[str],
                changes: dict[str, Any], undo: Compensation) -> list[TeamMember]:
        """One PATCH with the whole roster, then one GET to check it; what the upstream did not apply
        is repaired member by member. Returns the resulting roster."""
        removed = set(to_remove)
        members = [TeamMember(uid, role=role) for uid, role in roster.items() if uid not in removed]
        members += [TeamMember(uid, role="user") for uid in to_add]
        before = [TeamMember(uid, role=role) for uid, role in roster.items()]
        self.directory.update_team(team.id, members=members, **changes)
        # Undone by the roster (and name) the team had; members the PATCH added are then taken out one by
        # one too, for an upstream that merges a roster instead of replacing it.
        undo.add(f"remove the users added to team {team.id}",
                 lambda: [self.directory.remove_team_member(team.id, uid) for uid in to_add])
        undo.add(f"restore the roster of team {team.id}", partial(
            self.directory.update_team, team.id, members=before, **{key: getattr(team, key) for key in changes}))
        after = self.directory.get_team(team.id)
        present = {m.user_id: m.role or "user" for m in after.members or ()}
        missing = [uid for uid in to_add if uid not in present]
        lingering = sorted(uid for uid in removed if uid in present)
        return self._members(team.id, present, missing, lingering, undo)
