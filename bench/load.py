"""The mixed-load generator, run in its own process (``python -m bench.load``, JSON in on stdin, out on stdout).

Each of ``clients`` threads owns a ``requests.Session`` (keep-alive) and sends, back to back, a random
mix of: GET /Users/{id} 40%, GET /Users?filter=userName eq "..." 30%, PATCH /Users/{id} 20% and
GET /Users?count=100 10%. Requests that end inside the measurement window (after ``warmup`` seconds,
for ``duration`` seconds) are counted. The process also reports its own CPU time, so a reader can tell
whether the client, rather than the server, was the limit, and the CPU time the processes named in ``watch``
(the server's and the upstream's, by pid) spent inside the same window: on a machine shared with other work,
CPU time per request moves far less than requests per second.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
from typing import Any

import requests


def process_cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of these processes (every thread of each) so far; a pid gone counts 0."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                # After the command name in parentheses: field 3 (state) first; utime and stime are 14 and 15.
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


MIX = (("get", 40), ("filter", 30), ("patch", 20), ("list", 10))
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _plan(rng: random.Random, users: list[list[str]], counter: int) -> tuple[str, str, str, dict[str, Any]]:
    kind = rng.choices([k for k, _ in MIX], weights=[w for _, w in MIX])[0]
    user_id, user_name = rng.choice(users)
    if kind == "get":
        return kind, "GET", f"/Users/{user_id}", {}
    if kind == "filter":
        return kind, "GET", "/Users", {"params": {"filter": f'userName eq "{user_name}"'}}
    if kind == "patch":
        body = {"schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "displayName", "value": f"Bench User {counter}"}]}
        return kind, "PATCH", f"/Users/{user_id}", {"json": body}
    start = rng.randint(0, max(0, len(users) - 100)) + 1
    return kind, "GET", "/Users", {"params": {"startIndex": start, "count": 100}}


def run(config: dict[str, Any]) -> dict[str, Any]:
    base = str(config["base_url"])
    users: list[list[str]] = config["users"]
    clients = int(config.get("clients", 8))
    warmup = float(config.get("warmup", 3.0))
    duration = float(config.get("duration", 20.0))
    timeout = float(config.get("timeout", 60.0))
    headers = {"Authorization": f"Bearer {config['token']}", "Content-Type": "application/scim+json",
               "Accept": "application/scim+json"}
    start = time.monotonic()
    window_start, window_end = start + warmup, start + warmup + duration
    samples: list[tuple[str, float, int]] = []
    lock = threading.Lock()
    cpu_marks: dict[str, float] = {}
    watch: dict[str, list[int]] = config.get("watch", {})
    watched: dict[str, dict[str, float]] = {name: {} for name in watch}

    def worker(index: int) -> None:
        rng = random.Random(f"{config.get('seed', 'bench')}:{index}")
        session = requests.Session()
        session.headers.update(headers)
        local: list[tuple[str, float, int]] = []
        counter = 0
        while True:
            now = time.monotonic()
            if now >= window_end:
                break
            counter += 1
            kind, method, path, kwargs = _plan(rng, users, index * 1_000_000 + counter)
            began = time.monotonic()
            try:
                response = session.request(method, base + path, timeout=timeout, **kwargs)
                status = response.status_code
                _ = response.content
            except requests.RequestException:
                status = 0
            ended = time.monotonic()
            if window_start <= ended <= window_end:
                local.append((kind, ended - began, status))
        with lock:
            samples.extend(local)

    def cpu_marker() -> None:
        time.sleep(max(0.0, window_start - time.monotonic()))
        cpu_marks["start"] = time.process_time()
        for name, pids in watch.items():
            watched[name]["start"] = process_cpu_seconds(pids)
        time.sleep(max(0.0, window_end - time.monotonic()))
        cpu_marks["end"] = time.process_time()
        for name, pids in watch.items():
            watched[name]["end"] = process_cpu_seconds(pids)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    marker = threading.Thread(target=cpu_marker, daemon=True)
    marker.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    marker.join()
    by_kind: dict[str, dict[str, Any]] = {}
    for kind, latency, status in samples:
        entry = by_kind.setdefault(kind, {"latencies": [], "errors": {}})
        entry["latencies"].append(latency)
        if not 200 <= status < 300:
            entry["errors"][str(status)] = entry["errors"].get(str(status), 0) + 1
    cpu = cpu_marks.get("end", 0.0) - cpu_marks.get("start", 0.0)
    server_cpu = {name: marks.get("end", 0.0) - marks.get("start", 0.0) for name, marks in watched.items()}
    return {"duration": duration, "clients": clients, "requests": len(samples), "kinds": by_kind,
            "client_cpu_seconds": cpu, "server_cpu_seconds": server_cpu}


def main() -> None:
    config = json.load(sys.stdin)
    json.dump(run(config), sys.stdout)


if __name__ == "__main__":
    main()
