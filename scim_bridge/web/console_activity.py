"""The console's Activity pages: the audit log told in words, filtered (also by user or team name), exported
as CSV or JSON, and one event with its modified attributes, request body and labelled upstream calls."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import Response
from flask import abort
from flask import render_template
from flask import request
from flask import url_for

from scim_bridge.store.browse import AuditFilter
from scim_bridge.store.browse import Browser
from scim_bridge.store.browse import NameMatch
from scim_bridge.store.browse import Page
from scim_bridge.store.console_log import Change
from scim_bridge.store.console_log import ConsoleLog
from scim_bridge.store.records import AuditEvent
from scim_bridge.store.records import GroupKind
from scim_bridge.web import console_summary as cs
from scim_bridge.web.console_insight import upstream_words
from scim_bridge.web.state import Bridge
from scim_bridge.web.state import bridge

OPERATIONS = ("create", "replace", "patch", "delete")
RESOURCE_TYPES = ("Users", "Groups")
OUTCOMES = ("ok", "error")
PERIOD_NAMES = ("1h", "24h", "7d")
EXPORT_LIMIT = 10000
NAME_MATCH_LIMIT = 500
LOG = "console_log"


@dataclass(frozen=True)
class Row:
    """One activity entry as the list shows it."""

    event: AuditEvent
    name: str
    summary: str
    attempted: str  # the userName/displayName a failed create tried
    existing_link: str | None  # on a 409: the resource that already holds the name
    existing_name: str


def console_log(b: Bridge) -> ConsoleLog:
    found: ConsoleLog = b.extras[LOG]
    return found


def read_filter(b: Bridge, periods: dict[str, Any]) -> tuple[AuditFilter, list[str], str]:
    """The filter of the request's query, the problems with it (unknown values), and the name searched for."""
    problems: list[str] = []

    def choice(param: str, allowed: tuple[str, ...], label: str) -> str:
        value = request.args.get(param, "").strip()
        if value and value not in allowed:
            problems.append(f"Unknown {label} {value!r}: use one of {', '.join(allowed)}.")
        return value if value in allowed else ""

    period = choice("period", tuple(periods), "period")
    actor = request.args.get("actor", "").strip()
    known = {t.name for t in b.settings.tokens} | {c.name for c in b.settings.oauth_clients}
    if actor and actor not in known:
        problems.append(f"No configured credential is named {actor!r}; showing the events recorded under that name.")
    name = request.args.get("name", "").strip()[:200]
    named: NameMatch | None = None
    if name:
        browser = Browser(b.store)
        users = browser.users(name, 0, NAME_MATCH_LIMIT).rows
        teams = browser.groups(GroupKind.TEAM, name, 0, NAME_MATCH_LIMIT).rows
        named = NameMatch(resource_ids=tuple([u.id for u in users] + [t.id for t in teams]),
                          request_ids=tuple(console_log(b).request_ids_naming(name)))
        if not named.resource_ids and not named.request_ids:
            problems.append(f"No user or team named like {name!r} is known, nor in any recorded change.")
    flt = AuditFilter(
        since=datetime.now(UTC) - periods[period] if period else None,
        equal={"actor": actor, "outcome": choice("outcome", OUTCOMES, "outcome"),
               "operation": choice("operation", OPERATIONS, "operation"),
               "resource_type": choice("type", RESOURCE_TYPES, "resource type"),
               "resource_id": request.args.get("resource", "").strip()},
        named=named,
    )
    unknown_params = sorted(set(request.args) - {"period", "actor", "name", "outcome", "operation", "type",
                                                   "resource", "page", "format"})
    if unknown_params:
        problems.append(f"Unknown filter {', '.join(repr(p) for p in unknown_params)}: the filters are client, "
                        "name, operation, resource type, resource id, outcome and period.")
    return flt, problems, name


def refuses(problems: list[str]) -> bool:
    """Whether a problem makes the filter unusable (not just worth a note)."""
    return any(p.startswith("Unknown") for p in problems)


def resource_names(b: Bridge, events: list[AuditEvent]) -> dict[str, str]:
    user_ids = [e.resource_id for e in events if e.resource_id and e.resource_type == "Users"]
    group_ids = [e.resource_id for e in events if e.resource_id and e.resource_type == "Groups"]
    names = dict(b.store.user_names(user_ids))
    names.update({gid: g.display_name for gid, g in b.store.get_groups(group_ids).items()})
    return names


def _existing(b: Bridge, event: AuditEvent, attempted: str) -> tuple[str | None, str]:
    if event.status != 409 or not attempted:
        return None, ""
    if event.resource_type == "Users":
        user = b.store.get_user_by_username(attempted)
        return (url_for("console.user", item_id=user.id), user.user_name) if user else (None, "")
    group = b.store.get_group_by_name(GroupKind.TEAM, attempted)
    return (url_for("console.group", item_id=group.id), group.display_name) if group else (None, "")


def rows(b: Bridge, events: list[AuditEvent]) -> list[Row]:
    names = resource_names(b, events)
    changes = console_log(b).changes([e.request_id for e in events])
    words = upstream_words(b)
    found: list[Row] = []
    for event in events:
        change = changes.get(event.request_id)
        name = names.get(event.resource_id or "", "")
        attempted = cs.attempted_name(event, change) if event.operation == "create" and event.outcome != "ok" else ""
        link, existing = _existing(b, event, attempted)
        found.append(Row(event, name, cs.summary(event, change, name, words), attempted, link, existing))
    return found


def export(b: Bridge, flt: AuditFilter, fmt: str) -> Response:
    events = Browser(b.store).audit(flt, 0, EXPORT_LIMIT).rows
    records = [{
        "id": r.event.id, "time": r.event.at.astimezone(UTC).isoformat(), "client": r.event.actor,
        "operation": r.event.operation, "resourceType": r.event.resource_type, "resourceId": r.event.resource_id or "",
        "name": r.name or r.attempted, "outcome": r.event.outcome, "status": r.event.status, "summary": r.summary,
        "detail": r.event.detail, "requestId": r.event.request_id, "upstreamCalls": len(r.event.upstream_calls),
    } for r in rows(b, events)]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if fmt == "json":
        body = json.dumps({"events": records, "truncated": len(records) == EXPORT_LIMIT}, indent=1)
        mimetype, ext = "application/json", "json"
    else:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(records[0]) if records else ["id"])
        writer.writeheader()
        for record in records:
            writer.writerow({k: _cell(v) for k, v in record.items()})
        body, mimetype, ext = out.getvalue(), "text/csv", "csv"
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="scim-bridge-activity-{stamp}.{ext}"'})


def _cell(value: Any) -> Any:
    """A spreadsheet never runs a cell as a formula: text starting with = + - @ gets a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def detail(event_id: int) -> dict[str, Any]:
    """What the page of one event shows."""
    b = bridge()
    event = b.store.get_audit(event_id)
    if event is None:
        abort(404, f"There is no audit event {event_id}; it may have been pruned.")
    names = resource_names(b, [event])
    change: Change | None = console_log(b).changes([event.request_id]).get(event.request_id)
    path_ids = cs.path_ids([event])
    call_names = dict(b.store.user_names(path_ids))
    call_names.update({gid: g.display_name for gid, g in b.store.get_groups(path_ids).items()})
    name = names.get(event.resource_id or "", "")
    resource_link = None
    if event.resource_id and event.resource_id in names:
        endpoint = "console.user" if event.resource_type == "Users" else "console.group"
        resource_link = url_for(endpoint, item_id=event.resource_id)
    row = rows(b, [event])[0]
    return {"e": event, "name": name, "resource_link": resource_link, "row": row, "change": change,
            "modified": cs.modified(change), "calls": cs.label_calls(event, call_names, name or row.attempted),
            "body": json.dumps(change.body, indent=2, ensure_ascii=False) if change and change.body is not None
            else None}


def list_page(periods: dict[str, Any], paged: Callable[[Callable[[int, int], Page]], tuple[Page, Any]]
              ) -> tuple[str, int] | Response:
    """The activity list; ``paged`` is the console's pager."""
    b = bridge()
    flt, problems, name = read_filter(b, periods)
    fmt = request.args.get("format", "")
    if fmt and not refuses(problems):
        if fmt not in ("csv", "json"):
            problems.append(f"Unknown export format {fmt!r}: use csv or json.")
        else:
            return export(b, flt, fmt)
    if refuses(problems):
        found_rows: list[Row] = []
        pager = None
    else:
        found, pager = paged(lambda offset, limit: Browser(b.store).audit(flt, offset, limit))
        found_rows = rows(b, found.rows)
    actors = sorted({t.name for t in b.settings.tokens} | {c.name for c in b.settings.oauth_clients})
    export_args = {k: v for k, v in request.args.items() if k not in ("page", "format") and v}
    html = render_template(
        "activity.html", active="activity", rows=found_rows, pager=pager, actors=actors, period=request.args.get(
            "period", ""), periods=periods, flt=flt, name=name, operations=OPERATIONS, resource_types=RESOURCE_TYPES,
        outcomes=OUTCOMES, problems=problems,
        csv_url=url_for("console.activity") + "?" + urlencode({**export_args, "format": "csv"}),
        json_url=url_for("console.activity") + "?" + urlencode({**export_args, "format": "json"}),
    )
    return html, 400 if refuses(problems) else 200
