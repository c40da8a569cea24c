"""SCIM Groups: OpsGenie teams, and OpsGenie roles as groups named role:<RoleName>."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import replace
from typing import Any

from scim_bridge.config import Settings
from scim_bridge.directory import errors as d
from scim_bridge.directory.base import Directory
from scim_bridge.directory.models import DirectoryTeam
from scim_bridge.directory.models import TeamMember
from scim_bridge.directory.models import UserFields
from scim_bridge.scim import errors
from scim_bridge.scim.filters import FilterNode
from scim_bridge.scim.filters import matches
from scim_bridge.scim.filters import simple_equality
from scim_bridge.scim.schema import CORE_GROUP
from scim_bridge.scim.schema import OPSGENIE_GROUP
from scim_bridge.service.context import RequestContext
from scim_bridge.service.context import add_meta
from scim_bridge.service.context import now
from scim_bridge.service.errors import upstream_errors
from scim_bridge.service.naming import ROLE_ID_PREFIX
from scim_bridge.service.naming import ROLE_PREFIX
from scim_bridge.service.naming import role_group_id
from scim_bridge.service.naming import role_group_name
from scim_bridge.service.sync import SyncService
from scim_bridge.service.users import etag_matches
from scim_bridge.store.records import GroupRecord
from scim_bridge.store.records import Membership
from scim_bridge.store.store import Store

TEAM_NAME_RE = re.compile(r"^[A-Za-z0-9 _.-]+$")
MAX_TEAM_NAME = 100
MAX_DESCRIPTION = 200
ALIAS_ID_PREFIX = ROLE_ID_PREFIX + "alias-"

NewResource = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class RoleGroup:
    """A role group (or an alias of one), as the bridge presents it."""

    id: str
    display_name: str
    role: str
    created: Any
    last_modified: Any


class GroupService:
    def __init__(self, directory: Directory, store: Store, settings: Settings, sync: SyncService) -> None:
        self.directory = directory
        self.store = store
        self.settings = settings
        self.sync = sync

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
            slug = re.sub(r"[^a-z0-9]+", "-", alias.lower()).strip("-")
            groups.append(
                RoleGroup(ALIAS_ID_PREFIX + slug, alias, str(target.upstream.get("name", role)), target.created,
                          target.last_modified)
            )
        return groups

    def _role_group(self, group_id: str) -> RoleGroup | None:
        return next((g for g in self._role_groups() if g.id == group_id), None)

    def _role_group_named(self, name: str) -> RoleGroup | None:
        lowered = name.lower()
        return next((g for g in self._role_groups() if g.display_name.lower() == lowered), None)

    def _role_holders(self, role: str) -> list[tuple[str, str]]:
        lowered = role.lower()
        return [
            (u.id, u.user_name)
            for u in self.store.list_users()
            if str(u.upstream.get("role", "")).lower() == lowered
        ]

    # --- reading ---------------------------------------------------------------------------------
    def get(self, ctx: RequestContext, group_id: str, *, want_members: bool = True) -> dict[str, Any]:
        if group_id.startswith(ROLE_ID_PREFIX):
            role_group = self._role_group(group_id)
            if role_group is None:
                raise errors.NotFound(f"Group {group_id} not found")
            return self._render_role(ctx, role_group, want_members)
        record = self._fresh_team(group_id, want_members)
        if record is None:
            raise errors.NotFound(f"Group {group_id} not found")
        return self._render_team(ctx, record, self.store.members_of(group_id) if want_members else None)

    def _fresh_team(self, team_id: str, want_members: bool) -> GroupRecord | None:
        if not self.settings.read_through and not want_members:
            return self.store.get_group(team_id)
        try:
            with upstream_errors():
                team = self.directory.get_team(team_id)
        except errors.NotFound:
            if self.store.get_group(team_id) is not None:
                self.store.delete_group(team_id)
            return None
        return self._remember(team)

    def _remember(self, team: DirectoryTeam) -> GroupRecord:
        record = self.store.get_group(team.id)
        upstream = {"id": team.id, "name": team.name, "description": team.description}
        if record is None:
            stamp = now()
            record = GroupRecord(
                id=team.id, kind="team", display_name=team.name, external_id=None, upstream=upstream, scim={},
                members_known=team.members is not None, created=stamp, last_modified=stamp, version=1,
            )
        else:
            record = replace(record, display_name=team.name, upstream=upstream,
                             members_known=record.members_known or team.members is not None)
        record = self.store.upsert_group(record)
        if team.members is not None:
            known = {m.user_id for m in team.members if self.store.get_user(m.user_id) is not None}
            self.store.set_members(
                team.id,
                [Membership(group_id=team.id, user_id=m.user_id, role=m.role) for m in team.members
                 if m.user_id in known],
            )
        return record

    def search(self, ctx: RequestContext, node: FilterNode | None, *, want_members: bool) -> list[dict[str, Any]]:
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
        members = self.store.members_for_groups([t.id for t in teams]) if want_members else {}
        names = {u.id: u.user_name for u in self.store.list_users()} if want_members else {}
        resources = [
            self._render_team(ctx, t, members.get(t.id, []) if want_members else None, names) for t in teams
        ]
        resources += [self._render_role(ctx, g, want_members) for g in self._role_groups()]
        return [r for r in resources if node is None or matches(node, r)]

    def _by_name(self, ctx: RequestContext, name: str, want_members: bool) -> list[dict[str, Any]]:
        role_group = self._role_group_named(name)
        if role_group is not None:
            return [self._render_role(ctx, role_group, want_members)]
        if not self.settings.read_through:
            self.sync.ensure_initial()
            record = self.store.get_group_by_name("team", name)
            if record is None:
                return []
            return [self._render_team(ctx, record, self.store.members_of(record.id) if want_members else None)]
        if not TEAM_NAME_RE.match(name) or len(name) > MAX_TEAM_NAME:
            return []  # cannot be an OpsGenie team name: no upstream call needed
        with upstream_errors():
            team = self.directory.find_team(name)
        if team is None or team.name.lower() != name.lower():
            stale = self.store.get_group_by_name("team", name)
            if stale is not None:
                self.store.delete_group(stale.id)
            return []
        record = self._remember(team)
        return [self._render_team(ctx, record, self.store.members_of(record.id) if want_members else None)]

    def _render_team(
        self,
        ctx: RequestContext,
        record: GroupRecord,
        members: list[Membership] | None,
        names: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        resource: dict[str, Any] = {"schemas": [CORE_GROUP, OPSGENIE_GROUP], "id": record.id}
        if record.external_id:
            resource["externalId"] = record.external_id
        resource["displayName"] = record.display_name
        if members is not None:
            resource["members"] = [self._member(ctx, m.user_id, names) for m in members]
        ext: dict[str, Any] = {"kind": "team"}
        if record.upstream.get("description"):
            ext["description"] = record.upstream["description"]
        resource[OPSGENIE_GROUP] = ext
        return add_meta(resource, resource_type="Group", location=ctx.location("/Groups", record.id),
                        created=record.created, last_modified=record.last_modified)

    def _member(self, ctx: RequestContext, user_id: str, names: dict[str, str] | None) -> dict[str, Any]:
        if names is not None:
            display = names.get(user_id, "")
        else:
            user = self.store.get_user(user_id)
            display = user.user_name if user else ""
        return {"value": user_id, "display": display, "$ref": ctx.location("/Users", user_id), "type": "User"}

    def _render_role(self, ctx: RequestContext, group: RoleGroup, want_members: bool) -> dict[str, Any]:
        resource: dict[str, Any] = {"schemas": [CORE_GROUP, OPSGENIE_GROUP], "id": group.id,
                                    "displayName": group.display_name}
        if want_members:
            resource["members"] = [
                {"value": uid, "display": name, "$ref": ctx.location("/Users", uid), "type": "User"}
                for uid, name in self._role_holders(group.role)
            ]
        resource[OPSGENIE_GROUP] = {"kind": "role", "description": f"Users holding the OpsGenie role {group.role}"}
        return add_meta(resource, resource_type="Group", location=ctx.location("/Groups", group.id),
                        created=group.created, last_modified=group.last_modified)

    # --- writing -------------------------------------------------------------------------------
    def create(self, ctx: RequestContext, resource: dict[str, Any]) -> dict[str, Any]:
        name = str(resource["displayName"])
        role_group = self._role_group_named(name)
        if role_group is not None or name.lower().startswith(ROLE_PREFIX):
            where = f" (id {role_group.id})" if role_group else ""
            raise errors.Uniqueness(
                f"{name!r} is an OpsGenie role group{where}: role groups cannot be created, link to it instead"
            )
        validate_team_name(name)
        description = _description(resource)
        existing = self.store.get_group_by_name("team", name)
        if existing is not None and self._fresh_team(existing.id, want_members=False) is not None:
            raise errors.Uniqueness(f"A group named {name!r} already exists (id {existing.id})")
        member_ids = self._validated_members(resource.get("members"))
        with upstream_errors():
            team_id = self.directory.create_team(
                name, description, [TeamMember(user_id=uid, role="user") for uid in member_ids]
            )
        stamp = now()
        record = self.store.upsert_group(
            GroupRecord(
                id=team_id, kind="team", display_name=name, external_id=resource.get("externalId"),
                upstream={"id": team_id, "name": name, "description": description}, scim={},
                members_known=True, created=stamp, last_modified=stamp, version=1,
            )
        )
        self.store.set_members(team_id, [Membership(team_id, uid, "user") for uid in member_ids])
        return self._render_team(ctx, record, self.store.members_of(team_id))

    def _validated_members(self, members: Any) -> list[str]:
        """Member user ids, all known to exist; otherwise a 400 naming the unknown ones."""
        ids: list[str] = []
        for item in members or []:
            value = item.get("value") if isinstance(item, dict) else None
            if not isinstance(value, str) or not value:
                raise errors.InvalidValue("Every member needs a 'value' holding a User id")
            kind = item.get("type")
            if kind is not None and str(kind).lower() != "user":
                raise errors.InvalidValue(f"Member {value!r} has type {kind!r}: only Users can be members")
            if value not in ids:
                ids.append(value)
        unknown = [uid for uid in ids if not self._user_exists(uid)]
        if unknown:
            raise errors.InvalidValue("Unknown member id(s), nothing was changed: " + ", ".join(unknown))
        return ids

    def _user_exists(self, user_id: str) -> bool:
        if self.store.get_user(user_id) is not None:
            return True
        if user_id.startswith(ROLE_ID_PREFIX):
            return False
        try:
            with upstream_errors():
                upstream = self.directory.get_user(user_id, with_contacts=False)
        except errors.NotFound:
            return False
        return upstream.id == user_id

    def replace(self, ctx: RequestContext, group_id: str, body: dict[str, Any],
                if_match: str | None = None) -> dict[str, Any]:
        def new_of(current: dict[str, Any]) -> dict[str, Any]:
            new = copy.deepcopy(body)
            new["id"] = group_id
            new.setdefault("members", [])
            return new

        return self.patch(ctx, group_id, new_of, if_match)

    def patch(self, ctx: RequestContext, group_id: str, new_of: NewResource,
              if_match: str | None = None) -> dict[str, Any]:
        if group_id.startswith(ROLE_ID_PREFIX):
            return self._patch_role(ctx, group_id, new_of, if_match)
        with upstream_errors():
            try:
                team = self.directory.get_team(group_id)
            except d.NotFoundError:
                if self.store.get_group(group_id) is not None:
                    self.store.delete_group(group_id)
                raise
        record = self._remember(team)
        current = self._render_team(ctx, record, self.store.members_of(group_id))
        _check_version(if_match, current)
        upstream_members = {m.user_id: m.role for m in team.members or ()}
        new = new_of(current)
        name = str(new.get("displayName") or "")
        validate_team_name(name)
        description = _description(new)
        old_ids = set(upstream_members)
        new_ids = _member_ids(new.get("members"))
        to_add = [uid for uid in new_ids if uid not in old_ids]
        to_remove = sorted(old_ids - set(new_ids))
        self._validated_members([{"value": uid} for uid in to_add])
        if name != record.display_name:
            other = self.store.get_group_by_name("team", name)
            if (other is not None and other.id != group_id) or self._role_group_named(name) is not None:
                raise errors.Uniqueness(f"A group named {name!r} already exists")
        with upstream_errors():
            changes: dict[str, Any] = {}
            if name != record.display_name:
                changes["name"] = name
            if description != str(record.upstream.get("description") or ""):
                changes["description"] = description
            if changes:
                self.directory.update_team(group_id, **changes)
            for uid in to_add:
                self.directory.add_team_member(group_id, uid, "user")
                self.store.add_members(group_id, [Membership(group_id, uid, "user")])
            for uid in to_remove:
                self.directory.remove_team_member(group_id, uid)
                self.store.remove_members(group_id, [uid])
        record = self.store.upsert_group(
            replace(record, display_name=name, external_id=new.get("externalId"),
                    upstream={"id": group_id, "name": name, "description": description})
        )
        return self._render_team(ctx, record, self.store.members_of(group_id))

    def _patch_role(self, ctx: RequestContext, group_id: str, new_of: NewResource,
                    if_match: str | None) -> dict[str, Any]:
        group = self._role_group(group_id)
        if group is None:
            raise errors.NotFound(f"Group {group_id} not found")
        current = self._render_role(ctx, group, want_members=True)
        _check_version(if_match, current)
        new = new_of(current)
        if str(new.get("displayName") or "") != group.display_name:
            raise errors.Mutability("Role groups cannot be renamed")
        if group.role.lower() == "owner":
            if _member_ids(new.get("members")) != _member_ids(current.get("members")):
                raise errors.Mutability("The Owner role group is read-only")
            return current
        old_ids = set(_member_ids(current.get("members")))
        new_ids = _member_ids(new.get("members"))
        to_add = [uid for uid in new_ids if uid not in old_ids]
        to_remove = sorted(old_ids - set(new_ids))
        self._validated_members([{"value": uid} for uid in to_add])
        for uid in to_add:
            user = self.store.get_user(uid)
            if user is not None and str(user.upstream.get("role", "")).lower() == "owner":
                raise errors.Mutability(f"User {uid} is an Owner: Owners are never moved to another role")
        default = self.settings.default_role
        with upstream_errors():
            for uid in to_add:
                self._set_role(uid, group.role)
            for uid in to_remove:
                self._set_role(uid, default)
        return self._render_role(ctx, self._role_group(group_id) or group, want_members=True)

    def _set_role(self, user_id: str, role: str) -> None:
        user = self.store.get_user(user_id)
        suspension = self.store.get_suspension(user_id)
        if suspension is not None:
            # A suspended user gets the role back when reactivated.
            self.store.put_suspension(replace(suspension, role=role))
            return
        self.directory.update_user(user_id, UserFields(role=role))
        if user is not None:
            upstream = dict(user.upstream)
            upstream["role"] = role
            upstream["role_id"] = None
            self.store.upsert_user(replace(user, upstream=upstream))

    def delete(self, ctx: RequestContext, group_id: str, if_match: str | None = None) -> None:
        if group_id.startswith(ROLE_ID_PREFIX):
            if self._role_group(group_id) is None:
                raise errors.NotFound(f"Group {group_id} not found")
            raise errors.Mutability("Role groups cannot be deleted: they are the OpsGenie roles")
        if if_match is not None:
            current = self.get(ctx, group_id, want_members=True)
            _check_version(if_match, current)
        with upstream_errors():
            try:
                self.directory.delete_team(group_id)
            except d.NotFoundError:
                if self.store.get_group(group_id) is None:
                    raise
        self.store.delete_group(group_id)


def validate_team_name(name: str) -> None:
    if not name.strip():
        raise errors.InvalidValue("displayName is required")
    if len(name) > MAX_TEAM_NAME:
        raise errors.InvalidValue(f"displayName must be at most {MAX_TEAM_NAME} characters (OpsGenie team name)")
    if not TEAM_NAME_RE.match(name):
        raise errors.InvalidValue(
            "displayName may contain only letters, digits, spaces, '_', '.' and '-' (OpsGenie team names)"
        )


def _description(resource: dict[str, Any]) -> str:
    ext = resource.get(OPSGENIE_GROUP) or {}
    description = ext.get("description") if isinstance(ext, dict) else None
    text = "" if description is None else str(description)
    if len(text) > MAX_DESCRIPTION:
        raise errors.InvalidValue(f"description must be at most {MAX_DESCRIPTION} characters (OpsGenie limit)")
    return text


def _member_ids(members: Any) -> list[str]:
    ids: list[str] = []
    for item in members or []:
        value = item.get("value") if isinstance(item, dict) else None
        if isinstance(value, str) and value and value not in ids:
            ids.append(value)
    return ids


def _check_version(if_match: str | None, current: dict[str, Any]) -> None:
    if if_match is not None and not etag_matches(if_match, current["meta"]["version"]):
        raise errors.PreconditionFailed(f"Group {current['id']} has changed: its version is "
                                        f"{current['meta']['version']}")


__all__ = ["GroupService", "role_group_id", "role_group_name", "validate_team_name"]
