"""Deactivation and reactivation of users upstream: what ``active=false`` and ``active=true`` do.

``suspend`` (the default) gives the user the suspended role and takes it out of its teams, recording in the
suspension ledger what reactivation gives back; ``delete`` deletes the user. Every call notes its undo in the
request's compensation log; the caller writes the mirror once the request succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from scim_bridge.directory import errors as d
from scim_bridge.directory.models import DirectoryUser
from scim_bridge.service.context import now
from scim_bridge.service.parts import UsesParts
from scim_bridge.service.writes import Compensation
from scim_bridge.store.records import Membership
from scim_bridge.store.records import Suspension


@dataclass(frozen=True)
class Suspended:
    """A deactivation applied upstream, for the caller to commit to the mirror."""

    user_id: str
    upstream: DirectoryUser
    suspension: Suspension | None
    deleted: bool = False
    # Teams the mirror listed for the user that OpsGenie no longer has it in (deleted, or left there).
    dropped: tuple[str, ...] = ()


class Deactivation(UsesParts):
    """Suspending and restoring a user upstream (its role and its teams), recorded in the suspension ledger."""

    def suspend(
        self, user_id: str, upstream: DirectoryUser, memberships: list[Membership], undo: Compensation
    ) -> Suspended:
        """Suspend upstream (or delete, by configuration); the store is written by ``commit`` on success."""
        if self.settings.deactivation == "delete":
            self.directory.delete_user(user_id)  # last upstream call of the request: nothing follows it
            return Suspended(user_id, upstream, None, deleted=True)
        teams = {m.group_id: m.role or "user" for m in memberships}
        if self.settings.read_through:
            # Teams joined in OpsGenie since the last sync; reading from the mirror trusts its memberships.
            for ref in self.directory.user_teams(user_id):
                teams.setdefault(ref.id, "user")
        left: dict[str, str] = {}
        dropped: list[str] = []
        for team_id, role in sorted(teams.items()):
            try:
                was_member = self.directory.remove_team_member(team_id, user_id)
            except d.NotFoundError:
                was_member = False  # the team was deleted in OpsGenie
            if not was_member:  # nothing to give back on reactivation; the mirror was behind OpsGenie
                dropped.append(team_id)
                continue
            left[team_id] = role
            undo.add(f"add user {user_id} back to team {team_id}",
                     partial(self.directory.add_team_member, team_id, user_id, role))
        suspended_role = self.settings.suspended_role
        before = upstream.role
        suspension = Suspension(
            user_id=user_id,
            role=before,
            teams=[{"id": tid, "role": role} for tid, role in sorted(left.items())],
            suspended_at=now(),
        )
        upstream = self.catalogue.set_role(upstream, suspended_role, undo)
        return Suspended(user_id, upstream, suspension, dropped=tuple(dropped))

    def commit(self, suspended: Suspended) -> None:
        """Record a suspension applied upstream: the ledger, and the teams it left in the mirror."""
        if suspended.suspension is None:
            return
        self.ledger.open(suspended.suspension)
        for team_id in [team["id"] for team in suspended.suspension.teams] + list(suspended.dropped):
            if self.store.get_group(team_id) is not None:
                self.store.remove_members(team_id, [suspended.user_id])

    def restore(
        self, user_id: str, upstream: DirectoryUser, suspension: Suspension, undo: Compensation
    ) -> tuple[DirectoryUser, list[Membership]]:
        """Give back the role and teams a suspension took; returns the memberships restored."""
        upstream = self.catalogue.set_role(upstream, suspension.role, undo)
        restored: list[Membership] = []
        for team in suspension.teams:
            role = team.get("role") or "user"
            try:
                self.directory.add_team_member(team["id"], user_id, role)
            except d.NotFoundError:
                continue  # the team was deleted meanwhile
            undo.add(f"remove user {user_id} from team {team['id']}",
                     partial(self.directory.remove_team_member, team["id"], user_id))
            restored.append(Membership(team["id"], user_id, role))
        return upstream, restored
