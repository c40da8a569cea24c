"""Scenario "large directory": 100,000 users and 2,000 teams, on SQLite and on PostgreSQL.

Upstream: the simulator with its default limits (search 50/s and 3,000/min, configuration 100/s and
6,000/min), which the bridge reads from ``GET /v2/request-limits/``. Per backend:

1. ``scim-bridge sync`` as an operator runs it: upstream calls by endpoint, wall time, peak RSS;
2. ``scim-bridge serve`` on that mirror (no start-up sync): first and deepest page by startIndex and by
   cursor (p50), a full walk by each (count=100), filters ``userName eq``, ``displayName co``,
   ``userName sw``, sortBy userName (first and deepest page), then the workers' peak RSS;
3. ``scim-bridge export`` (SCIM and CSV, from the mirror): wall time and peak RSS.

Run it alone with ``python -m bench --only large`` (``--quick``: 5,000 users and 100 teams).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests

from bench.report import Row
from bench.report import ms
from bench.report import percentile
from bench.report import table
from bench.servers import BIN
from bench.servers import SIM_KEY
from bench.servers import TOKEN
from bench.servers import Bridge
from bench.servers import Simulator
from bench.servers import memory_kib
from bench.servers import scim_session

SAMPLES = 7  # requests per probe; the p50 is reported
BACKENDS = ("sqlite", "postgresql")


def _env(sim: Simulator, database_url: str) -> dict[str, str]:
    return {**os.environ, "OPSGENIE_API_URL": sim.base_url, "OPSGENIE_API_KEY": SIM_KEY,
            "SCIM_BEARER_TOKEN": TOKEN, "SCIM_BRIDGE_DATABASE_URL": database_url, "SCIM_BRIDGE_SYNC_INTERVAL": "0"}


def _command(argv: list[str], env: dict[str, str], work: Path, name: str) -> dict[str, Any]:
    """Run ``scim-bridge ARGV``; its wall time, exit status and peak RSS (KiB, from wait4)."""
    log = (work / f"{name}.log").open("wb")
    began = time.monotonic()
    proc = subprocess.Popen([str(BIN / "scim-bridge"), *argv], env=env, cwd=work, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    log.close()
    return {"seconds": time.monotonic() - began, "status": proc.returncode, "max_rss_kib": usage.ru_maxrss,
            "log": (work / f"{name}.log").read_text(errors="replace")[-2000:]}


def _database(backend: str, work: Path, stack: ExitStack) -> str:
    if backend == "sqlite":
        return f"sqlite:///{work / 'large.db'}"
    from tests.pgserver import create_database
    from tests.pgserver import drop_database
    from tests.pgserver import shared_postgres
    from tests.pgserver import stop_shared_postgres

    stack.callback(stop_shared_postgres)
    url = create_database(shared_postgres(), "bench_large")
    stack.callback(drop_database, url)
    return url


def _timed(session: requests.Session, url: str, params: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    began = time.monotonic()
    response = session.get(url, params=params, timeout=300)
    elapsed = time.monotonic() - began
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return elapsed, body


def _p50(session: requests.Session, url: str, params: Callable[[int], dict[str, Any]]) -> float:
    values = [_timed(session, url, params(i))[0] for i in range(SAMPLES)]
    return percentile(values, 50)


def _walk(session: requests.Session, url: str, by_cursor: bool) -> dict[str, Any]:
    """Every user with count=100, by cursor or by startIndex: seconds, pages, distinct ids, last cursor."""
    began = time.monotonic()
    seen: set[str] = set()
    pages = 0
    params: dict[str, Any] = {"count": 100, "attributes": "userName"}
    params.update({"cursor": ""} if by_cursor else {"startIndex": 1})
    last_cursor = ""
    while True:
        _, body = _timed(session, url, params)
        pages += 1
        seen.update(r["id"] for r in body["Resources"])
        if by_cursor:
            if "nextCursor" not in body:
                break
            last_cursor = params["cursor"] = body["nextCursor"]
        else:
            params["startIndex"] += len(body["Resources"])
            if not body["Resources"] or params["startIndex"] > body["totalResults"]:
                break
    return {"seconds": time.monotonic() - began, "pages": pages, "ids": len(seen), "last_cursor": last_cursor}


def _serve_figures(bridge: Bridge, users: int) -> dict[str, Any]:
    session = scim_session()
    url = f"{bridge.base_url}/Users"
    deepest = max(1, users - 99)
    figures: dict[str, Any] = {}
    figures["first startIndex"] = _p50(session, url, lambda i: {"count": 100, "startIndex": 1})
    began = time.monotonic()
    _timed(session, url, {"count": 100, "startIndex": deepest})
    figures["deepest startIndex, first request"] = time.monotonic() - began
    figures["deepest startIndex"] = _p50(session, url, lambda i: {"count": 100, "startIndex": deepest})
    figures["walk startIndex"] = _walk(session, url, by_cursor=False)
    walk = _walk(session, url, by_cursor=True)
    figures["walk cursor"] = walk
    figures["first cursor"] = _p50(session, url, lambda i: {"count": 100, "cursor": ""})
    figures["deepest cursor"] = _p50(session, url, lambda i: {"count": 100, "cursor": walk["last_cursor"]})
    figures["filter userName eq"] = _p50(
        session, url, lambda i: {"filter": f'userName eq "user{1 + (i * 7919) % users:05d}@example.com"'})
    figures["filter displayName co"] = _p50(
        session, url, lambda i: {"filter": f'displayName co "{(i * 37) % 1000:03d}"', "count": 100})
    figures["filter userName sw"] = _p50(
        session, url, lambda i: {"filter": f'userName sw "user{1 + (i * 13) % (users // 10):04d}"'})
    figures["sortBy userName first"] = _p50(session, url, lambda i: {"sortBy": "userName", "count": 100})
    figures["sortBy userName deepest"] = _p50(
        session, url, lambda i: {"sortBy": "userName", "count": 100, "startIndex": deepest})
    figures["sortBy displayName descending deepest"] = _p50(
        session, url, lambda i: {"sortBy": "displayName", "sortOrder": "descending", "count": 100,
                                 "startIndex": deepest})
    figures["memory"] = {pid: memory_kib(pid) for pid in bridge.worker_pids()}
    return figures


def run_backend(work: Path, backend: str, users: int, teams: int, members_per_team: int) -> dict[str, Any]:
    found: dict[str, Any] = {}
    with ExitStack() as stack:
        sim = Simulator(work, rate_limits=())  # the simulator's default limits
        stack.callback(sim.stop)
        sim.bulk(users, teams=teams, members_per_team=members_per_team)
        database_url = _database(backend, work, stack)
        env = _env(sim, database_url)
        upgraded = _command(["db", "upgrade"], env, work, f"upgrade-{backend}")
        assert upgraded["status"] == 0, upgraded["log"]
        sim.clear_calls()
        found["sync"] = _command(["sync"], env, work, f"sync-{backend}")
        calls = sim.calls()
        found["sync"]["calls"] = Counter(
            f"{c['method']} /v2/teams/{{id}}" if c["path"].startswith("/v2/teams/") else f"{c['method']} {c['path']}"
            for c in calls)
        if backend == "postgresql":
            # The rate budget is shared through the database: a server starting while the sync's calls are
            # still in the last minute's window cannot get a slot for its calibration call under the fallback
            # limits (known issue, see RESULTS.md), and would then pace itself with those.
            time.sleep(65)
        bridge = Bridge(work, sim, extra_env={"SCIM_BRIDGE_DATABASE_URL": database_url,
                                              "SCIM_BRIDGE_SYNC_INTERVAL": "0"})
        stack.callback(bridge.stop)
        bridge.wait_synced(timeout=600)
        found["serve"] = _serve_figures(bridge, users)
        bridge.stop()
        for fmt in ("scim", "csv"):
            found[f"export {fmt}"] = _command(["export", "--no-sync", "--format", fmt, "--output",
                                               str(work / f"export.{fmt}")], env, work, f"export-{fmt}-{backend}")
    return found


def large(work: Path, users: int = 100_000, teams: int = 2_000, members_per_team: int = 10,
          backends: tuple[str, ...] = BACKENDS) -> tuple[list[Row], dict[str, Any]]:
    rows: list[Row] = []
    details: dict[str, Any] = {}
    for backend in backends:
        print(f"   large directory on {backend} ...", flush=True)
        found = details[backend] = run_backend(work, backend, users, teams, members_per_team)
        done = _rows(backend, users, teams, found)
        rows += done
        print(table(done), flush=True)  # each backend's figures as soon as they are in
    return rows, details


def _rows(backend: str, users: int, teams: int, found: dict[str, Any]) -> list[Row]:
    section = f"large directory ({users:,} users, {teams:,} teams, {backend})"
    sync, serve = found["sync"], found["serve"]
    pages = sync["calls"].get("GET /v2/users", 0)
    must = -(-(users + 1) // 100)
    rows = [
        Row(section, "scim-bridge sync: exit status, wall time", "succeeds",
            f"{sync['status']}, {sync['seconds']:.0f} s", sync["status"] == 0),
        Row(section, "sync upstream calls", f"user pages <= {must}, one per team",
            ", ".join(f"{k}: {n}" for k, n in sync["calls"].most_common()),
            pages <= must and sync["calls"].get("GET /v2/teams/{id}", 0) == teams),
        Row(section, "sync peak RSS", "<= 200 MB", f"{sync['max_rss_kib'] / 1024:.0f} MB",
            sync["max_rss_kib"] <= 200 * 1024),
    ]
    for kind in ("startIndex", "cursor"):
        first, deep = serve[f"first {kind}"], serve[f"deepest {kind}"]
        rows.append(Row(section, f"page by {kind}: first / deepest p50", "deepest / first <= 2.0",
                        f"{ms(first)} / {ms(deep)} ({deep / first:.2f})", deep / first <= 2.0))
    rows.append(Row(section, "deepest startIndex page, first request (no remembered boundary)", "-",
                    ms(serve["deepest startIndex, first request"])))
    for kind in ("startIndex", "cursor"):
        walk = serve[f"walk {kind}"]
        goal = "<= 30 s" if kind == "cursor" else "-"
        rows.append(Row(section, f"full walk by {kind} (count=100)", goal,
                        f"{walk['seconds']:.1f} s, {walk['pages']} pages, {walk['ids']:,} distinct ids",
                        walk["seconds"] <= 30 and walk["ids"] >= users if kind == "cursor" else None))
    for label in ("filter userName eq", "filter displayName co", "filter userName sw", "sortBy userName first",
                  "sortBy userName deepest", "sortBy displayName descending deepest"):
        rows.append(Row(section, f"{label} (p50)", "-", ms(serve[label])))
    for pid, mem in sorted(serve["memory"].items()):
        rows.append(Row(section, f"serve worker {pid} peak RSS", "<= 200 MB", f"{mem.get('VmHWM', 0) / 1024:.0f} MB",
                        mem.get("VmHWM", 0) <= 200 * 1024))
    for fmt in ("scim", "csv"):
        done = found[f"export {fmt}"]
        rows.append(Row(section, f"export --format {fmt}: exit status, wall time, peak RSS", "succeeds, <= 200 MB",
                        f"{done['status']}, {done['seconds']:.0f} s, {done['max_rss_kib'] / 1024:.0f} MB",
                        done["status"] == 0 and done["max_rss_kib"] <= 200 * 1024))
    return rows
