"""OAuth 2.0 client credentials (RFC 6749, Section 4.4): the token endpoint and its access tokens."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_plus

import pytest
import requests
from conftest import TOKEN
from conftest import Running
from conftest import ScimClient
from conftest import start_bridge

from scim_bridge.config import ConfigError
from scim_bridge.config import OAuthClient
from scim_bridge.config import Settings
from scim_bridge.web.oauth import issue_token

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
SIGNING_KEY = "signing-key-for-tests-0123456789abcdef"
ENTRA_SECRET = "entra-secret-value-0123456789"
OKTA_SECRET = "okta:secret with spaces&symbols=+"
ENTRA = OAuthClient.from_secret("entra", "entra-client-id", ENTRA_SECRET)
OKTA = OAuthClient.from_secret("okta", "okta client", OKTA_SECRET)


@pytest.fixture(scope="module")
def oauth_bridge(simulator: Any, template_db: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    simulator.state.reset(seed="demo")
    running, server, store = start_bridge(simulator, tmp_path_factory.mktemp("oauth") / "bridge.db", template_db,
                                          oauth_clients=(ENTRA, OKTA), oauth_signing_key=SIGNING_KEY,
                                          oauth_token_lifetime=1800)
    yield running
    server.shutdown()
    server.server_close()
    store.close()


def _basic(client_id: str, secret: str) -> str:
    # RFC 6749, Section 2.3.1: both parts are form-urlencoded before the Basic encoding.
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def _token(running: Running, data: Any = None, headers: dict[str, str] | None = None,
           **kwargs: Any) -> requests.Response:
    return requests.post(running.root + "/oauth/token", data=data, headers=headers or {}, timeout=10, **kwargs)


def _grant(running: Running, client_id: str = "entra-client-id", secret: str = ENTRA_SECRET) -> str:
    response = _token(running, {"grant_type": "client_credentials"}, {"Authorization": _basic(client_id, secret)})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def test_basic_credentials_grant_a_working_token(oauth_bridge: Running) -> None:
    response = _token(oauth_bridge, {"grant_type": "client_credentials", "scope": "scim"},
                      {"Authorization": _basic("entra-client-id", ENTRA_SECRET)})
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 1800
    client = ScimClient(oauth_bridge.scim.base_url, body["access_token"])
    assert client.get("/Users").status_code == 200
    created = client.post("/Users", {"schemas": [CORE], "userName": "oauth.created@example.com"})
    assert created.status_code == 201, created.text
    store = oauth_bridge.app.extensions["scim_bridge"].store
    assert [e.actor for e in store.list_audit(resource_id=created.json()["id"])] == ["entra"]


def test_body_credentials_and_special_characters(oauth_bridge: Running) -> None:
    response = _token(oauth_bridge, {"grant_type": "client_credentials", "client_id": "okta client",
                                     "client_secret": OKTA_SECRET})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert _grant(oauth_bridge, "okta client", OKTA_SECRET) != token  # every grant is a fresh token
    client = ScimClient(oauth_bridge.scim.base_url, token)
    created = client.post("/Users", {"schemas": [CORE], "userName": "okta.created@example.com"})
    assert created.status_code == 201
    store = oauth_bridge.app.extensions["scim_bridge"].store
    assert [e.actor for e in store.list_audit(resource_id=created.json()["id"])] == ["okta"]


def test_static_tokens_keep_working_next_to_oauth(oauth_bridge: Running) -> None:
    assert ScimClient(oauth_bridge.scim.base_url, TOKEN).get("/Groups").status_code == 200
    assert ScimClient(oauth_bridge.scim.base_url, _grant(oauth_bridge)).get("/Groups").status_code == 200


TOKEN_ERRORS: list[tuple[str, Any, dict[str, str], int, str]] = [
    ("wrong secret", {"grant_type": "client_credentials"}, {"Authorization": _basic("entra-client-id", "nope")},
     401, "invalid_client"),
    ("unknown client", {"grant_type": "client_credentials", "client_id": "who", "client_secret": ENTRA_SECRET},
     {}, 401, "invalid_client"),
    ("other client's secret", {"grant_type": "client_credentials", "client_id": "okta client",
                               "client_secret": ENTRA_SECRET}, {}, 401, "invalid_client"),
    ("no credentials", {"grant_type": "client_credentials"}, {}, 401, "invalid_client"),
    ("bearer instead of basic", {"grant_type": "client_credentials"}, {"Authorization": f"Bearer {TOKEN}"},
     401, "invalid_client"),
    ("basic not base64", {"grant_type": "client_credentials"}, {"Authorization": "Basic %%%"}, 401,
     "invalid_client"),
    ("basic without colon", {"grant_type": "client_credentials"},
     {"Authorization": "Basic " + base64.b64encode(b"entra-client-id").decode()}, 401, "invalid_client"),
    ("wrong grant", {"grant_type": "password", "username": "a", "password": "b"},
     {"Authorization": _basic("entra-client-id", ENTRA_SECRET)}, 400, "unsupported_grant_type"),
    ("no grant type", {"client_id": "entra-client-id", "client_secret": ENTRA_SECRET}, {}, 400,
     "invalid_request"),
    ("secret without id", {"grant_type": "client_credentials", "client_secret": ENTRA_SECRET}, {}, 400,
     "invalid_request"),
    ("two methods", {"grant_type": "client_credentials", "client_secret": ENTRA_SECRET},
     {"Authorization": _basic("entra-client-id", ENTRA_SECRET)}, 400, "invalid_request"),
    ("repeated parameter", [("grant_type", "client_credentials"), ("grant_type", "client_credentials")],
     {"Authorization": _basic("entra-client-id", ENTRA_SECRET)}, 400, "invalid_request"),
    ("json body", json.dumps({"grant_type": "client_credentials"}),
     {"Authorization": _basic("entra-client-id", ENTRA_SECRET), "Content-Type": "application/json"}, 400,
     "invalid_request"),
]


@pytest.mark.parametrize(("name", "data", "headers", "status", "error"), TOKEN_ERRORS,
                         ids=[case[0] for case in TOKEN_ERRORS])
def test_token_endpoint_errors(oauth_bridge: Running, name: str, data: Any, headers: dict[str, str], status: int,
                               error: str) -> None:
    response = _token(oauth_bridge, data, headers)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]
    assert "access_token" not in body
    assert response.headers["Cache-Control"] == "no-store"
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert ENTRA_SECRET not in response.text


def test_token_endpoint_only_accepts_post(oauth_bridge: Running) -> None:
    response = requests.get(oauth_bridge.root + "/oauth/token", timeout=10)
    assert response.status_code == 405


def _issue(running: Running, client: OAuthClient, key: str, lifetime: int, **kwargs: Any) -> str:
    """A token as the bridge at ``running`` issues them (its default issuer and audience)."""
    return issue_token(client, key, lifetime, issuer=running.root, audience=running.root + "/scim/v2", **kwargs)


def _rejected(running: Running, token: str) -> requests.Response:
    response = ScimClient(running.scim.base_url, token).get("/Users")
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == "401" and body["detail"]
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    return response


def _flip(text: str) -> str:
    return text[:-1] + ("A" if text[-1] != "A" else "B")


def test_tampered_tokens_are_rejected(oauth_bridge: Running) -> None:
    token = _grant(oauth_bridge)
    header, claims, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(claims + "=="))
    assert payload["sub"] == "entra-client-id"
    forged_claims = base64.urlsafe_b64encode(json.dumps({**payload, "sub": "okta client"}).encode()
                                             ).rstrip(b"=").decode()
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    for forged in (f"{header}.{forged_claims}.{signature}", f"{header}.{claims}.{_flip(signature)}",
                   f"{none_header}.{claims}.", f"{header}.{claims}", f"{header}.{claims}.{signature}.x",
                   "a.b.c", "..", f"{header}.{claims}.{signature}é"):
        _rejected(oauth_bridge, forged)


def test_expired_and_foreign_tokens_are_rejected(oauth_bridge: Running) -> None:
    expired = _issue(oauth_bridge, ENTRA, SIGNING_KEY, 3600, now=time.time() - 3601)
    response = _rejected(oauth_bridge, expired)
    assert "expired" in response.json()["detail"]
    still_valid = _issue(oauth_bridge, ENTRA, SIGNING_KEY, 3600, now=time.time() - 3000)
    assert ScimClient(oauth_bridge.scim.base_url, still_valid).get("/Users").status_code == 200
    # Signed with another key, or for a client that is no longer configured.
    _rejected(oauth_bridge, _issue(oauth_bridge, ENTRA, "another-signing-key-0123456789abcdef", 3600))
    removed = OAuthClient.from_secret("gone", "gone-client", "whatever-secret")
    _rejected(oauth_bridge, _issue(oauth_bridge, removed, SIGNING_KEY, 3600))


def test_no_token_endpoint_without_clients(shared_bridge: Running) -> None:
    response = _token(shared_bridge, {"grant_type": "client_credentials"}, {"Authorization": _basic("a", "b")})
    assert response.status_code == 404
    schemes = shared_bridge.scim.get("/ServiceProviderConfig").json()["authenticationSchemes"]
    assert [s["type"] for s in schemes] == ["oauthbearertoken"]
    # A JWT-shaped credential is just an unknown static token there.
    _rejected(shared_bridge, _issue(shared_bridge, ENTRA, SIGNING_KEY, 3600))


def test_oauth2_is_advertised(oauth_bridge: Running) -> None:
    schemes = oauth_bridge.scim.get("/ServiceProviderConfig").json()["authenticationSchemes"]
    assert schemes[0]["type"] == "oauthbearertoken" and schemes[0]["primary"] is True
    oauth2 = [s for s in schemes if s["type"] == "oauth2"]
    assert len(oauth2) == 1
    assert oauth2[0]["specUri"] == "https://www.rfc-editor.org/rfc/rfc6749"
    assert oauth_bridge.root + "/oauth/token" in oauth2[0]["description"]


def test_oauth_settings_from_environment(tmp_path: Any) -> None:
    key_file = tmp_path / "signing.key"
    key_file.write_text(SIGNING_KEY + "\n")
    env = {"OPSGENIE_API_KEY": "k",
           "SCIM_BRIDGE_OAUTH_CLIENTS": f"entra:entra-client-id:{ENTRA.secret_sha256}, okta:okta client:"
                                        f"{OKTA.secret_sha256.upper()}",
           "SCIM_BRIDGE_OAUTH_SIGNING_KEY_FILE": str(key_file), "SCIM_BRIDGE_OAUTH_TOKEN_LIFETIME": "7200"}
    settings = Settings.from_env(env)
    assert settings.oauth_clients == (ENTRA, OKTA)
    assert settings.oauth_signing_key == SIGNING_KEY
    assert settings.oauth_token_lifetime == 7200
    assert Settings.from_env({"OPSGENIE_API_KEY": "k"}).oauth_token_lifetime == 3600
    assert SIGNING_KEY not in repr(settings) and "'k'" not in repr(settings)


NO_CLIENT = {"OPSGENIE_API_KEY": "k", "SCIM_BRIDGE_OAUTH_SIGNING_KEY": SIGNING_KEY}
ONE_CLIENT = {**NO_CLIENT, "SCIM_BRIDGE_OAUTH_CLIENTS": "entra:id:" + "0" * 64}


@pytest.mark.parametrize("env", [
    {"OPSGENIE_API_KEY": "k", "SCIM_BRIDGE_OAUTH_CLIENTS": "entra:id:" + "0" * 64},  # no signing key
    {**ONE_CLIENT, "SCIM_BRIDGE_OAUTH_SIGNING_KEY": "short"},
    {**NO_CLIENT, "SCIM_BRIDGE_OAUTH_CLIENTS": "entra:id"},
    {**NO_CLIENT, "SCIM_BRIDGE_OAUTH_CLIENTS": "entra:id:nothex"},
    {**NO_CLIENT, "SCIM_BRIDGE_OAUTH_CLIENTS": f"a:id:{'0' * 64},b:id:{'1' * 64}"},
    {**ONE_CLIENT, "SCIM_BRIDGE_OAUTH_TOKEN_LIFETIME": "30"},
])
def test_bad_oauth_settings(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert "SCIM_BRIDGE_OAUTH" in str(info.value)
    assert SIGNING_KEY not in str(info.value)
