"""With SCIM_BRIDGE_UPSTREAM=jsm the console speaks of Atlassian accounts and teams: the Status page, an
activity entry and its labelled calls, in a real headless Chromium on the Atlassian simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from atlassian_sim import AtlassianSim
from conftest import serve_app
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from console.browser import CONSOLE_TOKEN
from console.browser import accessibility_problems
from console.browser import follow
from console.browser import open_logged_in
from console.browser import screenshots
from console.browser import table_rows
from console.browser import text
from scim_bridge.config import Settings
from scim_bridge.directory.links import MemoryLinkStore
from scim_bridge.simulator.atlassian.server import AtlassianSimulatorServer
from scim_bridge.store.store import Store
from scim_bridge.web.app import create_app

TOKEN = "jsm-console-test-token"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture(scope="module")
def atlassian() -> Iterator[AtlassianSimulatorServer]:
    with AtlassianSimulatorServer() as server:
        yield server


@pytest.fixture()
def jsm_root(atlassian: AtlassianSimulatorServer, tmp_path: Path) -> Iterator[str]:
    sim = AtlassianSim(atlassian)
    sim.reset(sim.config())
    base = atlassian.base_url
    settings = Settings.from_env({
        "SCIM_BRIDGE_UPSTREAM": "jsm", "ATLASSIAN_API_URL": base, "ATLASSIAN_SITE_URL": base,
        "ATLASSIAN_ORG_ID": "sim-org", "ATLASSIAN_CLOUD_ID": "sim-cloud", "ATLASSIAN_SITE_ID": "sim-site",
        "ATLASSIAN_EMAIL": "sim-admin@example.com", "ATLASSIAN_API_TOKEN": "sim-api-token",
        "ATLASSIAN_ADMIN_API_KEY": "sim-admin-key", "SCIM_BEARER_TOKEN": TOKEN, "SCIM_BRIDGE_SYNC_INTERVAL": "0",
        "SCIM_BRIDGE_CONSOLE_TOKEN": CONSOLE_TOKEN, "SCIM_BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/jsm.db",
    })
    store = Store.from_url(settings.database_url)
    store.upgrade()
    app = create_app(settings, store=store, links=MemoryLinkStore())
    server = serve_app(app)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    store.close()
    sim.http.close()


def scim(root: str, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{root}/scim/v2{path}", json=body, timeout=30,
                            headers={"Authorization": f"Bearer {TOKEN}"})


def test_jsm_pages_speak_of_atlassian_accounts_and_teams(jsm_root: str, page: WebDriver) -> None:
    user = scim(jsm_root, "POST", "/Users", {"schemas": [USER], "userName": "ada@example.com",
                                             "name": {"givenName": "Ada", "familyName": "Lovelace"},
                                             "emails": [{"value": "ada@example.com", "primary": True}]})
    assert user.status_code == 201, user.text
    team = scim(jsm_root, "POST", "/Groups", {"schemas": [GROUP], "displayName": "SRE",
                                              "members": [{"value": user.json()["id"]}]})
    assert team.status_code == 201, team.text
    off = scim(jsm_root, "PATCH", f"/Users/{user.json()['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "value": {"active": False}}]})
    assert off.status_code == 200, off.text

    open_logged_in(page, jsm_root)
    main = text(page, "main")
    assert "OpsGenie" not in main
    assert text(page, "#upstream-h") == "Atlassian"
    titles = [t.get_attribute("textContent") for t in page.find_elements(By.CSS_SELECTOR, "#charts-1h figcaption")]
    assert titles[1].startswith("Atlassian calls and 429s")
    screenshots(page, "40-jsm-status")
    assert accessibility_problems(page) == []

    page.get(jsm_root + "/console/activity")
    rows = table_rows(page, "activity")
    assert rows[0][1].startswith("Deactivated Atlassian account ada@…: left SRE")
    assert rows[2][1].startswith("Created Atlassian account ada@…")
    assert "Atlassian calls" in page.find_element(By.CSS_SELECTOR, "#activity thead").get_attribute("textContent")
    follow(page, page.find_element(By.CSS_SELECTOR, "#activity tbody tr a"))
    assert text(page, "#calls-h") == "Atlassian calls"
    assert "OpsGenie" not in text(page, "main")
    screenshots(page, "41-jsm-activity-entry")
    assert accessibility_problems(page) == []
