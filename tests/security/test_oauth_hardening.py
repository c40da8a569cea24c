"""OAuth access tokens: issuer and audience, lifetime cap, secret rotation, scopes, the pinned algorithm and
the rate limit of /oauth/token, all over HTTP."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
import requests
from conftest import Running
from conftest import ScimClient

from scim_bridge.config import ConfigError
from scim_bridge.config import OAuthClient
from scim_bridge.config import Settings
from scim_bridge.web.oauth import issue_token
from scim_bridge.web.oauth import secret_fingerprint

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
KEY = "signing-key-for-hardening-0123456789abcdef"
SECRET = "first-secret-0123456789abcdef"
ROTATED = "second-secret-9876543210fedcba"
ISSUER = "https://scim.example.com"
AUDIENCE = "https://scim.example.com/scim/v2"
CLIENT = OAuthClient.from_secret("entra", "entra-id", SECRET)


def _oauth(bridge_factory: Any, client: OAuthClient = CLIENT, **overrides: Any) -> Running:
    running: Running = bridge_factory(oauth_clients=(client,), oauth_signing_key=KEY, **overrides)
    return running


def _grant(running: Running, secret: str = SECRET, **extra: str) -> requests.Response:
    return requests.post(running.root + "/oauth/token", timeout=10,
                         data={"grant_type": "client_credentials", "client_id": "entra-id", "client_secret": secret,
                               **extra})


def _token(running: Running, secret: str = SECRET, **extra: str) -> str:
    answer = _grant(running, secret, **extra)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


def _signed(client: OAuthClient = CLIENT, issuer: str = ISSUER, audience: str = AUDIENCE, algorithm: str = "HS256",
            drop: str = "", **changes: Any) -> str:
    """A token signed with the bridge's key, shaped as the bridge issues them, with ``changes``."""
    now = int(time.time())
    claims = {"iss": issuer, "aud": audience, "sub": client.client_id, "iat": now, "nbf": now, "exp": now + 600,
              "scope": "read write roles", "sfp": secret_fingerprint(client, KEY), **changes}
    return jwt.encode({k: v for k, v in claims.items() if k != drop}, KEY, algorithm=algorithm)


def _status(running: Running, token: str) -> int:
    return ScimClient(running.scim.base_url, token).get("/Users", params={"count": 1}).status_code


def test_issuer_and_audience_default_to_the_public_base_url_and_are_checked(bridge_factory: Any) -> None:
    running = _oauth(bridge_factory)
    token = _token(running)
    claims = _claims(token)
    assert (claims["iss"], claims["aud"], claims["sub"]) == (running.root, running.scim.base_url, "entra-id")
    assert claims["nbf"] == claims["iat"] and claims["exp"] - claims["iat"] == 3600
    assert _status(running, token) == 200
    for issuer, audience in ((running.root, "https://elsewhere.example.com/scim/v2"),
                             ("https://elsewhere.example.com", running.scim.base_url), ("scim-bridge", "")):
        forged = issue_token(CLIENT, KEY, 3600, issuer=issuer, audience=audience)
        assert _status(running, forged) == 401
    # The same token presented under another host name of the bridge is for another audience.
    other_host = running.root.replace("127.0.0.1", "localhost")
    assert requests.get(other_host + "/scim/v2/Users", headers={"Authorization": f"Bearer {token}"},
                        timeout=10).status_code == 401


def test_configured_issuer_and_audience(bridge_factory: Any) -> None:
    running = _oauth(bridge_factory, oauth_issuer=ISSUER, oauth_audience=AUDIENCE)
    token = _token(running)
    assert (_claims(token)["iss"], _claims(token)["aud"]) == (ISSUER, AUDIENCE)
    assert _status(running, token) == 200
    assert _status(running, issue_token(CLIENT, KEY, 3600, issuer=running.root,
                                        audience=running.scim.base_url)) == 401
    env = {"OPSGENIE_API_KEY": "k", "SCIM_BRIDGE_OAUTH_ISSUER": ISSUER + "/", "SCIM_BRIDGE_OAUTH_AUDIENCE": AUDIENCE}
    settings = Settings.from_env(env)
    assert (settings.oauth_issuer, settings.oauth_audience) == (ISSUER, AUDIENCE)
    with pytest.raises(ConfigError, match="SCIM_BRIDGE_OAUTH_ISSUER"):
        Settings.from_env({**env, "SCIM_BRIDGE_OAUTH_ISSUER": "scim bridge"})


def test_lifetime_is_capped_at_24_hours(bridge_factory: Any) -> None:
    with pytest.raises(ConfigError, match="at most 86400"):
        Settings.from_env({"OPSGENIE_API_KEY": "k", "SCIM_BRIDGE_OAUTH_TOKEN_LIFETIME": "86401"})
    assert Settings.from_env({"OPSGENIE_API_KEY": "k", "SCIM_BRIDGE_OAUTH_TOKEN_LIFETIME": "86400"}
                             ).oauth_token_lifetime == 86400
    running = _oauth(bridge_factory, oauth_issuer=ISSUER, oauth_audience=AUDIENCE)
    now = int(time.time())
    # Signed with the right key, but valid for two days: refused.
    assert _status(running, _signed(iat=now, nbf=now, exp=now + 2 * 86400)) == 401
    assert _status(running, _signed(iat=now, nbf=now, exp=now + 86400)) == 200


def test_rotating_the_client_secret_revokes_earlier_tokens(bridge_factory: Any) -> None:
    fixed = {"oauth_issuer": ISSUER, "oauth_audience": AUDIENCE}
    before = _oauth(bridge_factory, **fixed)
    token = _token(before)
    assert _status(before, token) == 200
    rotated = _oauth(bridge_factory, OAuthClient.from_secret("entra", "entra-id", ROTATED), **fixed)
    assert _status(rotated, token) == 401
    assert _grant(rotated, SECRET).status_code == 401
    assert _status(rotated, _token(rotated, ROTATED)) == 200
    # The old secret's configuration still accepts the token: the refusal is the rotation's doing.
    assert _status(_oauth(bridge_factory, **fixed), token) == 200


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the HS512 forgery below
def test_algorithm_and_time_claims_are_enforced(bridge_factory: Any) -> None:
    running = _oauth(bridge_factory, oauth_issuer=ISSUER, oauth_audience=AUDIENCE)
    now = int(time.time())
    assert _status(running, _signed()) == 200
    assert _status(running, _signed(algorithm="HS512")) == 401  # the algorithm is pinned
    for missing in ("nbf", "iat", "aud", "sfp", "scope"):
        assert _status(running, _signed(drop=missing)) == 401, missing
    assert _status(running, _signed(nbf=now + 600, exp=now + 1200)) == 401
    assert _status(running, _signed(sfp="0" * 32)) == 401


def test_tokens_carry_the_scopes_granted(bridge_factory: Any) -> None:
    limited = OAuthClient.from_secret("saviynt", "entra-id", SECRET, frozenset({"read", "write"}))
    running = _oauth(bridge_factory, limited)
    answer = _grant(running)
    assert answer.json()["scope"] == "read write"
    assert _claims(answer.json()["access_token"])["scope"] == "read write"
    client = ScimClient(running.scim.base_url, answer.json()["access_token"])
    refused = client.post("/Users", {"schemas": [CORE], "userName": "oauth.admin@example.com",
                                     "roles": [{"value": "Admin"}]})
    assert refused.status_code == 403 and "'roles' scope" in refused.json()["detail"]
    assert client.post("/Users", {"schemas": [CORE], "userName": "oauth.user@example.com"}).status_code == 201
    # A narrower request is honoured; scopes the bridge does not know are ignored (RFC 6749, Section 3.3).
    read_only = _grant(running, scope="read scim")
    assert read_only.status_code == 200 and read_only.json()["scope"] == "read"
    reader = ScimClient(running.scim.base_url, read_only.json()["access_token"])
    assert reader.get("/Users").status_code == 200
    assert reader.post("/Users", {"schemas": [CORE], "userName": "oauth.reader@example.com"}).status_code == 403
    too_much = _grant(running, scope="read roles")
    assert too_much.status_code == 400 and too_much.json()["error"] == "invalid_scope"
    # A token claiming more than the client is given gets only the client's scopes.
    claimed = _signed(limited, running.root, running.scim.base_url)
    assert ScimClient(running.scim.base_url, claimed).post("/Users", {
        "schemas": [CORE], "userName": "oauth.claimed@example.com", "roles": [{"value": "Admin"}]}).status_code == 403


def test_token_endpoint_is_rate_limited_per_client(bridge_factory: Any) -> None:
    # One request per 1000 s after a burst of 2: nothing refills during the test.
    running = _oauth(bridge_factory, client_rate_limit=0.001, client_rate_burst=2)
    statuses = [_grant(running).status_code, _grant(running, "wrong-secret").status_code]
    limited = _grant(running)
    assert statuses == [200, 401]
    assert limited.status_code == 429, limited.text
    assert int(limited.headers["Retry-After"]) > 0 and limited.json()["error"] == "temporarily_unavailable"
    assert "access_token" not in limited.json()
    # Unknown client ids share one budget of their own.
    unknown = [requests.post(running.root + "/oauth/token", timeout=10, data={
        "grant_type": "client_credentials", "client_id": f"guess-{n}", "client_secret": "x"}).status_code
        for n in range(3)]
    assert unknown == [401, 401, 429]
