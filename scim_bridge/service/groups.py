"""SCIM Groups: OpsGenie teams, and OpsGenie roles as groups named role:<RoleName>.

A thin facade: each request goes to the room of its kind of group (``GroupKind``) — teams
(service/teams.py, roster strategies in service/rosters.py) or role groups (service/role_groups.py, over
the role catalogue of service/roles.py) — and listings merge both kinds in one order.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from scim_bridge.config import Settings
from scim_bridge.directory.base import Directory
from scim_bridge.scim import errors
from scim_bridge.scim.filters import FilterNode
from scim_bridge.scim.filters import matches
from scim_bridge.scim.filters import mentions
from scim_bridge.scim.filters import simple_equality
from scim_bridge.scim.listing import paginate
from scim_bridge.scim.listing import sort_key
from scim_bridge.scim.listing import sort_resources
from scim_bridge.scim.patch import PatchResult
from scim_bridge.scim.patch import ValueChanges
from scim_bridge.scim.patch import value_changes
from scim_bridge.scim.patch.result import changed_paths
from scim_bridge.scim.payloads import keep_own_extension
from scim_bridge.scim.schema import GROUP
from scim_bridge.scim.schema import GROUP_SCHEMA
from scim_bridge.scim.schema import OPSGENIE_GROUP
from scim_bridge.scim.schema import AttributePath
from scim_bridge.service.context import RequestContext
from scim_bridge.service.members import NewResource
from scim_bridge.service.members import member_ids
from scim_bridge.service.mirror import MirrorGateway
from scim_bridge.service.naming import ALIAS_ID_PREFIX
from scim_bridge.service.naming import is_role_group_id
from scim_bridge.service.role_groups import RoleGroupService
from scim_bridge.service.roles import RoleCatalogue
from scim_bridge.service.roles import RoleGroup
from scim_bridge.service.roles import RoleView
from scim_bridge.service.suspensions import SuspensionLedger
from scim_bridge.service.sync import SyncService
from scim_bridge.service.teams import TeamService
from scim_bridge.service.writes import WriteLocks
from scim_bridge.store import index
from scim_bridge.store import keyset
from scim_bridge.store import order
from scim_bridge.store.keyset import KeysetPage
from scim_bridge.store.order import Position
from scim_bridge.store.records import GroupKind
from scim_bridge.store.store import Store


def kind_of(group_id: str) -> GroupKind:
    """The kind of group an id names: role group ids are made by the bridge (service/naming.py)."""
    return GroupKind.ROLE if is_role_group_id(group_id) else GroupKind.TEAM


class GroupService:
    def __init__(self, directory: Directory, store: Store, settings: Settings, sync: SyncService, *,
                 locks: WriteLocks | None = None, mirror: MirrorGateway | None = None,
                 ledger: SuspensionLedger | None = None, catalogue: RoleCatalogue | None = None) -> None:
        self.directory = directory
        self.store = store
        self.settings = settings
        self.sync = sync
        # Shared with the user service (see web.app).
        self.locks = locks or WriteLocks(store, wait_budget=settings.upstream_wait_budget,
                                         lease_ttl=settings.write_lease_ttl)
        # Shared with the user service (see bootstrap): one ledger and one role catalogue per process.
        self.ledger = ledger or SuspensionLedger(store)
        self.catalogue = catalogue or RoleCatalogue(directory, store, settings, sync)
        mirror = mirror or MirrorGateway(directory, store, settings)
        self.roles = RoleGroupService(directory, store, settings, sync, catalogue=self.catalogue, locks=self.locks,
                                      ledger=self.ledger, mirror=mirror)
        self.teams = TeamService(directory, store, settings, sync, catalogue=self.catalogue, locks=self.locks,
                                 ledger=self.ledger, mirror=mirror)

    @property
    def roster_threshold(self) -> int:
        """Team membership changes larger than this go upstream as one roster update (service/rosters.py)."""
        return self.teams.rosters.threshold

    @roster_threshold.setter
    def roster_threshold(self, value: int) -> None:
        self.teams.rosters.threshold = value

    # --- reading ---------------------------------------------------------------------------------
    def get(self, ctx: RequestContext, group_id: str, *, want_members: bool = True) -> dict[str, Any]:
        if kind_of(group_id) is GroupKind.ROLE:
            return self.roles.get(ctx, group_id, want_members)
        return self.teams.get(ctx, group_id, want_members)

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
        teams = self.store.list_groups(GroupKind.TEAM)
        rosters = self.store.members_for_groups([t.id for t in teams])
        users = self.catalogue.role_view()
        names = {uid: name for uid, (name, _) in users.items()}
        resources = [
            self.teams.render(ctx, t, [(m.user_id, names.get(m.user_id, "")) for m in rosters.get(t.id, [])],
                              want_members or node is not None)
            for t in teams
        ]
        resources += [self.roles.render(ctx, g, want_members or node is not None, users)
                      for g in self.catalogue.groups()]
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
    ) -> tuple[list[dict[str, Any]], dict[str, RoleGroup], RoleView | None]:
        """The role groups matching ``node``, sorted (rendered without members unless the filter or the sort
        reads them), the role groups by id, and the role view when it was needed."""
        by_members = (node is not None and mentions(node, "members")) or (
            sort_by is not None and sort_by.attribute.name == "members")
        users = self.catalogue.role_view() if by_members else None
        role_groups = {g.id: g for g in self.catalogue.groups()}
        roles = [self.roles.document(g, True, users) if by_members else self.roles.document_lazy(g)
                 for g in role_groups.values()]
        return sort_resources([r for r in roles if node is None or matches(node, r)], sort_by, descending), \
            role_groups, users

    def _finished(self, ctx: RequestContext, page: list[dict[str, Any]], role_groups: dict[str, RoleGroup],
                  users: RoleView | None, want_members: bool) -> list[dict[str, Any]]:
        """The page's documents as served: role groups rendered with their roster, members dropped unless
        wanted, absolute URLs."""
        out: list[dict[str, Any]] = []
        for doc in page:
            if doc["id"] in role_groups and "version" not in doc["meta"]:  # rendered without its roster
                if users is None:
                    users = self.catalogue.role_view()
                doc = self.roles.document(role_groups[doc["id"]], True, users)
            if not want_members:
                doc.pop("members", None)
            out.append(ctx.absolute(doc))
        return out

    def _by_name(self, ctx: RequestContext, name: str, want_members: bool) -> list[dict[str, Any]]:
        role_group = self.catalogue.group_named(name)
        if role_group is not None:
            return [self.roles.render(ctx, role_group, want_members)]
        return self.teams.by_name(ctx, name, want_members)

    # --- writing ---------------------------------------------------------------------------------
    def create(self, ctx: RequestContext, resource: dict[str, Any]) -> dict[str, Any]:
        return self.teams.create(ctx, resource)  # role groups cannot be created (teams.create says so)

    def replace(self, ctx: RequestContext, group_id: str, body: dict[str, Any],
                if_match: str | None = None) -> dict[str, Any]:
        member_ids(body.get("members"), strict=True)

        def new_of(current: dict[str, Any]) -> PatchResult:
            new = copy.deepcopy(body)
            new["id"] = group_id
            new.setdefault("members", [])
            keep_own_extension(new, current, OPSGENIE_GROUP)
            # No operations to follow: the members added and removed are the two lists compared.
            changes = member_changes(current.get("members"), new["members"])
            return PatchResult(new, changed_paths(current, new, GROUP), {"members": changes} if changes else {})

        return self.patch(ctx, group_id, new_of, if_match)

    def patch(self, ctx: RequestContext, group_id: str, new_of: NewResource,
              if_match: str | None = None) -> dict[str, Any]:
        """``new_of(current)`` is the wanted resource; the difference is written upstream."""
        if kind_of(group_id) is GroupKind.ROLE:
            return self.roles.patch(ctx, group_id, new_of, if_match)
        return self.teams.patch(ctx, group_id, new_of, if_match)

    def delete(self, ctx: RequestContext, group_id: str, if_match: str | None = None) -> None:
        if kind_of(group_id) is GroupKind.ROLE:
            self.roles.delete(group_id)
        else:
            self.teams.delete(ctx, group_id, if_match)


def member_changes(before: Any, after: Any) -> ValueChanges:
    """The member ids a group's ``after`` members list adds to and removes from ``before`` (for a PUT)."""
    attribute = GROUP_SCHEMA.attribute("members")
    assert attribute is not None  # the Group schema has members
    return value_changes(attribute, before, after)


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
    the order of the role catalogue (by creation, then aliases by name)."""
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


__all__ = ["GroupService", "kind_of"]
