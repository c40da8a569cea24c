"""Role groups as SCIM Groups: their documents (the holders of the role are the members) and their writes.

A PATCH of a role group changes the roles of the users joining (the group's role) and leaving (the default
role), each through the catalogue's ``set_role``, all or nothing: a failed call gives back the roles given
before it, newest first. A suspended user gets the role at reactivation (the suspension ledger).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from scim_bridge.directory.models import DirectoryUser
from scim_bridge.scim import errors
from scim_bridge.scim.schema import CORE_GROUP
from scim_bridge.scim.schema import OPSGENIE_GROUP
from scim_bridge.scim.versions import require_version
from scim_bridge.service.context import RequestContext
from scim_bridge.service.context import add_meta
from scim_bridge.service.context import relative
from scim_bridge.service.documents import member_entry
from scim_bridge.service.errors import owner_refused
from scim_bridge.service.errors import upstream_errors
from scim_bridge.service.members import GroupParts
from scim_bridge.service.members import NewResource
from scim_bridge.service.members import member_ids
from scim_bridge.service.roles import RoleGroup
from scim_bridge.service.roles import RoleView
from scim_bridge.service.roles import is_owner
from scim_bridge.service.writes import Compensation
from scim_bridge.service.writes import role_key
from scim_bridge.service.writes import user_key
from scim_bridge.store.records import GroupKind
from scim_bridge.store.records import Suspension
from scim_bridge.store.records import UserRecord


class RoleGroupService(GroupParts):

    # --- documents -----------------------------------------------------------------------------
    def render(self, ctx: RequestContext, group: RoleGroup, want_members: bool,
               users: RoleView | None = None) -> dict[str, Any]:
        return ctx.absolute(self.document(group, want_members, users))

    def document(self, group: RoleGroup, want_members: bool, users: RoleView | None = None) -> dict[str, Any]:
        """A role group with relative URLs; its version always covers the roster (the role holders)."""
        resource: dict[str, Any] = {"schemas": [CORE_GROUP, OPSGENIE_GROUP], "id": group.id,
                                    "displayName": group.display_name}
        resource["members"] = [member_entry(uid, name) for uid, name in self.catalogue.holders(group.role, users)]
        resource[OPSGENIE_GROUP] = {"kind": GroupKind.ROLE.value,
                                    "description": f"Users holding the OpsGenie role {group.role}"}
        add_meta(resource, resource_type="Group", location=relative("/Groups", group.id),
                 created=group.created, last_modified=group.last_modified)
        if not want_members:
            del resource["members"]
        return resource

    def document_lazy(self, group: RoleGroup) -> dict[str, Any]:
        """A role group without its members, for filters and sorts that do not look at them."""
        doc = self.document(group, False, {})
        doc["meta"].pop("version", None)
        return doc

    def get(self, ctx: RequestContext, group_id: str, want_members: bool) -> dict[str, Any]:
        group = self.catalogue.group(group_id)
        if group is None:
            raise errors.NotFound(f"Group {group_id} not found")
        return self.render(ctx, group, want_members)

    # --- writing -------------------------------------------------------------------------------
    def delete(self, group_id: str) -> None:
        if self.catalogue.group(group_id) is None:
            raise errors.NotFound(f"Group {group_id} not found")
        raise errors.Mutability("Role groups cannot be deleted: they are the OpsGenie roles")

    def patch(self, ctx: RequestContext, group_id: str, new_of: NewResource, if_match: str | None) -> dict[str, Any]:
        group = self.catalogue.group(group_id)
        if group is None:
            raise errors.NotFound(f"Group {group_id} not found")
        with self.locks.hold(role_key(group.role)):
            return self._apply_patch(ctx, group, new_of, if_match)

    def _apply_patch(self, ctx: RequestContext, group: RoleGroup, new_of: NewResource,
                     if_match: str | None) -> dict[str, Any]:
        current = self.render(ctx, group, want_members=True)
        require_version(if_match, current)
        result = new_of(current)
        new = result.resource
        if str(new.get("displayName") or "").lower() != group.display_name.lower():
            raise errors.Mutability(f"Role groups cannot be renamed: {group.display_name!r} is an OpsGenie role")
        member_ids(new.get("members"), strict=True)  # every member has a value and is a User
        # The users joining take the group's role, those leaving the default role: the request's change record.
        to_add = result.values_added("members")
        to_remove = sorted(result.values_removed("members"))
        if to_add or to_remove:
            ctx.require("roles", "changing the members of a role group")
        if is_owner(group.role):
            if to_add or to_remove:
                raise owner_refused(f"{group.display_name} is read-only")
            return current
        if to_remove and group.role.lower() == self.settings.default_role.lower():
            # Leaving a role group gives the default role: leaving the default role's group cannot be done.
            raise errors.Mutability(
                f"{group.display_name} is the group of the default role (SCIM_BRIDGE_DEFAULT_ROLE={group.role}): "
                "a user leaves it by joining another role group; nothing was changed"
            )
        self.members.remember_missing(to_add)
        default = self.settings.default_role
        changes = [*((uid, group.role) for uid in to_add), *((uid, default) for uid in to_remove)]
        with self.locks.hold(*(user_key(uid) for uid, _ in changes)):
            records = self.store.get_users([uid for uid, _ in changes])  # read again under the users' locks
            for uid in to_add:
                if uid in records and is_owner(str(records[uid].upstream.get("role", ""))):
                    raise owner_refused(f"User {uid} is an Owner")
            try:
                self._set_roles(changes, records, self.store.suspensions_for([uid for uid, _ in changes]))
            except (errors.Forbidden, errors.InvalidValue) as refused:  # an Owner promoted in OpsGenie?
                owner = None if self.settings.read_through else self.mirror.owner_among([u for u, _ in changes])
                if owner is not None:
                    raise owner_refused(f"User {owner} is an Owner") from refused
                raise
        return self.render(ctx, self.catalogue.group(group.id) or group, want_members=True)

    def _set_roles(self, changes: list[tuple[str, str]], records: dict[str, UserRecord],
                   suspended: dict[str, Suspension]) -> None:
        """Give each user of ``changes`` its role, all or nothing: upstream first through ``set_role`` (a
        failed call gives back the roles given before it, newest first), then the mirror. A suspended user
        gets the role at reactivation: the ledger notes it. The mirror's changes are one store transaction."""
        undo = Compensation()
        written: list[tuple[UserRecord, DirectoryUser]] = []
        with undo.applying(), upstream_errors():
            for uid, role in changes:
                if uid in suspended:
                    continue
                record = records.get(uid)
                # Only the role counts here: the user's other fields are neither written nor kept from this.
                before = (DirectoryUser(uid, record.user_name, "", str(record.upstream.get("role") or ""),
                                        record.upstream.get("role_id")) if record is not None
                          else self.directory.get_user(uid, with_contacts=False))
                after = self.catalogue.set_role(before, role, undo)
                if record is not None and after.role != before.role:
                    written.append((record, after))
        held = [(uid, role) for uid, role in changes if uid in suspended]
        if not held and not written:
            return
        # Upstream is written; the mirror changes in one transaction, and a failure there undoes the roles given.
        with undo.applying(), self.store.transaction():
            for uid, role in held:
                self.ledger.set_role(uid, role)
            for record, after in written:
                upstream = {**record.upstream, "role": after.role, "role_id": after.role_id}
                self.store.upsert_user(replace(record, upstream=upstream))
