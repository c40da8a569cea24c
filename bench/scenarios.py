"""The benchmark scenarios. Each takes a work folder and returns its table rows plus details."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import requests

from bench import flows
from bench.load import process_cpu_seconds
from bench.mixed import client_row
from bench.mixed import cpu_rows
from bench.mixed import kind_rows
from bench.mixed import measure
from bench.mixed import rate_text
from bench.mixed import run_load
from bench.report import Row
from bench.report import ms
from bench.report import percentile
from bench.servers import USER_SCHEMA
from bench.servers import Bridge
from bench.servers import Reference
from bench.servers import Simulator
from bench.servers import memory_kib
from bench.servers import scim_session

# Every scenario runs the default configuration (reads from the mirror within the freshness window, README
# "Freshness"); scenarios 1 and 3a also run the strict option, read-through, as rows of their own.
READ_THROUGH = {"SCIM_BRIDGE_READ_THROUGH": "true"}
# Goals of issue #15, in the default configuration.
MIXED_RATIO_GOAL = 3.0
SLOW_RPS_GOAL = 250.0
FLOW_FACTOR_GOAL = 1.1
CALLS_PER_REQUEST_GOAL = 0.6


@dataclass
class Options:
    users: int = 1000  # users behind the bridge and in the reference server for the mixed load
    clients: int = 8
    warmup: float = 3.0  # seconds at the start of each load run whose requests are not counted
    duration: float = 20.0  # the profile's load run
    rounds: int = 5  # measured rounds of the mixed load per configuration (bench/mixed.py)
    round_seconds: float = 8.0
    warmup_rounds: int = 1  # rounds run first and discarded (caches, connection pools, the JIT-less warm paths)
    profile_seconds: float = 12.0
    import_users: int = 10_000
    import_teams: int = 500
    members_per_team: int = 20
    big_group: int = 1000
    large_users: int = 100_000  # scenario "large directory" (bench/large.py)
    large_teams: int = 2_000


@dataclass
class Outcome:
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    text: list[str] = field(default_factory=list)  # extra sections printed after the table


# --- mixed load -------------------------------------------------------------------------------------
def _users_of(sim: Simulator) -> list[list[str]]:
    return [[u["id"], u["username"]] for u in sim.state()["users"]]


def _load_reference(ref: Reference, count: int) -> list[list[str]]:
    """Create ``count`` users like the simulator's bulk ones, four at a time; return [id, userName]."""
    made: list[list[str]] = []
    lock = threading.Lock()

    def create(indexes: range) -> None:
        session = scim_session()
        for i in indexes:
            name = f"user{i:05d}@example.com"
            body = {"schemas": [USER_SCHEMA], "userName": name, "displayName": f"User {i:05d}",
                    "name": {"formatted": f"User {i:05d}", "givenName": "User", "familyName": f"{i:05d}"},
                    "emails": [{"value": name, "type": "work", "primary": True}], "active": True}
            response = session.post(f"{ref.base_url}/Users", json=body, timeout=60)
            response.raise_for_status()
            with lock:
                made.append([response.json()["id"], name])

    threads = [threading.Thread(target=create, args=(range(1 + n, count + 1, 4),)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if len(made) != count:
        raise RuntimeError(f"scim2-server took {len(made)} of {count} users")
    return made


def throughput(work: Path, opts: Options) -> Outcome:
    """Scenarios 1 (bridge vs reference, instant upstream), 2 (80 ms upstream) and the hot-path profile."""
    out = Outcome()
    with ExitStack() as stack:
        sim = Simulator(work)
        stack.callback(sim.stop)
        sim.bulk(opts.users)
        bridge = Bridge(work, sim)
        stack.callback(bridge.stop)
        bridge.wait_synced()
        users = _users_of(sim)
        bridge_load = _rounds(opts, bridge.base_url, users, "bridge", bridge, sim)
        out.details["bridge"] = bridge_load
        out.details["profile"] = profile(bridge, users, opts, work)
        sim.configure(latency_ms=80)
        slow = _rounds(opts, bridge.base_url, users, "slow", bridge, sim)
        out.details["slow"] = slow
        sim.configure(latency_ms=0)
        bridge.stop()
        # The same mix read-through (the strict option): every single read is one upstream call.
        strict = Bridge(work, sim, extra_env=READ_THROUGH)
        stack.callback(strict.stop)
        strict.wait_synced()
        read_through = _rounds(opts, strict.base_url, users, "read-through", strict, sim)
        out.details["read_through"] = read_through
    with ExitStack() as stack:
        ref = Reference(work)
        stack.callback(ref.stop)
        started = time.monotonic()
        ref_users = _load_reference(ref, opts.users)
        out.details["reference_load_seconds"] = time.monotonic() - started
        ref_load = _rounds(opts, ref.base_url, ref_users, "reference", ref)
        out.details["reference"] = ref_load

    s1 = f"1. throughput ({opts.users} users, {opts.clients} clients)"
    ratio = bridge_load["rps"] / ref_load["rps"] if ref_load["rps"] else 0.0
    out.rows += [
        Row(s1, "bridge mixed req/s", "-", rate_text(bridge_load)),
        Row(s1, "scim2-server mixed req/s", "-", rate_text(ref_load)),
        Row(s1, "bridge / scim2-server", f">= {MIXED_RATIO_GOAL:.1f}x", f"{ratio:.2f}x", ratio >= MIXED_RATIO_GOAL),
        *cpu_rows(s1, "bridge", bridge_load),
        *cpu_rows(s1, "scim2-server", ref_load),
        Row(s1, "CPU per request, scim2-server / bridge", "-",
            f"{_cpu_ratio(ref_load, bridge_load):.2f}x"),
        *kind_rows(s1, "bridge", bridge_load),
        *kind_rows(s1, "scim2-server", ref_load),
        client_row(s1, bridge_load),
        Row(s1, "bridge with read-through (SCIM_BRIDGE_READ_THROUGH=true) mixed req/s", "-",
            f"{rate_text(read_through)}; {read_through['rps'] / ref_load['rps'] if ref_load['rps'] else 0:.2f}x "
            "scim2-server"),
        *cpu_rows(s1, "bridge with read-through", read_through),
    ]
    s2 = "2. slow upstream (80 ms per call)"
    out.rows += [
        Row(s2, "bridge mixed req/s", f">= {SLOW_RPS_GOAL:.0f}", rate_text(slow), slow["rps"] >= SLOW_RPS_GOAL),
        Row(s2, "errors", "0", str(slow["errors"]), slow["errors"] == 0),
        *cpu_rows(s2, "bridge", slow),
        *kind_rows(s2, "bridge", slow),
    ]
    return out


def _rounds(opts: Options, base_url: str, users: list[list[str]], seed: str, server: Bridge | Reference,
            upstream: Simulator | None = None) -> dict[str, Any]:
    """The mixed load in rounds (bench/mixed.py), watching the CPU time of the server and of its upstream."""
    watch = {"server": server.pids()}
    if upstream is not None:
        watch["simulator"] = upstream.pids()
    return measure(base_url, users, clients=opts.clients, warmup=opts.warmup, seconds=opts.round_seconds,
                   rounds=opts.rounds, warmup_rounds=opts.warmup_rounds, seed=seed, watch=watch)


def _cpu_ratio(reference: dict[str, Any], bridge: dict[str, Any]) -> float:
    ours = bridge["cpu_per_request"]["server"]
    return float(reference["cpu_per_request"]["server"] / ours) if ours else 0.0


# --- profile -------------------------------------------------------------------------------------
def profile(bridge: Bridge, users: list[list[str]], opts: Options, work: Path) -> dict[str, Any]:
    """Sample the gunicorn workers with py-spy while the mixed load runs (a separate, unmeasured run).

    Two recorders run side by side: one samples every active thread (wall time inside requests,
    waits included), the other only the thread holding the GIL (where the CPU goes).
    """
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        return {"error": "py-spy is not installed (pip install -e '.[bench]')"}
    seconds = int(opts.profile_seconds)
    recorders: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    for mode in ("wall", "gil"):
        raw = work / f"profile-{mode}.txt"
        argv = [spy, "record", "--pid", str(bridge.pid), "--subprocesses", "--duration", str(seconds),
                "--rate", "100", "--format", "raw", "--nolineno", "--output", str(raw)]
        if mode == "gil":
            argv.append("--gil")
        recorders[mode] = (subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), raw)
    result: dict[str, Any] = {}
    try:
        run_load(bridge.base_url, users, clients=opts.clients, warmup=opts.warmup, duration=seconds + 2.0,
                 seed="profile")
        for mode, (recorder, raw) in recorders.items():
            _, err = recorder.communicate(timeout=60)
            if raw.exists():
                result[mode] = summarise_profile(raw.read_text())
                keep = Path(__file__).resolve().parent.parent / "var" / "bench"
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(raw, keep / f"profile-{mode}.txt")  # collapsed stacks, for flame graphs
            else:
                result[mode] = {"error": f"py-spy wrote no profile: {err.decode(errors='replace')[-500:]}"}
    finally:
        for recorder, _raw in recorders.values():
            if recorder.poll() is None:
                recorder.kill()
                recorder.wait()
    return result


REQUEST_FRAME = "handle_request (gunicorn/workers/gthread.py)"


def summarise_profile(collapsed: str) -> dict[str, Any]:
    """Turn py-spy's collapsed stacks into inclusive and self shares per function and per area.

    Only samples taken inside a request (under gunicorn's ``handle_request``) count, so idle pool
    threads, the accept loop and the background sync thread do not dilute the figures.
    """
    total = 0
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = [f for f in stack.split(";") if " (" in f]
        if not any(REQUEST_FRAME in f for f in frames):
            continue
        frames = frames[next(i for i, f in enumerate(frames) if REQUEST_FRAME in f):]
        count = int(count_text)
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
        areas[_area(frames)] += count

    def shares(counter: Counter[str], n: int) -> list[tuple[str, float]]:
        return [(name, count / total) for name, count in counter.most_common(n)] if total else []

    return {"samples": total, "inclusive": shares(inclusive, 40), "self": shares(own, 25),
            "areas": shares(areas, 20)}


# Where a sample is attributed: the innermost frame that matches one of these, tried in order.
_AREAS = (
    ("upstream HTTP (OpsGenie client, requests/urllib3)", ("scim_bridge/opsgenie/", "urllib3/", "requests/")),
    ("state store (SQLAlchemy / SQLite)", ("scim_bridge/store/", "sqlalchemy/", "sqlite3/")),
    ("SCIM filters", ("scim_bridge/scim/filters.py", "scim2_filter_parser/", "sly/")),
    ("SCIM rendering (user mapping, projection, schema)", ("scim_bridge/service/user_mapping.py",
                                                           "scim_bridge/scim/projection.py",
                                                           "scim_bridge/scim/schema.py",
                                                           "scim_bridge/scim/listing.py")),
    ("PATCH engine", ("scim_bridge/scim/patch.py",)),
    ("services (users, groups, sync)", ("scim_bridge/service/",)),
    ("JSON encode/decode", ("json/", "scim_bridge/jsoncodec.py")),
    ("audit, metrics, logging hooks", ("scim_bridge/web/app.py", "scim_bridge/web/metrics.py", "scim_bridge/logs.py",
                                       "scim_bridge/bootstrap.py", "logging/", "prometheus_client/", "structlog/")),
    ("Flask / Werkzeug request handling", ("flask/", "werkzeug/")),
    ("gunicorn (socket accept, HTTP parsing)", ("gunicorn/",)),
)


def _area(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, markers in _AREAS:
            if any(marker in frame for marker in markers):
                return name
    return "other"


def profile_text(prof: dict[str, Any]) -> str:
    if "error" in prof:
        return f"Profile: {prof['error']}"
    lines: list[str] = []
    titles = {"wall": "wall time inside requests (every active thread, waits included)",
              "gil": "CPU inside requests (only the thread holding the GIL)"}
    for mode, title in titles.items():
        part = prof.get(mode, {"error": "not recorded"})
        if "error" in part:
            lines.append(f"Profile, {title}: {part['error']}")
            continue
        lines += [f"Profile of the gunicorn workers under the mixed load, {title}: "
                  f"py-spy, {part['samples']} samples", "", "By area (innermost matching frame):"]
        lines += [f"  {share * 100:5.1f}%  {name}" for name, share in part["areas"]]
        lines += ["", "Inclusive (share of samples with the function on the stack):"]
        lines += [f"  {share * 100:5.1f}%  {name}" for name, share in part["inclusive"]]
        lines += ["", "Self (innermost frame):"]
        lines += [f"  {share * 100:5.1f}%  {name}" for name, share in part["self"]]
        lines.append("")
    return "\n".join(lines).rstrip()


# --- upstream economy ---------------------------------------------------------------------------------
def economy(work: Path, opts: Options) -> Outcome:
    """Scenario 3a: IdP flow replays, upstream calls per SCIM request vs the minimum, in the default
    configuration (reads from the mirror within the freshness window) and read-through."""
    out = Outcome()
    # The goals hold for the default configuration; the read-through rows show what the strict option costs.
    for mode, env, judged in (("default", {}, True), ("read-through", READ_THROUGH, False)):
        results = _replay_flows(work, env)
        out.details[f"flows ({mode})"] = results
        lines = [f"IdP flow replays, {mode}: upstream calls per SCIM request (measured vs minimum)", "",
                 "| IdP | Step | Request | Status | Calls | Minimum | Upstream calls made |",
                 "|---|---|---|---|---|---|---|"]
        scenario = f"3. upstream economy: IdP flows ({mode})"
        requests_sent = calls_made = 0
        for name, steps in results.items():
            made = sum(s["calls"] for s in steps)
            minimum = sum(s["minimum"] for s in steps)
            requests_sent += len(steps)
            calls_made += made
            ok = all(200 <= s["status"] < 300 for s in steps)
            for s in steps:
                upstream = ", ".join(_short(c) for c in s["upstream"]) or "-"
                lines.append(f"| {name} | {s['step']} | {s['request']} | {s['status']} | {s['calls']} | "
                             f"{s['minimum']} | {upstream} |")
            factor = made / max(minimum, 1)
            out.rows.append(Row(scenario, f"{name}: {len(steps)} requests, upstream calls",
                                f"<= {FLOW_FACTOR_GOAL:.1f}x minimum",
                                f"{made} (minimum {minimum}, {factor:.2f}x)" + ("" if ok else "; some requests failed"),
                                (factor <= FLOW_FACTOR_GOAL and ok) if judged else None))
        per_request = calls_made / max(requests_sent, 1)
        out.rows.append(Row(scenario, f"upstream calls per SCIM request, three flows ({requests_sent} requests)",
                            f"<= {CALLS_PER_REQUEST_GOAL}", f"{per_request:.2f} ({calls_made} calls)",
                            per_request <= CALLS_PER_REQUEST_GOAL if judged else None))
        out.text.append("\n".join(lines))
    return out


def _replay_flows(work: Path, env: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    with ExitStack() as stack:
        sim = Simulator(work)
        stack.callback(sim.stop)
        sim.bulk(40, teams=2, members_per_team=5)
        bridge = Bridge(work, sim, extra_env=env)
        stack.callback(bridge.stop)
        bridge.wait_synced()
        _settle(sim)
        state = sim.state()
        members = {m["user"]["id"] for t in state["teams"] for m in t.get("members", [])}
        loose = [u["id"] for u in state["users"] if u["id"] not in members]
        team = state["teams"][0]
        session = scim_session()
        results: dict[str, list[dict[str, Any]]] = {}
        for name, flow, ctx in (
            ("Okta", flows.okta("bench"), {"other": loose[0]}),
            ("Entra ID", flows.entra("bench"), {"trio": loose[1:4]}),
            ("Saviynt", flows.saviynt("bench"), {"team": team["id"], "team_name": team["name"]}),
        ):
            results[name] = flows.replay(flow, ctx, session, bridge.base_url, sim)
    return results


def _settle(sim: Simulator, quiet: float = 1.5, limit: float = 120.0) -> None:
    """Wait until the bridge's start-up syncs are over (no upstream call for ``quiet`` seconds): each gunicorn
    worker's sync loop starts with a sync, and its calls are no SCIM request's cost."""
    deadline = time.monotonic() + limit
    seq = sim.last_seq()
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now_seq = sim.last_seq()
        if now_seq == seq:
            return
        seq = now_seq


def _short(call: str) -> str:
    method, _, path = call.partition(" ")
    parts = path.split("/")
    return method + " " + "/".join("{id}" if len(p) >= 20 else p for p in parts)


def mirror(work: Path, opts: Options) -> Outcome:
    """Scenario 3b (initial import), 5 (memory) and list/filter latency at 10,000 users."""
    out = Outcome()
    with ExitStack() as stack:
        sim = Simulator(work)
        stack.callback(sim.stop)
        sim.bulk(opts.import_users, teams=opts.import_teams, members_per_team=opts.members_per_team)
        started = time.monotonic()
        bridge = Bridge(work, sim)
        stack.callback(bridge.stop)
        last = bridge.wait_synced(timeout=400)
        wall = time.monotonic() - started
        # CPU time, steadier than wall time on a shared machine: the bridge's processes from their start (the
        # interpreter's and the app's start-up included) to ready.
        cpu = process_cpu_seconds(bridge.pids())
        calls = sim.calls()
        out.details["import"] = {"wall_seconds": wall, "sync": last, "calls": len(calls), "bridge_cpu_seconds": cpu,
                                 "by_path": Counter(_short(f"{c['method']} {c['path']}") for c in calls)}
        latency = _mirror_latency(bridge, opts)
        out.details["latency"] = latency
        memory = {pid: memory_kib(pid) for pid in bridge.worker_pids()}
        out.details["memory"] = memory
    imp = out.details["import"]
    seed_calls = opts.import_users // 20 + 1 + opts.import_teams
    s3 = f"3. initial import ({opts.import_users} users, {opts.import_teams} teams)"
    # Every call from the start of the bridge to the end of its first sync, except the two reads of
    # /v2/request-limits/ (one per worker, to size the rate budget).
    sync_calls = sum(n for k, n in imp["by_path"].items() if not k.startswith("GET /v2/request-limits"))
    # The seed connector reads users 20 per page and every team's roster (one call per team: OpsGenie lists
    # teams without members); the bridge 100 users per page and SCIM_BRIDGE_SYNC_IMPORT_ROSTERS rosters (default
    # configuration), the others when an answer needs them or as the sync loop reaches them.
    seed_user_pages = -(-opts.import_users // 20)
    user_pages = sum(n for k, n in imp["by_path"].items() if k == "GET /v2/users")
    rosters = sum(n for k, n in imp["by_path"].items() if k == "GET /v2/teams/{id}")
    out.rows += [
        Row(s3, f"user list calls (seed connector: {seed_user_pages})", f"<= {seed_user_pages // 5} (5x fewer)",
            f"{user_pages} ({seed_user_pages / max(user_pages, 1):.1f}x fewer)", user_pages * 5 <= seed_user_pages),
        Row(s3, "upstream calls (seed connector: " f"{seed_calls})", f"<= {seed_calls // 5} (5x fewer)",
            f"{sync_calls} ({seed_calls / max(sync_calls, 1):.1f}x fewer; {rosters} of them read one team "
            f"roster each, the other {opts.import_teams - rosters} rosters load on demand or in the loop)",
            sync_calls * 5 <= seed_calls),
        Row(s3, "wall time of the sync", "-",
            f"{imp['sync'].get('seconds', 0):.1f} s (bridge start to ready: {imp['wall_seconds']:.1f} s)"),
        Row(s3, "bridge CPU time, start to ready (gunicorn master + workers)", "-",
            f"{imp['bridge_cpu_seconds']:.1f} s"),
    ]
    s5 = f"5. memory ({opts.import_users} users mirrored)"
    for pid, mem in sorted(memory.items()):
        out.rows.append(Row(s5, f"worker {pid} peak RSS (VmHWM)", "<= 150 MB",
                            f"{mem.get('VmHWM', 0) / 1024:.0f} MB", mem.get("VmHWM", 0) <= 150 * 1024))
    s6 = f"mirror latency at {opts.import_users} users"
    for label, values in latency.items():
        out.rows.append(Row(s6, label, "-", f"p50 {ms(percentile(values, 50))}, max {ms(max(values))} "
                                            f"(n={len(values)})" if values else "no sample"))
    breakdown = ", ".join(f"{k}: {n}" for k, n in imp["by_path"].most_common())
    out.text.append(f"Initial import, upstream calls by endpoint: {breakdown}")
    return out


def _mirror_latency(bridge: Bridge, opts: Options) -> dict[str, list[float]]:
    session = scim_session()
    n = opts.import_users
    probes = {
        "list count=100 (startIndex=1)": lambda i: {"count": 100, "startIndex": 1 + (i * 997) % max(1, n - 100)},
        "filter userName eq": lambda i: {"filter": f'userName eq "user{1 + (i * 7919) % n:05d}@example.com"'},
        "filter displayName eq (not indexed)": lambda i: {"filter": f'displayName eq "User {1 + (i * 31) % n:05d}"'},
        "filter userName sw (prefix)": lambda i: {"filter": f'userName sw "user{1 + (i * 13) % n:05d}"'},
    }
    found: dict[str, list[float]] = {}
    for label, params in probes.items():
        values: list[float] = []
        budget_end = time.monotonic() + 25.0
        for i in range(5):
            if time.monotonic() > budget_end:
                break
            began = time.monotonic()
            response = session.get(f"{bridge.base_url}/Users", params=params(i), timeout=120)
            if response.status_code == 200:
                values.append(time.monotonic() - began)
        found[label] = values
    return found


# --- big group -----------------------------------------------------------------------------------------
def big_group(work: Path, opts: Options) -> Outcome:
    """Scenario 4: one PATCH adds 1,000 members, upstream 50 ms per call and 10 calls/s."""
    out = Outcome()
    n = opts.big_group
    with ExitStack() as stack:
        sim = Simulator(work, latency_ms=50, rate_limits=("configuration=10/600",))
        stack.callback(sim.stop)
        sim.bulk(n, teams=1, members_per_team=0)
        bridge = Bridge(work, sim)
        stack.callback(bridge.stop)
        bridge.wait_synced()
        state = sim.state()
        team_id = state["teams"][0]["id"]
        members = [{"value": u["id"]} for u in state["users"]][:n]
        time.sleep(2.0)  # let the start-up calls leave the rate windows
        seq = sim.last_seq()
        body = {"schemas": [flows.PATCH], "Operations": [{"op": "add", "path": "members", "value": members}]}
        cpu_before = process_cpu_seconds(bridge.pids())
        began = time.monotonic()
        try:
            response = scim_session().patch(f"{bridge.base_url}/Groups/{team_id}", json=body, timeout=400)
            status: int | str = response.status_code
        except requests.RequestException as exc:
            status = f"no answer ({exc.__class__.__name__})"
        elapsed = time.monotonic() - began
        cpu = process_cpu_seconds(bridge.pids()) - cpu_before
        calls = sim.calls(seq)
        roster = next(t for t in sim.state()["teams"] if t["id"] == team_id).get("members", [])
    throttled = sum(1 for c in calls if c["status"] == 429)
    one_by_one = n / 10  # n Team Member API calls at 10 calls/s
    # The floor for the calls actually made: the first 10 pass at once, then 10 per second; and each
    # call waits 50 ms when they are sent one after the other.
    floor = max(max(0, len(calls) - 10) / 10, len(calls) * 0.05)
    s4 = f"4. big group ({n} members in one PATCH, 50 ms, 10 calls/s)"
    out.details["big_group"] = {"seconds": elapsed, "status": status, "calls": len(calls), "floor": floor,
                                "upstream_429": throttled, "members_after": len(roster), "bridge_cpu_seconds": cpu}
    out.rows += [
        Row(s4, f"time (the limit allows {n} member adds in {one_by_one:.0f} s)", f"<= {one_by_one * 1.1:.0f} s",
            f"{elapsed:.1f} s; {len(calls)} upstream calls (floor for them {floor:.2f} s); "
            f"{len(roster)} members after", elapsed <= one_by_one * 1.1 and len(roster) == n),
        Row(s4, "status seen by the client", "2xx, no 429",
            f"{status} ({throttled} upstream 429s)", isinstance(status, int) and 200 <= status < 300),
        Row(s4, "bridge CPU time during the PATCH (gunicorn master + workers)", "-", f"{cpu:.2f} s"),
    ]
    return out


# --- large directory -----------------------------------------------------------------------------------
def large_directory(work: Path, opts: Options) -> Outcome:
    """100,000 users and 2,000 teams on SQLite and PostgreSQL (bench/large.py)."""
    from bench.large import large

    # BENCH_LARGE_BACKENDS=postgresql (or sqlite) runs one backend alone.
    backends = tuple(os.environ.get("BENCH_LARGE_BACKENDS", "sqlite,postgresql").split(","))
    rows, details = large(work, users=int(os.environ.get("BENCH_LARGE_USERS", opts.large_users)),
                          teams=int(os.environ.get("BENCH_LARGE_TEAMS", opts.large_teams)), backends=backends)
    return Outcome(rows=rows, details=details)
