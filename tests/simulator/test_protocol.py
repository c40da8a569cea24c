"""Authentication, rights, content negotiation, rate limits and request-limits."""

from __future__ import annotations

import requests

from scim_bridge.simulator.config import RIGHTS
from scim_bridge.simulator.config import RateLimit
from scim_bridge.simulator.server import SimulatorServer

from .conftest import Api


def test_authentication(sim: SimulatorServer, anon: Api) -> None:
    missing = anon.get("/v2/users")
    assert missing.status_code == 401
    assert missing.json()["message"] == "Could not authenticate"
    assert missing.headers["X-Request-ID"] == missing.json()["requestId"]
    assert anon.get("/v2/users", headers={"Authorization": "GenieKey wrong"}).status_code == 401
    assert anon.get("/v2/users", headers={"Authorization": "Bearer sim-key"}).status_code == 401
    assert anon.get("/v2/users", headers={"Authorization": "GenieKey sim-key"}).status_code == 200


def test_region_mismatch_is_401(sim: SimulatorServer) -> None:
    sim.config.api_keys = {"us-key": RIGHTS, "eu-key": RIGHTS}
    sim.config.key_regions = {"us-key": "us", "eu-key": "eu"}
    assert Api(sim.base_url, "us-key").get("/v2/teams").status_code == 200
    assert Api(sim.base_url, "eu-key").get("/v2/teams").status_code == 401
    sim.config.region = "eu"
    assert Api(sim.base_url, "eu-key").get("/v2/teams").status_code == 200
    assert Api(sim.base_url, "us-key").get("/v2/teams").status_code == 401


def test_rights(sim: SimulatorServer) -> None:
    sim.config.api_keys = {
        "all": RIGHTS,
        "read": frozenset({"read", "configuration"}),
        "no-config": frozenset({"read", "create_update", "delete"}),
        "no-delete": frozenset({"read", "create_update", "configuration"}),
    }
    reader = Api(sim.base_url, "read")
    assert reader.get("/v2/users").status_code == 200
    refused = reader.post("/v2/teams", json={"name": "t"})
    assert refused.status_code == 403 and refused.json()["code"] == 40301
    assert Api(sim.base_url, "no-config").get("/v2/teams").status_code == 403
    assert Api(sim.base_url, "no-config").get("/v2/request-limits/").status_code == 200
    writer = Api(sim.base_url, "no-delete")
    assert writer.post("/v2/teams", json={"name": "t"}).status_code == 201
    assert writer.delete("/v2/teams/t?identifierType=name").status_code == 403
    assert Api(sim.base_url, "all").delete("/v2/teams/t?identifierType=name").status_code == 200


def test_content_negotiation_and_unknown_routes(api: Api) -> None:
    wrong_type = api.post(
        "/v2/teams", data="name=x", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert wrong_type.status_code == 415
    no_type = api.post("/v2/teams", data=b'{"name": "x"}')
    assert no_type.status_code == 415
    bad_json = api.post("/v2/teams", data="{not json", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["message"]
    array = api.post("/v2/teams", json=[1, 2])
    assert array.status_code == 422
    assert api.get("/v2/teams", headers={"Accept": "text/html"}).status_code == 406
    assert api.get("/v2/teams", headers={"Accept": "application/json"}).status_code == 200
    unknown = api.get("/v2/alerts")
    assert unknown.status_code == 404 and unknown.json()["requestId"]
    assert api.put("/v2/users").status_code == 405
    charset = api.post(
        "/v2/teams", data=b'{"name": "cs"}', headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert charset.status_code == 201


def test_request_limits(api: Api, sim: SimulatorServer) -> None:
    sim.config.rate_limits = {"configuration": RateLimit(7, 70), "search": RateLimit(3, 30)}
    for path in ("/v2/request-limits/", "/v2/request-limits"):
        data = api.get(path).json()["data"]
        assert data["rateLimits"] == [
            {
                "domain": "configuration",
                "limits": [{"limit": 70, "periodInSeconds": 60}, {"limit": 7, "periodInSeconds": 1}],
            },
            {
                "domain": "search",
                "limits": [{"limit": 30, "periodInSeconds": 60}, {"limit": 3, "periodInSeconds": 1}],
            },
        ]


def test_request_limits_refused_like_a_team_key(api: Api, sim: SimulatorServer) -> None:
    """``request_limits_status`` refuses the limits (a team key: 403; an older account: 404) while the limits
    themselves still hold, and every answer keeps its X-RateLimit-State header."""
    sim.config.rate_limits = {"configuration": RateLimit(100, 2), "search": RateLimit(3, 30)}
    sim.config.request_limits_status = 403
    refused = api.get("/v2/request-limits/")
    assert refused.status_code == 403
    assert refused.json()["message"] == "Team API Keys are not authorized to perform this operation"
    assert refused.headers["X-RateLimit-State"] == "OK"
    sim.config.request_limits_status = 404
    assert api.get("/v2/request-limits").status_code == 404  # the second call of the minute
    throttled = api.get("/v2/teams")  # the two refusals spent the configuration minute
    assert throttled.status_code == 429
    assert throttled.headers["X-RateLimit-Period-In-Sec"] == "60"
    assert throttled.headers["X-RateLimit-Reason"] == "CONFIGURATION"
    assert api.get("/v2/users").headers["X-RateLimit-State"] == "OK"
    knobs = f"{sim.base_url}/__sim/config"
    assert requests.patch(knobs, json={"request_limits_status": 500}, timeout=10).status_code == 400
    assert requests.patch(knobs, json={"request_limits_status": 401}, timeout=10).status_code == 200
    assert sim.config.request_limits_status == 401


def test_rate_limit_per_second_and_domains(api: Api, sim: SimulatorServer) -> None:
    sim.config.rate_limits = {"configuration": RateLimit(100, 1000), "search": RateLimit(3, 1000)}
    statuses = [api.get("/v2/users").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    throttled = api.get("/v2/users")
    assert throttled.status_code == 429
    assert throttled.json()["message"] == "You are making too many requests!"
    assert throttled.headers["X-RateLimit-State"] == "THROTTLED"
    assert throttled.headers["X-RateLimit-Period-In-Sec"] == "1"
    assert throttled.headers["X-RateLimit-Reason"]
    assert "Retry-After" not in throttled.headers
    # the configuration domain has its own buckets
    assert api.get("/v2/teams").status_code == 200
    sim.config.retry_after_header = True
    assert api.get("/v2/users").headers["Retry-After"] == "1"
    calls = sim.state.call_log()
    assert [c["status"] for c in calls if c["domain"] == "search"] == [200, 200, 200, 429, 429, 429]


def test_rate_limit_per_minute(api: Api, sim: SimulatorServer) -> None:
    sim.config.rate_limits = {"configuration": RateLimit(100, 5), "search": RateLimit(100, 5)}
    statuses = [api.get("/v2/teams").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    assert api.get("/v2/teams").headers["X-RateLimit-Period-In-Sec"] == "60"
    sim.config.rate_limit_enabled = False
    assert api.get("/v2/teams").status_code == 200
