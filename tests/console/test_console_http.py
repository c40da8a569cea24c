"""The console's protection over plain HTTP(S): disabled without a token, CSRF, throttling, cookies, headers."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import TOKEN
from conftest import Running
from conftest import serve_app

from console.browser import CONSOLE_TOKEN
from console.browser import CSRF_RE
from console.browser import console_session
from console.browser import login_form
from scim_bridge.config import ConfigError
from scim_bridge.config import Settings


def logged_in_session(root: str, token: str = CONSOLE_TOKEN) -> tuple[requests.Session, str]:
    http = console_session(root, token)
    status = http.get(root + "/console/", timeout=10)
    assert status.status_code == 200
    found = CSRF_RE.search(status.text)
    assert found is not None
    return http, found.group(1)


def test_console_is_absent_without_a_console_token(bridge: Running) -> None:
    for path in ("/console/", "/console/login", "/console/activity", "/console/static/console.css"):
        assert requests.get(bridge.root + path, timeout=10).status_code == 404
    assert requests.post(bridge.root + "/console/login", data={"token": "x"}, timeout=10).status_code == 404


def test_pages_need_the_session_not_the_scim_token(bridge_factory: Any) -> None:
    bridge: Running = bridge_factory(console_token=CONSOLE_TOKEN)
    for path in ("/console/", "/console/activity", "/console/directory/users", "/console/drift"):
        answer = requests.get(bridge.root + path, headers={"Authorization": f"Bearer {TOKEN}"},
                              allow_redirects=False, timeout=10)
        assert answer.status_code == 302
        assert answer.headers["Location"].startswith("/console/login?next=")
    # A token in the URL does nothing either.
    answer = requests.get(bridge.root + f"/console/login?token={CONSOLE_TOKEN}", allow_redirects=False, timeout=10)
    assert answer.status_code == 200
    assert "Log in to the operator console" in answer.text
    # Only paths of the console are followed after login.
    http = requests.Session()
    csrf = login_form(http, bridge.root)
    answer = http.post(bridge.root + "/console/login", data={"token": CONSOLE_TOKEN, "csrf_token": csrf,
                                                             "next": "//evil.example/console/"},
                       allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/console/"


def test_post_forms_need_the_csrf_token(bridge_factory: Any) -> None:
    bridge: Running = bridge_factory(console_token=CONSOLE_TOKEN)
    http = requests.Session()
    login_form(http, bridge.root)
    refused = http.post(bridge.root + "/console/login", data={"token": CONSOLE_TOKEN}, allow_redirects=False,
                        timeout=10)
    assert refused.status_code == 400
    assert "The form has expired" in refused.text
    assert "text/html" in refused.headers["Content-Type"]

    http, csrf = logged_in_session(bridge.root)
    bridge.sim.clear_calls()
    for data in ({}, {"csrf_token": "forged"}):
        assert http.post(bridge.root + "/console/sync", data=data, timeout=10).status_code == 400
        assert http.post(bridge.root + "/console/logout", data=data, timeout=10).status_code == 400
    assert bridge.sim.calls() == []  # no sync ran
    done = http.post(bridge.root + "/console/sync", data={"csrf_token": csrf}, allow_redirects=False, timeout=10)
    assert done.status_code == 302
    assert bridge.sim.calls() != []
    assert http.post(bridge.root + "/console/logout", data={"csrf_token": csrf}, allow_redirects=False,
                     timeout=10).status_code == 302
    assert http.get(bridge.root + "/console/", allow_redirects=False, timeout=10).status_code == 302


def test_pages_carry_protective_headers(bridge_factory: Any) -> None:
    bridge: Running = bridge_factory(console_token=CONSOLE_TOKEN)
    http, _ = logged_in_session(bridge.root)
    page = http.get(bridge.root + "/console/activity", timeout=10)
    assert page.headers["Cache-Control"] == "no-store"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    script = re.search(r'<script src="(/console/static/console\.js\?v=[0-9a-f]+)"', page.text)
    assert script is not None  # the URL names the script's content: browsers may keep it
    served = http.get(bridge.root + script.group(1), timeout=10)
    assert served.status_code == 200 and "max-age=31536000" in served.headers["Cache-Control"]
    assert "http://" not in page.text.replace(bridge.settings.opsgenie_api_url, "")  # nothing fetched elsewhere
    missing = http.get(bridge.root + "/console/activity/999999", timeout=10)
    assert missing.status_code == 404
    assert "There is no audit event 999999" in missing.text


def test_repeated_failed_logins_are_throttled(bridge_factory: Any) -> None:
    bridge: Running = bridge_factory(console_token=CONSOLE_TOKEN)
    http = requests.Session()
    csrf = login_form(http, bridge.root)
    statuses = [http.post(bridge.root + "/console/login", data={"token": f"wrong-{n}", "csrf_token": csrf},
                          timeout=10).status_code for n in range(11)]
    assert statuses == [401] * 10 + [429]
    blocked = http.post(bridge.root + "/console/login", data={"token": CONSOLE_TOKEN, "csrf_token": csrf},
                        allow_redirects=False, timeout=10)
    assert blocked.status_code == 429  # even the right token waits out the window
    assert int(blocked.headers["Retry-After"]) > 0


def test_a_new_console_token_ends_existing_sessions(bridge_factory: Any) -> None:
    secret = "s" * 40
    first: Running = bridge_factory(console_token=CONSOLE_TOKEN, console_secret=secret)
    second: Running = bridge_factory(console_token="another-console-token-0123", console_secret=secret)
    http, _ = logged_in_session(first.root)
    assert http.get(first.root + "/console/", allow_redirects=False, timeout=10).status_code == 200
    cookie = http.cookies.get("scim_bridge_console")
    assert cookie
    moved = requests.get(second.root + "/console/", cookies={"scim_bridge_console": cookie}, allow_redirects=False,
                         timeout=10)
    assert moved.status_code == 302  # same signing secret, other token: the session no longer counts


def test_session_cookie_is_secure_over_https(bridge_factory: Any, tmp_path: Path) -> None:
    bridge: Running = bridge_factory(console_token=CONSOLE_TOKEN)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    server = serve_app(bridge.app, ssl_context=(str(cert), str(key)))
    try:
        page = requests.get(f"https://127.0.0.1:{server.server_port}/console/login", verify=str(cert), timeout=10)
        assert page.status_code == 200
        set_cookie = page.headers["Set-Cookie"]
        assert "scim_bridge_console=" in set_cookie
        for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/console"):
            assert flag in set_cookie
        plain = requests.get(bridge.root + "/console/login", timeout=10).headers["Set-Cookie"]
        assert "Secure" not in plain and "HttpOnly" in plain
    finally:
        server.shutdown()
        server.server_close()


def test_console_settings_from_the_environment(tmp_path: Path) -> None:
    secret_file = tmp_path / "console-token"
    secret_file.write_text("from-a-file-0123456789\n", encoding="utf-8")
    base = {"OPSGENIE_API_KEY": "k"}
    settings = Settings.from_env({**base, "SCIM_BRIDGE_CONSOLE_TOKEN_FILE": str(secret_file)})
    assert settings.console_token == "from-a-file-0123456789"
    assert settings.console_secret == ""
    assert "from-a-file" not in repr(settings)
    assert Settings.from_env(base).console_token == ""
    with pytest.raises(ConfigError, match="SCIM_BRIDGE_CONSOLE_TOKEN must be at least 16"):
        Settings.from_env({**base, "SCIM_BRIDGE_CONSOLE_TOKEN": "short"})
    with pytest.raises(ConfigError, match="SCIM_BRIDGE_CONSOLE_SECRET must be at least 32"):
        Settings.from_env({**base, "SCIM_BRIDGE_CONSOLE_TOKEN": "x" * 20, "SCIM_BRIDGE_CONSOLE_SECRET": "short"})
