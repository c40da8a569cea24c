"""The operator console under /console: status, activity (the audit log), directory and drift, as
server-rendered pages (Jinja templates and one style sheet shipped in the package; no script needed).

Enabled only when SCIM_BRIDGE_CONSOLE_TOKEN is configured; see ``console_security`` for the login.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any
from typing import TypeVar
from urllib.parse import urlencode

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as ResponseBase

from scim_bridge.directory import errors as d
from scim_bridge.service.drift import drift_of
from scim_bridge.service.drift import drift_report
from scim_bridge.service.naming import role_group_name
from scim_bridge.store.browse import AuditFilter
from scim_bridge.store.browse import Browser
from scim_bridge.store.browse import Page
from scim_bridge.store.console_log import ConsoleLog
from scim_bridge.store.records import AuditEvent
from scim_bridge.store.records import GroupKind
from scim_bridge.web import console_activity
from scim_bridge.web import console_data
from scim_bridge.web import console_insight
from scim_bridge.web import console_record
from scim_bridge.web.console_security import ConsoleGuard
from scim_bridge.web.console_security import LoginThrottle
from scim_bridge.web.console_security import configure_sessions
from scim_bridge.web.console_security import csrf_token
from scim_bridge.web.console_security import csrf_valid
from scim_bridge.web.state import Bridge
from scim_bridge.web.state import bridge

log = logging.getLogger("scim_bridge.console")
PAGE_SIZE = 50
SCIM_PREFIX = "console_scim_prefix"
THROTTLE = "console_login_throttle"
GUARD = "console_guard"
COUNTER = "console_traffic_counter"
PERIODS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
PUBLIC_ENDPOINTS = frozenset({"console.login", "console.static"})
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

R = TypeVar("R")
STATIC = Path(__file__).with_name("static")
STATIC_MAX_AGE = 365 * 24 * 3600  # a static file's URL names its content (static_url): a new file, a new URL


class ConsoleBlueprint(Blueprint):
    """The console's blueprint: browsers keep its style sheet and script instead of asking again on every page."""

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        return STATIC_MAX_AGE


bp = ConsoleBlueprint("console", __name__, url_prefix="/console", template_folder="templates",
                      static_folder=STATIC, static_url_path="/static")


@functools.cache
def _static_digest(filename: str) -> str:
    return hashlib.sha256((STATIC / filename).read_bytes()).hexdigest()[:16]


def static_url(filename: str) -> str:
    """The URL of one of the console's static files, tagged with a digest of its content."""
    return url_for("console.static", filename=filename, v=_static_digest(filename))


def init_app(app: Flask, *, scim_prefix: str) -> None:
    """Register the console on ``app`` (call only when a console token is configured)."""
    b: Bridge = app.extensions["scim_bridge"]
    guard = configure_sessions(app, b.settings, b.store)
    b.extras[SCIM_PREFIX] = scim_prefix
    b.extras[GUARD] = guard
    b.extras[THROTTLE] = LoginThrottle(guard.sessions)
    log_store = ConsoleLog(b.store.engine)
    counter = console_record.TrafficCounter(log_store)
    b.extras[console_activity.LOG] = log_store
    b.extras[COUNTER] = counter
    b.sync.observers.append(counter.sync_finished)
    console_record.install(app, b, counter, log_store, scim_prefix)
    app.register_blueprint(bp)


# --- protection -------------------------------------------------------------------------------------
def _guard() -> ConsoleGuard:
    found: ConsoleGuard = bridge().extras[GUARD]
    return found


@bp.before_request
def guard() -> ResponseBase | None:
    if request.endpoint == "console.static":
        return None
    # The session is checked first: no form (body) is read for a client that is not logged in.
    if request.endpoint not in PUBLIC_ENDPOINTS and not _guard().logged_in():
        target = request.full_path if request.query_string else request.path
        return redirect(url_for("console.login", next=target))
    if request.method == "POST" and not csrf_valid(request.form.get("csrf_token")):
        abort(400, "The form has expired or did not come from this console. Reload the page and try again.")
    return None


@bp.after_request
def protect(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> tuple[str, int]:
    status = exc.code or 500
    return render_template("error.html", status=status, title=exc.name, message=exc.description), status


@bp.context_processor
def template_helpers() -> dict[str, Any]:
    return {"csrf_token": csrf_token, "when": _when, "logged_in": _guard().logged_in(),
            "page_url": _page_url, "words": console_insight.upstream_words(bridge()), "static_url": static_url}


def _when(value: Any) -> str:
    moment = value if isinstance(value, datetime) else console_data.parse_time(value)
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("console.status")


# --- login -------------------------------------------------------------------------------------------
@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    b = bridge()
    next_url = request.values.get("next")
    guard = _guard()
    if request.method == "GET":
        if guard.logged_in():
            return redirect(_safe_next(next_url))
        return render_template("login.html", next=next_url or "", error=None)
    throttle: LoginThrottle = b.extras[THROTTLE]
    client = request.remote_addr or "unknown"
    wait = throttle.blocked(client)
    if wait > 0:
        message = f"Too many failed attempts. Try again in {int(wait) + 1} seconds."
        response = render_template("login.html", next=next_url or "", error=message)
        return response, 429, {"Retry-After": str(int(wait) + 1)}
    if guard.token_matches(request.form.get("token", "")):
        guard.log_in()
        log.info("console login from %s", client)
        return redirect(_safe_next(next_url))
    throttle.failed(client)
    log.warning("console login refused from %s", client)
    return render_template("login.html", next=next_url or "", error="That console token is not valid."), 401


@bp.post("/logout")
def logout() -> Any:
    _guard().log_out()
    return redirect(url_for("console.login"))


# --- status ------------------------------------------------------------------------------------------
@bp.get("/")
def status() -> str:
    b = bridge()
    counter: console_record.TrafficCounter = b.extras[COUNTER]
    counter.flush()
    log_store = console_activity.console_log(b)
    figures = console_data.status(b, b.extras[SCIM_PREFIX])
    now = time.time()
    minute = int(now // 60)
    seen = console_insight.credentials_seen(b, log_store, minute)
    return render_template(
        "status.html", active="status", s=figures, seen=seen,
        verdict=console_insight.verdict(b, figures, log_store, seen, minute),
        charts=console_insight.charts(b, log_store, now), rejections=console_insight.rejections(log_store, minute),
        reads=console_insight.reads_last_hour(log_store, minute))


@bp.post("/sync")
def sync_now() -> Any:
    b = bridge()
    try:
        result = b.sync.run()
    except d.DirectoryError as exc:
        flash(f"The sync failed: {exc.message}" + (f" (OpsGenie requestId {exc.request_id})"
                                                    if exc.request_id else ""), "error")
    else:
        if result is None:
            flash("Another sync is running; its result will show here when it ends.", "info")
        else:
            flash(f"Sync finished: {result.users} users, {result.teams} teams, {result.roles} roles "
                  f"in {result.seconds:.1f} s.", "ok")
    return redirect(_safe_next(request.form.get("next")))


# --- paging ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pager:
    page: int
    pages: int
    total: int
    first: int
    last: int


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return max(1, int(raw)) if raw.isdigit() else 1


def _pager(page: int, found: Page) -> Pager:
    pages = max(1, -(-found.total // PAGE_SIZE))
    first = (page - 1) * PAGE_SIZE + 1 if found.rows else 0
    return Pager(page=page, pages=pages, total=found.total, first=first, last=first + len(found.rows) - 1
                 if found.rows else 0)


def _page_url(page: int) -> str:
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    if page > 1:
        args["page"] = str(page)
    return request.path + ("?" + urlencode(args) if args else "")


def _paged(fetch: Callable[[int, int], Page]) -> tuple[Page, Pager]:
    page = _page_number()
    found = fetch((page - 1) * PAGE_SIZE, PAGE_SIZE)
    if not found.rows and page > 1 and found.total:
        page = max(1, -(-found.total // PAGE_SIZE))
        found = fetch((page - 1) * PAGE_SIZE, PAGE_SIZE)
    return found, _pager(page, found)


# --- activity ----------------------------------------------------------------------------------------
@bp.get("/activity")
def activity() -> Any:
    return console_activity.list_page(PERIODS, _paged)


@bp.get("/activity/<int:event_id>")
def activity_detail(event_id: int) -> str:
    shown = console_activity.detail(event_id)
    upstream = console_insight.upstream_words(bridge())["upstream"]
    return render_template("activity_detail.html", active="activity", ticket=_ticket_text(shown["e"], upstream),
                           **shown)


def _ticket_text(event: AuditEvent, upstream: str) -> str:
    """A plain-text summary to paste into a support ticket."""
    lines = [
        f"SCIM request: {event.method} {event.path}",
        f"Time: {_when(event.at)}",
        f"Client: {event.actor or '-'} (scopes used: {event.scopes or '-'})",
        f"Bridge request id: {event.request_id}",
        f"Result: {event.status} ({event.outcome})",
    ]
    if event.detail:
        lines.append(f"Detail: {event.detail}")
    lines.append(f"{upstream} calls:")
    for number, call in enumerate(event.upstream_calls, 1):
        status = call.get("status") if call.get("status") is not None else "no response"
        line = f"  {number}. {call.get('method')} {call.get('path')} -> {status}"
        line += f", requestId {call.get('request_id') or '-'}"
        if call.get("error"):
            line += f", error: {call.get('error')}"
        lines.append(line)
    if not event.upstream_calls:
        lines.append("  (none)")
    return "\n".join(lines)


# --- directory ---------------------------------------------------------------------------------------
@bp.get("/directory")
def directory() -> Any:
    return redirect(url_for("console.users"))


def _search_text() -> str:
    """The directory pages' search box (``q``), trimmed and at most 200 characters."""
    return request.args.get("q", "").strip()[:200]


def _known(record: R | None, what: str, item_id: str) -> R:
    """``record``, or a 404 page when the bridge has no ``what`` with that id."""
    if record is None:
        abort(404, f"The bridge does not know a {what} with id {item_id}.")
    return record


@bp.get("/directory/users")
def users() -> str:
    b = bridge()
    query = _search_text()
    browser = Browser(b.store)
    found, pager = _paged(lambda offset, limit: browser.users(query, offset, limit))
    suspended = browser.suspended([u.id for u in found.rows])
    return render_template("users.html", active="directory", tab="users", users=found.rows, pager=pager, q=query,
                           suspended=suspended)


@bp.get("/directory/users/<item_id>")
def user(item_id: str) -> str:
    b = bridge()
    record = _known(b.store.get_user(item_id), "user", item_id)
    memberships = b.store.groups_of(item_id, GroupKind.TEAM)
    teams = b.store.get_groups([m.group_id for m in memberships])
    team_rows = sorted(((m.group_id, teams[m.group_id].display_name if m.group_id in teams else m.group_id, m.role)
                        for m in memberships), key=lambda row: row[1].lower())
    role = str(record.upstream.get("role") or "")
    role_group = b.store.get_group_by_name(GroupKind.ROLE, role_group_name(role)) if role else None
    suspension = b.store.get_suspension(item_id)
    restore = console_data.describe_suspension(b, suspension.teams) if suspension else []
    recent = b.store.list_audit(limit=10, resource_id=item_id)
    return render_template("user.html", active="directory", tab="users", u=record, teams=team_rows, role=role,
                           role_group=role_group, suspension=suspension, restore=restore, recent=recent)


@bp.get("/directory/teams")
def teams() -> str:
    b = bridge()
    query = _search_text()
    browser = Browser(b.store)
    found, pager = _paged(lambda offset, limit: browser.groups(GroupKind.TEAM, query, offset, limit))
    counts = browser.member_counts([g.id for g in found.rows])
    return render_template("teams.html", active="directory", tab="teams", groups=found.rows, pager=pager, q=query,
                           counts=counts)


@bp.get("/directory/roles")
def roles() -> str:
    b = bridge()
    browser = Browser(b.store)
    found = browser.groups(GroupKind.ROLE, "", 0, 1000)
    counts = browser.role_counts()
    rows = [(g, str(g.upstream.get("name") or g.display_name), counts.get(str(g.upstream.get("name", "")).lower(), 0))
            for g in found.rows]
    return render_template("roles.html", active="directory", tab="roles", rows=rows)


@bp.get("/directory/groups/<item_id>")
def group(item_id: str) -> str:
    b = bridge()
    record = _known(b.store.get_group(item_id), "group", item_id)
    query = _search_text()
    browser = Browser(b.store)
    if record.kind == GroupKind.TEAM:
        found, pager = _paged(lambda offset, limit: browser.team_members(item_id, query, offset, limit))
        members = found.rows
        role_name = None
    else:
        role_name = str(record.upstream.get("name") or record.display_name)
        found, pager = _paged(lambda offset, limit: browser.users(query, offset, limit, role=role_name))
        members = [(u, "") for u in found.rows]
    suspended = browser.suspended([u.id for u, _ in members])
    recent = b.store.list_audit(limit=10, resource_id=item_id) if record.kind == GroupKind.TEAM else []
    team_drift = drift_of(b.store, item_id) if record.kind == GroupKind.TEAM else None
    return render_template("group.html", active="directory", tab="teams" if record.kind == GroupKind.TEAM else "roles",
                           g=record, members=members, pager=pager, q=query, suspended=suspended,
                           role_name=role_name, recent=recent, team_drift=team_drift,
                           upstream_only={uid for uid, _ in team_drift.added} if team_drift else set())


# --- drift -------------------------------------------------------------------------------------------
@bp.get("/drift")
def drift() -> str:
    b = bridge()
    last = b.sync.last() or {}
    synced_at = console_data.parse_time(last.get("at"))
    writes_since = Browser(b.store).audit_count(AuditFilter(since=synced_at)) if synced_at else None
    age = console_data.age_text((datetime.now(UTC) - synced_at).total_seconds()) if synced_at else None
    return render_template("drift.html", active="drift", report=drift_report(b.store), last=last,
                           computed=datetime.now(UTC), synced_at=synced_at, sync_age=age, writes_since=writes_since)
