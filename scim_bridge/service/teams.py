"""SCIM Groups that are upstream teams: reading them, and writing them all or nothing.

Every team write holds the team's write lock (in this process, and a lease in the store shared by all
replicas, renewed while held; see service/writes.py) from the read to the last write, and the write locks
of the users it adds, so that a deactivation never interleaves with it. The member diff and the roster
strategies are in service/rosters.py; a failed call undoes the calls made before it: the request applies
whole or not at all.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import Any

from scim_bridge.config import Settings
from scim_bridge.directory.base import Directory
from scim_bridge.directory.models import DirectoryTeam
from scim_bridge.directory.models import TeamMember
from scim_bridge.scim import errors
from scim_bridge.scim.schema import GROUP
from scim_bridge.scim.schema import OPSGENIE_GROUP
from scim_bridge.scim.versions import require_version
from scim_bridge.service.context import RequestContext
from scim_bridge.service.context import now
from scim_bridge.service.documents import MemberView
from scim_bridge.service.documents import member_entry
from scim_bridge.service.documents import team_document
from scim_bridge.service.errors import upstream_errors
from scim_bridge.service.members import GroupParts
from scim_bridge.service.members import Known
from scim_bridge.service.members import NewResource
from scim_bridge.service.members import member_ids
from scim_bridge.service.mirror import MirrorGateway
from scim_bridge.service.roles import RoleCatalogue
from scim_bridge.service.rosters import RosterWriter
from scim_bridge.service.rosters import diff_members
from scim_bridge.service.suspensions import SuspensionLedger
from scim_bridge.service.sync import SyncService
from scim_bridge.service.writes import Compensation
from scim_bridge.service.writes import WriteLocks
from scim_bridge.service.writes import team_key
from scim_bridge.service.writes import user_key
from scim_bridge.store.mirror import Dirty
from scim_bridge.store.records import GroupKind
from scim_bridge.store.records import GroupRecord
from scim_bridge.store.records import Membership
from scim_bridge.store.sqlutil import normalize_json
from scim_bridge.store.store import Store

log = logging.getLogger(__name__)

TEAM_NAME_RE = re.compile(r"^[A-Za-z0-9 _.-]+$")
MAX_TEAM_NAME = 100
MAX_DESCRIPTION = 200
# Key, in a team's bridge-held ``scim`` data, of the member ids its last SCIM write left it with: what the
# IdP last pushed, which the operator console compares with the mirror to show drift.
PUSHED_MEMBERS = "pushed_members"


class TeamService(GroupParts):
    def __init__(self, directory: Directory, store: Store, settings: Settings, sync: SyncService, *,
                 catalogue: RoleCatalogue, locks: WriteLocks, ledger: SuspensionLedger, mirror: MirrorGateway) -> None:
        super().__init__(directory, store, settings, sync, catalogue=catalogue, locks=locks, ledger=ledger,
                         mirror=mirror)
        self.rosters = RosterWriter(directory)

    # --- reading ---------------------------------------------------------------------------------
    def get(self, ctx: RequestContext, group_id: str, want_members: bool) -> dict[str, Any]:
        self.sync.ensure_initial()
        if not self.mirror.team_stale(group_id):
            found = self._mirrored_document(ctx, group_id, want_members)
            if found is None:
                raise errors.NotFound(f"Group {group_id} not found")
            return found
        team, record = self.mirror.refresh_team(group_id, self._remember)
        return self.render(ctx, record, self._upstream_members(team), want_members)

    def by_name(self, ctx: RequestContext, name: str, want_members: bool) -> list[dict[str, Any]]:
        """The team named ``name`` (case-insensitively), or nothing."""
        if not self.settings.read_through:
            self.sync.ensure_initial()
            record = self.store.get_group_by_name(GroupKind.TEAM, name)
            found = None if record is None else self._mirrored_document(ctx, record.id, want_members, record)
            return [] if found is None else [found]
        if not TEAM_NAME_RE.match(name) or len(name) > MAX_TEAM_NAME:
            return []  # cannot be an OpsGenie team name: no upstream call needed
        with upstream_errors():
            team = self.directory.find_team(name)
        if team is None or team.name.lower() != name.lower():
            stale = self.store.get_group_by_name(GroupKind.TEAM, name)
            if stale is not None:
                self.store.delete_group(stale.id)
            return []
        known = self.members.known([m.user_id for m in team.members or ()])
        record = self._remember(team, known)
        return [self.render(ctx, record, self._upstream_members(team, known), want_members)]

    def render(self, ctx: RequestContext, record: GroupRecord, members: list[MemberView],
               want_members: bool) -> dict[str, Any]:
        """The SCIM resource. Its version always covers the roster, so it does not depend on whether
        the members are shown."""
        resource = ctx.absolute(team_document(record, members))
        if not want_members:
            del resource["members"]
        return resource

    def _read(self, group_id: str) -> DirectoryTeam:
        """The team as the upstream has it now (one call); a team gone there is forgotten, and a 404."""
        try:
            with upstream_errors():
                return self.directory.get_team(group_id)
        except errors.NotFound:
            raise self.mirror.team_gone(group_id) from None

    def _remember(self, team: DirectoryTeam, known: Known | None = None) -> GroupRecord:
        """Write an upstream snapshot of a team (with its roster, when it has one) into the mirror."""
        record = self.store.get_group(team.id)
        upstream = {"id": team.id, "name": team.name, "description": team.description}
        if record is None:
            stale = self.store.get_group_by_name(GroupKind.TEAM, team.name)
            if stale is not None and stale.id != team.id:
                self.store.delete_group(stale.id)  # a team of that name was deleted and made again
            stamp = now()
            record = GroupRecord(
                id=team.id, kind=GroupKind.TEAM, display_name=team.name, external_id=None, upstream=upstream,
                scim={}, members_known=team.members is not None, created=stamp, last_modified=stamp, version=1,
                synced_at=self.mirror.now(),
            )
            record = self.store.upsert_group(record)
        elif record.display_name != team.name or record.upstream != normalize_json(upstream):
            record = self.store.upsert_group(replace(record, display_name=team.name, upstream=upstream))
        # else: the mirror already holds this snapshot, no write for a read
        if team.members is not None:
            record = self._mirror_roster(team.id, team.members, known)
        return record

    def _mirror_roster(self, team_id: str, members: Sequence[TeamMember], known: Known | None = None) -> GroupRecord:
        """Store a roster; members the mirror does not know as users yet are left out of it."""
        if known is None:
            known = self.members.known([m.user_id for m in members])
        wanted = [Membership(team_id, m.user_id, m.role or "user") for m in members if m.user_id in known]
        record = self.store.get_group(team_id)
        if record is not None and record.members_known and set(wanted) == set(self.store.members_of(team_id)):
            return record  # the mirror already holds this roster: no write
        return self.store.set_members(team_id, wanted)

    def _upstream_members(self, team: DirectoryTeam, known: Known | None = None) -> list[MemberView]:
        members = team.members or ()
        if known is None:
            known = self.members.known([m.user_id for m in members])
        return sorted((m.user_id, known.get(m.user_id) or m.username) for m in members)

    def _mirrored_document(self, ctx: RequestContext, group_id: str, want_members: bool,
                           record: GroupRecord | None = None) -> dict[str, Any] | None:
        """The team as the search index holds it (one query; every store write keeps it in step); rendered from
        the mirror's record when the index lacks it; None when the mirror holds no such team."""
        document = self.store.indexed_documents(GROUP, [group_id]).get(group_id)
        if document is None:
            record = record or self.store.get_group(group_id)
            if record is None or record.kind != GroupKind.TEAM:
                return None
            return self.render(ctx, record, self._mirror_members(record.id), want_members)
        resource = ctx.absolute(document)
        if not want_members:
            resource.pop("members", None)
        return resource

    def _mirror_members(self, group_id: str) -> list[MemberView]:
        members = self.store.members_of(group_id)
        users = self.members.known([m.user_id for m in members])
        return [(m.user_id, users.get(m.user_id, "")) for m in members]

    # --- creating ------------------------------------------------------------------------------
    def create(self, ctx: RequestContext, resource: dict[str, Any]) -> dict[str, Any]:
        name = str(resource.get("displayName") or "")
        self.catalogue.refuse_name(name, "role groups cannot be created, link to it instead")
        validate_team_name(name)
        description = _description(resource)
        ids = member_ids(resource.get("members"), strict=True)
        known = self.members.check(ids)
        self._check_name_free(name, None)
        with self.locks.hold(*(user_key(uid) for uid in ids)):
            return self._create(ctx, resource, name, description, ids, known)

    def _create(self, ctx: RequestContext, resource: dict[str, Any], name: str, description: str,
                ids: list[str], known: Known) -> dict[str, Any]:
        # A suspended member joins at reactivation: the team goes into its suspension record.
        suspended = self.store.suspensions_for(ids) if ids else {}
        members = [TeamMember(user_id=uid, role="user") for uid in ids if uid not in suspended]
        with upstream_errors():
            team_id = self.directory.create_team(name, description, members)
        undo = Compensation()
        undo.add(f"delete team {team_id}", partial(self.directory.delete_team, team_id))
        stamp = now()
        # The mirror in one transaction (one commit, one re-index); when it fails, the team made is deleted.
        with undo.applying(), self.store.transaction() as written:
            for uid in suspended:
                self.ledger.hold_team(uid, team_id)
            record = self.store.upsert_group(
                GroupRecord(
                    id=team_id, kind=GroupKind.TEAM, display_name=name, external_id=resource.get("externalId"),
                    upstream={"id": team_id, "name": name, "description": description},
                    scim={PUSHED_MEMBERS: [m.user_id for m in members]}, members_known=True, created=stamp,
                    last_modified=stamp, version=1, synced_at=self.mirror.now(),
                )
            )
            record = self._mirror_roster(team_id, members, known)
        created = DirectoryTeam(id=team_id, name=name, description=description, members=tuple(members))
        return self._written(ctx, written, record, created, known)

    def _check_name_free(self, name: str, team_id: str | None) -> None:
        """409 when another team has the name, looked up upstream (one call)."""
        if self.settings.read_through:
            with upstream_errors():
                other = self.directory.find_team(name)
            other_id = other.id if other is not None and other.name.lower() == name.lower() else None
        else:
            record = self.store.get_group_by_name(GroupKind.TEAM, name)
            other_id = record.id if record is not None else None
        if other_id is not None and other_id != team_id:
            raise errors.Uniqueness(f"A group named {name!r} already exists (id {other_id})")

    # --- patching ------------------------------------------------------------------------------
    def patch(self, ctx: RequestContext, group_id: str, new_of: NewResource, if_match: str | None) -> dict[str, Any]:
        """``new_of(current)`` is the wanted resource; the difference is written upstream."""
        self.sync.ensure_initial()
        with self.locks.hold(team_key(group_id)):
            return self._patch(ctx, group_id, new_of, if_match)

    def _patch(self, ctx: RequestContext, group_id: str, new_of: NewResource, if_match: str | None) -> dict[str, Any]:
        if not self.settings.read_through:
            mirrored = self._mirrored_team(group_id)
            if mirrored is not None:
                # The mirror's roster stands for the upstream one: no read before the write. Adding a member
                # already there or removing one already gone succeeds (the directory makes both idempotent);
                # a team deleted in OpsGenie answers 404: then it is read, forgotten, and the client gets 404.
                try:
                    return self._apply_patch(ctx, mirrored[0], new_of, if_match, mirrored[1])
                except errors.NotFound:
                    log.info("group %s: the mirror was behind OpsGenie, reading the team", group_id)
        return self._apply_patch(ctx, self._read(group_id), new_of, if_match)

    def _mirrored_team(self, group_id: str) -> tuple[DirectoryTeam, GroupRecord] | None:
        """The team as the mirror holds it (and its record), when it holds its roster."""
        record = self.store.get_group(group_id)
        if record is None or record.kind != GroupKind.TEAM or not record.members_known:
            return None
        members = tuple(TeamMember(m.user_id, role=m.role or "user") for m in self.store.members_of(group_id))
        team = DirectoryTeam(id=group_id, name=str(record.upstream.get("name", record.display_name)),
                             description=str(record.upstream.get("description") or ""), members=members)
        return team, record

    def _apply_patch(self, ctx: RequestContext, team: DirectoryTeam, new_of: NewResource,
                     if_match: str | None, mirrored: GroupRecord | None = None) -> dict[str, Any]:
        """Write the difference between ``team`` and what ``new_of`` wants. ``mirrored``: the mirror's record
        ``team`` was read from (nothing to remember then); else ``team`` was just read upstream."""
        group_id = team.id
        known = self.members.known([m.user_id for m in team.members or ()])
        record = mirrored if mirrored is not None else self._remember(team, known)
        current = self.render(ctx, record, self._upstream_members(team, known), True)
        require_version(if_match, current)
        # Suspended users left their teams upstream; their suspension records the teams reactivation gives
        # back. The operations see those users as members, so that removing one (or a replace without it)
        # takes the team out of what reactivation restores, and adding a suspended user records the team
        # there instead of putting the user in it while suspended.
        suspensions = self.store.all_suspensions()
        pending = {uid: s for uid, s in suspensions.items() if any(t.get("id") == group_id for t in s.teams)}
        view = current
        if pending:
            names = self.members.known(list(pending))
            view = {**current, "members": [*(current.get("members") or []),
                                           *(member_entry(uid, names.get(uid, "")) for uid in sorted(pending))]}
        result = new_of(view)
        new = result.resource
        name = str(new.get("displayName") or "")
        if name != team.name:
            self.catalogue.refuse_name(name, "a team cannot take the name of a role group")
        validate_team_name(name)
        description = _description(new)
        roster = {m.user_id: m.role or "user" for m in team.members or ()}
        member_ids(new.get("members"), strict=True)  # every member has a value and is a User
        changed = result.changes_of("members")
        # Who may join or leave, as the suspensions stood before the users' locks: checked and locked.
        candidates = diff_members(roster, changed, pending, suspensions)
        known.update(self.members.check(candidates.to_add))
        renamed = name != team.name
        if renamed and name.lower() != team.name.lower():
            self._check_name_free(name, group_id)
        changes: dict[str, Any] = {}
        if renamed:
            changes["name"] = name
        if description != team.description:
            changes["description"] = description
        # The users joining (or leaving what reactivation restores) are locked while the team changes: a
        # deactivation of one of them waits, or is seen here as a suspension.
        locked = [*candidates.joining, *pending]
        with self.locks.hold(*(user_key(uid) for uid in locked)):
            diff = diff_members(roster, changed, pending, self.store.suspensions_for(locked))
            known.update(self.members.check([uid for uid in diff.to_add if uid in suspensions]))
            undo = Compensation()
            members = self._write(team, roster, diff.to_add, diff.to_remove, changes, undo)
            # Upstream is written; the mirror now changes in one transaction (one commit, one re-index). When
            # that fails, the upstream calls are undone: the request applies whole or not at all.
            with undo.applying(), self.store.transaction() as written:
                for uid in diff.pending_add:
                    self.ledger.hold_team(uid, group_id)
                for uid in diff.pending_drop:
                    self.ledger.drop_team(uid, group_id)
                record = self.store.upsert_group(
                    replace(record, display_name=name, external_id=new.get("externalId"),
                            upstream={"id": group_id, "name": name, "description": description},
                            scim={**record.scim, PUSHED_MEMBERS: [m.user_id for m in members]},
                            synced_at=self.mirror.now())
                )
                record = self._mirror_roster(group_id, members, known)
        final = DirectoryTeam(id=group_id, name=name, description=description, members=tuple(members))
        return self._written(ctx, written, record, final, known)

    def _written(self, ctx: RequestContext, written: Dirty, record: GroupRecord, team: DirectoryTeam,
                 known: Known) -> dict[str, Any]:
        """The answer to a team write: the document rendered for the search index when the write committed
        (from the rows it wrote: one render per write). Rendered here instead when the store keeps no index,
        or when the team has members the mirror does not know as users (read-through): the index leaves them
        out, the answer shows them."""
        document = written.document(GROUP, team.id)
        if document is None or any(m.user_id not in known for m in team.members or ()):
            return self.render(ctx, record, self._upstream_members(team, known), True)
        return ctx.absolute(document)

    def _write(self, team: DirectoryTeam, roster: dict[str, str], to_add: Sequence[str],
               to_remove: Sequence[str], changes: dict[str, Any], undo: Compensation) -> list[TeamMember]:
        """Write the rename, description and member changes upstream, each call noted in ``undo``, all or
        nothing: when a call fails, the calls made are undone (newest first) and the mirror keeps the roster
        the team had. Returns the resulting roster."""
        try:
            with upstream_errors():
                return self.rosters.write(team, roster, to_add, to_remove, changes, undo)
        except Exception as failure:
            undo.rollback()
            self._mirror_roster(team.id, [TeamMember(uid, role=role) for uid, role in roster.items()])
            if isinstance(failure, (errors.NotFound, errors.InvalidValue)):
                # A user to add may have been deleted in OpsGenie since the mirror saw it (the team's 404 and
                # the user's look the same): then say which user is gone, and forget it.
                gone = self.members.gone(to_add)
                for uid in gone:
                    self.mirror.user_gone(uid)
                if gone:
                    raise errors.InvalidValue("No user with id " + ", ".join(sorted(gone))
                                              + ": deleted in OpsGenie, nothing was changed") from None
            raise

    # --- deleting ------------------------------------------------------------------------------
    def delete(self, ctx: RequestContext, group_id: str, if_match: str | None) -> None:
        self.sync.ensure_initial()
        with self.locks.hold(team_key(group_id)):
            if if_match is not None:
                current = self.get(ctx, group_id, want_members=True)
                require_version(if_match, current)
            try:
                with upstream_errors():
                    self.directory.delete_team(group_id)
            except errors.NotFound:
                known = self.store.get_group(group_id)
                if known is None or known.kind != GroupKind.TEAM or not self.settings.read_through:
                    raise self.mirror.team_gone(group_id) from None  # deleted in OpsGenie meanwhile
            self.store.delete_group(group_id)


def validate_team_name(name: str) -> None:
    if not name.strip():
        raise errors.InvalidValue("displayName is required")
    if len(name) > MAX_TEAM_NAME:
        raise errors.InvalidValue(
            f"displayName must be at most {MAX_TEAM_NAME} characters (OpsGenie team name); got {len(name)}"
        )
    if not TEAM_NAME_RE.match(name):
        bad = sorted({ch for ch in name if not re.match(r"[A-Za-z0-9 _.-]", ch)})
        raise errors.InvalidValue(
            "displayName may contain only letters, digits, spaces, '_', '.' and '-' (OpsGenie team names); "
            f"found {''.join(bad)!r}"
        )


def _description(resource: dict[str, Any]) -> str:
    ext = resource.get(OPSGENIE_GROUP) or {}
    description = ext.get("description") if isinstance(ext, dict) else None
    text = "" if description is None else str(description)
    if len(text) > MAX_DESCRIPTION:
        raise errors.InvalidValue(f"description must be at most {MAX_DESCRIPTION} characters (OpsGenie limit)")
    return text
