"""The console says what each change did and how provisioning is going, in a real headless Chromium: summaries,
modified attributes and masked request bodies, labelled upstream calls, failures, refused traffic, the verdict
and charts on Status, drift freshness, narrow screens and the jsm wording.

Each page is screenshot at 1400 and 400 px into test-artifacts/console/ (``screenshots``).
"""

from __future__ import annotations

import csv
import io
import re
import time
from typing import Any

import requests
from conftest import TOKEN
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from console.browser import WINDOW
from console.browser import accessibility_problems
from console.browser import follow
from console.browser import heading
from console.browser import open_logged_in
from console.browser import screenshots
from console.browser import table_rows
from console.browser import text
from console.test_console import console_bridge
from console.test_console import sim_user_id
from scim_bridge.config import BearerToken
from scim_bridge.store.console_log import ConsoleLog

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
READER_TOKEN = "reader-token-0123456789abcdef"


def check(driver: WebDriver, name: str) -> None:
    screenshots(driver, name)
    assert accessibility_problems(driver) == [], name


def console_http(driver: WebDriver) -> requests.Session:
    """An HTTP client carrying the browser's console session (for downloads the browser would save)."""
    http = requests.Session()
    for cookie in driver.get_cookies():
        http.cookies.set(cookie["name"], cookie["value"])
    return http


def open_newest_entry(page: WebDriver) -> None:
    """From the activity list, the newest entry."""
    follow(page, page.find_elements(By.CSS_SELECTOR, "#activity tbody tr a")[0])


# --- what happened, in words ---------------------------------------------------------------------------
def test_deactivation_is_told_in_words_with_modified_attributes_and_the_body(bridge_factory: Any,
                                                                               page: WebDriver) -> None:
    bridge = console_bridge(bridge_factory)
    tom = sim_user_id(bridge, "tom.becker@example.com")
    done = bridge.scim.patch(f"/Users/{tom}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "value": {"active": False}}]})
    assert done.status_code == 200, done.text

    open_logged_in(page, bridge.root, "/console/activity")
    summary = table_rows(page, "activity")[0][1]
    assert summary == "Deactivated user tom.becker@…: left Platform SRE, role User → Stakeholder"
    check(page, "20-activity-list")

    follow(page, page.find_element(By.CSS_SELECTOR, "#activity tbody tr a"))
    assert text(page, "#summary") == summary
    assert table_rows(page, "modified") == [["Active", "yes", "no"], ["Role", "User", "Stakeholder"],
                                            ["Teams", "Platform SRE", "none"]]
    assert '"active": false' in text(page, "#request-body")
    calls = table_rows(page, "upstream-calls")
    assert calls and all("tom.becker@example.com" in c[2] for c in calls if tom in c[3])  # names, not ids
    assert any(c[2] == "Platform SRE, tom.becker@example.com" for c in calls)
    assert calls[0][1] == "read current state"
    check(page, "21-activity-entry")


def test_a_create_shows_its_masked_body_an_expected_404_and_retries_with_their_start(bridge_factory: Any,
                                                                                      page: WebDriver) -> None:
    bridge = console_bridge(bridge_factory)
    bridge.sim.fault("POST", "/v2/users", "503", times=1)
    created = bridge.scim.post("/Users", {"schemas": [USER], "userName": "ana.lopez@example.com",
                                          "password": "Sup3r-Secret!", "name": {"givenName": "Ana",
                                                                                  "familyName": "Lopez"}})
    assert created.status_code == 201, created.text

    open_logged_in(page, bridge.root, "/console/activity")
    open_newest_entry(page)
    assert text(page, "#summary").startswith("Created user ana.lopez@…")
    body = text(page, "#request-body")
    assert "Sup3r-Secret!" not in page.page_source
    assert '"password": "•••••• (not shown)"' in body
    assert '"userName": "ana.lopez@example.com"' in body
    calls = table_rows(page, "upstream-calls")
    first = calls[0]
    assert first[1] == "existence check" and first[4] == "404 expected"
    neutral = page.find_elements(By.CSS_SELECTOR, "#upstream-calls tbody tr.row-neutral")
    assert len(neutral) >= 1
    # existence check, create, re-check after 503, create again, read back: each labelled, names not ids
    assert [c[1] for c in calls] == ["existence check", "create", "re-check after 503", "create (retry, attempt 2)",
                                     "read back"]
    assert calls[2][4] == "404 expected" and calls[0][9] == ""  # an expected 404 is no error
    assert {c[2] for c in calls} == {"ana.lopez@example.com"}
    posts = [c for c in calls if c[3] == "POST /v2/users"]
    assert [c[4] for c in posts] == ["503", "201"]
    assert [c[5] for c in posts] == ["1", "2"]
    assert "(+" in posts[1][6] and " ms)" in posts[1][6]  # its start, and the gap since the call before
    check(page, "22-activity-create-retried")


# --- failures where you look ---------------------------------------------------------------------------
def test_failures_show_reason_attempted_name_existing_resource_filters_and_export(bridge_factory: Any,
                                                                                    page: WebDriver) -> None:
    bridge = console_bridge(bridge_factory)
    taken = bridge.scim.post("/Users", {"schemas": [USER], "userName": "mei.chen@example.com",
                                        "name": {"givenName": "Mei", "familyName": "Chen"}})
    assert taken.status_code == 409, taken.text
    bridge.sim.fault("POST", "/v2/users", "503", times=10)
    failed = bridge.scim.post("/Users", {"schemas": [USER], "userName": "ben.ortiz@example.com",
                                         "name": {"givenName": "Ben", "familyName": "Ortiz"}})
    assert failed.status_code == 503, failed.text

    open_logged_in(page, bridge.root, "/console/activity")
    rows = table_rows(page, "activity")
    assert rows[0][1].startswith("Failed to create user ben.ortiz@… (503): ")
    assert "Attempted: ben.ortiz@example.com" in rows[0][1]
    assert rows[1][1].startswith("Failed to create user mei.chen@… (409)")
    existing = page.find_element(By.CSS_SELECTOR, "#activity a.existing")
    assert existing.text == "Existing user mei.chen@example.com"
    check(page, "23-activity-failures")

    page.get(bridge.root + "/console/activity?name=ben.ortiz")  # a name only a failed create ever carried
    assert [r[1].split(" (")[0] for r in table_rows(page, "activity")] == ["Failed to create user ben.ortiz@…"]
    page.get(bridge.root + "/console/activity?name=Payments")
    assert table_rows(page, "activity") == [["No events match these filters."]]

    page.get(bridge.root + "/console/activity?outcome=broken&colour=red")
    alerts = [a.text for a in page.find_elements(By.CSS_SELECTOR, "p[role=alert]")]
    assert "Unknown outcome 'broken': use one of ok, error." in alerts
    assert any("Unknown filter 'colour'" in a for a in alerts)
    assert text(page, "#activity caption") == "Audit log: filter not applied"
    check(page, "24-activity-unknown-filter")
    http = console_http(page)
    assert http.get(bridge.root + "/console/activity?outcome=broken", timeout=10).status_code == 400

    page.get(bridge.root + "/console/activity?outcome=error")
    exported = http.get(page.find_element(By.ID, "export-csv").get_attribute("href") or "", timeout=10)
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in exported.headers["Content-Disposition"]
    records = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["name"] for r in records] == ["ben.ortiz@example.com", "mei.chen@example.com"]
    assert [r["status"] for r in records] == ["503", "409"]
    as_json = http.get(page.find_element(By.ID, "export-json").get_attribute("href") or "", timeout=10).json()
    assert [e["summary"] for e in as_json["events"]] == [r["summary"] for r in records]
    assert as_json["truncated"] is False


# --- rejected traffic and the verdict ---------------------------------------------------------------------
def test_refused_requests_are_counted_per_credential_and_source(bridge_factory: Any, page: WebDriver) -> None:
    reader = BearerToken.from_secret("okta-reader", READER_TOKEN, frozenset({"read"}))
    # each client may send 2 requests at once, then one every 1000 s
    bridge = console_bridge(bridge_factory, tokens=(BearerToken.from_secret("test", TOKEN), reader),
                            client_rate_limit=0.001, client_rate_burst=2)
    base = bridge.root + "/scim/v2"
    for _ in range(3):
        guessed = requests.get(base + "/Users", headers={"Authorization": "Bearer guess-7f3a9c"}, timeout=10)
        assert guessed.status_code == 401
    refused = requests.post(base + "/Users", json={"schemas": [USER], "userName": "x@example.com"},
                            headers={"Authorization": f"Bearer {READER_TOKEN}"}, timeout=10)
    assert refused.status_code == 403, refused.text
    for _ in range(2):
        assert requests.get(base + "/Users", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).ok
    limited = requests.get(base + "/Users", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert limited.status_code == 429, limited.text

    open_logged_in(page, bridge.root)
    rows = table_rows(page, "rejected")
    assert [r[:4] for r in rows] == [["(no valid credential)", "127.0.0.1", "401 wrong or missing token", "3"],
                                     ["okta-reader", "127.0.0.1", "403 missing scope", "1"],
                                     ["test", "127.0.0.1", "429 rate limit", "1"]]
    assert TOKEN not in page.page_source and "guess-7f3a9c" not in page.page_source
    assert int(text(page, "#reads-count")) >= 2
    seen = text(page, "#idp-seen")
    # counted per minute: a minute boundary may fall between the call and the page
    assert re.search(r"test: IdP last called (less than a minute|1 min) ago", seen), seen
    assert "okta-reader: no accepted call in the last 48 h" in seen  # its only call was refused
    # the refused change is a failed write: provisioning is not going well
    assert text(page, "#verdict .headline") == "Degraded: 1 failed write in the last hour"
    check(page, "25-status-rejected")


def test_status_verdict_names_upstream_failures_and_draws_charts(bridge_factory: Any, page: WebDriver) -> None:
    bridge = console_bridge(bridge_factory)
    tom = sim_user_id(bridge, "tom.becker@example.com")
    assert bridge.scim.get(f"/Users/{tom}").status_code == 200
    bridge.sim.fault("PATCH", f"/v2/users/{tom}", "503", times=10)
    failed = bridge.scim.patch(f"/Users/{tom}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "displayName", "value": "Thomas Becker"}]})
    assert failed.status_code >= 500, failed.text

    open_logged_in(page, bridge.root)
    headline = text(page, "#verdict .headline")
    assert headline.startswith("Degraded: OpsGenie 503s"), headline
    assert "verdict-warn" in (page.find_element(By.ID, "verdict").get_attribute("class") or "")
    for key in ("1h", "24h"):
        charts = page.find_elements(By.CSS_SELECTOR, f"#charts-{key} svg.chart")
        titles = [c.find_element(By.TAG_NAME, "title").get_attribute("textContent") for c in charts]
        assert len(charts) == 4, titles
        assert titles[0].startswith("SCIM requests and errors")
        assert titles[1].startswith("OpsGenie calls and 429s")
        assert titles[2].startswith("Rate budget used")
        assert titles[3].startswith("Sync runs")
    requests_chart = page.find_elements(By.CSS_SELECTOR, "#charts-1h svg.chart")[0]
    assert requests_chart.find_elements(By.CSS_SELECTOR, "rect.bar-main")  # this minute's requests
    assert requests_chart.find_elements(By.CSS_SELECTOR, "rect.bar-error")
    calls_chart = page.find_elements(By.CSS_SELECTOR, "#charts-1h svg.chart")[1]
    assert calls_chart.find_elements(By.CSS_SELECTOR, "rect.bar-error")  # the 503s
    budget = page.find_elements(By.CSS_SELECTOR, "#charts-1h svg.chart")[2]
    assert budget.find_elements(By.CSS_SELECTOR, "line.limit")  # the limit the budget is drawn against
    sync_chart = page.find_elements(By.CSS_SELECTOR, "#charts-24h svg.chart")[3]
    assert "1 runs, 0 failed" in (sync_chart.find_element(By.TAG_NAME, "desc").get_attribute("textContent") or "")
    assert sync_chart.find_elements(By.CSS_SELECTOR, "rect.bar-ok")
    csp = requests.get(bridge.root + "/console/login", timeout=10).headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp
    check(page, "26-status-degraded")


def test_status_says_when_the_idp_went_silent(bridge_factory: Any, page: WebDriver) -> None:
    bridge = console_bridge(bridge_factory)
    store = bridge.app.extensions["scim_bridge"].store
    three_hours_ago = int(time.time() // 60) - 180
    ConsoleLog(store.engine).add_counts({(three_hours_ago, "read", "test", "127.0.0.1", 200): 12})

    open_logged_in(page, bridge.root)
    assert text(page, "#verdict .headline") == "IdP silent for 3 h"
    assert "test: IdP last called 3 h ago" in text(page, "#idp-seen")
    check(page, "27-status-idp-silent")


# --- drift freshness ---------------------------------------------------------------------------------------
def test_drift_says_when_it_was_computed_and_marks_drifted_members(bridge_factory: Any, page: WebDriver) -> None:
    bridge = console_bridge(bridge_factory)
    support = bridge.sim.team("Customer Support")
    assert support is not None
    tom, priya = sim_user_id(bridge, "tom.becker@example.com"), sim_user_id(bridge, "priya.shah@example.com")
    pushed = bridge.scim.patch(f"/Groups/{support['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": tom}]}]})
    assert pushed.status_code in (200, 204), pushed.text
    bridge.sim.http.post(f"{bridge.sim.base_url}/__sim/teams/{support['id']}/members",
                         json={"user": {"id": priya}, "role": "user"}, timeout=10).raise_for_status()
    bridge.app.extensions["scim_bridge"].sync.run()
    renamed = bridge.scim.patch(f"/Users/{tom}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "displayName", "value": "Thomas Becker"}]})
    assert renamed.status_code == 200, renamed.text

    open_logged_in(page, bridge.root)
    assert text(page, "#verdict .headline") == "Healthy"  # every write went through
    assert page.find_elements(By.CSS_SELECTOR, "#verdict.verdict-ok")
    page.get(bridge.root + "/console/drift")
    freshness = text(page, "#freshness")
    assert freshness.startswith("Computed ") and "from the mirror as of the last sync" in freshness
    assert "1 SCIM write since that sync" in freshness
    check(page, "28-drift-freshness")

    follow(page, page.find_element(By.LINK_TEXT, "Customer Support"))
    assert "priya.shah@example.com" in text(page, "#team-drift")
    marked = {r[0]: r[3] for r in table_rows(page, "members")}
    assert "Drift: not pushed by the IdP" in marked["priya.shah@example.com"]
    assert "Drift" not in marked["tom.becker@example.com"]
    check(page, "29-team-drift")


# --- narrow screens ------------------------------------------------------------------------------------------
def test_narrow_screens_stack_tables_and_keep_badges_whole(bridge_factory: Any, page: WebDriver) -> None:
    bridge = console_bridge(bridge_factory)
    bridge.sim.fault("POST", "/v2/users", "503", times=10)
    assert bridge.scim.post("/Users", {"schemas": [USER], "userName": "ben.ortiz@example.com"}).status_code == 503
    open_logged_in(page, bridge.root)
    assert heading(page) == "Status"
    check(page, "30-narrow-status")  # no sideways scrolling of the page at 400 px (checked by screenshots)
    for path, name in (("/console/directory/users", "32-narrow-users"), ("/console/activity", "31-narrow-activity")):
        page.get(bridge.root + path)
        check(page, name)
    page.set_window_size(400, WINDOW[1])  # the activity page just shot, at a phone's width again
    try:
        header = page.find_element(By.CSS_SELECTOR, "#activity thead")
        assert header.rect["x"] < 0  # the stacked table labels each cell instead
        cell = page.find_element(By.CSS_SELECTOR, "#activity tbody td[data-label=Outcome]")
        label = page.execute_script("return getComputedStyle(arguments[0], '::before').content", cell)
        assert label == '"Outcome: "'
        badge = page.find_element(By.CSS_SELECTOR, "#activity .badge")
        assert page.execute_script("return getComputedStyle(arguments[0]).whiteSpace", badge) == "nowrap"
        assert badge.size["height"] < 30  # one line
    finally:
        page.set_window_size(*WINDOW)
