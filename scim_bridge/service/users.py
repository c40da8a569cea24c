"""SCIM Users on top of a Directory and the bridge's store."""

from __future__ import annotations

import contextlib
import copy
import logging
from dataclasses import replace
from typing import Any

from scim_bridge.config import Settings
from scim_bridge.directory import errors as d
from scim_bridge.directory.base import Directory
from scim_bridge.directory.models import Contact
from scim_bridge.directory.models import DirectoryUser
from scim_bridge.directory.models import UserFields
from scim_bridge.scim import errors
from scim_bridge.scim.filters import FilterNode
from scim_bridge.scim.filters import matches
from scim_bridge.scim.filters import simple_equality
from scim_bridge.service import user_mapping as um
from scim_bridge.service.context import RequestContext
from scim_bridge.service.context import add_meta
from scim_bridge.service.context import now
from scim_bridge.service.errors import upstream_errors
from scim_bridge.service.naming import role_group_id
from scim_bridge.service.naming import role_group_name
from scim_bridge.service.sync import SyncService
from scim_bridge.store.records import Membership
from scim_bridge.store.records import Suspension
from scim_bridge.store.records import UserRecord
from scim_bridge.store.store import Store

log = logging.getLogger(__name__)
OWNER = "owner"


class UserService:
    """Every SCIM User operation, turned into the fewest upstream calls that keep it correct."""

    def __init__(self, directory: Directory, store: Store, settings: Settings, sync: SyncService) -> None:
        self.directory = directory
        self.store = store
        self.settings = settings
        self.sync = sync

    # --- reading ---------------------------------------------------------------------------
    def get(self, ctx: RequestContext, user_id: str) -> dict[str, Any]:
        record = self._fresh_record(user_id)
        if record is None:
            raise errors.NotFound(f"User {user_id} not found")
        return self.render(ctx, record)

    def search(self, ctx: RequestContext, node: FilterNode | None) -> list[dict[str, Any]]:
        """All users matching ``node`` in a stable order (the caller sorts and pages)."""
        records = self._candidates(node)
        team_names = {g.id: g.display_name for g in self.store.list_groups("team")}
        memberships = self.store.memberships_for_users([r.id for r in records])
        resources = []
        for record in records:
            resource = self.render(ctx, record, memberships=memberships.get(record.id, []), team_names=team_names)
            if node is None or matches(node, resource):
                resources.append(resource)
        return resources

    def _candidates(self, node: FilterNode | None) -> list[UserRecord]:
        lookup = simple_equality(node) if node is not None else None
        if lookup is not None:
            path, value = lookup
            name = path.dotted().lower()
            if name == "username":
                record = self._fresh_by_username(value)
                return [record] if record else []
            if name == "id":
                record = self._fresh_record(value)
                return [record] if record else []
            if name == "externalid":
                self.sync.ensure_initial()
                return self.store.find_users_by_external_id(value)
        self.sync.ensure_initial()
        return self.store.list_users()

    def _fresh_record(self, user_id: str) -> UserRecord | None:
        """The store's record, refreshed from the upstream when read-through is on (one call)."""
        self.sync.ensure_initial()
        if not self.settings.read_through:
            return self.store.get_user(user_id)
        try:
            with upstream_errors():
                upstream = self.directory.get_user(user_id, with_contacts=True)
        except errors.NotFound:
            if self.store.get_user(user_id) is not None:
                self.store.delete_user(user_id)
            return None
        if upstream.id != user_id:
            return None  # the identifier matched a username, not an id
        return self._remember(upstream)

    def _fresh_by_username(self, user_name: str) -> UserRecord | None:
        self.sync.ensure_initial()
        if not self.settings.read_through:
            return self.store.get_user_by_username(user_name)
        if not um.EMAIL_RE.match(user_name) or len(user_name) > um.MAX_USERNAME:
            return None  # cannot be an OpsGenie username: no upstream call needed
        try:
            with upstream_errors():
                upstream = self.directory.get_user(user_name, with_contacts=True)
        except errors.NotFound:
            stale = self.store.get_user_by_username(user_name)
            if stale is not None:
                self.store.delete_user(stale.id)
            return None
        if upstream.username.lower() != user_name.lower():
            return None
        return self._remember(upstream)

    def _remember(self, upstream: DirectoryUser) -> UserRecord:
        """Write an upstream snapshot into the mirror, keeping what the bridge holds itself."""
        record = self.store.get_user(upstream.id)
        if record is None:
            stale = self.store.get_user_by_username(upstream.username)
            if stale is not None and stale.id != upstream.id:
                self.store.delete_user(stale.id)
            stamp = now()
            record = UserRecord(
                id=upstream.id,
                user_name=upstream.username,
                external_id=None,
                upstream=upstream.to_json(),
                scim={},
                created=stamp,
                last_modified=stamp,
                version=1,
            )
            return self.store.upsert_user(record)
        user_name = record.user_name
        if user_name.lower() != upstream.username.lower():
            user_name = upstream.username
        snapshot = upstream.to_json()
        if snapshot.get("contacts") is None:
            snapshot["contacts"] = record.upstream.get("contacts")
        return self.store.upsert_user(replace(record, user_name=user_name, upstream=snapshot))

    def render(
        self,
        ctx: RequestContext,
        record: UserRecord,
        *,
        memberships: list[Membership] | None = None,
        team_names: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        upstream = DirectoryUser.from_json(record.upstream)
        suspension = self.store.get_suspension(record.id)
        if memberships is None:
            memberships = self.store.groups_of(record.id)
        groups: list[dict[str, Any]] = []
        for membership in memberships:
            if team_names is not None:
                name = team_names.get(membership.group_id)
            else:
                group = self.store.get_group(membership.group_id)
                name = group.display_name if group and group.kind == "team" else None
            if name is None:
                continue
            groups.append(
                {
                    "value": membership.group_id,
                    "$ref": ctx.location("/Groups", membership.group_id),
                    "display": name,
                    "type": "direct",
                }
            )
        if upstream.role:
            gid = role_group_id(upstream.role)
            groups.append(
                {
                    "value": gid,
                    "$ref": ctx.location("/Groups", gid),
                    "display": role_group_name(upstream.role),
                    "type": "direct",
                }
            )
        resource = um.user_resource(
            upstream,
            user_name=record.user_name,
            external_id=record.external_id,
            kept=record.scim,
            active=suspension is None,
            groups=groups,
        )
        return add_meta(
            resource,
            resource_type="User",
            location=ctx.location("/Users", record.id),
            created=upstream.created_at or record.created,
            last_modified=record.last_modified,
        )

    # --- writing ---------------------------------------------------------------------------
    def create(self, ctx: RequestContext, resource: dict[str, Any]) -> dict[str, Any]:
        desired = um.desired_user(
            resource,
            default_role=self.settings.default_role,
            invitation_disabled=self.settings.invitation_disabled_default,
        )
        user_name = resource["userName"]
        existing = self._fresh_by_username(user_name) if self.settings.read_through else (
            self.store.get_user_by_username(user_name)
        )
        if existing is not None:
            raise errors.Uniqueness(f"A user with userName {user_name!r} already exists (id {existing.id})")
        if (desired.fields.role or "").lower() == OWNER:
            raise errors.Forbidden("The Owner role cannot be granted through the bridge")
        fields = replace(desired.fields, role=self._known_role(desired.fields.role or self.settings.default_role))
        with upstream_errors():
            user_id = self.directory.create_user(fields)
        try:
            with upstream_errors():
                for method, to in sorted(desired.phones):
                    self.directory.create_contact(user_id, method, to)
                upstream = self.directory.get_user(user_id, with_contacts=True)
        except errors.ScimError:
            self._undo_create(user_id)
            raise
        stamp = now()
        record = self.store.upsert_user(
            UserRecord(
                id=user_id,
                user_name=user_name,
                external_id=resource.get("externalId"),
                upstream=upstream.to_json(),
                scim=desired.kept,
                created=stamp,
                last_modified=stamp,
                version=1,
            )
        )
        if not desired.active:
            suspended = self._deactivate(record, upstream)
            if suspended is None:
                deleted = self.render(ctx, self._tombstone(user_id, user_name, resource, upstream))
                deleted["active"] = False
                return deleted
            record = suspended
        return self.render(ctx, record)

    def _tombstone(
        self, user_id: str, user_name: str, resource: dict[str, Any], upstream: DirectoryUser
    ) -> UserRecord:
        stamp = now()
        return UserRecord(
            id=user_id,
            user_name=user_name,
            external_id=resource.get("externalId"),
            upstream=upstream.to_json(),
            scim={},
            created=stamp,
            last_modified=stamp,
            version=1,
        )

    def _undo_create(self, user_id: str) -> None:
        try:
            self.directory.delete_user(user_id)
        except d.DirectoryError as exc:
            log.error("could not roll back the creation of user %s: %s", user_id, exc.message)

    def replace(
        self, ctx: RequestContext, user_id: str, resource: dict[str, Any], if_match: str | None = None
    ) -> dict[str, Any]:
        record, upstream, current = self._load_for_write(ctx, user_id, if_match)
        new = copy.deepcopy(resource)
        new["id"] = user_id
        if "active" not in new:
            new["active"] = current.get("active", True)
        if "roles" not in new:
            new["roles"] = current.get("roles", [])
        return self._write(ctx, record, upstream, current, new)

    def patch(
        self, ctx: RequestContext, user_id: str, new_resource_of: Any, if_match: str | None = None
    ) -> dict[str, Any]:
        """``new_resource_of(current)`` applies the PATCH operations to the current resource."""
        record, upstream, current = self._load_for_write(ctx, user_id, if_match)
        new = new_resource_of(current)
        return self._write(ctx, record, upstream, current, new)

    def delete(self, ctx: RequestContext, user_id: str, if_match: str | None = None) -> None:
        record, upstream, _ = self._load_for_write(ctx, user_id, if_match)
        if upstream.role.lower() == OWNER:
            raise errors.Forbidden("Owner accounts are never deleted through the bridge")
        with upstream_errors(), contextlib.suppress(d.NotFoundError):
            self.directory.delete_user(user_id)
        self.store.delete_user(record.id)

    def _load_for_write(
        self, ctx: RequestContext, user_id: str, if_match: str | None
    ) -> tuple[UserRecord, DirectoryUser, dict[str, Any]]:
        self.sync.ensure_initial()
        try:
            with upstream_errors():
                upstream = self.directory.get_user(user_id, with_contacts=True)
        except errors.NotFound:
            if self.store.get_user(user_id) is not None:
                self.store.delete_user(user_id)
            raise errors.NotFound(f"User {user_id} not found") from None
        if upstream.id != user_id:
            raise errors.NotFound(f"User {user_id} not found")
        record = self._remember(upstream)
        current = self.render(ctx, record)
        if if_match is not None and not etag_matches(if_match, current["meta"]["version"]):
            raise errors.PreconditionFailed(
                f"User {user_id} has changed: its version is {current['meta']['version']}"
            )
        return record, upstream, current

    def _write(
        self,
        ctx: RequestContext,
        record: UserRecord,
        upstream: DirectoryUser,
        current: dict[str, Any],
        new: dict[str, Any],
    ) -> dict[str, Any]:
        if new.get("name") != current.get("name") and new.get("displayName") == current.get("displayName") \
                and "displayName" not in record.scim:
            # The display name was derived from the structured name: derive it again.
            new = {k: v for k, v in new.items() if k != "displayName"}
        desired = um.desired_user(
            new, default_role=self.settings.default_role, invitation_disabled=False
        )
        if _roles_of(new) == _roles_of(current):
            # The role is only written when the client changed it: a PUT that omits or echoes
            # roles (or a suspended user's placeholder role) never demotes anyone.
            desired = replace(desired, fields=replace(desired.fields, role=None))
        was_active = current.get("active", True)
        is_owner = upstream.role.lower() == OWNER
        wanted_role = desired.fields.role or upstream.role
        if is_owner and (wanted_role.lower() != OWNER or not desired.active):
            raise errors.Forbidden("Owner accounts are never demoted, suspended or deleted through the bridge")
        if not is_owner and wanted_role.lower() == OWNER:
            raise errors.Forbidden("The Owner role cannot be granted through the bridge")
        new_name = new["userName"]
        if new_name.lower() != record.user_name.lower():
            other = self.store.get_user_by_username(new_name)
            if other is not None and other.id != record.id:
                raise errors.Uniqueness(f"A user with userName {new_name!r} already exists (id {other.id})")
        suspension = self.store.get_suspension(record.id)
        if not was_active and desired.active and suspension is not None:
            upstream = self._restore(record, upstream, suspension)
        fields = um.changed_fields(upstream, desired.fields)
        if fields.role is not None:
            fields = replace(fields, role=self._known_role(fields.role))
        if not desired.active and suspension is not None and fields.role is not None:
            self.store.put_suspension(replace(suspension, role=fields.role))
            fields = replace(fields, role=None)
        with upstream_errors():
            if not fields.is_empty():
                self.directory.update_user(record.id, fields)
            upstream = um.apply_fields(upstream, fields)
            upstream = self._sync_phones(record.id, upstream, desired.phones)
        record = self.store.upsert_user(
            replace(
                record,
                user_name=new_name,
                external_id=new.get("externalId"),
                upstream=upstream.to_json(),
                scim=desired.kept,
            )
        )
        if was_active and not desired.active:
            deactivated = self._deactivate(record, upstream)
            if deactivated is None:
                gone = self.render(ctx, record)
                gone["active"] = False
                return gone
            record = deactivated
        return self.render(ctx, record)

    def _sync_phones(
        self, user_id: str, upstream: DirectoryUser, wanted: frozenset[tuple[str, str]]
    ) -> DirectoryUser:
        have = um.phone_contacts(upstream.contacts)
        if set(have) == set(wanted):
            return upstream
        contacts: list[Contact] = [c for c in upstream.contacts or () if c.method not in ("sms", "voice")]
        for key, contact in have.items():
            if key in wanted:
                contacts.append(contact)
            else:
                self.directory.delete_contact(user_id, contact.id)
        for method, to in sorted(wanted - set(have)):
            contacts.append(self.directory.create_contact(user_id, method, to))
        return replace(upstream, contacts=tuple(contacts))

    def _known_role(self, role: str) -> str:
        """The role's exact upstream name; 400 when no such role exists (checked before any write)."""
        self.sync.ensure_initial()
        for attempt in range(2):
            for group in self.store.list_groups("role"):
                name = str(group.upstream.get("name", ""))
                if name.lower() == role.lower():
                    return name
            if attempt == 0:
                with upstream_errors():
                    self.sync.refresh_roles()
        raise errors.InvalidValue(f"OpsGenie has no role named {role!r}")

    # --- deactivation --------------------------------------------------------------------------
    def _deactivate(self, record: UserRecord, upstream: DirectoryUser) -> UserRecord | None:
        """Suspend (or delete, by configuration). Returns None when the user was deleted."""
        if self.settings.deactivation == "delete":
            with upstream_errors():
                self.directory.delete_user(record.id)
            self.store.delete_user(record.id)
            return None
        with upstream_errors():
            teams = {m.group_id: m.role or "user" for m in self.store.groups_of(record.id)}
            for ref in self.directory.user_teams(record.id):
                teams.setdefault(ref.id, "user")
            self.store.put_suspension(
                Suspension(
                    user_id=record.id,
                    role=upstream.role,
                    teams=[{"id": tid, "role": role} for tid, role in sorted(teams.items())],
                    suspended_at=now(),
                )
            )
            for team_id in sorted(teams):
                self.directory.remove_team_member(team_id, record.id)
                self.store.remove_members(team_id, [record.id])
            suspended_role = self.settings.suspended_role
            if upstream.role.lower() != suspended_role.lower():
                self.directory.update_user(record.id, UserFields(role=suspended_role))
                upstream = um.apply_fields(upstream, UserFields(role=suspended_role))
        return self.store.upsert_user(replace(record, upstream=upstream.to_json()))

    def _restore(self, record: UserRecord, upstream: DirectoryUser, suspension: Suspension) -> DirectoryUser:
        with upstream_errors():
            if upstream.role.lower() != suspension.role.lower():
                self.directory.update_user(record.id, UserFields(role=suspension.role))
                upstream = um.apply_fields(upstream, UserFields(role=suspension.role))
            for team in suspension.teams:
                try:
                    self.directory.add_team_member(team["id"], record.id, team.get("role") or "user")
                except d.NotFoundError:
                    continue  # the team was deleted meanwhile
                if self.store.get_group(team["id"]) is not None:
                    role = team.get("role") or "user"
                    self.store.add_members(team["id"], [Membership(team["id"], record.id, role)])
        self.store.delete_suspension(record.id)
        return upstream


def _roles_of(resource: dict[str, Any]) -> list[str]:
    return sorted(str(r.get("value", "")).lower() for r in resource.get("roles") or [] if isinstance(r, dict))


def etag_matches(header: str, version: str) -> bool:
    """RFC 7232 weak comparison against a list of entity tags (or ``*``)."""
    def opaque(tag: str) -> str:
        tag = tag.strip()
        return tag[2:] if tag.startswith("W/") else tag

    tags = [t for t in header.split(",") if t.strip()]
    return any(t.strip() == "*" or opaque(t) == opaque(version) for t in tags)
