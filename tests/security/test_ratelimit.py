"""Per-client rate limit: each token or OAuth client has its own bucket; excess requests get 429."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import requests
from conftest import Running
from conftest import ScimClient

from scim_bridge.config import BearerToken
from scim_bridge.config import ConfigError
from scim_bridge.config import Settings
from scim_bridge.web.ratelimit import ClientRateLimiter

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
FIRST = "first-client-token-0123456789"
SECOND = "second-client-token-0123456789"


def _tokens() -> tuple[BearerToken, ...]:
    return tuple(BearerToken(name, hashlib.sha256(secret.encode()).hexdigest())
                 for name, secret in (("first", FIRST), ("second", SECOND)))


def test_burst_then_429_per_token(bridge_factory: Any) -> None:
    # One request per 100 s after a burst of 3: the 4th request is refused whatever the machine's speed.
    running: Running = bridge_factory(tokens=_tokens(), client_rate_limit=0.01, client_rate_burst=3)
    first = ScimClient(running.scim.base_url, FIRST)
    second = ScimClient(running.scim.base_url, SECOND)
    for _ in range(3):
        assert first.get("/Users", params={"count": 1}).status_code == 200
    running.sim.clear_calls()
    refused = first.post("/Users", {"schemas": [CORE], "userName": "throttled@example.com"})
    assert refused.status_code == 429, refused.text
    body = refused.json()
    assert body["schemas"] == [ERROR] and body["status"] == "429" and body["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 100
    assert running.sim.calls() == []  # refused before any upstream call
    assert running.sim.user("throttled@example.com") is None
    # The other client's bucket is untouched.
    assert second.get("/Groups").status_code == 200
    assert second.post("/Users", {"schemas": [CORE], "userName": "second@example.com"}).status_code == 201
    # Unauthenticated requests are answered 401, not counted against anyone.
    assert requests.get(running.scim.base_url + "/Users", timeout=10).status_code == 401
    metrics = requests.get(running.root + "/metrics", timeout=10).text
    assert "scim_bridge_throttled_responses_total 1" in metrics


def test_no_limit_by_default(bridge: Running) -> None:
    assert bridge.settings.client_rate_limit == 0
    for _ in range(30):
        assert bridge.scim.get("/ServiceProviderConfig").status_code == 200


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_refills_at_the_rate() -> None:
    clock = Clock()
    limiter = ClientRateLimiter(2.0, 4, clock=clock)
    assert [limiter.acquire("a") for _ in range(4)] == [0.0] * 4
    assert limiter.acquire("a") == pytest.approx(0.5)
    assert limiter.acquire("b") == 0.0
    clock.now += 0.5
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") == pytest.approx(0.5)
    clock.now += 60
    assert [limiter.acquire("a") for _ in range(4)] == [0.0] * 4  # never more than the burst
    assert limiter.acquire("a") > 0


def test_default_burst_is_twice_the_rate() -> None:
    assert ClientRateLimiter(25).burst == 50
    assert ClientRateLimiter(0.1).burst == 1
    with pytest.raises(ValueError):
        ClientRateLimiter(0)


def test_rate_limit_settings_from_environment() -> None:
    settings = Settings.from_env({"OPSGENIE_API_KEY": "k", "SCIM_BRIDGE_CLIENT_RATE_LIMIT": "25",
                                  "SCIM_BRIDGE_CLIENT_RATE_BURST": "100"})
    assert (settings.client_rate_limit, settings.client_rate_burst) == (25.0, 100)
    assert Settings.from_env({"OPSGENIE_API_KEY": "k"}).client_rate_limit == 0
    with pytest.raises(ConfigError):
        Settings.from_env({"OPSGENIE_API_KEY": "k", "SCIM_BRIDGE_CLIENT_RATE_LIMIT": "-1"})
