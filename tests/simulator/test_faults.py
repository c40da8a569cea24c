"""Scripted and random faults."""

from __future__ import annotations

import time

import pytest
import requests

from scim_bridge.simulator.server import SimulatorServer

from .conftest import Api

USER = {"username": "f@example.com", "fullName": "F", "role": {"name": "User"}}


def test_after_write_status_applies_the_write(api: Api, anon: Api, sim: SimulatorServer) -> None:
    anon.post("/__sim/faults", json={"method": "POST", "path": "/v2/users", "action": "after_write:503"})
    response = api.post("/v2/users", json=USER)
    assert response.status_code == 503
    assert response.json()["message"] and response.json()["requestId"]
    assert api.get("/v2/users/f@example.com").status_code == 200  # the write happened
    assert api.post("/v2/users", json=USER).status_code == 409  # the rule is used up
    calls = sim.state.call_log()
    assert [(c["status"], c["fault"]) for c in calls[:1]] == [(503, "after_write:503")]


def test_after_write_does_not_hide_a_failed_write(api: Api, sim: SimulatorServer) -> None:
    sim.state.add_fault("POST", "/v2/users", "after_write:503")
    assert api.post("/v2/users", json={"username": "bad"}).status_code == 422
    assert sim.state.list_faults() == []


def test_status_fault_does_not_apply(api: Api, sim: SimulatorServer) -> None:
    sim.state.add_fault("POST", "/v2/users", "503", times=2)
    assert api.post("/v2/users", json=USER).status_code == 503
    assert api.post("/v2/users", json=USER).status_code == 503
    assert api.get("/v2/users/f@example.com").status_code == 404
    assert api.post("/v2/users", json=USER).status_code == 201


def test_rules_match_method_and_whole_path_in_order(api: Api, anon: Api, sim: SimulatorServer) -> None:
    anon.post(
        "/__sim/faults",
        json={
            "rules": [{"method": "GET", "path": "/v2/teams/.*", "action": "404"}, {"action": "status:500"}]
        },
    )
    assert len(anon.get("/__sim/faults").json()["rules"]) == 2
    assert api.get("/v2/teams").status_code == 500  # first rule does not match the bare path
    assert api.get("/v2/teams/x").status_code == 404
    assert api.get("/v2/teams").status_code == 200
    sim.state.add_faults([{"method": "PATCH", "path": "/v2/users/.*", "action": "502"}])
    assert anon.delete("/__sim/faults").status_code == 200
    assert sim.state.list_faults() == []


def test_drop_and_after_write_drop(api: Api, sim: SimulatorServer) -> None:
    sim.state.add_fault("GET", "/v2/teams", "drop")
    with pytest.raises(requests.ConnectionError):
        api.get("/v2/teams")
    assert api.get("/v2/teams").status_code == 200

    sim.state.add_fault("*", "/v2/teams", "after_write:drop")
    with pytest.raises(requests.ConnectionError):
        api.post("/v2/teams", json={"name": "lost-reply"})
    assert api.get("/v2/teams/lost-reply?identifierType=name").status_code == 200
    dropped = [c for c in sim.state.call_log() if c["fault"] in ("drop", "after_write:drop")]
    assert [c["status"] for c in dropped] == [None, None]


def test_delay(api: Api, sim: SimulatorServer) -> None:
    sim.state.add_fault("GET", "/v2/teams", "delay:150")
    start = time.perf_counter()
    assert api.get("/v2/teams").status_code == 200
    assert time.perf_counter() - start >= 0.15


def test_bad_rules_are_refused(anon: Api) -> None:
    assert anon.post("/__sim/faults", json={"action": "explode"}).status_code == 400
    assert anon.post("/__sim/faults", json={"action": "200"}).status_code == 400
    assert anon.post("/__sim/faults", json={"path": "(", "action": "500"}).status_code == 400
    assert anon.post("/__sim/faults", json={"action": "500", "times": 0}).status_code == 400


def test_random_faults_are_seeded(api: Api, sim: SimulatorServer) -> None:
    def run() -> list[int]:
        sim.state.reset()
        sim.config.fail_rate = 0.5
        return [api.get("/v2/teams").status_code for _ in range(20)]

    first = run()
    assert set(first) - {200} <= {500, 502, 503} and 200 in first and len(set(first)) > 1
    assert run() == first


def test_random_after_write_and_drop_rates(api: Api, sim: SimulatorServer) -> None:
    sim.config.fail_after_write_rate = 1.0
    response = api.post("/v2/teams", json={"name": "t1"})
    assert response.status_code in (500, 502, 503)
    assert api.get("/v2/teams/t1?identifierType=name").status_code == 200  # reads are untouched
    sim.config.fail_after_write_rate = 0.0
    sim.config.drop_rate = 1.0
    with pytest.raises(requests.ConnectionError):
        api.get("/v2/teams")
    sim.config.drop_rate = 0.0
    assert [c["fault"] for c in sim.state.call_log()][0].startswith("random:after_write:")


def test_latency(api: Api, sim: SimulatorServer) -> None:
    sim.config.latency_ms = 60
    sim.config.latency_jitter_ms = 10
    start = time.perf_counter()
    api.get("/v2/teams")
    assert time.perf_counter() - start >= 0.06
    sim.config.latency_ms = 0
    sim.config.slow_rate = 1.0
    sim.config.slow_ms = 80
    start = time.perf_counter()
    api.get("/v2/teams")
    assert time.perf_counter() - start >= 0.08
