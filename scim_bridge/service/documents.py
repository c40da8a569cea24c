"""SCIM documents of mirrored users and teams, and the indexer that keeps the search index in step.

A document holds URLs relative to the SCIM base ("/Users/<id>", "/Groups/<id>"): the same document serves
every request whatever host name or proxy it came through; :func:`scim_bridge.service.context.absolute`
completes the URLs on the way out. The version (``meta.version``) does not depend on the base either.

Role groups (``role:<Role>``, whose members are every holder of the role) are not indexed: they are few,
and their rosters can hold every user; lists render them on demand and merge them with indexed teams.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from scim_bridge.directory.models import DirectoryUser
from scim_bridge.scim.schema import CORE_GROUP
from scim_bridge.scim.schema import GROUP
from scim_bridge.scim.schema import OPSGENIE_GROUP
from scim_bridge.scim.schema import USER
from scim_bridge.scim.schema import ResourceType
from scim_bridge.service import user_mapping as um
from scim_bridge.service.context import add_meta
from scim_bridge.service.context import relative
from scim_bridge.service.naming import role_group_id
from scim_bridge.service.naming import role_group_name
from scim_bridge.store import coordination
from scim_bridge.store import groups as group_rows
from scim_bridge.store import index
from scim_bridge.store import members as member_rows
from scim_bridge.store import mirror
from scim_bridge.store import users as user_rows
from scim_bridge.store.records import GroupKind
from scim_bridge.store.records import GroupRecord
from scim_bridge.store.records import Membership
from scim_bridge.store.records import Suspension
from scim_bridge.store.records import UserRecord
from scim_bridge.store.sqlutil import chunks
from scim_bridge.store.sqlutil import normalize_json
from scim_bridge.store.tables import groups as groups_table
from scim_bridge.store.tables import scim_resources
from scim_bridge.store.tables import users as users_table

# (user id, display) of one member, in roster order.
MemberView = tuple[str, str]
# Resources rendered and compared per step of a full re-index.
REBUILD_BATCH = 500


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
# Rendering in bulk from one connection.


def _team_names(conn: Connection, group_ids: Iterable[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for part in chunks(sorted(set(group_ids))):
        stmt = select(groups_table.c.id, groups_table.c.display_name).where(
            groups_table.c.id.in_(part), groups_table.c.kind == GroupKind.TEAM
        )
        names.update({row.id: row.display_name for row in conn.execute(stmt)})
    return names


def render_users(conn: Connection, user_ids: Collection[str]) -> dict[str, dict[str, Any]]:
    """Documents of those of ``user_ids`` the mirror holds, by id."""
    records = user_rows.get_users(conn, list(user_ids))
    if not records:
        return {}
    memberships = member_rows.memberships_for_users(conn, list(records))
    team_names = _team_names(conn, (m.group_id for ms in memberships.values() for m in ms))
    suspended = coordination.suspensions_for_users(conn, list(records))
    role_ids = _role_ids(conn) if suspended else {}
    return {
        uid: user_document(record, memberships=memberships[uid], team_names=team_names,
                           suspension=suspended.get(uid), role_ids=role_ids)
        for uid, record in records.items()
    }


def _role_ids(conn: Connection) -> dict[str, str]:
    """Role name (lower case) -> upstream id, from the mirrored role groups."""
    stmt = select(groups_table.c.upstream).where(groups_table.c.kind == GroupKind.ROLE)
    return {str(up["name"]).lower(): str(up["id"]) for up in conn.execute(stmt).scalars()
            if isinstance(up, dict) and up.get("name") and up.get("id")}


def render_teams(conn: Connection, group_ids: Collection[str]) -> dict[str, dict[str, Any]]:
    """Documents of those of ``group_ids`` that are mirrored teams, by id."""
    records = {gid: r for gid, r in group_rows.get_groups(conn, list(group_ids)).items() if r.kind == GroupKind.TEAM}
    if not records:
        return {}
    rosters = member_rows.members_for_groups(conn, list(records))
    names = user_rows.user_names(conn, [m.user_id for ms in rosters.values() for m in ms])
    return {
        gid: team_document(record, [(m.user_id, names.get(m.user_id, "")) for m in rosters[gid]])
        for gid, record in records.items()
    }


class MirrorIndexer:
    """The store's :class:`scim_bridge.store.mirror.Indexer`: Users and teams, rendered as above."""

    def refresh(self, conn: Connection, user_ids: Collection[str], group_ids: Collection[str]) -> None:
        mirror.lock_resources(conn, USER.id, user_ids)
        mirror.lock_resources(conn, GROUP.id, group_ids)
        if user_ids:
            users = render_users(conn, user_ids)
            index.remove_resources(conn, USER, [uid for uid in user_ids if uid not in users])
            index.index_resources(conn, USER, list(users.values()))
        if group_ids:
            teams = render_teams(conn, group_ids)
            index.remove_resources(conn, GROUP, [gid for gid in group_ids if gid not in teams])
            index.index_resources(conn, GROUP, list(teams.values()))

    def reindex(self, conn: Connection, user_ids: Collection[str], group_ids: Collection[str]) -> None:
        mirror.lock_resources(conn, USER.id, user_ids)
        mirror.lock_resources(conn, GROUP.id, group_ids)
        for resource_type, ids, render in ((USER, user_ids, render_users), (GROUP, group_ids, render_teams)):
            for part in chunks(sorted(ids), REBUILD_BATCH):
                documents = render(conn, part)
                index.remove_resources(conn, resource_type, [rid for rid in part if rid not in documents])
                _index_changed(conn, resource_type, part, documents, by_difference=True)

    def rebuild(self, conn: Connection) -> None:
        """Re-index only what changed (documents equal to the indexed ones are left alone), a batch of
        resources at a time so that memory stays flat whatever the size of the directory."""
        for resource_type, table, render, kind in (
            (USER, users_table, render_users, None),
            (GROUP, groups_table, render_teams, GroupKind.TEAM),
        ):
            stmt = select(table.c.id)
            if kind is not None:
                stmt = stmt.where(table.c.kind == kind)
            wanted = list(conn.execute(stmt).scalars())
            indexed = list(conn.execute(
                select(scim_resources.c.id).where(scim_resources.c.kind == resource_type.id)).scalars())
            present = set(wanted)
            index.remove_resources(conn, resource_type, [rid for rid in indexed if rid not in present])
            for part in chunks(wanted, REBUILD_BATCH):
                _index_changed(conn, resource_type, part, render(conn, part))


def _index_changed(
    conn: Connection, resource_type: ResourceType, ids: Sequence[str], documents: dict[str, dict[str, Any]], *,
    by_difference: bool = False,
) -> None:
    """Index the documents that differ from the indexed ones. ``by_difference``: when every one of them is
    indexed already (a write or a roster load changing a few attributes of many, e.g. the ``groups`` of a
    roster's members), only their value rows that changed are rewritten."""
    stored = index.documents(conn, resource_type, ids)
    changed = [doc for rid, doc in documents.items() if stored.get(rid) != normalize_json(doc)]
    in_place = by_difference and all(str(doc["id"]) in stored for doc in changed)
    index.index_resources(conn, resource_type, changed, in_place=in_place)
