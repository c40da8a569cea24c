"""Measure the two ways a group membership change can reach OpsGenie, through the bridge over HTTP.

* per member: one ``POST``/``DELETE /v2/teams/{id}/members`` per added or removed user;
* roster: one ``PATCH /v2/teams/{id}`` with the whole new roster, then one check ``GET``.

A simulator with latency and a rate limit and a bridge run in this process, on loopback. For each team
size and each change size ``k`` the script times a SCIM PATCH adding ``k`` members and one removing them,
counts the upstream calls and 429 answers, and checks that the roster ends exactly as wanted.

    .venv/bin/python bench/group_strategy.py                 # 50 ms latency, 10 requests/s
    .venv/bin/python bench/group_strategy.py --latency-ms 100 --rate 5 --sizes 10 --deltas 1,2,3,5
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import threading
import time
from dataclasses import dataclass
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import make_server

from scim_bridge.config import Settings
from scim_bridge.simulator.config import RateLimit
from scim_bridge.simulator.config import SimulatorConfig
from scim_bridge.simulator.server import SimulatorServer
from scim_bridge.store.store import Store
from scim_bridge.web.app import create_app

TOKEN = "group-strategy-bench-token-0123"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
STRATEGIES = {"per-member": 10**9, "roster": 0}  # GroupService.roster_threshold for each


@dataclass
class Row:
    strategy: str
    team_size: int
    k: int
    add_s: float
    remove_s: float
    calls: int
    throttled: int
    exact: bool


def serve(app: Any) -> tuple[str, Any]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--rate", type=int, default=10, help="upstream requests per second (configuration)")
    parser.add_argument("--per-minute", type=int, default=100_000,
                        help="upstream requests per minute (default: high, so each run is independent)")
    parser.add_argument("--sizes", default="10,1000", help="team sizes before the change")
    parser.add_argument("--deltas", default="1,2,3,5,10,50,200", help="members added, then removed")
    parser.add_argument("--strategies", default="per-member,roster")
    parser.add_argument("--wait-budget", type=float, default=600.0,
                        help="seconds a SCIM request may wait for the upstream rate budget (bridge setting)")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    sizes = [int(s) for s in args.sizes.split(",")]
    deltas = [int(s) for s in args.deltas.split(",")]

    limit = RateLimit(per_second=args.rate, per_minute=args.per_minute)
    config = SimulatorConfig(latency_ms=args.latency_ms, rate_limits={"configuration": limit, "search": limit})
    sim = SimulatorServer(config, seed="demo").start()
    needed = max(sizes) + max(deltas) + 10
    sim.state.bulk(users=needed, prefix="bench")
    user_ids = [u["id"] for u in sim.state.dump()["users"] if u["username"].startswith("bench")]

    workdir = Path(tempfile.mkdtemp(prefix="group-strategy-"))
    settings = replace(
        Settings(opsgenie_api_url=sim.base_url, opsgenie_api_key="sim-key",
                 database_url=f"sqlite:///{workdir / 'bridge.db'}", sync_interval=0),
        upstream_wait_budget=args.wait_budget,
    ).with_token(TOKEN, "bench")
    store = Store.from_url(settings.database_url)
    store.upgrade()
    app = create_app(settings, store=store)
    bridge = app.extensions["scim_bridge"]
    bridge.sync.run()  # the mirror knows every user, as after the bridge's start-up sync
    root, server = serve(app)
    http = requests.Session()
    http.headers.update({"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"})

    def patch(group_id: str, operations: list[dict[str, Any]]) -> tuple[float, int]:
        started = time.perf_counter()
        response = http.patch(f"{root}/scim/v2/Groups/{group_id}", json={"schemas": [PATCH_OP],
                                                                        "Operations": operations}, timeout=900)
        elapsed = time.perf_counter() - started
        if response.status_code != 204:
            print(f"  PATCH answered {response.status_code}: {response.text[:300]}")
        return elapsed, response.status_code

    rows: list[Row] = []
    print(f"latency {args.latency_ms} ms, limit {args.rate}/s and {args.per_minute}/min")
    print(f"{'strategy':<11} {'team':>5} {'k':>5} {'add s':>8} {'remove s':>9} {'calls':>6} {'429s':>5} exact")
    for size in sizes:
        base = user_ids[:size]
        for strategy in args.strategies.split(","):
            bridge.groups.roster_threshold = STRATEGIES[strategy]
            for k in deltas:
                team = sim.state.create_team({
                    "name": f"bench-{strategy}-{size}-{k}",
                    "members": [{"user": {"id": uid}, "role": "admin" if i == 0 else "user"}
                                for i, uid in enumerate(base)],
                })
                extra = user_ids[size:size + k]
                since = len(sim.state.call_log())
                values = [{"value": u} for u in extra]
                add_s, add_status = patch(team["id"], [{"op": "add", "path": "members", "value": values}])
                remove_s, remove_status = patch(team["id"], [{"op": "remove", "path": "members", "value": values}])
                calls = sim.state.call_log(since)
                after = sim.state.get_team(team["id"])
                members = {m["user"]["id"]: m["role"] for m in after["members"]}
                exact = (set(members) == set(base) and members[base[0]] == "admin"
                         and add_status == remove_status == 204)
                row = Row(strategy, size, k, add_s, remove_s, len(calls),
                          sum(1 for c in calls if c["status"] == 429), exact)
                rows.append(row)
                print(f"{row.strategy:<11} {row.team_size:>5} {row.k:>5} {row.add_s:>8.2f} {row.remove_s:>9.2f} "
                      f"{row.calls:>6} {row.throttled:>5} {row.exact}", flush=True)
    server.shutdown()
    sim.stop()
    store.close()
    if not all(r.exact for r in rows):
        raise SystemExit("some runs failed or did not end with the exact roster")


if __name__ == "__main__":
    main()
