"""The operator console end to end, in a real headless Chromium: a real bridge over HTTP on a real simulator.

Every page visited is also written as a screenshot to test-artifacts/console/.
"""

from __future__ import annotations

from typing import Any

from conftest import TOKEN
from conftest import Running
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from console.browser import CONSOLE_TOKEN
from console.browser import accessibility_problems
from console.browser import follow
from console.browser import heading
from console.browser import log_in
from console.browser import mark_current_page
from console.browser import open_logged_in
from console.browser import rows_text
from console.browser import screenshot
from console.browser import submit
from console.browser import table_rows
from console.browser import text
from console.browser import wait_for_next_page
from scim_bridge import __version__
from scim_bridge.store.records import SyncUser

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def console_bridge(bridge_factory: Any, **overrides: Any) -> Running:
    running: Running = bridge_factory(console_token=CONSOLE_TOKEN, **overrides)
    return running


def sim_user_id(bridge: Running, username: str) -> str:
    found = bridge.sim.user(username)
    assert found is not None, username
    return str(found["id"])


def sim_team_id(bridge: Running, name: str) -> str:
    found = bridge.sim.team(name)
    assert found is not None, name
    return str(found["id"])


def check_page(driver: WebDriver, name: str) -> None:
    """Screenshot the page and check the accessibility basics every console page keeps."""
    screenshot(driver, name)
    assert accessibility_problems(driver) == [], name


def rows_of_caption(driver: WebDriver, caption: str) -> list[list[str]]:
    for table in driver.find_elements(By.TAG_NAME, "table"):
        if table.find_element(By.TAG_NAME, "caption").text.startswith(caption):
            return rows_text(driver, table, "tbody tr")
    raise AssertionError(f"no table captioned {caption!r}")


def main_text(driver: WebDriver) -> str:
    return text(driver, "main")


def search(driver: WebDriver, text: str) -> None:
    field = driver.find_element(By.ID, "q")
    field.clear()
    field.send_keys(text)
    submit(driver, driver.find_element(By.CSS_SELECTOR, "form.search button"))


# --- login and status ----------------------------------------------------------------------------------
def test_login_refuses_wrong_tokens_and_accepts_the_console_token(bridge_factory: Any, page: WebDriver) -> None:
    bridge = console_bridge(bridge_factory)
    assert bridge.scim.get("/Users").status_code == 200
    assert bridge.scim.get("/Groups").status_code == 200
    assert bridge.scim.get("/Users/no-such-user").status_code == 404

    page.get(bridge.root + "/console/activity?outcome=error")
    assert "/console/login" in page.current_url  # not logged in: sent to the form, the target kept
    assert heading(page) == "Log in to the operator console"
    check_page(page, "01-login")
    cookie = next(c for c in page.get_cookies() if c["name"] == "scim_bridge_console")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/console"
    assert cookie["secure"] is False  # plain HTTP here; test_console_http checks HTTPS

    for wrong in ("not-the-console-token", TOKEN):  # the SCIM bearer token does not open the console
        log_in(page, bridge.root, wrong)
        assert "/console/login" in page.current_url
        assert text(page, "#login-error") == "That console token is not valid."
        assert page.find_element(By.ID, "token").get_attribute("aria-invalid") == "true"
    check_page(page, "02-login-refused")

    page.get(bridge.root + "/console/activity?outcome=error")
    field = page.find_element(By.ID, "token")
    field.send_keys(CONSOLE_TOKEN)
    submit(page, field)
    assert page.current_url == bridge.root + "/console/activity?outcome=error"
    assert heading(page) == "Activity"

    follow(page, page.find_element(By.LINK_TEXT, "Status"))
    assert heading(page) == "Status"
    status = main_text(page)
    assert "Reachable the API key is accepted" in status
    assert "custom endpoint (127.0.0.1)" in status
    assert "OK 7 users, 3 teams" in status
    assert f"scim-bridge {__version__}" in status
    traffic = {row[0]: row[1] for row in rows_of_caption(page, "Requests and errors")}
    assert traffic["SCIM requests answered since the server started (all workers)"] == "3"
    assert traffic["… of which client errors (4xx)"] == "1"
    assert traffic["… of which server or upstream errors (5xx)"] == "0"
    assert traffic["SCIM writes in the audit log in the last hour (all replicas)"] == "0"
    budget = {row[0]: row[1] for row in rows_of_caption(page, "Rate budget left")}
    assert set(budget) == {"configuration", "search"}
    assert all(int(left) >= 0 for left in budget.values())
    check_page(page, "03-status")

    submit(page, page.find_element(By.CSS_SELECTOR, "form.logout button"))
    assert "/console/login" in page.current_url
    page.get(bridge.root + "/console/")
    assert "/console/login" in page.current_url  # the session is gone


def test_status_shows_a_failed_sync_and_runs_one_on_request(bridge_factory: Any, page: WebDriver) -> None:
    bridge = console_bridge(bridge_factory)
    open_logged_in(page, bridge.root)
    bridge.sim.fault("GET", "/v2/teams", "403", times=1)  # a key without the rights to list teams
    submit(page, page.find_element(By.XPATH, "//button[text()='Run a full sync now']"))
    notice = text(page, ".notice-error")
    assert notice.startswith("The sync failed:")
    failed_id = next(c["requestId"] for c in reversed(bridge.sim.calls()) if c["path"] == "/v2/teams")
    mirror = main_text(page)
    assert "Failed" in mirror
    assert failed_id in mirror  # the OpsGenie requestId of the failing call, for a ticket
    check_page(page, "04-status-sync-failed")

    bridge.sim.http.delete(bridge.sim.base_url + "/__sim/faults", timeout=10).raise_for_status()
    submit(page, page.find_element(By.XPATH, "//button[text()='Run a full sync now']"))
    assert text(page, ".notice-ok").startswith("Sync finished: 7 users, 3 teams")
    assert "OK 7 users, 3 teams" in main_text(page)


def test_keyboard_reaches_skip_link_navigation_and_forms(bridge_factory: Any, page: WebDriver) -> None:
    bridge = console_bridge(bridge_factory)
    open_logged_in(page, bridge.root)
    page.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    order = [page.switch_to.active_element.text]
    for _ in range(6):
        page.switch_to.active_element.send_keys(Keys.TAB)
        order.append(page.switch_to.active_element.text)
    assert order == ["Skip to content", "scim-bridge console", "Status", "Activity", "Directory", "Drift", "Log out"]

    page.get(bridge.root + "/console/")
    page.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    page.switch_to.active_element.send_keys(Keys.ENTER)  # the skip link moves focus to the content
    assert page.switch_to.active_element.get_attribute("id") == "main"

    for _ in range(4):
        page.switch_to.active_element.send_keys(Keys.SHIFT, Keys.TAB)
    assert page.switch_to.active_element.text == "Activity"
    mark_current_page(page)
    page.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for_next_page(page)
    assert heading(page) == "Activity"
    assert text(page, "nav a[aria-current=page]") == "Activity"


# --- activity ------------------------------------------------------------------------------------------
def test_activity_filters_and_shows_the_upstream_calls_of_a_failure(bridge_factory: Any, page: WebDriver) -> None:
    bridge = console_bridge(bridge_factory)
    created = bridge.scim.post("/Users", {"schemas": [USER], "userName": "ana.lopez@example.com",
                                          "name": {"givenName": "Ana", "familyName": "Lopez"}})
    assert created.status_code == 201, created.text
    bridge.sim.clear_calls()
    bridge.sim.fault("POST", "/v2/users", "503", times=10)
    failed = bridge.scim.post("/Users", {"schemas": [USER], "userName": "ben.ortiz@example.com",
                                         "name": {"givenName": "Ben", "familyName": "Ortiz"}})
    assert failed.status_code == 503, failed.text
    upstream_failures = [c for c in bridge.sim.calls() if c["method"] == "POST" and c["path"] == "/v2/users"]
    assert upstream_failures and all(c["status"] == 503 for c in upstream_failures)
    payments = sim_team_id(bridge, "Payments")
    refused = bridge.scim.patch(f"/Groups/{payments}", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": "no-such-user"}]}]})
    assert refused.status_code == 400, refused.text

    open_logged_in(page, bridge.root, "/console/activity")
    rows = table_rows(page, "activity")
    assert len(rows) == 3
    # newest first, each said in words with the resource's name, not only its id
    assert rows[0][1].startswith("Failed to change team Payments (400)")
    assert rows[1][1].startswith("Failed to create user ben.ortiz@… (503)")
    assert "Attempted: ben.ortiz@example.com" in rows[1][1]
    assert rows[2][1].startswith("Created user ana.lopez@…")
    assert all(r[2] == "test" for r in rows)  # the name of the token each request came with

    Select(page.find_element(By.ID, "outcome")).select_by_visible_text("Failed")
    submit(page, page.find_element(By.XPATH, "//form[contains(@class,'filters')]//button"))
    rows = table_rows(page, "activity")
    assert len(rows) == 2
    assert all(r[3].startswith("Failed") for r in rows)
    assert [r[3] for r in rows] == ["Failed 400", "Failed 503"]
    assert "outcome=error" in page.current_url  # filters live in the URL: bookmarkable, no script needed
    Select(page.find_element(By.ID, "operation")).select_by_visible_text("create")
    submit(page, page.find_element(By.XPATH, "//form[contains(@class,'filters')]//button"))
    rows = table_rows(page, "activity")
    assert len(rows) == 1
    assert text(page, "#activity caption") == "Audit log: 1 matching event"
    check_page(page, "05-activity-filtered")

    follow(page, page.find_element(By.CSS_SELECTOR, "#activity tbody tr a"))
    assert heading(page) == "Create Users — Failed"
    assert "POST /scim/v2/Users" in main_text(page)
    assert failed.headers["X-Request-Id"] in main_text(page)
    calls = table_rows(page, "upstream-calls")
    posts = [c for c in calls if c[3] == "POST /v2/users"]
    assert [c[4] for c in posts] == ["503"] * len(upstream_failures)
    assert [c[8] for c in posts] == [c["requestId"] for c in upstream_failures]  # OpsGenie's own ids
    ticket = text(page, "#ticket")
    assert all(c["requestId"] in ticket for c in upstream_failures)
    assert page.find_element(By.CSS_SELECTOR, "button.copy").is_displayed()  # the one enhancement script ran
    check_page(page, "06-activity-failed-detail")

    page.get(bridge.root + "/console/activity")
    follow(page, page.find_elements(By.CSS_SELECTOR, "#activity tbody tr a")[0])
    assert heading(page) == "Patch Groups — Failed"
    assert "no-such-user" in text(page, "dd.detail")
    assert any(c[3] == "GET /v2/users/no-such-user" and c[4] == "404" for c in table_rows(page, "upstream-calls"))


# --- directory -----------------------------------------------------------------------------------------
def test_directory_search_teams_roles_and_suspensions(bridge_factory: Any, page: WebDriver) -> None:
    bridge = console_bridge(bridge_factory)
    tom = sim_user_id(bridge, "tom.becker@example.com")
    suspended = bridge.scim.patch(f"/Users/{tom}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "value": {"active": False}}]})
    assert suspended.status_code == 200, suspended.text

    open_logged_in(page, bridge.root)
    follow(page, page.find_element(By.LINK_TEXT, "Directory"))
    assert heading(page) == "Directory"
    rows = table_rows(page, "users")
    assert len(rows) == 7
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    by_name = {r[0]: r for r in rows}
    assert by_name["tom.becker@example.com"][3] == "Suspended"
    assert by_name["tom.becker@example.com"][2] == "Stakeholder"  # the suspended role, as OpsGenie has it now
    assert by_name["mei.chen@example.com"][3] == "Active"
    check_page(page, "07-directory-users")

    search(page, "chen")
    assert [r[0] for r in table_rows(page, "users")] == ["mei.chen@example.com"]
    search(page, "BECKER")  # display name, case-insensitive
    assert [r[0] for r in table_rows(page, "users")] == ["tom.becker@example.com"]
    search(page, "100%_")  # wildcards are taken literally
    assert table_rows(page, "users") == [["No user matches."]]
    search(page, "becker")
    follow(page, page.find_element(By.LINK_TEXT, "tom.becker@example.com"))
    assert heading(page) == "Tom Becker"
    restore = text(page, "section.notice-warn")
    assert "role User" in restore
    assert "team Platform SRE" in restore
    assert table_rows(page, "user-teams") == [["In no team."]]
    check_page(page, "08-directory-user-suspended")

    follow(page, page.find_element(By.LINK_TEXT, "Platform SRE"))
    assert heading(page) == "Platform SRE"
    assert [r[0] for r in table_rows(page, "members")] == ["mei.chen@example.com", "priya.shah@example.com"]
    assert {r[0]: r[2] for r in table_rows(page, "members")}["priya.shah@example.com"] == "admin"

    follow(page, page.find_element(By.LINK_TEXT, "Teams"))
    rows = table_rows(page, "teams")
    assert {r[0]: r[1] for r in rows} == {"Customer Support": "2", "Payments": "3", "Platform SRE": "2"}
    search(page, "pay")
    assert [r[0] for r in table_rows(page, "teams")] == ["Payments"]
    follow(page, page.find_element(By.LINK_TEXT, "Payments"))
    assert [r[0] for r in table_rows(page, "members")] == [
        "diego.alvarez@example.com", "mei.chen@example.com", "sara.nilsson@example.com"]
    check_page(page, "09-directory-team")

    follow(page, page.find_element(By.LINK_TEXT, "Role groups"))
    roles = {r[0]: r[2] for r in table_rows(page, "roles")}
    assert roles["role:Admin"] == "2"
    assert roles["role:Incident Commander"] == "1"
    # jordan.lee; the suspended tom.becker holds Stakeholder upstream but counts in the role he gets back
    assert roles["role:Stakeholder"] == "1"
    check_page(page, "10-directory-roles")
    follow(page, page.find_element(By.LINK_TEXT, "role:Admin"))
    assert [r[0] for r in table_rows(page, "members")] == ["diego.alvarez@example.com", "priya.shah@example.com"]


def test_directory_pages_ten_thousand_users_in_sql(bridge_factory: Any, page: WebDriver) -> None:
    bridge = console_bridge(bridge_factory)
    store = bridge.app.extensions["scim_bridge"].store
    snapshot = [SyncUser(u.id, u.user_name, u.upstream) for u in store.list_users()]
    snapshot += [
        SyncUser(f"bulk-{n:05d}", f"bulk.user{n:05d}@example.com",
                 {"id": f"bulk-{n:05d}", "username": f"bulk.user{n:05d}@example.com", "full_name": f"Bulk {n:05d}",
                  "role": "User"})
        for n in range(10_000)
    ]
    store.apply_sync(snapshot, None)
    assert store.count_users() == 10_007

    open_logged_in(page, bridge.root, "/console/directory/users")
    assert len(table_rows(page, "users")) == 50
    pager = text(page, "nav.pager p")
    assert pager == "Showing 1–50 of 10007 (page 1 of 201)"
    follow(page, page.find_element(By.LINK_TEXT, "Next"))
    assert text(page, "nav.pager p") == "Showing 51–100 of 10007 (page 2 of 201)"
    assert table_rows(page, "users")[0][0] == "bulk.user00049@example.com"  # after alex.morgan
    follow(page, page.find_element(By.LINK_TEXT, "Last"))
    assert text(page, "nav.pager p") == "Showing 10001–10007 of 10007 (page 201 of 201)"
    assert table_rows(page, "users")[-1][0] == "tom.becker@example.com"
    search(page, "Bulk 0999")  # display name contains: users 09990-09999
    assert text(page, "nav.pager p") == "Showing 1–10 of 10 (page 1 of 1)"
    check_page(page, "11-directory-10000-users")
    page.get(bridge.root + "/console/directory/users?page=999")  # past the end: the last page
    assert text(page, "nav.pager p").startswith("Showing 10001–10007")


# --- drift ---------------------------------------------------------------------------------------------
def test_drift_shows_members_changed_directly_in_opsgenie(bridge_factory: Any, page: WebDriver) -> None:
    bridge = console_bridge(bridge_factory)
    support = sim_team_id(bridge, "Customer Support")
    tom, jordan, priya = (sim_user_id(bridge, f"{name}@example.com") for name in ("tom.becker", "jordan.lee",
                                                                                   "priya.shah"))
    pushed = bridge.scim.patch(f"/Groups/{support}", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": tom}]}]})
    assert pushed.status_code in (200, 204), pushed.text

    open_logged_in(page, bridge.root)
    follow(page, page.find_element(By.LINK_TEXT, "Drift"))
    assert heading(page) == "Drift"
    assert text(page, ".notice-ok").startswith("No drift")
    summary = main_text(page)
    assert "0 teams with drift, 1 in step." in summary
    assert "2 teams never written through SCIM (not compared): Payments, Platform SRE." in summary

    # Someone changes the team in OpsGenie itself.
    added = bridge.sim.http.post(f"{bridge.sim.base_url}/__sim/teams/{support}/members",
                                 json={"user": {"id": priya}, "role": "user"}, timeout=10)
    added.raise_for_status()
    bridge.sim.http.delete(f"{bridge.sim.base_url}/__sim/teams/{support}/members/{jordan}",
                           timeout=10).raise_for_status()
    page.refresh()
    assert page.find_elements(By.CSS_SELECTOR, ".notice-ok")  # not seen before a sync

    submit(page, page.find_element(By.XPATH, "//button[text()='Sync now and compare again']"))
    assert heading(page) == "Drift"
    assert text(page, ".notice-ok").startswith("Sync finished")
    section = page.find_element(By.CSS_SELECTOR, "section.drift")
    assert section.find_element(By.TAG_NAME, "h2").text == "Customer Support"
    rows = rows_text(page, section, "tbody tr", "td")
    assert rows == [
        ["priya.shah@example.com", "Added directly in OpsGenie", "Remove from the team"],
        ["jordan.lee@example.com", "Removed directly in OpsGenie", "Add back to the team"],
    ]
    assert "1 team with drift, 0 in step." in main_text(page)
    check_page(page, "12-drift")

    # The IdP pushes again (here a PUT of what it holds): OpsGenie is set back and the drift is gone.
    group = bridge.scim.get(f"/Groups/{support}").json()
    sara = sim_user_id(bridge, "sara.nilsson@example.com")
    group["members"] = [{"value": uid} for uid in (sara, jordan, tom)]
    assert bridge.scim.put(f"/Groups/{support}", group).status_code == 200
    bridge.app.extensions["scim_bridge"].sync.run()
    page.refresh()
    assert text(page, ".notice-ok").startswith("No drift")
