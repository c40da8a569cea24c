"""The mixed load (bench/load.py) run in rounds, and the figures a comparison can rest on.

Requests per second on a shared 2-core machine move by a third from one run to the next: whatever else runs
takes CPU from the server under test. The CPU time the server spends per request moves much less (it still
rises somewhat under contention: caches, lock hand-offs), so every round also reads the CPU time of the
watched processes (the bridge's gunicorn master and workers, the upstream simulator, the reference server)
inside its measurement window. A run is one discarded warm-up round and ``rounds`` measured ones; the rows
give the median and the range.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.report import Row
from bench.report import ms
from bench.report import percentile
from bench.servers import TOKEN

KINDS = ("get", "filter", "patch", "list")
KIND_LABELS = {"get": "GET /Users/{id}", "filter": "filter userName eq", "patch": "PATCH /Users/{id}",
               "list": "list count=100"}


def run_load(base_url: str, users: list[list[str]], *, clients: int, warmup: float, duration: float,
             seed: str = "bench", watch: dict[str, list[int]] | None = None) -> dict[str, Any]:
    """Run the load generator once, in a separate process, and summarise its samples."""
    config = {"base_url": base_url, "token": TOKEN, "users": users, "clients": clients,
              "warmup": warmup, "duration": duration, "seed": seed, "watch": watch or {}}
    done = subprocess.run([sys.executable, "-m", "bench.load"], input=json.dumps(config), capture_output=True,
                          text=True, check=True, cwd=Path(__file__).resolve().parent.parent)
    raw = json.loads(done.stdout)
    summary: dict[str, Any] = {"requests": raw["requests"], "rps": raw["requests"] / raw["duration"],
                               "client_cpu_seconds": raw["client_cpu_seconds"], "kinds": {}, "errors": 0}
    for kind in KINDS:
        entry = raw["kinds"].get(kind, {"latencies": [], "errors": {}})
        lat = entry["latencies"]
        errors = sum(entry["errors"].values())
        summary["errors"] += errors
        summary["kinds"][kind] = {"count": len(lat), "p50": percentile(lat, 50), "p95": percentile(lat, 95),
                                  "p99": percentile(lat, 99), "errors": entry["errors"]}
    cpu = raw["client_cpu_seconds"]
    summary["client_cpu_share"] = cpu / raw["duration"]
    summary["client_cpu_per_request"] = cpu / raw["requests"] if raw["requests"] else 0.0
    summary["cpu_per_request"] = {name: seconds / raw["requests"] if raw["requests"] else 0.0
                                  for name, seconds in raw.get("server_cpu_seconds", {}).items()}
    summary["cpu_share"] = {name: seconds / raw["duration"]
                            for name, seconds in raw.get("server_cpu_seconds", {}).items()}
    return summary


def measure(base_url: str, users: list[list[str]], *, clients: int, warmup: float, seconds: float, rounds: int,
            warmup_rounds: int, seed: str, watch: dict[str, list[int]]) -> dict[str, Any]:
    """``warmup_rounds`` discarded rounds, then ``rounds`` measured ones of ``seconds`` each; the summary of the
    round with the median rate (its latencies), with the medians and every round's figures beside it."""
    for n in range(warmup_rounds):
        run_load(base_url, users, clients=clients, warmup=warmup, duration=seconds, seed=f"{seed}-warm{n}")
    done = [run_load(base_url, users, clients=clients, warmup=warmup, duration=seconds, seed=f"{seed}-{n}",
                     watch=watch) for n in range(rounds)]
    by_rate = sorted(done, key=lambda r: r["rps"])
    summary = dict(by_rate[(len(by_rate) - 1) // 2])
    summary["rounds"] = [{"rps": r["rps"], "cpu_per_request": r["cpu_per_request"], "cpu_share": r["cpu_share"],
                          "errors": r["errors"]} for r in done]
    summary["rps"] = statistics.median(r["rps"] for r in done)
    summary["errors"] = sum(r["errors"] for r in done)
    summary["cpu_per_request"] = {name: statistics.median(r["cpu_per_request"][name] for r in done)
                                  for name in watch}
    summary["client_cpu_per_request"] = statistics.median(r["client_cpu_per_request"] for r in done)
    summary["client_cpu_share"] = statistics.median(r["client_cpu_share"] for r in done)
    return summary


def rate_text(summary: dict[str, Any]) -> str:
    """The median rate, the range over the rounds and the errors."""
    rates = [r["rps"] for r in summary.get("rounds", [])] or [summary["rps"]]
    return (f"{summary['rps']:.1f} (median of {len(rates)} rounds, {min(rates):.0f}-{max(rates):.0f}; "
            f"{summary['errors']} errors)")


def cpu_rows(scenario: str, who: str, summary: dict[str, Any]) -> list[Row]:
    """CPU milliseconds per request of each watched process: median, and the range over the rounds."""
    rows = []
    for name, median in summary["cpu_per_request"].items():
        values = [r["cpu_per_request"][name] for r in summary.get("rounds", [])] or [median]
        label = f"{who} CPU per request" if name == "server" else f"{name} CPU per request of {who}"
        rows.append(Row(scenario, label, "-",
                        f"{median * 1000:.2f} ms (rounds {min(values) * 1000:.2f}-{max(values) * 1000:.2f})"))
    return rows


def kind_rows(scenario: str, who: str, summary: dict[str, Any]) -> list[Row]:
    rows = []
    for kind in KINDS:
        k = summary["kinds"][kind]
        measured = (f"{ms(k['p50'])} / {ms(k['p95'])} / {ms(k['p99'])} (n={k['count']})" if k["count"]
                    else "none finished inside the window")
        rows.append(Row(scenario, f"{who} {KIND_LABELS[kind]} p50/p95/p99", "-", measured))
    return rows


def client_row(scenario: str, summary: dict[str, Any]) -> Row:
    per = summary["client_cpu_per_request"]
    ceiling = 1 / per if per else 0.0
    return Row(scenario, "load client's own CPU", "not the bottleneck",
               f"{per * 1000:.2f} ms CPU/request, {summary['client_cpu_share'] * 100:.0f}% of a core "
               f"(alone it could send ~{ceiling:.0f} req/s)", ceiling > 3 * summary["rps"])
