"""Static bearer tokens: several at once, the actor in the audit log, challenges, discovery and the CLI."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from typing import Any

import pytest
import requests
from conftest import TOKEN
from conftest import Running
from conftest import ScimClient

from scim_bridge.config import BearerToken
from scim_bridge.config import ConfigError
from scim_bridge.config import Settings

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
OLD = "old-token-for-rotation-0123456789"
NEW = "new-token-for-rotation-9876543210"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _rotating(bridge_factory: Any) -> Running:
    tokens = (BearerToken("okta-2024", _digest(OLD)), BearerToken("okta-2025", _digest(NEW)))
    running: Running = bridge_factory(tokens=tokens)
    return running


def test_old_and_new_token_both_work_and_are_audited_as_actor(bridge_factory: Any) -> None:
    running = _rotating(bridge_factory)
    old = ScimClient(running.scim.base_url, OLD)
    new = ScimClient(running.scim.base_url, NEW)
    created: list[tuple[str, str]] = []
    # The IdP keeps calling with the old token while the new one is already accepted: both keep working.
    for i in range(3):
        for name, client in (("okta-2024", old), ("okta-2025", new)):
            assert client.get("/Users", params={"count": 1}).status_code == 200
            response = client.post("/Users", {"schemas": [CORE], "userName": f"rot{i}.{name}@example.com"})
            assert response.status_code == 201, response.text
            created.append((response.json()["id"], name))
    store = running.app.extensions["scim_bridge"].store
    for user_id, name in created:
        events = store.list_audit(resource_id=user_id)
        assert [(e.actor, e.operation, e.outcome) for e in events] == [(name, "create", "ok")]
    assert {e.actor for e in store.list_audit(actor="okta-2024")} == {"okta-2024"}
    assert len(store.list_audit(actor="okta-2025")) == 3


def test_a_retired_token_stops_working(bridge_factory: Any) -> None:
    running: Running = bridge_factory(tokens=(BearerToken("okta-2025", _digest(NEW)),))
    assert ScimClient(running.scim.base_url, NEW).get("/Users").status_code == 200
    response = ScimClient(running.scim.base_url, OLD).get("/Users")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_tokens_from_environment_hashes(bridge_factory: Any) -> None:
    env = {"OPSGENIE_API_KEY": "k", "SCIM_BEARER_TOKEN": OLD,
           "SCIM_BEARER_TOKEN_HASHES": f"entra:{_digest(NEW)}, okta : {_digest('third-token-abcdefghijkl')}"}
    tokens = Settings.from_env(env).tokens
    assert [t.name for t in tokens] == ["default", "entra", "okta"]
    running: Running = bridge_factory(tokens=tokens)
    for secret in (OLD, NEW, "third-token-abcdefghijkl"):
        assert ScimClient(running.scim.base_url, secret).get("/Groups").status_code == 200


@pytest.mark.parametrize("extra", [
    {"SCIM_BEARER_TOKEN_HASHES": f"default:{_digest(NEW)}"},  # SCIM_BEARER_TOKEN is "default"
    {"SCIM_BEARER_TOKEN_HASHES": f"okta:{_digest(NEW)},okta:{_digest('third-token-abcdefghijkl')}"},
    {"SCIM_BEARER_TOKEN_HASHES": f"okta:{_digest(NEW)}", "SCIM_BRIDGE_OAUTH_CLIENTS": "okta:cid:" + "0" * 64,
     "SCIM_BRIDGE_OAUTH_SIGNING_KEY": "k" * 40},
])
def test_two_ways_in_cannot_share_a_name(extra: dict[str, str]) -> None:
    """The audit log tells changes apart by token (or OAuth client) name."""
    with pytest.raises(ConfigError, match="more than one token or OAuth client"):
        Settings.from_env({"OPSGENIE_API_KEY": "k", "SCIM_BEARER_TOKEN": OLD, **extra})


def _near_misses() -> list[str]:
    return [TOKEN[:-1], TOKEN + "x", TOKEN[:-1] + chr(ord(TOKEN[-1]) + 1), TOKEN.upper(), _digest(TOKEN),
            f" {TOKEN[:8]}", "é" * 20]


@pytest.mark.parametrize("credential", _near_misses())
def test_near_miss_tokens_are_rejected(shared_bridge: Running, credential: str) -> None:
    response = requests.get(shared_bridge.scim.base_url + "/Users",
                            headers={"Authorization": f"Bearer {credential}".encode()}, timeout=10)
    assert response.status_code == 401
    body = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == "401" and body["detail"]
    assert credential not in response.text


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/Users"), ("POST", "/Users"), ("GET", "/Users/x"), ("PUT", "/Users/x"), ("PATCH", "/Users/x"),
     ("DELETE", "/Users/x"), ("POST", "/Users/.search"), ("GET", "/Groups"), ("POST", "/Groups"),
     ("GET", "/Groups/x"), ("PUT", "/Groups/x"), ("PATCH", "/Groups/x"), ("DELETE", "/Groups/x"),
     ("POST", "/Groups/.search"), ("GET", "/ServiceProviderConfig"), ("GET", "/ResourceTypes"),
     ("GET", "/ResourceTypes/User"), ("GET", "/Schemas"), ("GET", f"/Schemas/{CORE}"), ("GET", "/Me"),
     ("POST", "/Bulk"), ("GET", "/Nowhere")],
)
def test_every_scim_endpoint_requires_a_token(shared_bridge: Running, method: str, path: str) -> None:
    shared_bridge.sim.clear_calls()
    response = requests.request(method, shared_bridge.scim.base_url + path, json={"schemas": [PATCH]}, timeout=10)
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["status"] == "401"
    assert shared_bridge.sim.writes() == []


def test_discovery_without_token_when_configured(bridge_factory: Any) -> None:
    running: Running = bridge_factory(discovery_requires_auth=False)
    base = running.scim.base_url
    for path in ("/ServiceProviderConfig", "/ResourceTypes", "/ResourceTypes/Group", "/Schemas",
                 f"/Schemas/{CORE}"):
        assert requests.get(base + path, timeout=10).status_code == 200, path
    # Resources stay protected.
    assert requests.get(base + "/Users", timeout=10).status_code == 401
    assert requests.get(base + "/Groups", timeout=10).status_code == 401


def test_discovery_auth_flag_from_environment() -> None:
    assert Settings.from_env({"OPSGENIE_API_KEY": "k"}).discovery_requires_auth is True
    assert Settings.from_env({"OPSGENIE_API_KEY": "k", "SCIM_BRIDGE_DISCOVERY_AUTH": "false"}
                             ).discovery_requires_auth is False


def test_token_create_prints_a_secret_and_its_hash() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scim_bridge.cli", "token", "create", "entra-prod"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONWARNINGS": "ignore"}, check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    secret = lines[0].rsplit(" ", 1)[-1]
    assert secret.startswith("scb_") and len(secret) >= 40
    entry = lines[-1].strip()
    name, digest = entry.split(":")
    assert name == "entra-prod"
    assert digest == _digest(secret)
    # The printed entry is accepted as configuration and matches the secret.
    tokens = Settings.from_env({"OPSGENIE_API_KEY": "k", "SCIM_BEARER_TOKEN_HASHES": entry}).tokens
    assert tokens == (BearerToken("entra-prod", digest),)
    again = subprocess.run([sys.executable, "-m", "scim_bridge.cli", "token", "create", "entra-prod"],
                           capture_output=True, text=True, timeout=60, check=False)
    assert again.stdout.splitlines()[0] != lines[0]


def test_token_create_rejects_a_bad_name() -> None:
    result = subprocess.run([sys.executable, "-m", "scim_bridge.cli", "token", "create", "bad:name"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "NAME" in result.stderr + result.stdout
