"""The role catalogue: the upstream roles, the role groups (and their aliases) that present them as SCIM
Groups, the ids of the roles, the Owner guard, and ``set_role``, the one way a user's role changes upstream
(role-group writes and user writes alike).

Role group names and ids are made in service/naming.py; documents and PATCH of role groups live in
service/role_groups.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace
from functools import partial
from typing import Any

from scim_bridge.config import Settings
from scim_bridge.directory.base import Directory
from scim_bridge.directory.models import DirectoryUser
from scim_bridge.directory.models import UserFields
from scim_bridge.scim import errors
from scim_bridge.service.errors import upstream_errors
from scim_bridge.service.naming import ROLE_PREFIX
from scim_bridge.service.naming import alias_group_id
from scim_bridge.service.naming import role_group_name
from scim_bridge.service.sync import SyncService
from scim_bridge.service.writes import Compensation
from scim_bridge.store.records import GroupKind
from scim_bridge.store.records import GroupRecord
from scim_bridge.store.store import Store

OWNER = "owner"

# id -> (user name, {"role": the role that counts for role groups}) of every user.
RoleView = dict[str, tuple[str, Any]]
# (user id, user name) of one member, as documents list them.
Holder = tuple[str, str]


def is_owner(role: str | None) -> bool:
    """Whether ``role`` is OpsGenie's Owner role, which the bridge neither grants nor takes away."""
    return (role or "").lower() == OWNER


@dataclass(frozen=True)
class RoleGroup:
    """A role group (or an alias of one), as the bridge presents it."""

    id: str
    display_name: str
    role: str
    created: Any
    last_modified: Any


def role_id_of(store: Store, role: str) -> str | None:
    """The upstream id of ``role``, as its role group in the mirror holds it (None when unknown)."""
    group = store.get_group_by_name(GroupKind.ROLE, role_group_name(role))
    if group is not None and group.upstream.get("id"):
        return str(group.upstream["id"])
    return None


def learn_role_id(store: Store, upstream: DirectoryUser) -> None:
    """Keep the id of the user's role on its role group when the mirror lacked it (OpsGenie may list the
    built-in roles without ids): a role change written by the bridge then shows the real ``roleId``."""
    if not upstream.role or not upstream.role_id:
        return
    group = store.get_group_by_name(GroupKind.ROLE, role_group_name(upstream.role))
    if group is not None and not group.upstream.get("id"):
        store.upsert_group(replace(group, upstream={**group.upstream, "id": upstream.role_id}))


class RoleCatalogue:
    """What the bridge knows of the upstream roles, and the one way a user's role is changed."""

    def __init__(self, directory: Directory, store: Store, settings: Settings, sync: SyncService) -> None:
        self.directory = directory
        self.store = store
        self.settings = settings
        self.sync = sync

    # --- roles ---------------------------------------------------------------------------------
    def known_role(self, role: str) -> str:
        """The role's exact upstream name; 400 when no such role exists (checked before any write)."""
        self.sync.ensure_initial()
        for attempt in range(2):
            group = self.store.get_group_by_name(GroupKind.ROLE, role_group_name(role))
            if group is not None and group.upstream.get("name"):
                return str(group.upstream["name"])
            if attempt == 0:
                with upstream_errors():
                    self.sync.refresh_roles()
        raise errors.InvalidValue(f"OpsGenie has no role named {role!r}")

    def role_id(self, role: str) -> str | None:
        return role_id_of(self.store, role)

    def with_role_id(self, user: DirectoryUser) -> DirectoryUser:
        """``user`` with the id of its role filled in from the catalogue when the snapshot lacks it."""
        if user.role_id or not user.role:
            return user
        found = self.role_id(user.role)
        return user if found is None else replace(user, role_id=found)

    def set_role(self, user: DirectoryUser, role: str, undo: Compensation) -> DirectoryUser:
        """Give ``user`` the role ``role`` upstream (no call when it holds it already), noting in ``undo`` how to
        give the old one back. Returns the user as it then is, ``role_id`` filled in. The caller holds the
        user's write lock and has applied the Owner guard; a suspended user's role is the ledger's business."""
        if user.role.lower() == role.lower():
            return self.with_role_id(user)
        before = user.role
        self.directory.update_user(user.id, UserFields(role=role))
        undo.add(f"give user {user.id} back the role {before}",
                 partial(self.directory.update_user, user.id, UserFields(role=before)))
        return self.with_role_id(replace(user, role=role, role_id=None))

    # --- role groups ---------------------------------------------------------------------------
    def groups(self) -> list[RoleGroup]:
        """Every role group, then every alias (SCIM_BRIDGE_ROLE_GROUPS) whose role exists."""
        self.sync.ensure_initial()
        groups: list[RoleGroup] = []
        by_role: dict[str, GroupRecord] = {}
        for record in self.store.list_groups(GroupKind.ROLE):
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

    def group(self, group_id: str) -> RoleGroup | None:
        return next((g for g in self.groups() if g.id == group_id), None)

    def group_named(self, name: str) -> RoleGroup | None:
        lowered = name.lower()
        return next((g for g in self.groups() if g.display_name.lower() == lowered), None)

    def refuse_name(self, name: str, hint: str) -> None:
        """409 for the name of a role group (or anything in the role: namespace): no team may take it."""
        role_group = self.group_named(name)
        if role_group is not None or name.lower().startswith(ROLE_PREFIX):
            where = f" (id {role_group.id})" if role_group else ""
            raise errors.Uniqueness(f"{name!r} is an OpsGenie role group{where}: {hint}")

    def role_view(self) -> RoleView:
        """id -> (user name, snapshot) of every user, with the role that counts for role groups: a suspended
        user holds the suspended role upstream but belongs to the role group of the role it gets back (the
        one its ``roles`` shows and role-group changes set)."""
        # Only the role is read from the snapshot: at 100,000 users whole snapshots would take hundreds of MB.
        users: RoleView = {uid: (name, {"role": role}) for uid, (name, role) in self.store.user_roles().items()}
        for uid, held in self.store.all_suspensions().items():
            if uid in users:
                name, upstream = users[uid]
                users[uid] = (name, {**(upstream or {}), "role": held.role})
        return users

    def holders(self, role: str, users: RoleView | None = None) -> list[Holder]:
        """(id, user name) of the users holding ``role``, by user name."""
        lowered = role.lower()
        users = self.role_view() if users is None else users
        return sorted(
            ((uid, name) for uid, (name, upstream) in users.items()
             if str((upstream or {}).get("role", "")).lower() == lowered),
            key=lambda member: (member[1].lower(), member[0]),
        )


__all__ = ["OWNER", "RoleCatalogue", "RoleGroup", "RoleView", "is_owner", "learn_role_id", "role_id_of"]
