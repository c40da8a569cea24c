"""Fault suite: IdP-style provisioning while the OpsGenie simulator misbehaves; then nothing may be lost.

``python -m bench.chaos`` (``make chaos``) starts ``scim-bridge simulator`` and ``scim-bridge serve`` on
loopback, replays Okta- and Entra-style traffic (user creates, group creates, membership adds and
removes, user deletes) with several concurrent clients while the simulator injects

- random 5xx (``fail_rate``) and 5xx after the write was applied (``fail_after_write_rate``),
- dropped connections (``drop_rate``),
- 2-second latency spikes (a scripted ``delay:2000`` rule queued before a share of the SCIM requests,
  so that the spikes follow the traffic and each one is in the call log),
- 429 bursts (the configuration domain's limit lowered for a few seconds at a time),

and the clients retry 429 and 503 as IdPs do (honouring ``Retry-After``, with a bounded wait and a
bounded number of attempts). Then the faults stop and the upstream state (``/__sim/state``) is
compared with the state the clients intended: zero duplicate users or teams, zero lost or phantom
users and memberships, zero 5xx other than 503.

:func:`run` takes the URLs of a running bridge and simulator, so the test suite runs a reduced
version against its own fixtures.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from functools import partial
from typing import Any

import requests

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_JSON = "application/scim+json"
DEFAULT_LIMITS = {"configuration": "100/6000", "search": "50/3000"}
RETRYABLE = (429, 503)


@dataclass(frozen=True)
class Options:
    """The size of the replay and the faults injected meanwhile."""

    users: int = 500
    groups: int = 50
    members_per_group: int = 16
    removals_per_group: int = 3
    deleted_users: int = 25
    workers: int = 8
    seed: str = "chaos"
    fail_rate: float = 0.10
    fail_after_write_rate: float = 0.03
    drop_rate: float = 0.02
    spike_ms: int = 2000
    spike_rate: float = 0.02  # share of SCIM requests before which one upstream latency spike is queued
    burst_every: float = 15.0  # a 429 burst starts this many seconds after the previous one ended
    burst_length: float = 3.0
    burst_limit: str = "3/6000"  # the configuration domain's limit during a burst
    client_attempts: int = 8  # attempts per SCIM request, as an IdP retries
    client_max_wait: float = 5.0  # cap on one Retry-After wait
    request_timeout: float = 120.0


@dataclass
class Tally:
    """What the clients did and saw; thread-safe."""

    requests: int = 0
    operations: int = 0
    client_retries: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    adopted_after_409: int = 0
    gave_up: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def saw(self, status: int) -> None:
        with self._lock:
            self.requests += 1
            self.statuses[status] += 1

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def note(self, name: str, text: str) -> None:
        with self._lock:
            getattr(self, name).append(text)


class Client:
    """One IdP connection: a session, the retry rule for 429/503, and the tally."""

    def __init__(self, base_url: str, token: str, tally: Tally, options: Options, sim: Simulator) -> None:
        self.base_url = base_url.rstrip("/")
        self.tally = tally
        self.options = options
        self.sim = sim
        self.rng = random.Random()
        self.http = requests.Session()
        self.http.headers.update({"Authorization": f"Bearer {token}", "Accept": SCIM_JSON})

    def send(self, method: str, path: str, body: Any = None, **kwargs: Any) -> tuple[requests.Response, int]:
        """Send, retrying 429 and 503 after ``Retry-After`` (capped); return the last response and attempts."""
        headers = {"Content-Type": SCIM_JSON} if body is not None else {}
        attempt = 0
        while True:
            attempt += 1
            if self.rng.random() < self.options.spike_rate:
                self.sim.fault("*", "/v2/.*", f"delay:{self.options.spike_ms}")
            response = self.http.request(method, self.base_url + path, json=body, headers=headers,
                                         timeout=self.options.request_timeout, **kwargs)
            self.tally.saw(response.status_code)
            if response.status_code >= 500 and response.status_code != 503:
                self.tally.note("unexpected", f"{method} {path} -> {response.status_code}: {response.text[:300]}")
            if response.status_code not in RETRYABLE or attempt >= self.options.client_attempts:
                return response, attempt
            self.tally.add("client_retries")
            time.sleep(min(_retry_after(response), self.options.client_max_wait) * (0.8 + 0.4 * self.rng.random()))


def _retry_after(response: requests.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


# --- the IdPs' payloads -------------------------------------------------------------------------
def okta_user(user_name: str, n: int) -> dict[str, Any]:
    return {
        "schemas": [CORE_USER],
        "userName": user_name,
        "name": {"givenName": "Okta", "familyName": f"Person{n:04d}"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": f"Okta Person{n:04d}",
        "locale": "en-US",
        "externalId": f"00u{n:06d}",
        "groups": [],
        "password": "ignored-by-the-bridge-1A!",
        "active": True,
    }


def entra_user(user_name: str, n: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [CORE_USER, ENTERPRISE],
        "externalId": f"entra-{n:06d}",
        "userName": user_name,
        "active": True,
        "displayName": f"Entra Person{n:04d}",
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": f"Entra Person{n:04d}", "familyName": f"Person{n:04d}", "givenName": "Entra"},
        ENTERPRISE: {"department": "Operations", "employeeNumber": str(n)},
    }
    if n % 10 == 0:
        body["phoneNumbers"] = [{"type": "mobile", "value": f"+1 555 01{n % 100:02d} {n:04d}"}]
    return body


def okta_members(op: str, user_ids: list[str]) -> dict[str, Any]:
    if op == "add":
        operations = [{"op": "add", "path": "members", "value": [{"value": u, "display": u} for u in user_ids]}]
    else:
        operations = [{"op": "remove", "path": "members", "value": [{"value": u} for u in user_ids]}]
    return {"schemas": [PATCH_OP], "Operations": operations}


def entra_members(op: str, user_ids: list[str]) -> dict[str, Any]:
    if op == "add":
        operations = [{"op": "Add", "path": "members", "value": [{"value": u}]} for u in user_ids]
    else:
        operations = [{"op": "Remove", "path": f'members[value eq "{u}"]'} for u in user_ids]
    return {"schemas": [PATCH_OP], "Operations": operations}


# --- the plan -----------------------------------------------------------------------------------
@dataclass
class Plan:
    """What the clients intend, decided up front from the seed."""

    users: list[tuple[str, str]]  # (style, userName)
    groups: list[tuple[str, str]]  # (style, displayName)
    members: dict[str, list[int]]  # group name -> user indexes added
    removed: dict[str, list[int]]  # group name -> user indexes removed again
    deleted: list[int]  # user indexes deleted at the end

    @classmethod
    def make(cls, options: Options) -> Plan:
        rng = random.Random(options.seed)
        users = [("okta" if n % 2 == 0 else "entra", f"{'okta' if n % 2 == 0 else 'entra'}.user{n:04d}@example.com")
                 for n in range(options.users)]
        groups = [("okta" if g % 2 == 0 else "entra", f"Chaos-Team-{g:03d}") for g in range(options.groups)]
        members: dict[str, list[int]] = {}
        removed: dict[str, list[int]] = {}
        per_group = min(options.members_per_group, options.users)
        for _, name in groups:
            members[name] = rng.sample(range(options.users), per_group)
            removed[name] = rng.sample(members[name], min(options.removals_per_group, per_group))
        deleted = rng.sample(range(options.users), min(options.deleted_users, options.users))
        return cls(users, groups, members, removed, deleted)

    def intended(self) -> tuple[set[str], dict[str, set[str]]]:
        """The usernames that must exist and each team's member usernames, at the end."""
        gone = set(self.deleted)
        users = {name for n, (_, name) in enumerate(self.users) if n not in gone}
        teams = {
            group: {self.users[n][1] for n in self.members[group] if n not in gone and n not in self.removed[group]}
            for _, group in self.groups
        }
        return users, teams


# --- the run ------------------------------------------------------------------------------------
class Simulator:
    """The simulator's /__sim/ control routes."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()

    def configure(self, **changes: Any) -> None:
        self.http.patch(f"{self.base_url}/__sim/config", json=changes, timeout=30).raise_for_status()

    def fault(self, method: str, path: str, action: str, times: int = 1) -> None:
        rule = {"method": method, "path": path, "action": action, "times": times}
        self.http.post(f"{self.base_url}/__sim/faults", json=[rule], timeout=30).raise_for_status()

    def clear_faults(self) -> None:
        self.http.delete(f"{self.base_url}/__sim/faults", timeout=30).raise_for_status()

    def state(self) -> dict[str, Any]:
        response = self.http.get(f"{self.base_url}/__sim/state", timeout=120)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def calls(self) -> list[dict[str, Any]]:
        response = self.http.get(f"{self.base_url}/__sim/calls", timeout=120)
        response.raise_for_status()
        return list(response.json()["calls"])


@contextmanager
def injecting(sim: Simulator, options: Options) -> Iterator[None]:
    """Random faults for the duration of the block, and 429 bursts (the clients queue the spikes)."""
    stop = threading.Event()
    sim.configure(fail_rate=options.fail_rate, fail_after_write_rate=options.fail_after_write_rate,
                  drop_rate=options.drop_rate)

    def bursts() -> None:
        while not stop.wait(options.burst_every):
            sim.configure(rate_limits={"configuration": options.burst_limit})
            stop.wait(options.burst_length)
            sim.configure(rate_limits=DEFAULT_LIMITS)

    burster = threading.Thread(target=bursts, daemon=True)
    burster.start()
    try:
        yield
    finally:
        stop.set()
        burster.join(timeout=30)
        sim.configure(fail_rate=0.0, fail_after_write_rate=0.0, drop_rate=0.0, rate_limits=DEFAULT_LIMITS)
        sim.clear_faults()


class Replay:
    """The IdP side: creates, memberships and deletes, with the ids the clients learn."""

    def __init__(self, scim_url: str, token: str, options: Options, tally: Tally, sim: Simulator) -> None:
        self.scim_url = scim_url
        self.token = token
        self.options = options
        self.tally = tally
        self.sim = sim
        self.user_ids: dict[int, str] = {}
        self.group_ids: dict[str, str] = {}
        self._local = threading.local()

    def client(self) -> Client:
        found = getattr(self._local, "client", None)
        if found is None:
            found = self._local.client = Client(self.scim_url, self.token, self.tally, self.options, self.sim)
        assert isinstance(found, Client)
        return found

    def parallel(self, jobs: list[Callable[[], None]]) -> None:
        with ThreadPoolExecutor(self.options.workers) as pool:
            for future in [pool.submit(job) for job in jobs]:
                future.result()

    def _lookup(self, resource: str, attribute: str, value: str) -> str | None:
        response, _ = self.client().send("GET", f"/{resource}", params={"filter": f'{attribute} eq "{value}"'})
        if response.status_code != 200:
            self.tally.note("gave_up", f"look-up of {value}: {response.status_code}")
            return None
        found = response.json().get("Resources") or []
        return str(found[0]["id"]) if found else None

    def create(self, resource: str, attribute: str, value: str, body: dict[str, Any]) -> str | None:
        """An IdP create: look up first, POST, and on a 409 after a retried POST adopt the existing one."""
        self.tally.add("operations")
        existing = self._lookup(resource, attribute, value)
        if existing is not None:
            return existing
        response, attempts = self.client().send("POST", f"/{resource}", body)
        if response.status_code == 201:
            return str(response.json()["id"])
        if response.status_code == 409 and attempts > 1:
            # An earlier attempt was applied although its answer was 503: take the existing one.
            self.tally.add("adopted_after_409")
            return self._lookup(resource, attribute, value)
        self.tally.note("gave_up", f"POST /{resource} {value}: {response.status_code} {response.text[:200]}")
        return None

    def create_user(self, n: int, style: str, user_name: str) -> None:
        body = okta_user(user_name, n) if style == "okta" else entra_user(user_name, n)
        user_id = self.create("Users", "userName", user_name, body)
        if user_id is not None:
            self.user_ids[n] = user_id

    def create_group(self, style: str, name: str) -> None:
        body: dict[str, Any] = {"schemas": [CORE_GROUP], "displayName": name}
        if style == "entra":
            body["externalId"] = f"entra-group-{name}"
        group_id = self.create("Groups", "displayName", name, body)
        if group_id is not None:
            self.group_ids[name] = group_id

    def patch_members(self, style: str, group: str, op: str, indexes: list[int]) -> None:
        self.tally.add("operations")
        ids = [self.user_ids[n] for n in indexes if n in self.user_ids]
        if not ids or group not in self.group_ids:
            return
        body = okta_members(op, ids) if style == "okta" else entra_members(op, ids)
        response, attempts = self.client().send("PATCH", f"/Groups/{self.group_ids[group]}", body)
        if response.status_code in (200, 204):
            return
        if response.status_code == 400 and attempts > 1 and op == "remove":
            return  # the members were removed by an attempt answered 503
        self.tally.note("gave_up", f"PATCH {group} {op} {len(ids)}: {response.status_code} {response.text[:200]}")

    def delete_user(self, n: int) -> None:
        self.tally.add("operations")
        if n not in self.user_ids:
            return
        response, attempts = self.client().send("DELETE", f"/Users/{self.user_ids[n]}")
        if response.status_code == 204 or (response.status_code == 404 and attempts > 1):
            return
        self.tally.note("gave_up", f"DELETE user {n}: {response.status_code} {response.text[:200]}")


def batches(items: list[int], size: int) -> list[list[int]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def replay(plan: Plan, run: Replay) -> dict[str, float]:
    """Run the phases in order (each one concurrently); return each phase's duration in seconds."""
    styles = {g: s for s, g in plan.groups}
    adds: list[Callable[[], None]] = [
        partial(run.patch_members, styles[g], g, "add", b)
        for g in plan.members
        for b in batches(plan.members[g], 4 if styles[g] == "okta" else 2)
    ]
    random.Random(plan.groups[0][1] if plan.groups else "").shuffle(adds)  # concurrent PATCHes to one group too
    phases: dict[str, list[Callable[[], None]]] = {
        "create users": [partial(run.create_user, n, s, u) for n, (s, u) in enumerate(plan.users)],
        "create groups": [partial(run.create_group, s, g) for s, g in plan.groups],
        "add members": adds,
        "remove members": [partial(run.patch_members, styles[g], g, "remove", plan.removed[g]) for g in plan.removed],
        "delete users": [partial(run.delete_user, n) for n in plan.deleted],
    }
    durations = {}
    for name, jobs in phases.items():
        started = time.monotonic()
        run.parallel(jobs)
        durations[name] = round(time.monotonic() - started, 1)
    return durations


# --- the verdict --------------------------------------------------------------------------------
def compare(plan: Plan, run: Replay, state: dict[str, Any], keep: set[str]) -> dict[str, Any]:
    """Upstream state against the intended one; ``keep`` are usernames that were there before."""
    want_users, want_teams = plan.intended()
    by_name: dict[str, list[dict[str, Any]]] = {}
    for user in state["users"]:
        by_name.setdefault(str(user["username"]).lower(), []).append(user)
    teams: dict[str, list[dict[str, Any]]] = {}
    for team in state["teams"]:
        teams.setdefault(str(team["name"]).lower(), []).append(team)
    duplicates = sum(len(v) - 1 for v in by_name.values()) + sum(len(v) - 1 for v in teams.values())
    have_users = set(by_name) - keep
    lost_users = sorted(want_users - have_users)
    phantom_users = sorted(have_users - want_users)
    upstream_id = {name: users[0]["id"] for name, users in by_name.items()}
    wrong_ids = sorted(
        name for n, (_, name) in enumerate(plan.users)
        if name in want_users and n in run.user_ids and run.user_ids[n] != upstream_id.get(name)
    )
    lost_members: list[str] = []
    phantom_members: list[str] = []
    for group, wanted in want_teams.items():
        found = teams.get(group.lower())
        if not found:
            lost_members += [f"{group}: (team missing)"]
            continue
        have = {str(m["user"]["username"]).lower() for m in found[0]["members"]}
        lost_members += [f"{group}: {u}" for u in sorted(wanted - have)]
        phantom_members += [f"{group}: {u}" for u in sorted(have - wanted)]
    phantom_teams = sorted(set(teams) - {g.lower() for g in want_teams})
    return {
        "duplicates": duplicates,
        "lost_users": lost_users,
        "phantom_users": phantom_users,
        "client_ids_not_upstream": wrong_ids,
        "phantom_teams": phantom_teams,
        "lost_memberships": lost_members,
        "phantom_memberships": phantom_members,
        "intended_users": len(want_users),
        "intended_memberships": sum(len(v) for v in want_teams.values()),
    }


def bridge_view(run: Replay, plan: Plan) -> list[str]:
    """Groups whose members, as the bridge shows them, differ from the intended ones."""
    _, want_teams = plan.intended()
    client = run.client()
    names = {run.user_ids[n]: name for n, (_, name) in enumerate(plan.users) if n in run.user_ids}
    differing = []
    for group, wanted in want_teams.items():
        if group not in run.group_ids:
            differing.append(f"{group}: unknown id")
            continue
        response, _ = client.send("GET", f"/Groups/{run.group_ids[group]}")
        shown = {names.get(m["value"], m["value"]) for m in response.json().get("members", [])}
        if response.status_code != 200 or shown != wanted:
            differing.append(group)
    return differing


def fault_counts(calls: list[dict[str, Any]]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for call in calls:
        fault = call.get("fault")
        if fault:
            kind = str(fault).removeprefix("random:")
            if kind.startswith("delay:"):
                kind = "latency spike"
            elif kind.startswith("after_write:"):
                kind = "5xx after write"
            elif kind == "drop":
                kind = "dropped connection"
            else:
                kind = "5xx"
            counts[kind] += 1
        elif call.get("status") == 429:
            counts["429"] += 1
    return dict(sorted(counts.items()))


def upstream_retries(calls: list[dict[str, Any]]) -> int:
    """Calls that repeat an earlier failed call (429, 5xx or no answer) with the same method, path and query."""
    pending: Counter[tuple[str, str, str]] = Counter()
    repeats = 0
    for call in calls:
        key = (str(call["method"]), str(call["path"]), json.dumps(call.get("query") or {}, sort_keys=True))
        if pending[key] > 0:
            pending[key] -= 1
            repeats += 1
        status = call.get("status")
        if status is None or status == 429 or status >= 500:
            pending[key] += 1
    return repeats


def run(scim_url: str, token: str, sim_url: str, options: Options) -> dict[str, Any]:
    """Replay ``options`` against a running bridge and simulator; return the figures and the verdict."""
    sim = Simulator(sim_url)
    before = {str(u["username"]).lower() for u in sim.state()["users"]}
    plan = Plan.make(options)
    tally = Tally()
    replayer = Replay(scim_url, token, options, tally, sim)
    started = time.monotonic()
    with injecting(sim, options):
        phases = replay(plan, replayer)
    elapsed = time.monotonic() - started
    calls = sim.calls()
    verdict = compare(plan, replayer, sim.state(), before)
    replayer.options = replace(options, spike_rate=0.0)  # the checks run without faults
    verdict["bridge_view_differs"] = bridge_view(replayer, plan)
    other_5xx = sum(n for status, n in tally.statuses.items() if status >= 500 and status != 503)
    figures = {
        "options": asdict(options),
        "seconds": round(elapsed, 1),
        "phases": phases,
        "operations": tally.operations,
        "scim_requests": tally.requests,
        "scim_statuses": dict(sorted(tally.statuses.items())),
        "client_retries": tally.client_retries,
        "adopted_after_409": tally.adopted_after_409,
        "upstream_calls": len(calls),
        "faults_injected": fault_counts(calls),
        "upstream_retries": upstream_retries(calls),
        "unexpected_5xx": other_5xx,
        "unexpected_responses": tally.unexpected[:20],
        "gave_up": tally.gave_up[:20],
        "verdict": verdict,
    }
    figures["ok"] = ok(figures)
    return figures


def ok(figures: dict[str, Any]) -> bool:
    verdict = figures["verdict"]
    return (
        figures["unexpected_5xx"] == 0
        and not figures["gave_up"]
        and verdict["duplicates"] == 0
        and not any(verdict[k] for k in ("lost_users", "phantom_users", "client_ids_not_upstream", "phantom_teams",
                                         "lost_memberships", "phantom_memberships", "bridge_view_differs"))
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=Options.users)
    parser.add_argument("--groups", type=int, default=Options.groups)
    parser.add_argument("--workers", type=int, default=Options.workers)
    parser.add_argument("--json", action="store_true", help="print every figure as JSON")
    parser.add_argument("--read-through", action="store_true",
                        help="run the bridge with SCIM_BRIDGE_READ_THROUGH=true (the default reads from the mirror)")
    args = parser.parse_args(argv)
    options = Options(users=args.users, groups=args.groups, workers=args.workers,
                      deleted_users=max(1, args.users // 20))
    from bench import servers  # the shipped processes; imported here so the test suite needs none of it

    with servers.workdir() as work:
        simulator = servers.Simulator(work, rate_limits=tuple(f"{d}={v}" for d, v in DEFAULT_LIMITS.items()))
        try:
            env = {"SCIM_BRIDGE_READ_THROUGH": "true"} if args.read_through else None
            bridge = servers.Bridge(work, simulator, extra_env=env)
            try:
                bridge.wait_synced()
                figures = run(bridge.base_url, servers.TOKEN, simulator.base_url, options)
            finally:
                bridge.stop()
        finally:
            simulator.stop()
    print(json.dumps(figures, indent=2) if args.json else summary(figures))
    return 0 if figures["ok"] else 1


def summary(figures: dict[str, Any]) -> str:
    verdict = figures["verdict"]
    lines = [
        f"operations            {figures['operations']} ({figures['scim_requests']} SCIM requests, "
        f"{figures['seconds']} s)",
        f"phases (s)            {figures['phases']}",
        f"SCIM statuses         {figures['scim_statuses']}",
        f"upstream calls        {figures['upstream_calls']}",
        f"faults injected       {figures['faults_injected']}",
        f"retries               {figures['client_retries']} by the clients, "
        f"{figures['upstream_retries']} by the bridge upstream; {figures['adopted_after_409']} creates adopted "
        "after a 409",
        f"5xx other than 503    {figures['unexpected_5xx']}",
        f"duplicates            {verdict['duplicates']}",
        f"lost / phantom users  {len(verdict['lost_users'])} / {len(verdict['phantom_users'])} "
        f"(of {verdict['intended_users']})",
        f"lost / phantom memberships {len(verdict['lost_memberships'])} / {len(verdict['phantom_memberships'])} "
        f"(of {verdict['intended_memberships']})",
        f"bridge view differs   {len(verdict['bridge_view_differs'])} groups",
        f"requests given up     {len(figures['gave_up'])} {figures['gave_up'][:5]}",
        f"outcome               {'PASS' if figures['ok'] else 'FAIL'}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
