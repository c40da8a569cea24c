"""An audit event told in words: a one-line summary, the attributes it changed (before and after) and its
upstream calls labelled by purpose, from the event and the change the console recorded with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from scim_bridge.store.console_log import Change
from scim_bridge.store.records import AuditEvent

ATTRIBUTE_LABELS = {
    "userName": "userName", "displayName": "Display name", "active": "Active", "role": "Role", "teams": "Teams",
    "externalId": "externalId", "members": "Members", "kind": "Kind",
}
READS = frozenset({"GET", "HEAD"})
# Writes whose path says what they do (the Atlassian APIs name the action in the path).
PATH_PURPOSES = (("/members/remove", "remove from team"), ("/members/add", "add to team"),
                 ("/roles/revoke", "revoke product role"), ("/roles/grant", "grant product role"),
                 ("/invite", "invite account"), ("/suspend-access", "suspend account"),
                 ("/restore-access", "restore account"))


@dataclass(frozen=True)
class Modified:
    attribute: str
    before: str
    after: str


@dataclass(frozen=True)
class LabelledCall:
    number: int
    purpose: str
    method: str
    path: str
    target: str  # the users and teams the call is about, by name ("" when the path names none the bridge knows)
    status: int | None
    neutral: bool  # an expected answer that is no failure (the 404 of an existence check)
    failed: bool
    attempt: int
    started: str  # wall-clock start, to the millisecond ("" for calls recorded before start times were kept)
    gap_ms: float | None  # since the previous call started: back-off shows here
    duration_ms: Any
    request_id: str
    error: str


def short_name(name: str) -> str:
    """``bob.okafor@example.com`` -> ``bob.okafor@…`` (the domain adds little to a summary line)."""
    local, at, _domain = name.partition("@")
    return f"{local}@…" if at and local else name


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) if value else "none"
    return str(value) if value != "" else "—"


def modified(change: Change | None) -> list[Modified]:
    """The attributes whose value differs before and after the change, in a stable order."""
    if change is None or (change.before is None and change.after is None):
        return []
    before = change.before or {}
    after = change.after or {}
    rows: list[Modified] = []
    for key in ATTRIBUTE_LABELS:
        if key in ("kind",) or (key not in before and key not in after):
            continue
        old = _text(before.get(key)) if change.before else "—"
        new = _text(after.get(key)) if change.after else "—"
        if old != new:
            rows.append(Modified(ATTRIBUTE_LABELS[key], old, new))
    return rows


def _list_change(old: list[Any], new: list[Any], left: str, joined: str) -> list[str]:
    parts: list[str] = []
    gone = [x for x in old if x not in new]
    came = [x for x in new if x not in old]
    if gone:
        parts.append(f"{left} {', '.join(str(x) for x in gone)}")
    if came:
        parts.append(f"{joined} {', '.join(str(x) for x in came)}")
    return parts


def attempted_name(event: AuditEvent, change: Change | None) -> str:
    """The userName or displayName the client sent (what a failed create tried to make)."""
    body = change.body if change is not None else None
    if isinstance(body, dict):
        for key in ("userName", "displayName"):
            if isinstance(body.get(key), str) and body[key]:
                return str(body[key])
    return ""


def summary(event: AuditEvent, change: Change | None, name: str, words: dict[str, str]) -> str:
    """One line saying what the request did, e.g. "Deactivated bob.okafor@…: left Payments On-Call, role User →
    Stakeholder". ``words`` names the upstream's things ({"user": "user", "team": "team"} or Atlassian's)."""
    thing = words["user"] if event.resource_type == "Users" else words["team"]
    before = change.before if change is not None else None
    after = change.after if change is not None else None
    who = short_name(name or (after or before or {}).get("userName") or (after or before or {}).get("displayName")
                     or attempted_name(event, change) or event.resource_id or "")
    if event.outcome != "ok":
        verb = {"create": "create", "replace": "replace", "patch": "change", "delete": "delete"}.get(
            event.operation, event.operation)
        subject = f"{thing} {who}" if who else thing
        reason = f": {event.detail}" if event.detail else ""
        return f"Failed to {verb} {subject} ({event.status}){reason}"
    if event.operation == "delete":
        return f"Deleted {thing} {who}".rstrip()
    if event.operation == "create":
        parts = []
        if after and after.get("teams"):
            parts.append(f"in {', '.join(after['teams'])}")
        if after and after.get("role"):
            parts.append(f"role {after['role']}")
        if after and after.get("members"):
            count = len(after["members"])
            parts.append(f"{count} member{'' if count == 1 else 's'}")
        return f"Created {thing} {who}" + (": " + ", ".join(parts) if parts else "")
    verb = "Updated"
    parts = []
    if before is not None and after is not None:
        if before.get("active") is True and after.get("active") is False:
            verb = "Deactivated"
        elif before.get("active") is False and after.get("active") is True:
            verb = "Reactivated"
        if before.get("userName") != after.get("userName") and "userName" in before:
            parts.append(f"userName {before.get('userName')} → {after.get('userName')}")
        if before.get("displayName") != after.get("displayName"):
            parts.append(f"renamed {before.get('displayName') or '—'} → {after.get('displayName') or '—'}")
        parts += _list_change(before.get("teams") or [], after.get("teams") or [], "left", "joined")
        parts += _list_change(before.get("members") or [], after.get("members") or [], "removed", "added")
        if before.get("role") != after.get("role"):
            parts.append(f"role {before.get('role') or '—'} → {after.get('role') or '—'}")
    if not parts and change is not None and before == after and before is not None:
        parts.append("no visible change")
    return f"{verb} {thing} {who}".rstrip() + (": " + ", ".join(parts) if parts else "")


def _purpose(call: dict[str, Any], previous: list[dict[str, Any]], operation: str) -> tuple[str, bool]:
    """(purpose, neutral) of one call given the calls before it."""
    method = str(call.get("method") or "")
    status = call.get("status")
    attempt = effective_attempt(call, previous)
    writes_before = [c for c in previous if c.get("method") not in READS]
    retry = f" (retry, attempt {attempt})" if attempt > 1 else ""
    if method in READS:
        if not writes_before:
            if operation == "create":
                return "existence check" + retry, status == 404
            what = "teams" if str(call.get("path") or "").split("?")[0].endswith("/teams") else "state"
            return f"read current {what}" + retry, False
        last = writes_before[-1]
        last_status = last.get("status")
        if last_status is None or (isinstance(last_status, int) and last_status >= 500):
            label = f"re-check after {last_status}" if last_status else "re-check after no answer"
            return label + retry, status == 404
        return "read back" + retry, False
    label = {"POST": "create", "PUT": "replace", "PATCH": "update", "DELETE": "delete"}.get(method, method.lower())
    path = str(call.get("path") or "").split("?")[0]
    for fragment, named in PATH_PURPOSES:
        if fragment in path:
            label = named
            break
    else:
        if "/members" in path:
            label = {"POST": "add to team", "DELETE": "remove from team"}.get(method, label)
    return label + retry, False


def effective_attempt(call: dict[str, Any], previous: list[dict[str, Any]]) -> int:
    """The attempt number of a write: the client's own retries, or the bridge's re-issue after a re-check (the
    same write again after a failed one) counts as the next attempt."""
    own = int(call.get("attempt") or 1)
    if call.get("method") in READS:
        return own
    earlier = [c for c in previous if c.get("method") == call.get("method") and c.get("path") == call.get("path")]
    return max(own, len(earlier) + 1) if earlier and all(_failed(c) for c in earlier) else own


def _failed(call: dict[str, Any]) -> bool:
    status = call.get("status")
    return status is None or (isinstance(status, int) and status >= 500) or status == 429


def label_calls(event: AuditEvent, names: dict[str, str], fallback: str = "") -> list[LabelledCall]:
    """The event's upstream calls labelled by purpose, each with the name of the user or team it is about
    (``fallback``, the event's resource, for a write whose path names none, such as a create)."""
    labelled: list[LabelledCall] = []
    previous_start: float | None = None
    for number, call in enumerate(event.upstream_calls, 1):
        purpose, neutral = _purpose(call, event.upstream_calls[:number - 1], event.operation)
        status = call.get("status")
        started_at = call.get("started")
        started = ""
        gap = None
        if isinstance(started_at, int | float):
            started = datetime.fromtimestamp(started_at, UTC).strftime("%H:%M:%S.%f")[:-3]
            gap = None if previous_start is None else round((started_at - previous_start) * 1000, 1)
            previous_start = float(started_at)
        path = str(call.get("path") or "")
        segments = path.split("?")[0].split("/")
        target = ", ".join(dict.fromkeys(names.get(seg) or seg for seg in segments if seg in names or "@" in seg))
        if not target and call.get("method") not in READS:
            target = fallback
        failed = not neutral and (status is None or (isinstance(status, int) and status >= 400))
        labelled.append(LabelledCall(
            number=number, purpose=purpose, method=str(call.get("method") or ""), path=path, target=target,
            status=status if isinstance(status, int) else None, neutral=neutral, failed=failed,
            attempt=effective_attempt(call, event.upstream_calls[:number - 1]), started=started, gap_ms=gap,
            duration_ms=call.get("duration_ms"), request_id=str(call.get("request_id") or ""),
            error="" if neutral else str(call.get("error") or "")))
    return labelled


def path_ids(events: list[AuditEvent]) -> list[str]:
    """Every path segment of the events' upstream calls, to look up as user and team ids."""
    found: set[str] = set()
    for event in events:
        for call in event.upstream_calls:
            found.update(seg for seg in str(call.get("path") or "").split("?")[0].split("/") if len(seg) > 3)
    return sorted(found)
