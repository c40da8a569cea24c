"""``scim-bridge export``: the whole OpsGenie directory as a SCIM ListResponse or as CSV.

Both formats come from one full sync of the bridge's mirror. The SCIM export is read the way
``GET /Users`` and ``GET /Groups`` answer (users from the search index, groups from the group
service): a user or a group in the export looks exactly as the bridge serves it. The CSV has one
row per user with the attributes an identity governance tool imports from OpsGenie (the seed
columns of a Saviynt REST connector) plus teams, active and externalId; only the format asked
for is built.
"""

from __future__ import annotations

import csv
import json
import logging
import sys
from dataclasses import dataclass
from typing import Any
from typing import TextIO

from scim_bridge.config import Settings
from scim_bridge.directory.base import Directory
from scim_bridge.directory.errors import DirectoryError
from scim_bridge.directory.models import DirectoryUser
from scim_bridge.ops.progress import ProgressCallback
from scim_bridge.scim.listing import list_response
from scim_bridge.service.context import RequestContext
from scim_bridge.service.errors import explain_failure
from scim_bridge.service.groups import GroupService
from scim_bridge.service.sync import SyncResult
from scim_bridge.service.sync import SyncService
from scim_bridge.service.users import UserService
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


@dataclass(frozen=True)
class Snapshot:
    """What one export writes: SCIM Users then Groups (``scim``), or one CSV row per user (``csv``)."""

    fmt: str
    items: list[dict[str, Any]]
    users: int
    teams: int
    role_groups: int
    synced: SyncResult | None


def collect(
    settings: Settings, store: Store, directory: Directory, *, fmt: str = "scim", base_url: str = "/scim/v2",
    sync: bool = True, progress: ProgressCallback | None = None,
) -> Snapshot:
    """Refresh the mirror (unless ``sync`` is False) and build the export in format ``fmt`` from it.

    Without ``sync`` nothing is read upstream (no API key is needed): the mirror must have been synced
    once, by ``serve``, ``demo`` or ``sync``."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    syncer = SyncService.for_settings(directory, store, settings, progress=progress)
    result: SyncResult | None = None
    if not sync:
        last = syncer.last()
        if not last or not last.get("ok"):
            raise ExportError("the mirror holds no complete sync yet (SCIM_BRIDGE_DATABASE_URL "
                              f"{store.engine.url.render_as_string(hide_password=True)}): "
                              "run 'scim-bridge sync' once, or export without --no-sync")
    try:
        if sync:
            result = syncer.run()
            if result is None:
                log.warning("another replica holds the sync lease: exporting the mirror as it last synced")
        syncer.ensure_initial()
    except DirectoryError as exc:
        raise ExportError(f"could not read the OpsGenie directory: {explain_failure(exc, settings.upstream)}") from exc
    if fmt == "csv":
        rows, teams = _rows(store)
        return Snapshot(fmt, rows, len(rows), teams, 0, result)
    ctx = RequestContext(base_url=base_url.rstrip("/"), actor="export")
    users = _all_users(UserService(directory, store, settings, syncer), ctx)
    groups = GroupService(directory, store, settings, syncer).search(ctx, None, want_members=True)
    teams = sum(1 for g in groups if _kind(g) == "team")
    return Snapshot(fmt, [*users, *groups], len(users), teams, len(groups) - teams, result)


def write(snapshot: Snapshot, out: TextIO) -> None:
    if snapshot.fmt == "scim":
        resources = snapshot.items
        json.dump(list_response(resources, len(resources), 1), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(snapshot.items)


def _all_users(users: UserService, ctx: RequestContext) -> list[dict[str, Any]]:
    """Every user as GET /Users serves it, from the search index in one read (one snapshot)."""
    return users.search_page(ctx, None, sort_by=None, descending=False, start_index=1, count=sys.maxsize)[1]


def _rows(store: Store) -> tuple[list[dict[str, str]], int]:
    """The CSV rows, and how many teams there are."""
    records = store.list_users()
    team_names = {g.id: g.display_name for g in store.list_groups("team")}
    memberships = store.memberships_for_users([r.id for r in records])
    suspended = store.suspensions_for([r.id for r in records])
    rows: list[dict[str, str]] = []
    for record in records:
        user = DirectoryUser.from_json(record.upstream)
        address = user.address
        teams = sorted(team_names[m.group_id] for m in memberships.get(record.id, []) if m.group_id in team_names)
        rows.append({
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
            "active": _flag(record.id not in suspended),
            "externalId": record.external_id or "",
        })
    return rows, len(team_names)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _kind(group: dict[str, Any]) -> str:
    for key, value in group.items():
        if key.startswith("urn:") and isinstance(value, dict) and "kind" in value:
            return str(value["kind"])
    return "team"
