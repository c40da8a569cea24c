"""``scim-bridge export``: the whole OpsGenie directory as a SCIM ListResponse or as CSV.

Both formats come from one full sync of the bridge's mirror and are written a page at a time. The
SCIM export is read the way ``GET /Users`` and ``GET /Groups`` answer (users from the search index,
groups from the group service): a user or a group in the export looks exactly as the bridge serves it. The CSV has one
row per user with the attributes an identity governance tool imports from OpsGenie (the seed
columns of a Saviynt REST connector) plus teams, active and externalId; only the format asked
for is built.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from typing import TextIO

from scim_bridge.config import Settings
from scim_bridge.directory.base import Directory
from scim_bridge.directory.errors import DirectoryError
from scim_bridge.directory.models import DirectoryUser
from scim_bridge.scim.query import PageQuery
from scim_bridge.scim.schema import LIST_RESPONSE
from scim_bridge.service.context import RequestContext
from scim_bridge.service.errors import explain_failure
from scim_bridge.service.groups import GroupService
from scim_bridge.service.parts import ServiceParts
from scim_bridge.service.sync import ProgressHook
from scim_bridge.service.sync import SyncProgress
from scim_bridge.service.sync import SyncResult
from scim_bridge.service.sync import SyncService
from scim_bridge.service.users import UserService
from scim_bridge.store.keyset import KeysetPage
from scim_bridge.store.records import GroupKind
from scim_bridge.store.records import UserRecord
from scim_bridge.store.store import Store

log = logging.getLogger(__name__)

FORMATS = ("scim", "csv")
CSV_COLUMNS = (
    "id",
    "username",
    "fullName",
    "blocked",
    "verified",
    "role.id",
    "role.name",
    "skypeUsername",
    "timeZone",
    "locale",
    "userAddress.country",
    "userAddress.state",
    "userAddress.city",
    "userAddress.line",
    "userAddress.zipCode",
    "createdAt",
    "teams",
    "active",
    "externalId",
)
TEAM_SEPARATOR = ";"  # OpsGenie team names cannot contain it


class ExportError(Exception):
    """The directory could not be read; the message says why in plain words."""


PAGE = 100  # resources read and written at a time


@dataclass(frozen=True)
class ExportSummary:
    """What one export wrote: users, teams and role groups (``csv``: users and the teams named in rows)."""

    fmt: str
    users: int
    teams: int
    role_groups: int
    synced: SyncResult | None
    # Teams whose roster the mirror has never read (``--no-sync`` after an import that read only a few): their
    # ``members`` are left out (not written as empty) and the users' ``groups``/teams omit them.
    rosters_not_loaded: int = 0


def export(
    settings: Settings, store: Store, directory: Directory, out: TextIO, *, fmt: str = "scim",
    base_url: str = "/scim/v2", sync: bool = True, progress: ProgressHook | None = None,
) -> ExportSummary:
    """Refresh the mirror (unless ``sync`` is False), then write the export in format ``fmt`` to ``out``,
    a page at a time: memory holds one page of users whatever the size of the directory.

    ``progress`` sees the sync's steps, then ("export", users written, users in all). Without ``sync``
    nothing is read upstream (no API key is needed): the mirror must have been synced once, by ``serve``,
    ``demo`` or ``sync``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    syncer = SyncService.for_settings(directory, store, settings)
    result: SyncResult | None = None
    if not sync:
        last = syncer.last()
        if not last or not last.get("ok"):
            raise ExportError("the mirror holds no complete sync yet (SCIM_BRIDGE_DATABASE_URL "
                              f"{store.engine.url.render_as_string(hide_password=True)}): "
                              "run 'scim-bridge sync' once, or export without --no-sync")
    try:
        if sync:
            result = syncer.run(progress)
            if result is None:
                log.warning("another replica holds the sync lease: exporting the mirror as it last synced")
        syncer.ensure_initial()
    except DirectoryError as exc:
        upstream = "Atlassian" if settings.upstream == "jsm" else "OpsGenie"
        raise ExportError(f"could not read the {upstream} directory: {explain_failure(exc, settings.upstream)}") \
            from exc
    report = progress or (lambda _step: None)
    not_loaded = set(syncer.rosters.ledger.outstanding())
    if fmt == "csv":
        users, teams = _write_csv(store, out, report)
        return ExportSummary(fmt, users, teams, 0, result, len(not_loaded))
    ctx = RequestContext(base_url=base_url.rstrip("/"), actor="export")
    out.write('{\n  "schemas": ' + json.dumps([LIST_RESPONSE]) + ',\n  "Resources": [')
    written = 0

    def put(resource: dict[str, Any]) -> None:
        nonlocal written
        out.write(("," if written else "") + "\n    " + json.dumps(resource, ensure_ascii=False))
        written += 1

    users = 0
    parts = ServiceParts.build(directory, store, settings, syncer)
    for page in _user_pages(UserService(parts), ctx):
        for resource in page.resources:
            put(resource)
        users += len(page.resources)
        report(SyncProgress("export", users, page.total))
    teams = role_groups = 0
    service = GroupService(parts)
    start = 1
    while True:
        total, groups = service.search_page(ctx, PageQuery(), want_members=True, start_index=start, count=PAGE)
        for group in groups:
            if group.get("id") in not_loaded:
                group.pop("members", None)  # not known: absent, never an empty list
            put(group)
            if _kind(group) == GroupKind.TEAM:
                teams += 1
            else:
                role_groups += 1
        start += len(groups)
        if not groups or start > total:
            break
    out.write(f'\n  ],\n  "totalResults": {written},\n  "startIndex": 1,\n  "itemsPerPage": {written}\n}}\n')
    return ExportSummary(fmt, users, teams, role_groups, result, len(not_loaded))


def _user_pages(users: UserService, ctx: RequestContext) -> Iterator[KeysetPage]:
    """Every user as GET /Users serves it, walked by position through the search index."""
    after: tuple[str, ...] | None = None
    while True:
        page = users.keyset_page(ctx, PageQuery(), after=after, backward=False, count=PAGE)
        if page is None:
            return
        yield page
        if not page.more or not page.positions:
            return
        after = tuple(page.positions[-1])


def _write_csv(store: Store, out: TextIO, report: ProgressHook) -> tuple[int, int]:
    """The CSV rows a page of users at a time; how many users, and how many teams there are."""
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    team_names = {g.id: g.display_name for g in store.list_groups(GroupKind.TEAM)}
    total = store.count_users()
    written = 0
    records = store.users_after(None, PAGE)
    while records:
        ids = [r.id for r in records]
        memberships = store.memberships_for_users(ids)
        suspended = store.suspensions_for(ids)
        for record in records:
            teams = sorted(team_names[m.group_id] for m in memberships.get(record.id, []) if m.group_id in team_names)
            writer.writerow(_row(record, teams, record.id not in suspended))
        written += len(records)
        report(SyncProgress("export", written, max(total, written)))
        records = store.users_after(records[-1], PAGE)
    return written, len(team_names)


def _row(record: UserRecord, teams: list[str], active: bool) -> dict[str, str]:
    user = DirectoryUser.from_json(record.upstream)
    address = user.address
    return {
        "id": user.id,
        "username": user.username,
        "fullName": user.full_name,
        "blocked": _flag(user.blocked),
        "verified": _flag(user.verified),
        "role.id": user.role_id or "",
        "role.name": user.role,
        "skypeUsername": user.skype_username,
        "timeZone": user.time_zone,
        "locale": user.locale,
        "userAddress.country": address.country if address else "",
        "userAddress.state": address.state if address else "",
        "userAddress.city": address.city if address else "",
        "userAddress.line": address.line if address else "",
        "userAddress.zipCode": address.zip_code if address else "",
        "createdAt": user.created_at or "",
        "teams": TEAM_SEPARATOR.join(teams),
        "active": _flag(active),
        "externalId": record.external_id or "",
    }


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _kind(group: dict[str, Any]) -> str:
    for key, value in group.items():
        if key.startswith("urn:") and isinstance(value, dict) and "kind" in value:
            return str(value["kind"])
    return GroupKind.TEAM.value
