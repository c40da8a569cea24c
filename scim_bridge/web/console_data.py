"""What the console pages show, assembled from the bridge's parts (no Flask request handling here)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from scim_bridge import __version__
from scim_bridge.config import describe_upstream
from scim_bridge.store.browse import AuditFilter
from scim_bridge.store.browse import Browser
from scim_bridge.store.records import GroupKind
from scim_bridge.web.health import budget_left
from scim_bridge.web.health import upstream_check
from scim_bridge.web.state import Bridge

HOUR = 3600


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))  # ISO 8601, a trailing Z included (Python 3.11)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def age_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < HOUR:
        return f"{seconds // 60} min {seconds % 60} s"
    if seconds < 48 * HOUR:
        return f"{seconds // HOUR} h {seconds % HOUR // 60} min"
    return f"{seconds // (24 * HOUR)} days"


def status(b: Bridge, scim_prefix: str) -> dict[str, Any]:
    store_ok = b.store.healthy()
    upstream = upstream_check(b)
    budget = budget_left(b.client) if b.client is not None else {}
    last = b.sync.last() or {}
    synced_at = parse_time(last.get("at"))
    now = datetime.now(UTC)
    browser = Browser(b.store)
    hour_ago = now - timedelta(hours=1)
    writes = browser.audit_count(AuditFilter(since=hour_ago))
    failed_writes = browser.audit_count(AuditFilter(since=hour_ago, equal={"outcome": "error"}))
    traffic = b.metrics.request_totals(scim_prefix)  # the figures of /metrics: every worker, since start
    started = b.started
    return {
        "version": __version__,
        "uptime": age_text(time.time() - started),
        "store_ok": store_ok,
        "database": b.store.dialect,
        "upstream": upstream,
        "api_url": describe_upstream(b.settings)[0],
        "region": describe_upstream(b.settings)[1],
        "budget": sorted(budget.items()),
        "budget_known": b.client is not None,
        "last_sync": last,
        "synced_at": synced_at,
        "mirror_age": age_text((now - synced_at).total_seconds()) if synced_at else None,
        "sync_interval": b.settings.sync_interval,
        "traffic": traffic,
        "error_rate": _rate(traffic["client_errors"] + traffic["server_errors"], traffic["requests"]),
        "writes": writes,
        "failed_writes": failed_writes,
        "write_error_rate": _rate(failed_writes, writes),
        "users": b.store.count_users(),
        "teams": b.store.count_groups(GroupKind.TEAM),
        "roles": b.store.count_groups(GroupKind.ROLE),
    }


def _rate(part: int, whole: int) -> str:
    return "—" if whole == 0 else f"{100.0 * part / whole:.1f} %"


def describe_suspension(b: Bridge, teams: Sequence[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    """(team id, team name, still exists) of the teams a suspended user will be put back into."""
    ids = [str(t.get("id", "")) for t in teams]
    found = b.store.get_groups(ids)
    return [(tid, found[tid].display_name if tid in found else tid, tid in found) for tid in ids]
