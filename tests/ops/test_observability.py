"""/metrics, /readyz and the JSON request log of a real bridge over HTTP."""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

import pytest
import requests
from conftest import SIM_KEY
from conftest import TOKEN
from conftest import Running

from scim_bridge import logs
from scim_bridge.opsgenie.ratelimit import RollingWindowBudget
from scim_bridge.ratewindow import RateLimit

SERIES = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def scrape(bridge: Running) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = requests.get(f"{bridge.root}/metrics", timeout=10)
    assert response.status_code == 200
    return parse_metrics(response)


def parse_metrics(response: requests.Response) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Each series of a /metrics answer (name and labels) with its value."""
    assert response.headers["Content-Type"].startswith("text/plain")
    found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for line in response.text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SERIES.match(line)
        assert match, f"not Prometheus text: {line!r}"
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        found[(match.group(1), labels)] = float(match.group(3))
    return found


def value(metrics: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    """The sum over the series of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    hits = [v for (n, ls), v in metrics.items() if n == name and wanted <= ls]
    assert hits, f"no series {name}{labels}"
    return sum(hits)


def user_id(bridge: Running, username: str) -> str:
    found = bridge.sim.user(username)
    assert found is not None
    return str(found["id"])


def test_metrics_cover_requests_upstream_retries_throttling_budget_sync_and_audit(bridge: Running) -> None:
    mei = user_id(bridge, "mei.chen@example.com")
    assert bridge.scim.get("/Users").status_code == 200
    created = bridge.scim.post("/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                          "userName": "lena.fischer@example.com"})
    assert created.status_code == 201
    # One 503 then one 429 upstream: both retried by the client, the SCIM request still succeeds.
    bridge.sim.fault("GET", f"/v2/users/{mei}", "503")
    assert bridge.scim.get(f"/Users/{mei}").status_code == 200
    bridge.sim.fault("GET", f"/v2/users/{mei}", "429")
    assert bridge.scim.get(f"/Users/{mei}").status_code == 200
    metrics = scrape(bridge)
    assert value(metrics, "scim_bridge_requests_total", endpoint="/scim/v2/Users", method="GET", status="200") == 1
    assert value(metrics, "scim_bridge_requests_total", endpoint="/scim/v2/Users", method="POST", status="201") == 1
    assert value(metrics, "scim_bridge_requests_total", endpoint="/scim/v2/Users/<user_id>", method="GET",
                 status="200") == 2
    assert value(metrics, "scim_bridge_request_seconds_count", endpoint="/scim/v2/Users", method="GET") == 1
    assert value(metrics, "scim_bridge_request_seconds_bucket", endpoint="/scim/v2/Users", method="GET",
                 le="+Inf") == 1
    assert value(metrics, "scim_bridge_upstream_calls_total", method="GET", status="200") >= 3
    assert value(metrics, "scim_bridge_upstream_calls_total", method="GET", status="503") == 1
    assert value(metrics, "scim_bridge_upstream_calls_total", method="POST", status="201") >= 1
    assert value(metrics, "scim_bridge_upstream_call_seconds_count", method="GET") >= 4
    assert value(metrics, "scim_bridge_upstream_retries_total") == 2
    assert value(metrics, "scim_bridge_upstream_throttled_total") == 1
    left = value(metrics, "scim_bridge_rate_budget_tokens", domain="configuration")
    assert 0 <= left < 6000  # the simulator's limits, read from /v2/request-limits/, minus what was spent
    assert value(metrics, "scim_bridge_last_sync_ok") == 1
    assert value(metrics, "scim_bridge_mirror_age_seconds") >= 0
    assert value(metrics, "scim_bridge_audit_events_total", outcome="ok") == 1
    # One process (no gunicorn): its process and Python collectors are there too.
    assert value(metrics, "process_resident_memory_bytes") > 0 and value(metrics, "python_info") == 1


def test_throttled_answers_sent_to_clients_are_counted(bridge_factory: Any) -> None:
    # With one second to wait, the client makes at most three attempts (waits of at least 0.25, 0.5
    # and 1 s), so five refusals in a row exhaust it and the bridge answers 429 itself.
    bridge: Running = bridge_factory(upstream_wait_budget=1.0)
    mei = user_id(bridge, "mei.chen@example.com")
    bridge.sim.fault("GET", f"/v2/users/{mei}", "429", times=5)
    response = bridge.scim.get(f"/Users/{mei}")
    bridge.sim.http.delete(f"{bridge.sim.base_url}/__sim/faults", timeout=10).raise_for_status()
    assert response.status_code == 429
    assert response.headers.get("Retry-After")
    metrics = scrape(bridge)
    assert value(metrics, "scim_bridge_throttled_responses_total") == 1
    assert value(metrics, "scim_bridge_requests_total", status="429") == 1


def test_readyz_is_cached(bridge: Running) -> None:
    bridge.sim.clear_calls()
    first = requests.get(f"{bridge.root}/readyz", timeout=10)
    second = requests.get(f"{bridge.root}/readyz", timeout=10)
    assert first.status_code == second.status_code == 200
    body = second.json()
    assert body["ready"] is True and body["store"] is True and body["upstream"] == {"ok": True}
    assert body["last_sync"]["ok"] is True
    upstream = [c for c in bridge.sim.calls() if c["path"].startswith("/v2/")]
    assert len(upstream) == 1  # the second probe was answered from the cache
    assert requests.get(f"{bridge.root}/healthz", timeout=10).json()["status"] == "ok"


def test_json_request_log_with_request_ids_and_no_secrets(bridge: Running,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    wrong = "wrong-token-" + uuid.uuid4().hex
    given = bridge.scim.get("/Users", headers={"X-Request-Id": "idp-req-42"})
    generated = bridge.scim.get("/Groups")
    refused = requests.get(f"{bridge.scim.base_url}/Users", headers={"Authorization": f"Bearer {wrong}"},
                           timeout=10)
    garbage = bridge.scim.get("/Users", headers={"X-Request-Id": "x" * 500})
    assert given.headers["X-Request-Id"] == "idp-req-42"
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["X-Request-Id"])
    assert refused.status_code == 401
    assert re.fullmatch(r"[0-9a-f]{32}", garbage.headers["X-Request-Id"])  # too long: replaced
    as_written = logs.formatter()  # the line the bridge writes for each record
    access = [json.loads(as_written.format(r)) for r in caplog.records if r.name == "scim_bridge.access"]
    by_id = {line["request_id"]: line for line in access}
    assert by_id["idp-req-42"]["method"] == "GET" and by_id["idp-req-42"]["status"] == 200
    assert by_id["idp-req-42"]["path"] == "/scim/v2/Users" and by_id["idp-req-42"]["actor"] == "test"
    assert isinstance(by_id["idp-req-42"]["duration_ms"], float)
    assert by_id[generated.headers["X-Request-Id"]]["path"] == "/scim/v2/Groups"
    assert by_id[refused.headers["X-Request-Id"]]["status"] == 401
    metrics_text = requests.get(f"{bridge.root}/metrics", timeout=10).text
    audit = json.dumps([e.__dict__ for e in bridge.app.extensions["scim_bridge"].store.list_audit(limit=100)],
                       default=str)
    for secret in (TOKEN, wrong, SIM_KEY, f"GenieKey {SIM_KEY}", "Bearer "):
        assert secret not in caplog.text, secret
        assert secret not in metrics_text, secret
        assert secret not in audit, secret


def test_rate_budget_remaining_counts_the_tightest_window() -> None:
    now = [100.0]
    budget = RollingWindowBudget({"configuration": [RateLimit(3, 1.0), RateLimit(10, 60.0)]}, margin=0.0,
                                 clock=lambda: now[0], sleep=lambda _s: None)
    assert budget.remaining() == {"configuration": 3.0}
    budget.acquire("configuration", deadline=200.0)
    budget.acquire("configuration", deadline=200.0)
    assert budget.remaining() == {"configuration": 1.0}
    now[0] += 2.0  # the per-second window has rolled over; the per-minute one still holds both
    assert budget.remaining() == {"configuration": 3.0}
    for _ in range(8):
        now[0] += 2.0
        budget.acquire("configuration", deadline=now[0] + 100)
    assert budget.remaining() == {"configuration": 0.0}  # ten in the last minute
    budget.throttled("configuration", 5.0)
    now[0] += 61.0
    assert budget.remaining() == {"configuration": 3.0}
    budget.throttled("configuration", 5.0)
    assert budget.remaining() == {"configuration": 0.0}  # upstream said 429: nothing left until it passes
