"""SCIM documents of mirrored users and teams, and the indexer that keeps the search index in step.

A document holds URLs relative to the SCIM base ("/Users/<id>", "/Groups/<id>"): the same document serves
every request whatever host name or proxy it came through; :func:`scim_bridge.service.context.absolute`
completes the URLs on the way out. The version (``meta.version``) does not depend on the base either.

Role groups (``role:<Role>``, whose members are every holder of the role) are not indexed: they are few,
and their rosters can hold every user; lists render them on demand and merge them with indexed teams.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any
from typing import TypeVar

from scim_bridge.directory.models import DirectoryUser
from scim_bridge.scim.schema import CORE_GROUP
from scim_bridge.scim.schema import OPSGENIE_GROUP
from scim_bridge.service import user_mapping as um
from scim_bridge.service.context import add_meta
from scim_bridge.service.context import relative
from scim_bridge.service.naming import role_group_id
from scim_bridge.service.naming import role_group_name
from scim_bridge.store import mirror
from scim_bridge.store.mirror_rows import MirrorRows
from scim_bridge.store.records import GroupKind
from scim_bridge.store.records import GroupRecord
from scim_bridge.store.records import Membership
from scim_bridge.store.records import Suspension
from scim_bridge.store.records import UserRecord

# (user id, display) of one member, in roster order.
MemberView = tuple[str, str]
R = TypeVar("R", UserRecord, GroupRecord)
Documents = dict[str, dict[str, Any]]  # SCIM documents by id


def user_document(
    record: UserRecord,
    *,
    memberships: Iterable[Membership],
    team_names: Mapping[str, str],
    suspension: Suspension | None,
    role_ids: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The SCIM User of a mirrored user. ``team_names``: id -> name of (at least) the user's teams;
    ``role_ids``: role name (lower case) -> id, for the role a suspended user gets back."""
    upstream = DirectoryUser.from_json(record.upstream)
    groups: list[dict[str, Any]] = []
    for membership in memberships:
        name = team_names.get(membership.group_id)
        if name is None:
            continue
        groups.append({"value": membership.group_id, "$ref": relative("/Groups", membership.group_id),
                       "display": name, "type": "direct"})
    # A suspended user belongs to the role group of the role reactivation gives back, not of its placeholder.
    role = suspension.role if suspension is not None else upstream.role
    if role:
        gid = role_group_id(role)
        groups.append({"value": gid, "$ref": relative("/Groups", gid), "display": role_group_name(role),
                       "type": "direct"})
    resource = um.user_resource(
        upstream,
        user_name=record.user_name,
        external_id=record.external_id,
        kept=record.scim,
        active=suspension is None,
        groups=groups,
        role=suspension.role if suspension is not None else None,
        role_id=(role_ids or {}).get(suspension.role.lower()) if suspension is not None else None,
    )
    return add_meta(resource, resource_type="User", location=relative("/Users", record.id),
                    created=upstream.created_at or record.created, last_modified=record.last_modified)


def member_entry(user_id: str, display: str) -> dict[str, Any]:
    member = {"value": user_id, "display": display, "$ref": relative("/Users", user_id), "type": "User"}
    if not display:
        del member["display"]
    return member


def team_document(record: GroupRecord, members: Sequence[MemberView]) -> dict[str, Any]:
    """The SCIM Group of a mirrored team, with its members. Its version covers the roster."""
    resource: dict[str, Any] = {"schemas": [CORE_GROUP, OPSGENIE_GROUP], "id": record.id}
    if record.external_id:
        resource["externalId"] = record.external_id
    resource["displayName"] = record.display_name
    resource["members"] = [member_entry(uid, display) for uid, display in members]
    ext: dict[str, Any] = {"kind": GroupKind.TEAM.value}
    if record.upstream.get("description"):
        ext["description"] = record.upstream["description"]
    resource[OPSGENIE_GROUP] = ext
    return add_meta(resource, resource_type="Group", location=relative("/Groups", record.id),
                    created=record.created, last_modified=record.last_modified)


# ---------------------------------------------------------------------------------------------------------
# Rendering in bulk from the store's rows.


def render_users(rows: MirrorRows, records: Mapping[str, UserRecord]) -> dict[str, dict[str, Any]]:
    """Documents of mirrored users, by id."""
    memberships = rows.memberships_for_users(list(records))
    team_names = rows.team_names(m.group_id for ms in memberships.values() for m in ms)
    suspended = rows.suspensions_for_users(list(records))
    role_ids = rows.role_ids() if suspended else {}
    return {
        uid: user_document(record, memberships=memberships[uid], team_names=team_names,
                           suspension=suspended.get(uid), role_ids=role_ids)
        for uid, record in records.items()
    }


def render_teams(rows: MirrorRows, records: Mapping[str, GroupRecord]) -> dict[str, dict[str, Any]]:
    """Documents of mirrored teams, by id."""
    rosters = rows.members_for_groups(list(records))
    names = rows.user_names(m.user_id for ms in rosters.values() for m in ms)
    return {
        gid: team_document(record, [(m.user_id, names.get(m.user_id, "")) for m in rosters[gid]])
        for gid, record in records.items()
    }


class ScimRenderer:
    """The store's :class:`scim_bridge.store.mirror.Renderer`: Users and teams, rendered as above."""

    def users(self, rows: MirrorRows, user_ids: Collection[str]) -> dict[str, dict[str, Any]]:
        """Documents of those of ``user_ids`` the mirror holds, by id."""
        return self._render(rows, rows.users(user_ids), render_users)

    def teams(self, rows: MirrorRows, group_ids: Collection[str]) -> dict[str, dict[str, Any]]:
        """Documents of those of ``group_ids`` that are mirrored teams, by id."""
        return self._render(rows, rows.teams(group_ids), render_teams)

    @staticmethod
    def _render(rows: MirrorRows, records: Mapping[str, R],
                render: Callable[[MirrorRows, Mapping[str, R]], Documents]) -> Documents:
        """``render`` the records in bulk; when there are none, nothing more is read."""
        return render(rows, records) if records else {}


class MirrorIndexer(mirror.DocumentIndexer):
    """The bridge's indexer: the store's re-indexing with the documents of :class:`ScimRenderer`."""

    def __init__(self) -> None:
        super().__init__(ScimRenderer())
