"""The console's cookie key, sessions and login throttle: nothing to test guesses against offline, logout
ends the session on the server, and failed logins count across processes sharing the database."""

from __future__ import annotations

import hashlib
import hmac
import http.client
from typing import Any
from urllib.parse import urlencode
from urllib.parse import urlsplit

import requests
from conftest import Running
from flask import Flask
from itsdangerous import BadSignature
from ops.clirun import invoke_cli

from console.browser import CONSOLE_TOKEN
from console.test_console_http import logged_in_session
from console.test_console_http import login_form
from scim_bridge.web.console_security import ACCOUNT_FAILURES
from scim_bridge.web.console_security import COOKIE_NAME
from scim_bridge.web.console_security import LOGIN_FAILURES
from scim_bridge.web.console_security import SESSION_KEY_SETTING
from scim_bridge.web.console_security import ConsoleSessionInterface


def _opens(cookie: str, key: str) -> bool:
    """Whether ``cookie`` verifies under ``key`` as Flask signs session cookies."""
    app = Flask("probe")
    app.secret_key = key
    serializer = ConsoleSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    try:
        serializer.loads(cookie)
    except BadSignature:
        return False
    return True


def _token_derived_key(token: str) -> str:
    """The cookie key earlier versions derived from the console token when no secret was configured."""
    return hmac.new(token.encode(), b"scim-bridge console session key v1", hashlib.sha256).hexdigest()


def test_the_anonymous_login_cookie_cannot_be_used_to_test_token_guesses(bridge_factory: Any) -> None:
    bridge: Running = bridge_factory(console_token=CONSOLE_TOKEN)
    http = requests.Session()
    login_form(http, bridge.root)
    cookie = http.cookies.get(COOKIE_NAME, path="/console")
    assert cookie
    # An attacker holding this cookie and guessing the token right still cannot confirm the guess.
    assert not _opens(cookie, _token_derived_key(CONSOLE_TOKEN))
    assert not _opens(cookie, CONSOLE_TOKEN)
    # The key is a random secret kept once in the database, shared by every worker and replica.
    store = bridge.app.extensions["scim_bridge"].store
    stored = store.setting_default(SESSION_KEY_SETTING, "")
    assert len(stored) >= 48 and CONSOLE_TOKEN not in stored
    assert _opens(cookie, stored)
    again: Running = bridge_factory(console_token=CONSOLE_TOKEN, database_url=bridge.settings.database_url)
    assert again.app.secret_key == stored


def test_a_configured_secret_signs_the_cookie(bridge_factory: Any) -> None:
    secret = "configured-console-secret-0123456789abcdef"
    bridge: Running = bridge_factory(console_token=CONSOLE_TOKEN, console_secret=secret)
    http = requests.Session()
    login_form(http, bridge.root)
    assert _opens(http.cookies.get(COOKIE_NAME, path="/console") or "", secret)


def test_logout_revokes_the_session_on_the_server(bridge_factory: Any) -> None:
    bridge: Running = bridge_factory(console_token=CONSOLE_TOKEN)
    http, csrf = logged_in_session(bridge.root)
    stolen = http.cookies.get(COOKIE_NAME, path="/console")
    assert stolen
    # A second replica on the same database honours the session while it lasts.
    replica: Running = bridge_factory(console_token=CONSOLE_TOKEN, database_url=bridge.settings.database_url)
    copy = requests.Session()
    copy.cookies.set(COOKIE_NAME, stolen, path="/console")
    assert copy.get(replica.root + "/console/", allow_redirects=False, timeout=10).status_code == 200
    out = http.post(bridge.root + "/console/logout", data={"csrf_token": csrf}, allow_redirects=False, timeout=10)
    assert out.status_code == 302
    for root in (bridge.root, replica.root):
        replay = copy.get(root + "/console/", allow_redirects=False, timeout=10)
        assert replay.status_code == 302 and "/console/login" in replay.headers["Location"]
    # Logging in again opens a new session.
    assert logged_in_session(bridge.root)[0].get(bridge.root + "/console/", timeout=10).status_code == 200


def _post_login(root: str, source: str, cookie: str, csrf: str, token: str) -> int:
    """POST the login form from the loopback address ``source`` (the throttle counts per address)."""
    parts = urlsplit(root)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10, source_address=(source, 0))
    try:
        conn.request("POST", "/console/login", body=urlencode({"token": token, "csrf_token": csrf}),
                     headers={"Content-Type": "application/x-www-form-urlencoded",
                              "Cookie": f"{COOKIE_NAME}={cookie}"})
        return conn.getresponse().status
    finally:
        conn.close()


def test_failed_logins_are_counted_across_processes(bridge_factory: Any) -> None:
    first: Running = bridge_factory(console_token=CONSOLE_TOKEN)
    second: Running = bridge_factory(console_token=CONSOLE_TOKEN, database_url=first.settings.database_url)
    http = requests.Session()
    csrf = login_form(http, first.root)
    half = LOGIN_FAILURES // 2
    statuses = [http.post(bridge.root + "/console/login", data={"token": f"wrong-{n}", "csrf_token": csrf},
                          timeout=10).status_code for bridge in (first, second) for n in range(half)]
    assert statuses == [401] * (2 * half)
    for bridge in (first, second):
        blocked = http.post(bridge.root + "/console/login", data={"token": CONSOLE_TOKEN, "csrf_token": csrf},
                            allow_redirects=False, timeout=10)
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0


def test_guesses_spread_over_addresses_are_throttled_for_the_account(bridge_factory: Any) -> None:
    bridge: Running = bridge_factory(console_token=CONSOLE_TOKEN)
    http = requests.Session()
    csrf = login_form(http, bridge.root)
    cookie = http.cookies.get(COOKIE_NAME, path="/console") or ""
    per_address = LOGIN_FAILURES - 1
    sources = [f"127.0.0.{n}" for n in range(2, 2 + -(-ACCOUNT_FAILURES // per_address))]
    statuses = [_post_login(bridge.root, source, cookie, csrf, f"wrong-{source}-{n}")
                for source in sources for n in range(per_address)]
    assert statuses[:ACCOUNT_FAILURES] == [401] * ACCOUNT_FAILURES
    assert set(statuses[ACCOUNT_FAILURES:]) <= {429}
    # A fresh address is refused too: the console as a whole has seen too many failures.
    assert _post_login(bridge.root, "127.0.0.200", cookie, csrf, CONSOLE_TOKEN) == 429


def test_a_short_console_token_stops_the_bridge_with_a_clear_message(tmp_path: Any) -> None:
    env = {"OPSGENIE_API_KEY": "k", "SCIM_BEARER_TOKEN": "t" * 20, "SCIM_BRIDGE_CONSOLE_TOKEN": "short-token",
           "SCIM_BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'bridge.db'}"}
    result = invoke_cli(["serve", "--port", "1"], env)
    assert result.exit_code == 2
    assert "SCIM_BRIDGE_CONSOLE_TOKEN must be at least 16 characters long, got 11" in result.output
