"""The verdict, charts and traffic tables of the Status page, from the counts the console keeps in the
database (``store.console_log``). Every figure the console reads about traffic is read here."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from markupsafe import Markup

from scim_bridge.store.console_log import REJECTED
from scim_bridge.store.console_log import ConsoleLog
from scim_bridge.store.console_log import Rejection
from scim_bridge.web.console_charts import Chart
from scim_bridge.web.console_charts import Series
from scim_bridge.web.console_charts import render
from scim_bridge.web.state import Bridge

SILENT_AFTER_MINUTES = 60
REFUSAL_NAMES = {401: "401 wrong or missing token", 403: "403 missing scope", 429: "429 rate limit"}


@dataclass(frozen=True)
class Verdict:
    level: str  # "ok", "warn" or "error"
    headline: str
    reasons: list[str]


@dataclass(frozen=True)
class CredentialSeen:
    name: str
    last: str  # "4 min ago"; "" when no accepted call is counted (counts are kept 48 h)
    minutes: int | None


def upstream_words(b: Bridge) -> dict[str, str]:
    """How the pages name the upstream and its things."""
    if b.settings.upstream == "jsm":
        return {"upstream": "Atlassian", "user": "Atlassian account", "users": "Atlassian accounts",
                "team": "team", "teams": "teams"}
    return {"upstream": "OpsGenie", "user": "user", "users": "users", "team": "team", "teams": "teams"}


def _ago(minutes: int) -> str:
    if minutes < 1:
        return "less than a minute ago"
    if minutes < 120:
        return f"{minutes} min ago"
    return f"{minutes // 60} h ago"


def credentials_seen(b: Bridge, log_store: ConsoleLog, now_minute: int) -> list[CredentialSeen]:
    last = log_store.last_call_by_credential()
    names = sorted({t.name for t in b.settings.tokens} | {c.name for c in b.settings.oauth_clients} | set(last))
    return [CredentialSeen(n, _ago(now_minute - last[n]) if n in last else "",
                           now_minute - last[n] if n in last else None) for n in names]


def verdict(b: Bridge, status: dict[str, Any], log_store: ConsoleLog, seen: list[CredentialSeen],
            now_minute: int) -> Verdict:
    """One headline: "Healthy", "Degraded: OpsGenie 503s", "IdP silent for 3 h", ..."""
    up = upstream_words(b)["upstream"]
    problems: list[str] = []
    if not status["store_ok"]:
        problems.append("database unreachable")
    if not status["upstream"].get("ok"):
        problems.append(f"{up} not reachable")
    hour = Counter[int]()
    for _minute, kind, code, n in log_store.per_minute(now_minute - 59):
        if kind == "upstream":
            hour[code] += n
    failures = sorted(((n, code) for code, n in hour.items() if code >= 500 or code == 429), reverse=True)
    problems += [f"{up} {code}s" for _n, code in failures]
    if hour.get(0):
        problems.append(f"{up} not answering")
    last_sync = status.get("last_sync") or {}
    if last_sync and not last_sync.get("ok"):
        problems.append("last sync failed")
    if status.get("failed_writes"):
        count = int(status["failed_writes"])
        problems.append(f"{count} failed write{'' if count == 1 else 's'} in the last hour")
    heard = [s.minutes for s in seen if s.minutes is not None]
    reasons = list(problems)
    if problems:
        return Verdict("error" if not status["store_ok"] or not status["upstream"].get("ok") else "warn",
                       "Degraded: " + ", ".join(problems[:2]), reasons)
    if heard and min(heard) >= SILENT_AFTER_MINUTES:
        quiet = min(heard)
        span = f"{quiet // 60} h" if quiet >= 120 else f"{quiet} min"
        return Verdict("warn", f"IdP silent for {span}", [f"no SCIM request accepted for {span}"])
    if not heard:
        return Verdict("ok", "Healthy", ["no IdP call recorded in the last 48 h yet"])
    return Verdict("ok", "Healthy", [])


def _buckets(rows: list[tuple[int, str, int, int]], first: int, count: int, width: int) -> dict[str, list[float]]:
    names = ("requests", "errors", "refused", "upstream", "throttled", "upstream_errors")
    out = {name: [0.0] * count for name in names}
    for minute, kind, code, n in rows:
        i = (minute - first) // width
        if not 0 <= i < count:
            continue
        if kind in ("read", "write", REJECTED):
            out["requests"][i] += n
            if code >= 400:
                out["errors"][i] += n
            if kind == REJECTED:
                out["refused"][i] += n
        elif kind == "upstream":
            out["upstream"][i] += n
            if code == 429:
                out["throttled"][i] += n
            elif code >= 500 or code == 0:
                out["upstream_errors"][i] += n
    if width > 1:
        out = {k: [v / width for v in values] for k, values in out.items()}
    return out


def _minute_limit(b: Bridge) -> float | None:
    limits = getattr(getattr(b.client, "budget", None), "limits", None)
    if not callable(limits):
        return None
    found = limits()
    if not isinstance(found, dict) or not found:
        return None
    return float(sum(min(r.limit * 60.0 / r.period for r in rules) for rules in found.values() if rules)) or None


def charts(b: Bridge, log_store: ConsoleLog, now: float | None = None) -> dict[str, list[Markup]]:
    """{"1h": [...], "24h": [...]}: requests and errors, upstream calls and 429s, rate budget, sync runs."""
    now = time.time() if now is None else now
    now_minute = int(now // 60)
    up = upstream_words(b)["upstream"]
    rows = log_store.per_minute(now_minute - 24 * 60 + 1)
    limit = _minute_limit(b)
    result: dict[str, list[Markup]] = {}
    for key, count, width, left in (("1h", 60, 1, "60 min ago"), ("24h", 96, 15, "24 h ago")):
        first = now_minute - count * width + 1
        data = _buckets(rows, first, count, width)
        unit = "per minute" if width == 1 else "per minute, 15-minute averages"
        peak_calls = max(data["upstream"], default=0.0)
        used = f"peak {100 * peak_calls / limit:.0f} % of the limit" if limit else "no client-side limit known"
        result[key] = [render(c) for c in (
            Chart(f"SCIM requests and errors {unit}",
                  [Series("requests", data["requests"], "bar-main"), Series("errors (4xx, 5xx)", data["errors"],
                                                                             "bar-error")],
                  (left, "now"), description=f"{sum(data['requests']) * width:.0f} requests, "
                                             f"{sum(data['errors']) * width:.0f} errors"),
            Chart(f"{up} calls and 429s {unit}",
                  [Series("calls", data["upstream"], "bar-main"), Series("429 answers", data["throttled"], "bar-warn"),
                   Series("5xx or no answer", data["upstream_errors"], "bar-error")],
                  (left, "now"), description=f"{sum(data['upstream']) * width:.0f} calls, "
                                             f"{sum(data['throttled']) * width:.0f} answered 429"),
            Chart(f"Rate budget used {unit}: {used}", [Series("calls", data["upstream"], "bar-main")], (left, "now"),
                  limit=limit, limit_label=f"limit {limit:.0f}/min" if limit else "", description=used),
            _sync_chart(log_store, now, count * width * 60, left),
        )]
    return result


def _sync_chart(log_store: ConsoleLog, now: float, span: float, left: str) -> Chart:
    runs = log_store.sync_runs(now - span)
    slots = 60
    ok = [0.0] * slots
    failed = [0.0] * slots
    for run in runs:
        i = min(slots - 1, int((run.at - (now - span)) / span * slots))
        (ok if run.ok else failed)[i] = max((ok if run.ok else failed)[i], run.seconds)
    fails = sum(1 for r in runs if not r.ok)
    return Chart("Sync runs: duration in seconds (red: failed)",
                 [Series("successful run, seconds", ok, "bar-ok"), Series("failed run, seconds", failed, "bar-error")],
                 (left, "now"), description=f"{len(runs)} runs, {fails} failed")


def rejections(log_store: ConsoleLog, now_minute: int) -> list[tuple[Rejection, str, str]]:
    """Refused requests of the last 24 h: (counts, what the status means, when last seen)."""
    return [(r, REFUSAL_NAMES.get(r.status, str(r.status)),
             datetime.fromtimestamp(r.last_minute * 60, UTC).strftime("%Y-%m-%d %H:%M UTC"))
            for r in log_store.rejections(now_minute - 24 * 60 + 1)]


def reads_last_hour(log_store: ConsoleLog, now_minute: int) -> int:
    return sum(n for _m, kind, _code, n in log_store.per_minute(now_minute - 59) if kind == "read")
