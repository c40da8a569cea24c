"""SCIM Users on top of a Directory and the bridge's store."""

from __future__ import annotations

import copy
import logging
from dataclasses import replace
from typing import Any

from scim_bridge.config import Settings
from scim_bridge.directory.base import Directory
from scim_bridge.directory.models import DirectoryUser
from scim_bridge.scim import errors
from scim_bridge.scim.filters import FilterNode
from scim_bridge.scim.filters import matches
from scim_bridge.scim.filters import simple_equality
from scim_bridge.scim.listing import paginate
from scim_bridge.scim.listing import sort_resources
from scim_bridge.scim.payloads import keep_own_extension
from scim_bridge.scim.schema import OPSGENIE_USER
from scim_bridge.scim.schema import USER
from scim_bridge.scim.schema import AttributePath
from scim_bridge.scim.versions import require_version
from scim_bridge.service import user_mapping as um
from scim_bridge.service.contacts import sync_phones
from scim_bridge.service.contacts import warn_phones
from scim_bridge.service.context import RequestContext
from scim_bridge.service.context import now
from scim_bridge.service.deactivation import Deactivation
from scim_bridge.service.deactivation import Suspended
from scim_bridge.service.documents import user_document
from scim_bridge.service.errors import owner_refused
from scim_bridge.service.errors import upstream_errors
from scim_bridge.service.mirror import MirrorGateway
from scim_bridge.service.roles import OWNER
from scim_bridge.service.roles import RoleCatalogue
from scim_bridge.service.suspensions import SuspensionLedger
from scim_bridge.service.sync import SyncService
from scim_bridge.service.writes import Compensation
from scim_bridge.service.writes import WriteLocks
from scim_bridge.service.writes import user_key
from scim_bridge.store.errors import StoreConflict
from scim_bridge.store.keyset import KeysetPage
from scim_bridge.store.order import Position
from scim_bridge.store.records import GroupKind
from scim_bridge.store.records import Membership
from scim_bridge.store.records import UserRecord
from scim_bridge.store.store import Store

log = logging.getLogger(__name__)


class UserService:
    """Every SCIM User operation, turned into the fewest upstream calls that keep it correct."""

    def __init__(self, directory: Directory, store: Store, settings: Settings, sync: SyncService, *,
                 locks: WriteLocks | None = None, mirror: MirrorGateway | None = None,
                 ledger: SuspensionLedger | None = None, catalogue: RoleCatalogue | None = None) -> None:
        self.directory = directory
        self.store = store
        self.settings = settings
        self.sync = sync
        # Shared with the group service (see web.app): a user write and a team write adding or removing
        # that user exclude each other.
        self.locks = locks or WriteLocks(store, wait_budget=settings.upstream_wait_budget,
                                         lease_ttl=settings.write_lease_ttl)
        # Shared with the group service (see bootstrap): one ledger and one role catalogue per process.
        self.ledger = ledger or SuspensionLedger(store)
        self.roles = catalogue or RoleCatalogue(directory, store, settings, sync)
        # Shared with the group service (see bootstrap): one single-flight table for every re-read.
        self.mirror = mirror or MirrorGateway(directory, store, settings)
        self.deactivation = Deactivation(directory, store, settings, self.ledger, self.roles)

    # --- reading ---------------------------------------------------------------------------
    def get(self, ctx: RequestContext, user_id: str) -> dict[str, Any]:
        record = self._fresh_record(user_id)
        if record is None:
            raise errors.NotFound(f"User {user_id} not found")
        return self._documents(ctx, [record])[0]

    def _documents(self, ctx: RequestContext, records: list[UserRecord]) -> list[dict[str, Any]]:
        """The SCIM Users of ``records`` (absolute URLs): their indexed documents, which every store write
        keeps in step with the mirror, in one query; rendered when the store keeps no index."""
        indexed = self.store.indexed_documents(USER, [r.id for r in records]) if self.store.indexing else {}
        return [ctx.absolute(indexed[r.id]) if r.id in indexed else self.render(ctx, r) for r in records]

    def search_page(
        self,
        ctx: RequestContext,
        node: FilterNode | None,
        *,
        sort_by: AttributePath | None,
        descending: bool,
        start_index: int,
        count: int,
    ) -> tuple[int, list[dict[str, Any]]]:
        """(totalResults, the page) of the users matching ``node``, sorted and paged.

        Equality on userName or id reads the upstream (one call, read-through); every other list or
        filter is answered by the search index: filtered, counted, sorted and paged in SQL, no upstream call.
        """
        lookup = simple_equality(node) if node is not None else None
        if (self.settings.read_through and node is not None and lookup is not None
                and lookup[0].dotted().lower() in ("username", "id")):
            found = [doc for doc in self._documents(ctx, self._candidates(*lookup)) if matches(node, doc)]
            found = sort_resources(found, sort_by, descending)
            page, total = paginate(found, start_index, count)
            return total, page
        self.sync.ensure_initial()
        if lookup is not None and lookup[0].dotted().lower() in ("username", "id"):
            self.mirror.complete_contacts(lookup[1], by_name=lookup[0].dotted().lower() == "username")
        indexed = self.store.search_index(USER, node, sort_by=sort_by, descending=descending,
                                          start_index=start_index, count=count)
        return indexed.total, [ctx.absolute(doc) for doc in indexed.resources]

    def keyset_page(
        self,
        ctx: RequestContext,
        node: FilterNode | None,
        *,
        sort_by: AttributePath | None,
        descending: bool,
        after: tuple[str, ...] | None,
        backward: bool,
        count: int,
    ) -> KeysetPage | None:
        """The users following (``backward``: preceding) the position ``after`` (None: from the start), for
        cursor paging; None when this query pages by offset (a read-through look-up, or a sortBy without
        keyset order)."""
        lookup = simple_equality(node) if node is not None else None
        if self.settings.read_through and lookup is not None and lookup[0].dotted().lower() in ("username", "id"):
            return None
        if after is not None and len(after) != len(Position._fields):
            return None
        self.sync.ensure_initial()
        page = self.store.keyset_page(USER, node, sort_by=sort_by, descending=descending,
                                      after=Position(*after) if after is not None else None, count=count,
                                      backward=backward)
        if page is None:
            return None
        return replace(page, resources=[ctx.absolute(doc) for doc in page.resources])

    def _candidates(self, path: AttributePath, value: str) -> list[UserRecord]:
        """The user an equality on userName or id names, read upstream (read-through)."""
        by_name = path.dotted().lower() == "username"
        record = self._fresh_by_username(value) if by_name else self._fresh_record(value)
        return [record] if record else []

    def _fresh_record(self, user_id: str) -> UserRecord | None:
        """The user a single read shows (see MirrorGateway.user_for_read: at most one call)."""
        self.sync.ensure_initial()
        return self.mirror.user_for_read(user_id)

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
                self.mirror.user_gone(stale.id)
            return None
        if upstream.username.lower() != user_name.lower():
            return None
        return self.mirror.remember(upstream)

    def render(self, ctx: RequestContext, record: UserRecord) -> dict[str, Any]:
        """The SCIM User (absolute URLs), its memberships and suspension read for this user."""
        memberships = self.store.groups_of(record.id)
        team_names = {gid: g.display_name for gid, g in
                      self.store.get_groups([m.group_id for m in memberships]).items() if g.kind == GroupKind.TEAM}
        suspension = self.store.get_suspension(record.id)
        role_ids: dict[str, str] = {}
        if suspension is not None:
            held_role_id = self.roles.role_id(suspension.role)
            if held_role_id is not None:
                role_ids[suspension.role.lower()] = held_role_id
        return ctx.absolute(user_document(record, memberships=memberships, team_names=team_names,
                                          suspension=suspension, role_ids=role_ids))

    # --- writing ---------------------------------------------------------------------------
    def create(self, ctx: RequestContext, resource: dict[str, Any]) -> dict[str, Any]:
        desired = um.desired_user(
            resource,
            default_role=self.settings.default_role,
            invitation_disabled=self.settings.invitation_disabled_default,
            phone_region=self.settings.phone_region,
        )
        warn_phones(ctx, desired, self.settings.phone_region)
        user_name = resource["userName"]
        existing = self._fresh_by_username(user_name)
        if existing is not None:
            raise errors.Uniqueness(f"A user with userName {user_name!r} already exists (id {existing.id})")
        if (desired.fields.role or self.settings.default_role).lower() != self.settings.default_role.lower():
            ctx.require("roles", "creating a user with a role other than the default role")
        if (desired.fields.role or "").lower() == OWNER:
            raise owner_refused()
        fields = replace(desired.fields, role=self.roles.known_role(desired.fields.role or self.settings.default_role))
        undo = Compensation()
        suspended: Suspended | None = None
        try:
            with upstream_errors():
                user_id = self.directory.create_user(fields)
                undo.add(f"delete user {user_id}", lambda: self.directory.delete_user(user_id))
                made = [self.directory.create_contact(user_id, method, to) for method, to in sorted(desired.phones)]
                if self.settings.read_through:
                    upstream = self.directory.get_user(user_id, with_contacts=True)
                else:
                    # No read-back: the user is what was sent. Defaults the upstream fills in (time zone,
                    # locale, its email contact) reach the mirror at the next sync or read.
                    upstream = um.created_snapshot(user_id, fields, made)
                if not desired.active:
                    suspended = self.deactivation.suspend(user_id, upstream, [], undo)
        except Exception:
            undo.rollback()
            raise
        if suspended is not None and suspended.deleted:
            deleted = self.render(ctx, self._tombstone(user_id, user_name, resource, upstream))
            deleted["active"] = False
            return deleted
        stamp = now()
        with undo.applying(), self.store.transaction():  # the mirror in one transaction; a failure undoes the user
            record = self.store.upsert_user(
                UserRecord(
                    id=user_id,
                    user_name=user_name,
                    external_id=resource.get("externalId"),
                    upstream=self.roles.with_role_id(suspended.upstream if suspended else upstream).to_json(),
                    scim=desired.kept,
                    created=stamp,
                    last_modified=stamp,
                    version=1,
                    synced_at=self.mirror.now(),
                )
            )
            if suspended is not None:
                self.deactivation.commit(suspended)
        return self._documents(ctx, [record])[0]

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

    def replace(
        self, ctx: RequestContext, user_id: str, resource: dict[str, Any], if_match: str | None = None
    ) -> dict[str, Any]:
        with self.locks.hold(user_key(user_id)):
            record, upstream, current = self._load_for_write(ctx, user_id, if_match, contacts=True)
            new = copy.deepcopy(resource)
            new["id"] = user_id
            if "active" not in new:
                new["active"] = current.get("active", True)
            if "roles" not in new:
                new["roles"] = current.get("roles", [])
            keep_own_extension(new, current, OPSGENIE_USER)
            return self._write(ctx, record, upstream, current, new)

    def patch(
        self, ctx: RequestContext, user_id: str, new_resource_of: Any, if_match: str | None = None
    ) -> dict[str, Any]:
        """``new_resource_of(current)`` applies the PATCH operations to the current resource."""
        with self.locks.hold(user_key(user_id)):
            record, upstream, current = self._load_for_write(ctx, user_id, if_match, contacts=True)
            new = new_resource_of(current).resource
            return self._write(ctx, record, upstream, current, new)

    def delete(self, ctx: RequestContext, user_id: str, if_match: str | None = None) -> None:
        with self.locks.hold(user_key(user_id)):
            self._delete(ctx, user_id, if_match)

    def _delete(self, ctx: RequestContext, user_id: str, if_match: str | None) -> None:
        record, upstream, _ = self._load_for_write(ctx, user_id, if_match)
        if self._confirmed(record, upstream).role.lower() == OWNER:
            raise owner_refused(f"User {user_id} is an Owner")
        try:
            with upstream_errors():
                self.directory.delete_user(user_id)
        except errors.NotFound:
            if not self.settings.read_through:
                raise self.mirror.user_gone(user_id) from None  # deleted in OpsGenie meanwhile
        except (errors.Forbidden, errors.InvalidValue) as refused:
            self._refuse_if_owner(user_id, refused)
            raise
        self.store.delete_user(record.id)

    def _confirmed(self, record: UserRecord, upstream: DirectoryUser) -> DirectoryUser:
        """The snapshot the Owner rule is checked on: the mirror's while it is fresh (or just read), else the
        user read upstream now (one call): an Owner promoted in OpsGenie is never demoted on an old copy."""
        if self.settings.read_through or self.mirror.fresh(record.synced_at):
            return upstream
        read = self.mirror.read_user(record.id)
        if read.role.lower() == OWNER:
            self.mirror.remember(read)  # the refusal needs no call next time
        return read

    def _refuse_if_owner(self, user_id: str, refused: errors.ScimError) -> None:
        """OpsGenie refused a role change, deactivation or delete: when the user is an Owner now (promoted in
        OpsGenie within the freshness window), answer as the Owner rule does (403) and remember the role."""
        if not self.settings.read_through and self.mirror.owner_among([user_id]) is not None:
            raise owner_refused(f"User {user_id} is an Owner") from refused

    def _load_for_write(
        self, ctx: RequestContext, user_id: str, if_match: str | None, *, contacts: bool = False
    ) -> tuple[UserRecord, DirectoryUser, dict[str, Any]]:
        """The user as the write starts from, its version checked against ``if_match``: called under the
        user's write lock, so no other write can slip in between the check and the write. ``contacts``: read
        the user first when the mirror never saw its contacts (a copy from the sync's list), once: a PUT
        replaces the phones, a PATCH may change one, and the answer shows them as a GET then does."""
        self.sync.ensure_initial()
        stored = None if self.settings.read_through else self.store.get_user(user_id)
        if stored is not None and contacts and stored.upstream.get("contacts") is None:
            stored = None
        if not self.settings.read_through and stored is None and self.store.get_user(user_id) is None:
            raise errors.NotFound(f"User {user_id} not found")
        if stored is not None:
            # The mirror's snapshot stands for the upstream user: no read before the write. A user
            # deleted upstream meanwhile is found out by the write itself (see _write).
            record, upstream = stored, DirectoryUser.from_json(stored.upstream)
        else:
            upstream = self.mirror.read_user(user_id)
            record = self.mirror.remember(upstream)
        current = self._documents(ctx, [record])[0]
        require_version(if_match, current)
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
        if isinstance(new.get("roles"), list):
            # Elements the client just sent come first: they describe the role as the client wants it.
            echoed = [um.without_primary(r) for r in current.get("roles") or []]
            fresh = [r for r in new["roles"] if um.without_primary(r) not in echoed]
            new = {**new, "roles": fresh + [r for r in new["roles"] if r not in fresh]}
        desired = um.desired_user(
            new, default_role=self.settings.default_role, invitation_disabled=False,
            phone_region=self.settings.phone_region,
        )
        if new.get("phoneNumbers") != current.get("phoneNumbers"):
            warn_phones(ctx, desired, self.settings.phone_region)
        if um.roles_of(new) == um.roles_of(current):
            # The role is only written when the client changed it: a PUT that omits or echoes
            # roles (or a suspended user's placeholder role) never demotes anyone.
            desired = replace(desired, fields=replace(desired.fields, role=None))
        else:
            added = um.added_role(new, current)
            if added is not None:
                desired = replace(desired, fields=replace(desired.fields, role=added))
            ctx.require("roles", "changing a user's role")
        was_active = current.get("active", True)
        changes_role = desired.fields.role is not None or (was_active and not desired.active)
        if changes_role:
            # A copy older than the freshness window may predate a promotion to Owner made in OpsGenie.
            upstream = self._confirmed(record, upstream)
        is_owner = upstream.role.lower() == OWNER
        wanted_role = desired.fields.role or upstream.role
        if is_owner and (wanted_role.lower() != OWNER or not desired.active):
            raise owner_refused(f"User {record.id} is an Owner")
        if not is_owner and wanted_role.lower() == OWNER:
            raise owner_refused()
        new_name = new["userName"]
        if new_name.lower() != record.user_name.lower():
            other = self.store.get_user_by_username(new_name)
            if other is not None and other.id != record.id:
                raise errors.Uniqueness(f"A user with userName {new_name!r} already exists (id {other.id})")
        suspension = self.ledger.get(record.id)
        restoring = not was_active and desired.active and suspension is not None
        restored_role: str | None = None
        if not desired.active and suspension is not None:
            # Still suspended: a new role is the one reactivation restores; the upstream keeps
            # the suspended role meanwhile.
            if desired.fields.role is not None and desired.fields.role.lower() != suspension.role.lower():
                restored_role = self.roles.known_role(desired.fields.role)
            desired = replace(desired, fields=replace(desired.fields, role=None))
        if desired.fields.role is not None:
            desired = replace(desired, fields=replace(desired.fields, role=self.roles.known_role(desired.fields.role)))
        # Every upstream call below is undone if a later one fails: the request applies whole or not at all.
        undo = Compensation()
        restored: list[Membership] = []
        suspended: Suspended | None = None
        if upstream.contacts is None and new.get("phoneNumbers") != current.get("phoneNumbers"):
            # The mirror's snapshot came from a list without contacts: read them before changing phones.
            upstream = self.mirror.read_user(record.id)
        try:
            with upstream_errors():
                if restoring and suspension is not None:
                    upstream, restored = self.deactivation.restore(record.id, upstream, suspension, undo)
                fields = um.changed_fields(upstream, desired.fields)
                if not fields.is_empty():
                    self.directory.update_user(record.id, fields)
                    revert = um.revert_fields(upstream, fields)
                    undo.add(f"restore the fields of user {record.id}",
                             lambda: self.directory.update_user(record.id, revert))
                upstream = um.apply_fields(upstream, fields)
                if new.get("phoneNumbers") != current.get("phoneNumbers"):
                    # Only phones the client changed are written: an echoed list is not a change, even
                    # where its SCIM form maps to more contacts than OpsGenie holds (an SMS-only number
                    # shows as "mobile", which stands for SMS and voice).
                    upstream = sync_phones(self.directory, record.id, upstream, desired.phones, undo)
                if was_active and not desired.active:
                    teams = list(self.store.groups_of(record.id))
                    suspended = self.deactivation.suspend(record.id, upstream, teams, undo)
        except errors.NotFound:
            undo.rollback()
            if not self.settings.read_through:
                self.mirror.read_user(record.id)  # 404 (and forgotten) when the user itself is gone
            raise
        except (errors.Forbidden, errors.InvalidValue) as refused:
            undo.rollback()
            if changes_role:
                self._refuse_if_owner(record.id, refused)
            raise
        except Exception:
            undo.rollback()
            raise
        # Upstream is written; the mirror changes in one transaction (one commit, one re-index), and a failure
        # there undoes the upstream calls.
        with undo.applying(), self.store.transaction():
            if restoring:
                for membership in restored:
                    if self.store.get_group(membership.group_id) is not None:
                        self.store.add_members(membership.group_id, [membership])
                self.ledger.close(record.id)
            if restored_role is not None:
                self.ledger.set_role(record.id, restored_role)
            if suspended is not None and suspended.deleted:
                self.store.delete_user(record.id)
                gone = self.render(ctx, replace(record, user_name=new_name, external_id=new.get("externalId"),
                                                upstream=upstream.to_json(), scim=desired.kept))
                gone["active"] = False
                return gone
            after = replace(
                record,
                user_name=new_name,
                external_id=new.get("externalId"),
                upstream=self.roles.with_role_id(suspended.upstream if suspended else upstream).to_json(),
                scim=desired.kept,
                synced_at=self.mirror.now(),
            )
            stored, raced = self._store_written(record, after)
            if suspended is not None:
                self.deactivation.commit(suspended)
        if raced:
            stored = self._store_fresh(stored, after)
        return self._documents(ctx, [stored])[0]

    def _store_written(self, before: UserRecord, after: UserRecord) -> tuple[UserRecord, bool]:
        """Store the snapshot a write produced, unless another request changed the user since ``before``
        was read: both wrote upstream what they changed, but each snapshot lacks the other's change. Returns
        the record stored (else the one the other request left) and whether that happened: then the caller
        stores the upstream's view with :meth:`_store_fresh`, once its transaction is over."""
        try:
            return self.store.upsert_user(after, expected_version=before.version), False
        except StoreConflict:
            current = self.store.get_user(before.id)
            if current is None or current.version == before.version:
                raise  # not a concurrent write: a real conflict (e.g. the userName is taken)
        log.info("user %s changed during this write: storing the upstream's view", before.id)
        return current, True

    def _store_fresh(self, current: UserRecord, after: UserRecord) -> UserRecord:
        """Read the upstream, which holds the changes of both racing writes (one call), and store it with this
        request's SCIM-side data (``after``)."""
        fresh = self.mirror.read_user(current.id)
        merged = replace(current, user_name=fresh.username, external_id=after.external_id,
                         upstream=self.roles.with_role_id(fresh).to_json(), scim=after.scim)
        return self.store.upsert_user(merged)
