"""``scim-bridge serve --config deploy/gunicorn.conf.py``: real gunicorn with two workers, JSON access log, clean
stop; /metrics speaks for the whole server, and log lines stay one JSON each.

The tests share one server (each compares what it sent with what the metrics and the log show of it); it is
stopped after the last of them, and its stop checked then: graceful, the database closed, the log clean.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from conftest import SIM_KEY
from conftest import TOKEN

from ops.serving import Served
from ops.serving import serve
from ops.test_observability import parse_metrics
from scim_bridge.simulator.server import SimulatorServer

ROUNDS = (40, 25)
SCRAPES = 5
FORGED = '{"event": "forged", "level": "critical"}'


def scrape(served: Served) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = requests.get(f"{served.base}/metrics", timeout=10)
    assert response.status_code == 200
    return parse_metrics(response)


def list_users(served: Served, times: int) -> None:
    """``times`` GET /Users, eight at a time, each on a new connection (so both workers take some)."""
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _i: served.scim_get("/Users").status_code, range(times)))
    assert statuses == [200] * times


def worker_files(metrics_dir: Path) -> list[Path]:
    """The counter files of the workers (made when a worker's app is built, one per process id)."""
    return sorted(metrics_dir.glob("counter_*.db"))


@pytest.fixture(scope="module")
def metrics_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's PROMETHEUS_MULTIPROC_DIR, with a file left over by an earlier run (emptied on start)."""
    folder = tmp_path_factory.mktemp("serve-metrics") / "metrics"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"left over by an earlier run")
    return folder


@pytest.fixture(scope="module")
def served(simulator: SimulatorServer, metrics_dir: Path) -> Iterator[Served]:
    simulator.state.reset(seed="demo")
    with serve(simulator, metrics_dir.parent, SIM_KEY, workers=2,
               env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}) as running:
        # Both workers have built their app (each logs the budget it sized from OpsGenie's limits, after the call
        # that did it was counted in its file): both take requests, so a per-worker count would show.
        running.wait_for_log("rate budget sized", count=2)
        yield running
    assert running.returncode == 0  # graceful shutdown
    # The workers closed their stores as they ended, each moving SQLite's write-ahead log into the database file:
    # the log is gone, or empty if the workers closed at the same moment (each then leaves its removal to the other).
    state = metrics_dir.parent / "state"
    assert (state / "bridge.db").exists()
    wal = state / "bridge.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    text = running.log_text()
    records = [json.loads(line) for line in text.splitlines()]  # one JSON object per line, gunicorn's too
    assert any("Booting worker" in str(r.get("event")) and r.get("logger") == "gunicorn.error" for r in records)
    assert any("Shutting down" in str(r.get("event")) and r.get("logger") == "gunicorn.error" for r in records)
    assert "BridgeThreadWorker" in text  # the config file's worker class (gthread with deadlines, web/worker.py)
    assert TOKEN not in text and SIM_KEY not in text


def test_serve_with_the_deploy_config(served: Served) -> None:
    response = served.scim_get("/Users", **{"X-Request-Id": "serve-test-1"})
    assert response.status_code == 200
    assert response.json()["totalResults"] == 7
    assert response.headers["X-Request-Id"] == "serve-test-1"
    assert requests.get(f"{served.base}/readyz", timeout=10).status_code == 200
    served.wait_for_log('"serve-test-1"', '"scim_bridge.access"')  # other lines of the request carry its id too
    found = [record for record in map(json.loads, served.log_text().splitlines())
             if record.get("request_id") == "serve-test-1" and record.get("logger") == "scim_bridge.access"]
    assert found and found[0]["status"] == 200 and found[0]["path"] == "/scim/v2/Users"


REQUESTS = ("scim_bridge_requests_total",
            frozenset({("endpoint", "/scim/v2/Users"), ("method", "GET"), ("status", "200")}))
DURATIONS = ("scim_bridge_request_seconds_count", frozenset({("endpoint", "/scim/v2/Users"), ("method", "GET")}))


def test_every_scrape_counts_the_requests_of_all_workers(served: Served, metrics_dir: Path) -> None:
    assert not (metrics_dir / "counter_999999.db").exists()
    assert len(worker_files(metrics_dir)) == 2
    start = scrape(served)
    before, timed_before = start.get(REQUESTS, 0.0), start.get(DURATIONS, 0.0)
    seen: list[float] = []
    sent = 0
    for batch in ROUNDS:
        list_users(served, batch)
        sent += batch
        for _ in range(SCRAPES):
            found = scrape(served)
            seen.append(found[REQUESTS])
            assert found[REQUESTS] == before + sent, seen
            assert found[DURATIONS] == timed_before + sent
    assert any(name == "python_info" for name, _labels in found)
    assert len(worker_files(metrics_dir)) == 2  # one file per worker; the stale one was removed on start
    assert seen == sorted(seen)  # never goes down


def test_made_up_methods_paths_and_control_characters(served: Served) -> None:
    before = scrape(served)
    for i in range(60):
        requests.request(f"BREW{i}", f"{served.base}/scim/v2/Users/{i}", timeout=10)
        requests.get(f"{served.base}/made/up/{i}", timeout=10)
    after = scrape(served)
    # A path with CR, LF, an escape sequence and a NUL, percent-encoded as HTTP requires.
    injected = served.scim_get("/Users/x%0D%0A" + requests.utils.quote(FORGED) + "%1B%5B31m%00",
                               **{"X-Request-Id": "inject-1"})
    assert injected.status_code == 404
    served.wait_for_log("forged")  # its access line, whenever the worker writes it
    added = set(after) - set(before)
    request_series = [dict(labels) for name, labels in added if name == "scim_bridge_requests_total"]
    # 120 requests with 60 made-up methods and 60 made-up paths: a few series at most (the first scrape adds
    # /metrics itself), every made-up method folded into "other", every unknown path into "unmatched".
    assert len(request_series) <= 4, request_series
    assert {s["endpoint"] for s in request_series} <= {"unmatched", "/metrics"}
    assert {s["method"] for s in request_series} <= {"GET", "other"}
    assert not any("BREW" in value or "made" in value for _name, labels in after for _k, value in labels)
    assert len(added) <= 4 * (1 + 15)  # each new label set: one counter and a histogram (13 buckets, sum, count)

    text = served.log_text()
    lines = [line for line in text.splitlines() if "forged" in line]
    assert len(lines) == 1, lines  # the access line of that request, and nothing on a line of its own
    logged = json.loads(lines[0])
    assert logged["request_id"] == "inject-1" and logged["logger"] == "scim_bridge.access"
    assert logged["path"] == "/scim/v2/Users/x\r\n" + FORGED + "\x1b[31m\x00"
    assert "\x1b" not in text  # the escape sequence reached no terminal
