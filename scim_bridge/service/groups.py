"""SCIM Groups: OpsGenie teams, and OpsGenie roles as groups named role:<RoleName>.

Team membership changes reach OpsGenie in one of two ways, chosen per request by the size of the
change (see docs/groups-strategy.md for the measurements behind the threshold):

* per member: ``POST``/``DELETE /v2/teams/{id}/members`` for each added or removed user; a change
  of ``k`` members costs ``k`` calls and never touches anyone else's membership;
* roster: one ``PATCH /v2/teams/{id}`` carrying the complete new roster (existing members keep their
  team role), then one ``GET`` that checks the result and repairs what the upstream did not apply
  (an upstream that merges instead of replacing, for instance) member by member.

A roster write is a read-modify-write, so every team write holds the team's write lock (in this process,
and a lease in the store shared by all replicas; see service/writes.py) from the read to the last write,
and the write locks of the users it adds, so that a deactivation never interleaves with it. A failed call
undoes the calls made before it: the request applies whole or not at all.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from functools import partial
from typing import Any

from scim_bridge.config import Settings
from scim_bridge.directory.base import Directory
from scim_bridge.directory.models import DirectoryTeam
from scim_bridge.directory.models import DirectoryUser
from scim_bridge.directory.models import TeamMember
from scim_bridge.directory.models import UserFields
from scim_bridge.scim import errors
from scim_bridge.scim.filters import FilterNode
from scim_bridge.scim.filters import matches
from scim_bridge.scim.filters import mentions
from scim_bridge.scim.filters import simple_equality
from scim_bridge.scim.listing import paginate
from scim_bridge.scim.listing import sort_key
from scim_bridge.scim.listing import sort_resources
from scim_bridge.scim.payloads import keep_own_extension
from scim_bridge.scim.schema import CORE_GROUP
from scim_bridge.scim.schema import GROUP
from scim_bridge.scim.schema import OPSGENIE_GROUP
from scim_bridge.scim.schema import AttributePath
from scim_bridge.scim.versions import require_version
from scim_bridge.service.context import RequestContext
from scim_bridge.service.context import add_meta
from scim_bridge.service.context import now
from scim_bridge.service.context import relative
from scim_bridge.service.documents import MemberView
from scim_bridge.service.documents import member_entry
from scim_bridge.service.documents import team_document
from scim_bridge.service.errors import owner_refused
from scim_bridge.service.errors import upstream_errors
from scim_bridge.service.naming import ALIAS_ID_PREFIX
from scim_bridge.service.naming import ROLE_ID_PREFIX
from scim_bridge.service.naming import ROLE_PREFIX
from scim_bridge.service.naming import alias_group_id
from scim_bridge.service.naming import role_group_id
from scim_bridge.service.naming import role_group_name
from scim_bridge.service.suspensions import SuspensionLedger
from scim_bridge.service.sync import SyncService
from scim_bridge.service.users import remember_user
from scim_bridge.service.users import role_id_of
from scim_bridge.service.writes import Compensation
from scim_bridge.service.writes import WriteLocks
from scim_bridge.service.writes import role_key
from scim_bridge.service.writes import team_key
from scim_bridge.service.writes import user_key
from scim_bridge.store import index
from scim_bridge.store import keyset
from scim_bridge.store import order
from scim_bridge.store.keyset import KeysetPage
from scim_bridge.store.order import Position
from scim_bridge.store.records import GroupRecord
from scim_bridge.store.records import Membership
from scim_bridge.store.records import Suspension
from scim_bridge.store.records import UserRecord
from scim_bridge.store.sqlutil import normalize_json
from scim_bridge.store.store import Store

log = logging.getLogger(__name__)

TEAM_NAME_RE = re.compile(r"^[A-Za-z0-9 _.-]+$")
MAX_TEAM_NAME = 100
MAX_DESCRIPTION = 200
OWNER = "owner"

# A membership change of more than this many users goes upstream as one roster PATCH (+ one check
# GET); smaller ones as one call per member. Measured: docs/groups-strategy.md.
ROSTER_THRESHOLD = 2
# Up to this many member ids unknown to the mirror are checked one GET each; more are checked
# against one paged listing of the upstream users.
MEMBER_LOOKUPS = 20
# Key, in a team's bridge-held ``scim`` data, of the member ids its last SCIM write left it with: what the
# IdP last pushed, which the operator console compares with the mirror to show drift.
PUSHED_MEMBERS = "pushed_members"

NewResource = Callable[[dict[str, Any]], dict[str, Any]]
# user id -> user_name, for the users the mirror holds.
Known = dict[str, str]


@dataclass(frozen=True)
class RoleGroup:
    """A role group (or an alias of one), as the bridge presents it."""

    id: str
    display_name: str
    role: str
    created: Any
    last_modified: Any


class GroupService:
    def __init__(self, directory: Directory, store: Store, settings: Settings, sync: SyncService, *,
                 locks: WriteLocks | None = None) -> None:
        self.directory = directory
        self.store = store
        self.settings = settings
        self.sync = sync
        # Membership changes larger than this go upstream as one roster update.
        self.roster_threshold = ROSTER_THRESHOLD
        # Shared with the user service (see web.app).
        self.locks = locks or WriteLocks(store, wait_budget=settings.upstream_wait_budget,
                                         lease_ttl=settings.write_lease_ttl)
        self.ledger = SuspensionLedger(store)

    # --- role groups -------------------------------------------------------------------------
    def _role_groups(self) -> list[RoleGroup]:
        self.sync.ensure_initial()
        groups: list[RoleGroup] = []
        by_role: dict[str, GroupRecord] = {}
        for record in self.store.list_groups("role"):
            role = str(record.upstream.get("name", record.display_name[len(ROLE_PREFIX) :]))
            by_role[role.lower()] = record
            groups.append(RoleGroup(record.id, record.display_name, role, record.created, record.last_modified))
        for alias, role in sorted(self.settings.role_group_aliases.items()):
            target = by_role.get(role.lower())
            if target is None:
                continue
            groups.append(
                RoleGroup(alias_group_id(alias), alias, str(target.upstream.get("name", role)), target.created,
                          target.last_modified)
            )
        return groups

    def _role_group(self, group_id: str) -> RoleGroup | None:
        return next((g for g in self._role_groups() if g.id == group_id), None)

    def _role_group_named(self, name: str) -> RoleGroup | None:
        lowered = name.lower()
        return next((g for g in self._role_groups() if g.display_name.lower() == lowered), None)

    def _role_view(self) -> dict[str, tuple[str, Any]]:
        """id -> (user name, snapshot) of every user, with the role that counts for role groups: a suspended
        user holds the suspended role upstream but belongs to the role group of the role it gets back (the
        one its ``roles`` shows and role-group changes set)."""
        # Only the role is read from the snapshot: at 100,000 users whole snapshots would take hundreds of MB.
        users: dict[str, tuple[str, Any]] = {uid: (name, {"role": role})
                                             for uid, (name, role) in self.store.user_roles().items()}
        for uid, held in self.store.all_suspensions().items():
            if uid in users:
                name, upstream = users[uid]
                users[uid] = (name, {**(upstream or {}), "role": held.role})
        return users

    def _role_holders(self, role: str, users: dict[str, tuple[str, Any]] | None = None) -> list[MemberView]:
        lowered = role.lower()
        users = self._role_view() if users is None else users
        return sorted(
            ((uid, name) for uid, (name, upstream) in users.items()
             if str((upstream or {}).get("role", "")).lower() == lowered),
            key=lambda member: (member[1].lower(), member[0]),
        )

    # --- reading ---------------------------------------------------------------------------------
    def get(self, ctx: RequestContext, group_id: str, *, want_members: bool = True) -> dict[str, Any]:
        if group_id.startswith(ROLE_ID_PREFIX):
            role_group = self._role_group(group_id)
            if role_group is None:
                raise errors.NotFound(f"Group {group_id} not found")
            return self._render_role(ctx, role_group, want_members)
        self.sync.ensure_initial()
        if not self.settings.read_through:
            found = self._mirrored_document(ctx, group_id, want_members)
            if found is None:
                raise errors.NotFound(f"Group {group_id} not found")
            return found
        try:
            with upstream_errors():
                team = self.directory.get_team(group_id)
        except errors.NotFound:
            self._forget(group_id)
            raise errors.NotFound(f"Group {group_id} not found") from None
        known = self._known([m.user_id for m in team.members or ()])
        record = self._remember(team, known)
        return self._render_team(ctx, record, self._upstream_members(team, known), want_members)

    def _forget(self, group_id: str) -> None:
        record = self.store.get_group(group_id)
        if record is not None and record.kind == "team":
            self.store.delete_group(group_id)

    def _known(self, user_ids: Sequence[str]) -> Known:
        """The user names of those users the mirror holds."""
        return self.store.user_names(user_ids)

    def _remember(self, team: DirectoryTeam, known: Known | None = None) -> GroupRecord:
        """Write an upstream snapshot of a team (with its roster, when it has one) into the mirror."""
        record = self.store.get_group(team.id)
        upstream = {"id": team.id, "name": team.name, "description": team.description}
        if record is None:
            stale = self.store.get_group_by_name("team", team.name)
            if stale is not None and stale.id != team.id:
                self.store.delete_group(stale.id)  # a team of that name was deleted and made again
            stamp = now()
            record = GroupRecord(
                id=team.id, kind="team", display_name=team.name, external_id=None, upstream=upstream, scim={},
                members_known=team.members is not None, created=stamp, last_modified=stamp, version=1,
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
            known = self._known([m.user_id for m in members])
        wanted = [Membership(team_id, m.user_id, m.role or "user") for m in members if m.user_id in known]
        record = self.store.get_group(team_id)
        if record is not None and record.members_known and set(wanted) == set(self.store.members_of(team_id)):
            return record  # the mirror already holds this roster: no write
        return self.store.set_members(team_id, wanted)

    def _upstream_members(self, team: DirectoryTeam, known: Known | None = None) -> list[MemberView]:
        members = team.members or ()
        if known is None:
            known = self._known([m.user_id for m in members])
        return sorted((m.user_id, known.get(m.user_id) or m.username) for m in members)

    def _mirrored_document(self, ctx: RequestContext, group_id: str, want_members: bool,
                           record: GroupRecord | None = None) -> dict[str, Any] | None:
        """The team as the search index holds it (one query; every store write keeps it in step); rendered from
        the mirror's record when the index lacks it; None when the mirror holds no such team."""
        document = self.store.indexed_documents(GROUP, [group_id]).get(group_id)
        if document is None:
            record = record or self.store.get_group(group_id)
            if record is None or record.kind != "team":
                return None
            return self._render_team(ctx, record, self._mirror_members(record.id), want_members)
        resource = ctx.absolute(document)
        if not want_members:
            resource.pop("members", None)
        return resource

    def _mirror_members(self, group_id: str) -> list[MemberView]:
        members = self.store.members_of(group_id)
        users = self._known([m.user_id for m in members])
        return [(m.user_id, users.get(m.user_id, "")) for m in members]

    def search(self, ctx: RequestContext, node: FilterNode | None, *, want_members: bool) -> list[dict[str, Any]]:
        """Groups matching ``node``. Only equality on displayName or id reads the upstream (one call);
        everything else is answered from the mirror."""
        lookup = simple_equality(node) if node is not None else None
        if lookup is not None and lookup[0].dotted().lower() == "displayname":
            return self._by_name(ctx, lookup[1], want_members)
        if lookup is not None and lookup[0].dotted().lower() == "id":
            try:
                return [self.get(ctx, lookup[1], want_members=want_members)]
            except errors.NotFound:
                return []
        self.sync.ensure_initial()
        teams = self.store.list_groups("team")
        rosters = self.store.members_for_groups([t.id for t in teams])
        users = self._role_view()
        names = {uid: name for uid, (name, _) in users.items()}
        resources = [
            self._render_team(ctx, t, [(m.user_id, names.get(m.user_id, "")) for m in rosters.get(t.id, [])],
                              want_members or node is not None)
            for t in teams
        ]
        resources += [self._render_role(ctx, g, want_members or node is not None, users)
                      for g in self._role_groups()]
        found = [r for r in resources if node is None or matches(node, r)]
        if not want_members:
            for resource in found:
                resource.pop("members", None)
        return found

    def search_page(
        self,
        ctx: RequestContext,
        node: FilterNode | None,
        *,
        want_members: bool,
        sort_by: AttributePath | None,
        descending: bool,
        start_index: int,
        count: int,
    ) -> tuple[int, list[dict[str, Any]]]:
        """(totalResults, the page) of the groups matching ``node``, sorted and paged.

        Equality on displayName or id reads the upstream (one call) as :meth:`search` does. Everything else
        reads the search index for teams and renders the (few) role groups, merged in one order: without
        ``sort_by`` teams (oldest first) then role groups; with it, by the sort value (a role group after
        teams of equal value). Nothing is rendered beyond the page.
        """
        lookup = simple_equality(node) if node is not None else None
        if lookup is not None and lookup[0].dotted().lower() in ("displayname", "id"):
            found = sort_resources(self.search(ctx, node, want_members=want_members), sort_by, descending)
            page, total = paginate(found, start_index, count)
            return total, page
        self.sync.ensure_initial()
        roles, role_groups, users = self._matching_roles(node, sort_by, descending)
        offset = max(start_index, 1) - 1
        if sort_by is None:
            teams = self.store.search_index(GROUP, node, start_index=offset + 1, count=count)
            team_total = teams.total
            skip = max(0, offset - team_total)
            page = teams.resources + roles[skip: skip + max(0, count - len(teams.resources))]
        else:
            first = max(0, offset - len(roles))
            teams = self.store.search_index(GROUP, node, sort_by=sort_by, descending=descending,
                                            start_index=first + 1, count=count + offset - first)
            team_total = teams.total
            base, rest = first, roles
            if first > 0 and teams.resources:
                head = teams.resources[0]
                before = [r for r in roles if _sorts_before(r, head, sort_by, descending)]
                base, rest = first + len(before), [r for r in roles if r not in before]
            merged = _merge(teams.resources, rest, sort_by, descending)
            page = merged[offset - base: offset - base + count] if count > 0 else []
        return team_total + len(roles), self._finished(ctx, page, role_groups, users, want_members)

    def keyset_page(
        self,
        ctx: RequestContext,
        node: FilterNode | None,
        *,
        want_members: bool,
        sort_by: AttributePath | None,
        descending: bool,
        after: tuple[str, ...] | None,
        backward: bool,
        count: int,
    ) -> KeysetPage | None:
        """The groups following (``backward``: preceding) the position ``after`` (None: from the start), for
        cursor paging, in the order of :meth:`search_page`; None when this query pages by offset (a look-up
        by displayName or id, or a sortBy without keyset order). Teams are read from the index by position;
        role groups (not indexed) get positions in the same order (see :func:`_role_position`)."""
        lookup = simple_equality(node) if node is not None else None
        if lookup is not None and lookup[0].dotted().lower() in ("displayname", "id"):
            return None
        path = keyset.order_path(GROUP, sort_by)
        if path is None or (after is not None and len(after) != len(Position._fields)):
            return None
        self.sync.ensure_initial()
        roles, role_groups, users = self._matching_roles(node, sort_by, descending)
        position = Position(*after) if after is not None else None
        teams = self.store.keyset_page(GROUP, node, sort_by=sort_by, descending=descending, after=position,
                                       count=count, backward=backward)
        if teams is None:
            return None
        placed = [(_role_position(role_groups[doc["id"]], doc, path), doc) for doc in roles]
        page = keyset.merge_rows(teams, placed, after=position, descending=descending, backward=backward,
                                 count=count)
        return replace(page, resources=self._finished(ctx, page.resources, role_groups, users, want_members))

    def _matching_roles(
        self, node: FilterNode | None, sort_by: AttributePath | None, descending: bool
    ) -> tuple[list[dict[str, Any]], dict[str, RoleGroup], dict[str, tuple[str, Any]] | None]:
        """The role groups matching ``node``, sorted (rendered without members unless the filter or the sort
        reads them), the role groups by id, and the role view when it was needed."""
        by_members = (node is not None and mentions(node, "members")) or (
            sort_by is not None and sort_by.attribute.name == "members")
        users = self._role_view() if by_members else None
        role_groups = {g.id: g for g in self._role_groups()}
        roles = [self._role_document(g, True, users) if by_members else self._role_document_lazy(g)
                 for g in role_groups.values()]
        return sort_resources([r for r in roles if node is None or matches(node, r)], sort_by, descending), \
            role_groups, users

    def _finished(self, ctx: RequestContext, page: list[dict[str, Any]], role_groups: dict[str, RoleGroup],
                  users: dict[str, tuple[str, Any]] | None, want_members: bool) -> list[dict[str, Any]]:
        """The page's documents as served: role groups rendered with their roster, members dropped unless
        wanted, absolute URLs."""
        out: list[dict[str, Any]] = []
        for doc in page:
            if doc["id"] in role_groups and "version" not in doc["meta"]:  # rendered without its roster
                if users is None:
                    users = self._role_view()
                doc = self._role_document(role_groups[doc["id"]], True, users)
            if not want_members:
                doc.pop("members", None)
            out.append(ctx.absolute(doc))
        return out

    def _role_document_lazy(self, group: RoleGroup) -> dict[str, Any]:
        """A role group without its members, for filters and sorts that do not look at them."""
        doc = self._role_document(group, False, {})
        doc["meta"].pop("version", None)
        return doc

    def _by_name(self, ctx: RequestContext, name: str, want_members: bool) -> list[dict[str, Any]]:
        role_group = self._role_group_named(name)
        if role_group is not None:
            return [self._render_role(ctx, role_group, want_members)]
        if not self.settings.read_through:
            self.sync.ensure_initial()
            record = self.store.get_group_by_name("team", name)
            found = None if record is None else self._mirrored_document(ctx, record.id, want_members, record)
            return [] if found is None else [found]
        if not TEAM_NAME_RE.match(name) or len(name) > MAX_TEAM_NAME:
            return []  # cannot be an OpsGenie team name: no upstream call needed
        with upstream_errors():
            team = self.directory.find_team(name)
        if team is None or team.name.lower() != name.lower():
            stale = self.store.get_group_by_name("team", name)
            if stale is not None:
                self.store.delete_group(stale.id)
            return []
        known = self._known([m.user_id for m in team.members or ()])
        record = self._remember(team, known)
        return [self._render_team(ctx, record, self._upstream_members(team, known), want_members)]

    def _render_team(
        self, ctx: RequestContext, record: GroupRecord, members: list[MemberView], want_members: bool
    ) -> dict[str, Any]:
        """The SCIM resource. Its version always covers the roster, so it does not depend on whether
        the members are shown."""
        resource = ctx.absolute(team_document(record, members))
        if not want_members:
            del resource["members"]
        return resource

    def _render_role(self, ctx: RequestContext, group: RoleGroup, want_members: bool,
                     users: dict[str, tuple[str, Any]] | None = None) -> dict[str, Any]:
        return ctx.absolute(self._role_document(group, want_members, users))

    def _role_document(self, group: RoleGroup, want_members: bool,
                       users: dict[str, tuple[str, Any]] | None = None) -> dict[str, Any]:
        """A role group with relative URLs; its version always covers the roster (the role holders)."""
        resource: dict[str, Any] = {"schemas": [CORE_GROUP, OPSGENIE_GROUP], "id": group.id,
                                    "displayName": group.display_name}
        resource["members"] = [member_entry(uid, name) for uid, name in self._role_holders(group.role, users)]
        resource[OPSGENIE_GROUP] = {"kind": "role", "description": f"Users holding the OpsGenie role {group.role}"}
        add_meta(resource, resource_type="Group", location=relative("/Groups", group.id),
                 created=group.created, last_modified=group.last_modified)
        if not want_members:
            del resource["members"]
        return resource

    # --- creating ------------------------------------------------------------------------------
    def create(self, ctx: RequestContext, resource: dict[str, Any]) -> dict[str, Any]:
        name = str(resource.get("displayName") or "")
        self._refuse_role_name(name, "role groups cannot be created, link to it instead")
        validate_team_name(name)
        description = _description(resource)
        member_ids = _member_ids(resource.get("members"), strict=True)
        known = self._check_users(member_ids)
        self._check_name_free(name, None)
        with self.locks.hold(*(user_key(uid) for uid in member_ids)):
            return self._create(ctx, resource, name, description, member_ids, known)

    def _create(self, ctx: RequestContext, resource: dict[str, Any], name: str, description: str,
                member_ids: list[str], known: Known) -> dict[str, Any]:
        # A suspended member joins at reactivation: the team goes into its suspension record.
        suspended = self.store.suspensions_for(member_ids) if member_ids else {}
        members = [TeamMember(user_id=uid, role="user") for uid in member_ids if uid not in suspended]
        with upstream_errors():
            team_id = self.directory.create_team(name, description, members)
        for uid in suspended:
            self.ledger.hold_team(uid, team_id)
        stamp = now()
        record = self.store.upsert_group(
            GroupRecord(
                id=team_id, kind="team", display_name=name, external_id=resource.get("externalId"),
                upstream={"id": team_id, "name": name, "description": description},
                scim={PUSHED_MEMBERS: [m.user_id for m in members]}, members_known=True, created=stamp,
                last_modified=stamp, version=1,
            )
        )
        record = self._mirror_roster(team_id, members, known)
        created = DirectoryTeam(id=team_id, name=name, description=description, members=tuple(members))
        return self._render_team(ctx, record, self._upstream_members(created, known), True)

    def _refuse_role_name(self, name: str, hint: str) -> None:
        """409 for the name of a role group (or anything in the role: namespace)."""
        role_group = self._role_group_named(name)
        if role_group is not None or name.lower().startswith(ROLE_PREFIX):
            where = f" (id {role_group.id})" if role_group else ""
            raise errors.Uniqueness(f"{name!r} is an OpsGenie role group{where}: {hint}")

    def _check_name_free(self, name: str, team_id: str | None) -> None:
        """409 when another team has the name, looked up upstream (one call)."""
        if self.settings.read_through:
            with upstream_errors():
                other = self.directory.find_team(name)
            other_id = other.id if other is not None and other.name.lower() == name.lower() else None
        else:
            record = self.store.get_group_by_name("team", name)
            other_id = record.id if record is not None else None
        if other_id is not None and other_id != team_id:
            raise errors.Uniqueness(f"A group named {name!r} already exists (id {other_id})")

    def _check_users(self, user_ids: Sequence[str]) -> Known:
        """400 naming every id that is not an existing user; nothing upstream is written. Returns
        what the mirror knows of them."""
        if not user_ids:
            return {}
        known = self._known(user_ids)
        self._users_upstream([uid for uid in user_ids if uid not in known])
        return known

    def _users_upstream(self, user_ids: Sequence[str]) -> dict[str, DirectoryUser]:
        """The upstream users behind ids the mirror does not hold, or a 400 naming every id that is no user
        (nothing upstream is written)."""
        found = self._look_up_users([uid for uid in user_ids if not uid.startswith(ROLE_ID_PREFIX)])
        unknown = [uid for uid in user_ids if uid not in found]
        if unknown:
            raise errors.InvalidValue(
                "No user with id " + ", ".join(sorted(unknown)) + ": unknown member(s), nothing was changed"
            )
        return found

    def _users_gone(self, user_ids: Sequence[str]) -> list[str]:
        """Those of ``user_ids`` the upstream has no user for."""
        found = self._look_up_users(user_ids)
        return [uid for uid in user_ids if uid not in found]

    def _look_up_users(self, user_ids: Sequence[str]) -> dict[str, DirectoryUser]:
        """{id: upstream user} for those of ``user_ids`` that are users upstream: one look-up each for a few,
        else one list of all users."""
        if len(user_ids) > MEMBER_LOOKUPS:
            wanted = set(user_ids)
            with upstream_errors():
                return {u.id: u for u in self.directory.iter_users() if u.id in wanted}
        found: dict[str, DirectoryUser] = {}
        for uid in user_ids:
            try:
                with upstream_errors():
                    upstream = self.directory.get_user(uid, with_contacts=False)
            except errors.NotFound:
                continue
            if upstream.id == uid:  # a user name would also find the user: only ids count
                found[uid] = upstream
        return found

    # --- replacing and patching -----------------------------------------------------------------
    def replace(self, ctx: RequestContext, group_id: str, body: dict[str, Any],
                if_match: str | None = None) -> dict[str, Any]:
        _member_ids(body.get("members"), strict=True)

        def new_of(current: dict[str, Any]) -> dict[str, Any]:
            new = copy.deepcopy(body)
            new["id"] = group_id
            new.setdefault("members", [])
            keep_own_extension(new, current, OPSGENIE_GROUP)
            return new

        return self.patch(ctx, group_id, new_of, if_match)

    def patch(self, ctx: RequestContext, group_id: str, new_of: NewResource,
              if_match: str | None = None) -> dict[str, Any]:
        """``new_of(current)`` is the wanted resource; the difference is written upstream."""
        if group_id.startswith(ROLE_ID_PREFIX):
            return self._patch_role(ctx, group_id, new_of, if_match)
        self.sync.ensure_initial()
        with self.locks.hold(team_key(group_id)):
            return self._patch_team(ctx, group_id, new_of, if_match)

    def _patch_team(self, ctx: RequestContext, group_id: str, new_of: NewResource,
                    if_match: str | None) -> dict[str, Any]:
        if not self.settings.read_through:
            mirrored = self._mirrored_team(group_id)
            if mirrored is not None:
                # The mirror's roster stands for the upstream one: no read before the write. Adding a member
                # already there or removing one already gone succeeds (the directory makes both idempotent);
                # a team deleted in OpsGenie answers 404: then it is read, forgotten, and the client gets 404.
                try:
                    return self._apply_team_patch(ctx, mirrored[0], new_of, if_match, mirrored[1])
                except errors.NotFound:
                    log.info("group %s: the mirror was behind OpsGenie, reading the team", group_id)
        try:
            with upstream_errors():
                team = self.directory.get_team(group_id)
        except errors.NotFound:
            self._forget(group_id)
            raise errors.NotFound(f"Group {group_id} not found") from None
        return self._apply_team_patch(ctx, team, new_of, if_match)

    def _mirrored_team(self, group_id: str) -> tuple[DirectoryTeam, GroupRecord] | None:
        """The team as the mirror holds it (and its record), when it holds its roster."""
        record = self.store.get_group(group_id)
        if record is None or record.kind != "team" or not record.members_known:
            return None
        members = tuple(TeamMember(m.user_id, role=m.role or "user") for m in self.store.members_of(group_id))
        team = DirectoryTeam(id=group_id, name=str(record.upstream.get("name", record.display_name)),
                             description=str(record.upstream.get("description") or ""), members=members)
        return team, record

    def _apply_team_patch(self, ctx: RequestContext, team: DirectoryTeam, new_of: NewResource,
                          if_match: str | None, mirrored: GroupRecord | None = None) -> dict[str, Any]:
        """Write the difference between ``team`` and what ``new_of`` wants. ``mirrored``: the mirror's record
        ``team`` was read from (nothing to remember then); else ``team`` was just read upstream."""
        group_id = team.id
        known = self._known([m.user_id for m in team.members or ()])
        record = mirrored if mirrored is not None else self._remember(team, known)
        current = self._render_team(ctx, record, self._upstream_members(team, known), True)
        require_version(if_match, current)
        # Suspended users left their teams upstream; their suspension records the teams reactivation gives
        # back. The operations see those users as members, so that removing one (or a replace without it)
        # takes the team out of what reactivation restores, and adding a suspended user records the team
        # there instead of putting the user in it while suspended.
        suspensions = self.store.all_suspensions()
        pending = {uid: s for uid, s in suspensions.items() if any(t.get("id") == group_id for t in s.teams)}
        view = current
        if pending:
            names = self._known(list(pending))
            view = {**current, "members": [*(current.get("members") or []),
                                           *(member_entry(uid, names.get(uid, "")) for uid in sorted(pending))]}
        new = new_of(view)
        name = str(new.get("displayName") or "")
        if name != team.name:
            self._refuse_role_name(name, "a team cannot take the name of a role group")
        validate_team_name(name)
        description = _description(new)
        roster = {m.user_id: m.role or "user" for m in team.members or ()}
        new_ids = _member_ids(new.get("members"), strict=True)
        wanted = set(new_ids)
        joining = [uid for uid in new_ids if uid not in roster]
        known.update(self._check_users([uid for uid in joining if uid not in suspensions]))
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
        with self.locks.hold(*(user_key(uid) for uid in [*joining, *pending])):
            held = self.store.suspensions_for([*joining, *pending])
            to_add = [uid for uid in joining if uid not in held]
            to_remove = sorted(uid for uid in roster if uid not in wanted)
            pending_add = [uid for uid in joining if uid in held]
            pending_drop = sorted(uid for uid in pending if uid in held and uid not in wanted)
            known.update(self._check_users([uid for uid in to_add if uid in suspensions]))
            members = self._write_team(team, roster, to_add, to_remove, changes)
            for uid in pending_add:
                self.ledger.hold_team(uid, group_id)
            for uid in pending_drop:
                self.ledger.drop_team(uid, group_id)
            record = self.store.upsert_group(
                replace(record, display_name=name, external_id=new.get("externalId"),
                        upstream={"id": group_id, "name": name, "description": description},
                        scim={**record.scim, PUSHED_MEMBERS: [m.user_id for m in members]})
            )
            record = self._mirror_roster(group_id, members, known)
        final = DirectoryTeam(id=group_id, name=name, description=description, members=tuple(members))
        return self._render_team(ctx, record, self._upstream_members(final, known), True)

    def _write_team(self, team: DirectoryTeam, roster: dict[str, str], to_add: Sequence[str],
                    to_remove: Sequence[str], changes: dict[str, Any]) -> list[TeamMember]:
        """Write the rename, description and member changes upstream, all or nothing: when a call fails, the
        calls made are undone (newest first) and the mirror keeps the roster the team had. Returns the
        resulting roster."""
        undo = Compensation()
        try:
            with upstream_errors():
                if len(to_add) + len(to_remove) > self.roster_threshold:
                    return self._write_roster(team, roster, to_add, to_remove, changes, undo)
                if changes:
                    self.directory.update_team(team.id, **changes)
                    undo.add(f"restore the name of team {team.id}", partial(
                        self.directory.update_team, team.id, **{key: getattr(team, key) for key in changes}))
                return self._write_members(team.id, roster, to_add, to_remove, undo)
        except Exception as failure:
            undo.rollback()
            self._mirror_roster(team.id, [TeamMember(uid, role=role) for uid, role in roster.items()])
            if isinstance(failure, (errors.NotFound, errors.InvalidValue)):
                # A user to add may have been deleted in OpsGenie since the mirror saw it (the team's 404 and
                # the user's look the same): then say which user is gone, and forget it.
                gone = self._users_gone(to_add)
                for uid in gone:
                    if self.store.get_user(uid) is not None:
                        self.store.delete_user(uid)
                if gone:
                    raise errors.InvalidValue("No user with id " + ", ".join(sorted(gone))
                                              + ": deleted in OpsGenie, nothing was changed") from None
            raise

    def _write_members(self, team_id: str, roster: dict[str, str], to_add: Sequence[str],
                       to_remove: Sequence[str], undo: Compensation) -> list[TeamMember]:
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

    def _write_roster(self, team: DirectoryTeam, roster: dict[str, str], to_add: Sequence[str],
                      to_remove: Sequence[str], changes: dict[str, Any], undo: Compensation) -> list[TeamMember]:
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
        return self._write_members(team.id, present, missing, lingering, undo)

    # --- role groups: writing ---------------------------------------------------------------------
    def _patch_role(self, ctx: RequestContext, group_id: str, new_of: NewResource,
                    if_match: str | None) -> dict[str, Any]:
        group = self._role_group(group_id)
        if group is None:
            raise errors.NotFound(f"Group {group_id} not found")
        with self.locks.hold(role_key(group.role)):
            return self._apply_role_patch(ctx, group, new_of, if_match)

    def _apply_role_patch(self, ctx: RequestContext, group: RoleGroup, new_of: NewResource,
                          if_match: str | None) -> dict[str, Any]:
        current = self._render_role(ctx, group, want_members=True)
        require_version(if_match, current)
        new = new_of(current)
        if str(new.get("displayName") or "").lower() != group.display_name.lower():
            raise errors.Mutability(f"Role groups cannot be renamed: {group.display_name!r} is an OpsGenie role")
        old_ids = _member_ids(current.get("members"))
        new_ids = _member_ids(new.get("members"), strict=True)
        to_add = [uid for uid in new_ids if uid not in set(old_ids)]
        to_remove = sorted(set(old_ids) - set(new_ids))
        if to_add or to_remove:
            ctx.require("roles", "changing the members of a role group")
        if group.role.lower() == OWNER:
            if to_add or to_remove:
                raise owner_refused(f"{group.display_name} is read-only")
            return current
        if to_remove and group.role.lower() == self.settings.default_role.lower():
            # Leaving a role group gives the default role: leaving the default role's group cannot be done.
            raise errors.Mutability(
                f"{group.display_name} is the group of the default role (SCIM_BRIDGE_DEFAULT_ROLE={group.role}): "
                "a user leaves it by joining another role group; nothing was changed"
            )
        known = self.store.get_users(to_add)
        for upstream in self._users_upstream([uid for uid in to_add if uid not in known]).values():
            remember_user(self.store, upstream)  # a user made outside the bridge
        default = self.settings.default_role
        changes = [*((uid, group.role) for uid in to_add), *((uid, default) for uid in to_remove)]
        with self.locks.hold(*(user_key(uid) for uid, _ in changes)):
            records = self.store.get_users([uid for uid, _ in changes])  # read again under the users' locks
            for uid in to_add:
                if uid in records and str(records[uid].upstream.get("role", "")).lower() == OWNER:
                    raise owner_refused(f"User {uid} is an Owner")
            self._set_roles(changes, records, self.store.suspensions_for([uid for uid, _ in changes]))
        return self._render_role(ctx, self._role_group(group.id) or group, want_members=True)

    def _set_roles(self, changes: list[tuple[str, str]], records: dict[str, UserRecord],
                   suspended: dict[str, Suspension]) -> None:
        """Give each user of ``changes`` its role, all or nothing: upstream first (a failed call undoes the
        ones made before it), then the mirror. A suspended user gets the role at reactivation."""
        undo = Compensation()
        written: list[tuple[UserRecord, str]] = []
        with undo.applying(), upstream_errors():
            for uid, role in changes:
                user = records.get(uid)
                held = str(user.upstream.get("role", "")) if user is not None else ""
                if uid in suspended or held.lower() == role.lower():
                    continue  # suspended: the ledger below; already holds it: no call
                self.directory.update_user(uid, UserFields(role=role))
                if user is not None:
                    undo.add(f"give user {uid} back the role {held}",
                             partial(self.directory.update_user, uid, UserFields(role=held)))
                    written.append((user, role))
        for uid, role in changes:
            if uid in suspended:
                self.ledger.set_role(uid, role)
        for user, role in written:
            upstream = {**user.upstream, "role": role, "role_id": role_id_of(self.store, role)}
            self.store.upsert_user(replace(user, upstream=upstream))

    # --- deleting ---------------------------------------------------------------------------------
    def delete(self, ctx: RequestContext, group_id: str, if_match: str | None = None) -> None:
        if group_id.startswith(ROLE_ID_PREFIX):
            if self._role_group(group_id) is None:
                raise errors.NotFound(f"Group {group_id} not found")
            raise errors.Mutability("Role groups cannot be deleted: they are the OpsGenie roles")
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
                if known is None or known.kind != "team":
                    raise errors.NotFound(f"Group {group_id} not found") from None
            self.store.delete_group(group_id)


def _sorts_before(a: dict[str, Any], b: dict[str, Any], sort_by: AttributePath, descending: bool) -> bool:
    """Whether ``a`` comes strictly before ``b`` in the sort order (ties: neither)."""
    ka, kb = sort_key(a, sort_by), sort_key(b, sort_by)
    try:
        return bool(ka > kb) if descending else bool(ka < kb)
    except TypeError:  # values of different types: compare their text
        return str(ka) > str(kb) if descending else str(ka) < str(kb)


def _role_position(group: RoleGroup, document: dict[str, Any], path: str) -> Position:
    """Where a role group stands in the keyset order ``path`` of the teams: its sort value as the index
    keeps it, and a tie key after every team's (``order.tie_key`` starts with "a" or "b"), role groups in
    the order of :meth:`GroupService._role_groups` (by creation, then aliases by name)."""
    value = "" if path == order.DEFAULT_ORDER else order.value_key(index.order_value(GROUP, document, path))
    if group.id.startswith(ALIAS_ID_PREFIX):
        return Position(value, f"d{group.display_name}|{group.id}")
    return Position(value, "c" + order.tie_key(group.created, group.id))


def _merge(teams: list[dict[str, Any]], roles: list[dict[str, Any]], sort_by: AttributePath,
           descending: bool) -> list[dict[str, Any]]:
    """Teams (in the index's order) and sorted role groups in one order; a role group goes after teams
    that sort equal to it."""
    merged: list[dict[str, Any]] = []
    i = 0
    for team in teams:
        while i < len(roles) and _sorts_before(roles[i], team, sort_by, descending):
            merged.append(roles[i])
            i += 1
        merged.append(team)
    return merged + roles[i:]


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


def _member_ids(members: Any, *, strict: bool = False) -> list[str]:
    """Member user ids in order, without repeats. ``strict``: 400 for a member without a value or
    of another type than User."""
    ids: list[str] = []
    seen: set[str] = set()
    for item in members or []:
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(value, str) or not value:
            if strict:
                raise errors.InvalidValue("Every member needs a 'value' holding a User id")
            continue
        kind = item.get("type")
        if strict and kind is not None and str(kind).lower() != "user":
            raise errors.InvalidValue(f"Member {value!r} has type {kind!r}: only Users can be members")
        if value not in seen:
            seen.add(value)
            ids.append(value)
    return ids


__all__ = ["PUSHED_MEMBERS", "GroupService", "role_group_id", "role_group_name", "validate_team_name"]
