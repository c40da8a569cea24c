"""What the console records while the bridge answers SCIM requests: per-minute request counts (reads, writes,
refusals per credential name and source address, upstream calls) and, for each write, the request body with
its secrets masked and the resource as the mirror held it before and after.

Counts are gathered in memory and added to the database at most every ``FLUSH_SECONDS`` (and whenever a
console page reads them), so every worker and replica adds to the same totals.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Any

from flask import Flask
from flask import Response
from flask import g
from flask import request

from scim_bridge.store.console_log import REJECTED
from scim_bridge.store.console_log import Change
from scim_bridge.store.console_log import ConsoleLog
from scim_bridge.store.console_log import SyncRun
from scim_bridge.store.console_log import TrafficKey
from scim_bridge.store.records import GroupKind
from scim_bridge.web.state import Bridge

log = logging.getLogger("scim_bridge.console")
FLUSH_SECONDS = 10.0
REFUSED_STATUSES = frozenset({401, 403, 429})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SECRET_WORDS = ("password", "secret", "token", "apikey", "api_key", "credential")
MASK = "•••••• (not shown)"
UNKNOWN_CREDENTIAL = "(no valid credential)"
MAX_BODY_CHARS = 20000
MAX_KEYS_PER_MINUTE = 500  # rows per process and minute: the table's growth stays bounded
OTHER_SOURCES = "(other addresses)"


class TrafficCounter:
    """Per-minute counts of this process, added to the shared totals in the database from time to time."""

    def __init__(self, log_store: ConsoleLog, clock: Any = time.time) -> None:
        self.log_store = log_store
        self._clock = clock
        self._pending: Counter[TrafficKey] = Counter()
        self._lock = threading.Lock()
        self._flushed = clock()
        self._pruned = 0.0
        self._minute = -1
        self._seen: set[TrafficKey] = set()  # the rows this process writes for the current minute

    def count(self, kind: str, credential: str, source: str, status: int, n: int = 1) -> None:
        now = self._clock()
        with self._lock:
            key = (int(now // 60), kind, credential, source, status)
            if key[0] != self._minute:
                self._minute, self._seen = key[0], set()
            if key not in self._seen:
                if len(self._seen) >= MAX_KEYS_PER_MINUTE:
                    key = (key[0], kind, credential, OTHER_SOURCES, status)  # a spray of addresses stays one row
                self._seen.add(key)
            self._pending[key] += n
            due = now - self._flushed >= FLUSH_SECONDS
        if due:
            self.flush()

    def flush(self) -> None:
        now = self._clock()
        with self._lock:
            pending, self._pending = self._pending, Counter()
            self._flushed = now
        try:
            self.log_store.add_counts(pending)
            if now - self._pruned >= 3600:
                self._pruned = now
                self.log_store.prune(now)
        except Exception:  # counting must never break a request
            log.exception("could not store the console's request counts")

    def sync_finished(self, result: dict[str, Any]) -> None:
        """Observer of the sync service: one finished run (its LAST_SYNC record)."""
        if result.get("ok"):
            detail = f"{result.get('users', 0)} users, {result.get('teams', 0)} teams, {result.get('roles', 0)} roles"
        else:
            detail = str(result.get("error") or "failed")
        try:
            self.log_store.add_sync_run(SyncRun(at=self._clock(), ok=bool(result.get("ok")),
                                                seconds=float(result.get("seconds") or 0.0), detail=detail))
        except Exception:
            log.exception("could not store the sync run for the console")


def mask_secrets(value: Any) -> Any:
    """``value`` with every attribute that names a secret (password, token, ...) masked, at any depth."""
    if isinstance(value, dict):
        return {k: MASK if any(w in str(k).lower() for w in SECRET_WORDS) else mask_secrets(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return value


def snapshot(b: Bridge, resource_type: str, resource_id: str | None) -> dict[str, Any] | None:
    """The attributes the console compares before and after a write, as the mirror holds them now."""
    if not resource_id:
        return None
    if resource_type == "Users":
        user = b.store.get_user(resource_id)
        if user is None:
            return None
        memberships = b.store.groups_of(resource_id, GroupKind.TEAM)
        teams = b.store.get_groups([m.group_id for m in memberships])
        suspension = b.store.get_suspension(resource_id)
        return {
            "userName": user.user_name,
            "displayName": user.upstream.get("full_name") or "",
            "active": suspension is None,
            "role": str(user.upstream.get("role") or ""),
            "teams": sorted(teams[m.group_id].display_name for m in memberships if m.group_id in teams),
            "externalId": user.external_id or "",
        }
    if resource_type == "Groups":
        group = b.store.get_group(resource_id)
        if group is None:
            return None
        members = b.store.members_of(resource_id) if group.kind == GroupKind.TEAM else []
        names = b.store.user_names([m.user_id for m in members])
        return {
            "displayName": group.display_name,
            "kind": group.kind,
            "members": sorted(names.get(m.user_id, m.user_id) for m in members),
            "externalId": group.external_id or "",
        }
    return None


def _target(scim_prefix: str) -> tuple[str, str | None]:
    parts = request.path[len(scim_prefix):].strip("/").split("/")
    return (parts[0] if parts else ""), (parts[1] if len(parts) > 1 else None)


def _body() -> Any:
    """The JSON body the request's handler read (nothing is read here: a body that timed out, or that the
    handler never needed, is not waited for again)."""
    body = g.get("request_json")
    if body is None:
        return None
    masked = mask_secrets(body)
    text = str(masked)
    return masked if len(text) <= MAX_BODY_CHARS else {"note": f"body of {len(text)} characters not kept"}


def _name_of(body: Any, before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    for source in (after, before, body if isinstance(body, dict) else None):
        if source:
            for key in ("userName", "displayName"):
                if isinstance(source.get(key), str) and source[key]:
                    return str(source[key])
    return ""


def install(app: Flask, b: Bridge, counter: TrafficCounter, log_store: ConsoleLog, scim_prefix: str) -> None:
    """Register the hooks that record SCIM traffic and changes on ``app``."""

    @app.before_request
    def before_write() -> None:
        if (not request.path.startswith(scim_prefix) or request.method not in WRITE_METHODS
                or not request.headers.get("Authorization")):
            return
        resource_type, resource_id = _target(scim_prefix)
        if resource_type in ("Users", "Groups") and resource_id != ".search":
            try:
                g.console_before = snapshot(b, resource_type, resource_id)
            except Exception:
                log.exception("could not read the resource before the change")

    @app.after_request
    def after(response: Response) -> Response:
        if not request.path.startswith(scim_prefix):
            return response
        ctx = getattr(request, "scim_context", None)
        # A 401 names no credential (the context may hold a placeholder actor until authentication succeeds).
        actor = "" if response.status_code == 401 else str(getattr(ctx, "actor", "") or "")
        source = request.remote_addr or "unknown"
        status = response.status_code
        writing = request.method in WRITE_METHODS and not request.path.endswith("/.search")
        if status in REFUSED_STATUSES and (status != 403 or not writing or _scope_refusal(response)):
            counter.count(REJECTED, actor or UNKNOWN_CREDENTIAL, source, status)
        else:
            counter.count("write" if writing else "read", actor, source, status)
        for call in getattr(ctx, "upstream_calls", None) or ():
            counter.count("upstream", "", "", int(call.get("status") or 0))
        if writing and ctx is not None and actor:
            _record_change(b, log_store, scim_prefix, response, str(getattr(ctx, "request_id", "")))
        return response


def _scope_refusal(response: Response) -> bool:
    """A 403 answered for a missing scope (not for a rule such as "owners are never demoted")."""
    return "insufficient_scope" in response.headers.get("WWW-Authenticate", "")


def _record_change(b: Bridge, log_store: ConsoleLog, scim_prefix: str, response: Response, request_id: str) -> None:
    resource_type, resource_id = _target(scim_prefix)
    if resource_type not in ("Users", "Groups"):
        return
    if resource_id is None and response.status_code == 201:
        resource_id = response.headers.get("Location", "").rsplit("/", 1)[-1] or None
    try:
        before = g.get("console_before")
        after = snapshot(b, resource_type, resource_id)
        body = _body()
        log_store.add_change(Change(request_id=request_id, at=time.time(), name=_name_of(body, before, after),
                                    body=body, before=before, after=after))
    except Exception:  # the change happened; failing to describe it must not turn it into an error
        log.exception("could not record the change for the console")
