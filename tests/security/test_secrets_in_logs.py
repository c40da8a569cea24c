"""Secrets never reach logs, error bodies or metrics; personal data in logs stays at ids and userNames."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest
import requests
from conftest import SIM_KEY
from conftest import TOKEN
from conftest import Running
from conftest import ScimClient

from scim_bridge.config import OAuthClient
from scim_bridge.web.oauth import issue_token

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SIGNING_KEY = "log-test-signing-key-0123456789abcdef"
CLIENT_SECRET = "log-test-client-secret-0123456789"
CLIENT = OAuthClient.from_secret("entra", "entra-app", CLIENT_SECRET)
WRONG_TOKEN = "wrong-token-that-must-not-be-logged"
# Personal data that must not be logged (userName and ids may be).
GIVEN = "Quintessa"
FAMILY = "Vandermeer"
PHONE = "+1 415 555 0199"
TITLE = "Undercover Liaison"


def _person(user_name: str, **extra: Any) -> dict[str, Any]:
    return {"schemas": [CORE], "userName": user_name, "name": {"givenName": GIVEN, "familyName": FAMILY},
            "displayName": f"{GIVEN} {FAMILY}", "title": TITLE,
            "phoneNumbers": [{"value": PHONE, "type": "mobile"}], **extra}


def _clear_faults(running: Running) -> None:
    running.sim.http.delete(running.sim.base_url + "/__sim/faults", timeout=10).raise_for_status()


def _exercise(running: Running) -> list[requests.Response]:
    """Requests failing in as many ways as possible (and a few that succeed), every answer kept."""
    base = running.scim.base_url
    scim = running.scim
    answers: list[requests.Response] = []
    add = answers.append
    for header in (None, f"Bearer {WRONG_TOKEN}", f"Basic {TOKEN}", f"Token {TOKEN}", f"Bearer {TOKEN}x",
                   f"Bearer {SIGNING_KEY}.{CLIENT_SECRET}.{WRONG_TOKEN}"):
        add(requests.get(base + "/Users", headers={"Authorization": header} if header else {}, timeout=10))
    # OAuth: a grant, wrong secrets, tampered and expired tokens.
    basic = "Basic " + base64.b64encode(f"entra-app:{CLIENT_SECRET}".encode()).decode()
    granted = requests.post(running.root + "/oauth/token", data={"grant_type": "client_credentials"},
                            headers={"Authorization": basic}, timeout=10)
    add(granted)
    access = granted.json()["access_token"]
    add(requests.post(running.root + "/oauth/token", timeout=10,
                      data={"grant_type": "client_credentials", "client_id": "entra-app",
                            "client_secret": CLIENT_SECRET + "x"}))
    add(requests.post(running.root + "/oauth/token", timeout=10,
                      data={"grant_type": "password", "client_id": "entra-app", "client_secret": CLIENT_SECRET,
                            "password": WRONG_TOKEN}))
    add(ScimClient(base, access[:-2] + "xx").get("/Users"))
    add(ScimClient(base, issue_token(CLIENT, SIGNING_KEY, 60, issuer=running.root, audience=base, now=0)).get("/Users"))
    oauth = ScimClient(base, access)
    # Bad bodies carrying personal data.
    add(scim.post("/Users", _person("not-an-email")))
    add(scim.post("/Users", _person("bad.phone@example.com", phoneNumbers=[{"value": f"call {PHONE} {GIVEN}"}])))
    add(scim.post("/Users", _person("bad.active@example.com", active=f"{GIVEN}?")))
    add(scim.post("/Users", _person("bad.role@example.com", roles=[{"value": FAMILY}])))
    add(scim.request("POST", "/Users", headers={"Content-Type": "application/scim+json"},
                     data=f'{{"userName": "{GIVEN}", '.encode()))
    add(scim.get("/Users", params={"filter": f'name.familyName eq "{FAMILY}" and'}))
    add(scim.get("/Users", params={"filter": f'title eq "{TITLE}"'}))
    # Upstream failures: errors, dropped connections.
    running.sim.fault("POST", "/v2/users", "500")
    add(oauth.post("/Users", _person("upstream.500@example.com")))
    running.sim.fault("POST", "/v2/users", "drop", times=10)
    add(scim.post("/Users", _person("upstream.drop@example.com")))
    _clear_faults(running)
    running.sim.fault("POST", "/v2/users", "401")
    add(scim.post("/Users", _person("upstream.401@example.com")))
    running.sim.fault("POST", "/v2/users", "after_write:503", times=10)
    add(scim.post("/Users", _person("upstream.after@example.com")))
    _clear_faults(running)
    # A success, then failing changes to that user.
    created = oauth.post("/Users", _person("quintessa.v@example.com"))
    add(created)
    user_id = created.json()["id"]
    running.sim.fault("PATCH", "/v2/users/.*", "503", times=10)
    running.sim.fault("PUT", "/v2/users/.*", "503", times=10)
    add(scim.patch(f"/Users/{user_id}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "name.familyName", "value": FAMILY + "-Smith"}]}))
    add(scim.put(f"/Users/{user_id}", _person("quintessa.v@example.com", title=TITLE + " II")))
    add(scim.patch(f"/Users/{user_id}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "phoneNumbers", "value": [{"value": f"{PHONE} ext {GIVEN}"}]}]}))
    _clear_faults(running)
    add(scim.post("/Groups", {"schemas": [GROUP], "displayName": "Liaison Office",
                              "members": [{"value": user_id, "display": f"{GIVEN} {FAMILY}"}]}))
    add(scim.post("/Users", {"schemas": [CORE], "userName": "x@example.com", "title": "x" * 2_000_000,
                             "name": {"givenName": GIVEN}}))
    add(requests.get(running.root + "/metrics", timeout=10))
    add(requests.get(running.root + "/readyz", timeout=10))
    return answers


def test_no_secrets_or_personal_data_in_logs(bridge_factory: Any, caplog: pytest.LogCaptureFixture) -> None:
    running: Running = bridge_factory(oauth_clients=(CLIENT,), oauth_signing_key=SIGNING_KEY,
                                      upstream_wait_budget=1.0)
    caplog.set_level(logging.DEBUG)
    answers = _exercise(running)
    statuses = {answer.status_code for answer in answers}
    assert {200, 201, 400, 401, 413}.issubset(statuses), statuses
    assert statuses & {500, 502, 503, 504}, statuses  # upstream failures were reached
    access = answers[6].json()["access_token"]
    secrets = [TOKEN, WRONG_TOKEN, SIM_KEY, SIGNING_KEY, CLIENT_SECRET, access, "GenieKey",
               base64.b64encode(f"entra-app:{CLIENT_SECRET}".encode()).decode()]
    personal = [GIVEN, FAMILY, PHONE, "4155550199", TITLE]
    records = [r for r in caplog.records if _bridge_record(r, running)]
    assert any(r.name == "scim_bridge.access" for r in records)
    logged = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''} {caplog.handler.format(r)}" for r in records
    )
    for secret in secrets:
        assert secret not in logged, f"a secret reached the logs: {secret[:6]}..."
    for value in personal:
        assert value not in logged, f"personal data reached the logs: {value}"
    assert "quintessa.v@example.com" in logged or user_id_logged(records)
    for answer in answers:
        if answer.request.url.endswith("/oauth/token") and answer.status_code == 200:
            continue  # the token endpoint's job is to answer with a token
        for secret in secrets:
            assert secret not in answer.text, f"{answer.request.method} {answer.request.url} answered a secret"
        assert "Traceback" not in answer.text


def _bridge_record(record: logging.LogRecord, running: Running) -> bool:
    """Records the bridge writes: not the simulator's, not the test client's own urllib3 lines, and not the
    development server's request lines (production runs gunicorn without an access log)."""
    if "simulator" in record.name or record.name.startswith("werkzeug"):
        return False
    return not (record.name.startswith("urllib3") and running.root in record.getMessage())


def user_id_logged(records: list[logging.LogRecord]) -> bool:
    return any("/Users/" in r.getMessage() for r in records)
