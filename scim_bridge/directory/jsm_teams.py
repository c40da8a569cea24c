"""The team half of JsmDirectory: SCIM team groups as Atlassian Teams with operations enabled.

Teams are known by the bridge's ids through :class:`TeamLink` (a uuid4 hex for a team created under jsm, the
OpsGenie id for one carried over by the migration); an Atlassian team without a link is not one of the
bridge's. Members are linked users: an account in a team without a link (someone the bridge does not manage)
is neither shown nor touched.

Create: ``POST /teams`` (MEMBER_INVITE, on the site), enable operations with the calling account as team
admin (the documented "not found yet" window is retried by the client), add the members in batches of 50,
then take the calling account out unless it is a requested member. Member changes are all-or-nothing: when
Atlassian refuses some members, or a batch fails, what was applied is undone before the error is raised.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import Any

from scim_bridge.atlassian import errors as at
from scim_bridge.atlassian.client import ENABLE_OPS_TRANSIENT
from scim_bridge.atlassian.client import AtlassianClient
from scim_bridge.atlassian.records import ALREADY_A_MEMBER
from scim_bridge.atlassian.records import NOT_A_MEMBER
from scim_bridge.atlassian.records import MemberFailure
from scim_bridge.directory import errors as d
from scim_bridge.directory.base import TeamUpdates
from scim_bridge.directory.jsm_support import UPSTREAM
from scim_bridge.directory.jsm_support import call
from scim_bridge.directory.jsm_support import translate
from scim_bridge.directory.links import LinkStore
from scim_bridge.directory.links import TeamLink
from scim_bridge.directory.models import DirectoryTeam
from scim_bridge.directory.models import TeamChange
from scim_bridge.directory.models import TeamMember

Json = dict[str, Any]
CREATE_ATTEMPTS = 3


class JsmTeams(TeamUpdates):
    """Team operations of the Directory protocol over Atlassian Teams and JSM Operations."""

    client: AtlassianClient
    links: LinkStore
    new_team_id: Callable[[], str]

    def list_teams(self) -> list[DirectoryTeam]:
        """The linked teams still present in Atlassian, without members: one call per page of 300 teams."""
        found: list[DirectoryTeam] = []
        for team in call(lambda: list(self.client.iter_teams())):
            link = self.links.team_by_upstream(str(team.get("teamId", "")))
            if link is None or str(team.get("state") or "ACTIVE").upper() != "ACTIVE":
                continue
            name = str(team.get("displayName") or "")
            if name and name != link.name:
                self.links.save_team(replace(link, name=name))
            found.append(DirectoryTeam(id=link.local_id, name=name, description=str(team.get("description") or "")))
        return found

    def get_team(self, team_id: str) -> DirectoryTeam:
        """The team and its linked members: one call for the team, one per page of 50 members."""
        link = self._team_link(team_id)
        team = call(lambda: self.client.get_team(link.team_id))
        members = []
        for account_id in call(lambda: self.client.team_members(link.team_id)):
            user = self.links.user_by_account(account_id)
            if user is not None:
                members.append(TeamMember(user_id=user.local_id, username=user.username, role="user"))
        return DirectoryTeam(id=link.local_id, name=str(team.get("displayName") or link.name),
                             description=str(team.get("description") or ""), members=tuple(members))

    def find_team(self, name: str) -> DirectoryTeam | None:
        """A linked team by name (exact case first, else case-insensitive), with members; None when absent.
        Atlassian has no name filter: this lists the teams (one call per page of 300)."""
        teams = [t for t in self.list_teams() if t.name.lower() == name.lower()]
        if not teams:
            return None
        exact = [t for t in teams if t.name == name]
        return self.get_team((exact or teams)[0].id)

    def create_team(self, name: str, description: str, members: list[TeamMember]) -> str:
        accounts = self._accounts([m.user_id for m in members])
        created = self._create_upstream(name, description)
        team_id = str(created.get("teamId", ""))
        creator = str(created.get("creatorId") or next(
            (str(m.get("accountId")) for m in created.get("members") or () if isinstance(m, dict)), ""))
        try:
            call(lambda: self._enable_ops(team_id, creator))
            self._change_members(team_id, accounts, [], before=[creator] if creator else [])
            if creator and creator not in accounts:
                self._change_members(team_id, [], [creator], before=[creator, *accounts])
        except Exception:
            self._delete_quietly(team_id)
            raise
        local_id = self.new_team_id()
        self.links.save_team(TeamLink(local_id=local_id, team_id=team_id, name=name))
        return local_id

    def change_team(self, team_id: str, change: TeamChange) -> None:
        """Members first (all-or-nothing), then the rename; a failed rename takes the member change back."""
        link = self._team_link(team_id)
        name, description, members = change.name, change.description, change.members
        undo: tuple[list[str], list[str]] | None = None
        if members is not None:
            current = [a for a in call(lambda: self.client.team_members(link.team_id))
                       if self.links.user_by_account(a) is not None]
            wanted = self._accounts([m.user_id for m in members])
            to_add = [a for a in wanted if a not in current]
            to_remove = [a for a in current if a not in wanted]
            self._change_members(link.team_id, to_add, to_remove, before=current)
            undo = (to_remove, to_add)
        if name is not None or description is not None:
            try:
                call(lambda: self.client.update_team(link.team_id, display_name=name, description=description))
            except d.DirectoryError:
                if undo is not None:
                    self._change_members(link.team_id, *undo, before=[])
                raise
            if name is not None:
                self.links.save_team(replace(link, name=name))

    def delete_team(self, team_id: str) -> None:
        link = self._team_link(team_id)
        try:
            call(lambda: self.client.delete_team(link.team_id))
        except d.NotFoundError:
            self.links.forget_team(team_id)
            raise
        self.links.forget_team(team_id)

    def add_team_member(self, team_id: str, user_id: str, role: str = "user") -> None:
        """Add one member; "already a member" counts as success. Atlassian team members have no role."""
        link = self._team_link(team_id)
        _, refusal = self._batch(link.team_id, self._accounts([user_id]), add=True)
        if refusal is not None:
            raise refusal

    def remove_team_member(self, team_id: str, user_id: str) -> bool:
        """Idempotent: False when the user was not a member (or is no linked user)."""
        link = self._team_link(team_id)
        user = self.links.user_by_local(user_id)
        if user is None:
            call(lambda: self.client.get_team(link.team_id))  # the team must still exist
            return False
        failures = call(lambda: self.client.remove_members(link.team_id, [user.account_id]))
        failure = failures.get(user.account_id)
        if failure is None:
            return True
        if failure.code == NOT_A_MEMBER:
            return False
        raise self._refused(failures, "removed from")

    # --- helpers ------------------------------------------------------------------------------
    def _team_link(self, team_id: str) -> TeamLink:
        link = self.links.team_by_local(team_id)
        if link is None:
            raise d.NotFoundError(f"no team {team_id}", status=404, upstream=UPSTREAM)
        return link

    def _accounts(self, user_ids: Sequence[str]) -> list[str]:
        """The account ids of linked users, in order; 400 naming every id that is no user."""
        links = {uid: self.links.user_by_local(uid) for uid in dict.fromkeys(user_ids)}
        unknown = sorted(uid for uid, link in links.items() if link is None)
        if unknown:
            raise d.InvalidError("No user with id " + ", ".join(unknown), status=400, upstream=UPSTREAM)
        return [link.account_id for link in links.values() if link is not None]

    def _enable_ops(self, team_id: str, admin: str) -> None:
        try:
            self.client.enable_ops(team_id, [admin] if admin else [])
        except (*ENABLE_OPS_TRANSIENT, at.ServerError, at.TransportError) as exc:
            raise at.FAMILY.of(at.ServerError)(f"operations could not be enabled for the new team: {exc.message}",
                                               family=at.OPS, status=503) from exc

    def _create_upstream(self, name: str, description: str) -> Json:
        """POST /teams. A lost answer is not repeated blindly: a new unlinked team with this name and
        description is that attempt's result; several such teams cannot be told apart and are reported."""
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                return self.client.create_team(name, description)
            except (at.ServerError, at.TransportError) as exc:
                if isinstance(exc, at.TransportError) and not exc.maybe_applied:
                    raise translate(exc) from exc
                same = [t for t in call(lambda: list(self.client.iter_teams()))
                        if t.get("displayName") == name and str(t.get("description") or "") == description
                        and self.links.team_by_upstream(str(t.get("teamId", ""))) is None]
                if len(same) == 1:
                    roster = call(partial(self.client.team_members, str(same[0]["teamId"])))
                    return {**same[0], "members": [{"accountId": a} for a in roster]}
                if len(same) > 1 or attempt == CREATE_ATTEMPTS:
                    raise translate(exc) from exc
                self.client.retry.sleep(self.client.retry.backoff(attempt))
            except at.AtlassianError as exc:
                raise translate(exc) from exc
        raise AssertionError("unreachable")

    def _change_members(self, team_id: str, to_add: Sequence[str], to_remove: Sequence[str], *,
                        before: Sequence[str]) -> None:
        """Add then remove members in batches; if Atlassian refuses any, or a call fails, what was applied is
        taken back and the error raised: the roster ends as it was (``before``: the members at the start)."""
        applied: dict[bool, list[str]] = {True: [], False: []}  # added, removed
        try:
            for add, accounts in ((True, to_add), (False, to_remove)):
                if accounts:
                    applied[add], refusal = self._batch(team_id, accounts, add=add)
                    if refusal is not None:
                        raise refusal
        except d.DirectoryError as exc:
            added, removed = applied[True], applied[False]
            if not added and not removed and not isinstance(exc, d.UnavailableError | d.ThrottledError):
                raise
            self._undo(team_id, added, removed, before, to_add)
            raise

    def _batch(self, team_id: str, accounts: Sequence[str], *, add: bool) -> tuple[list[str], d.InvalidError | None]:
        """Add (``add``) or remove ``accounts`` in one call: (the accounts it changed, the error for those Atlassian
        refused, if any). "Already a member" and "not a member" are no refusal."""
        send = self.client.add_members if add else self.client.remove_members
        failures = call(lambda: send(team_id, list(accounts)))
        refused = {a: f for a, f in failures.items() if f.code != (ALREADY_A_MEMBER if add else NOT_A_MEMBER)}
        changed = [a for a in accounts if a not in failures]
        return changed, self._refused(refused, "added to" if add else "removed from") if refused else None

    def _undo(self, team_id: str, added: list[str], removed: list[str], before: Sequence[str],
              to_add: Sequence[str]) -> None:
        """Best effort: a failed batch leaves no count of what it applied, so the roster is read again."""
        try:
            present = set(self.client.team_members(team_id))
            extra = [a for a in dict.fromkeys([*added, *to_add]) if a in present and a not in before]
            missing = [a for a in removed if a not in present]
            if extra:
                self.client.remove_members(team_id, extra)
            if missing:
                self.client.add_members(team_id, missing)
        except at.AtlassianError:
            pass  # the original error is what the caller reports

    def _refused(self, refused: dict[str, MemberFailure], verb: str) -> d.InvalidError:
        names = []
        for account_id, failure in sorted(refused.items()):
            link = self.links.user_by_account(account_id)
            who = link.local_id if link is not None else account_id
            names.append(f"{who} ({failure.code or 'refused'}{': ' + failure.message if failure.message else ''})")
        return d.InvalidError(f"Atlassian refused the member(s) to be {verb} the team: " + ", ".join(names)
                              + "; nothing was changed", status=400, upstream=UPSTREAM)

    def _delete_quietly(self, team_id: str) -> None:
        with contextlib.suppress(at.AtlassianError):
            self.client.delete_team(team_id)


def new_team_id() -> str:
    return uuid.uuid4().hex
