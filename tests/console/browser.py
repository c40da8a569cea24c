"""Helpers for driving the operator console in a real headless Chromium."""

from __future__ import annotations

import base64
import os
import re
import shutil
from pathlib import Path
from typing import Any

import requests
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chromium.webdriver import ChromiumDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CONSOLE_TOKEN = "console-token-0123456789abcdef"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
CHROMIUM_FLAGS = (
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
    "--window-size=1400,900",  # WINDOW, at the desktop width of the screenshots: two resizes per pair of shots, not 3
    # Scrollbars take no width (as on phones), so the layout width is the window's whatever the page's height: a page
    # checked and shot at a width needs no window as tall as the page.
    "--hide-scrollbars",
    # No back-forward cache (the console's pages are no-store anyway) and no new renderer per navigation: a sixth
    # less of Chromium's CPU time per page view on these tests.
    "--disable-features=BackForwardCache,RenderDocument,ProactivelySwapBrowsingContextGroup,"
    # Optional services a headless test never uses (hints and on-device models fetched or benchmarked in the
    # background, form autofill lookups, casting), which would otherwise start with the browser or later in a run.
    "OptimizationHints,OptimizationGuideOnDeviceModel,AutofillServerCommunication,DialMediaRouteProvider,"
    "CastMediaRouteProvider",
    "--disable-default-apps", "--mute-audio", "--disable-client-side-phishing-detection",
    "--disable-domain-reliability",
)


# Chromium's headless shell (Debian's chromium-headless-shell) is preferred: it renders the same pages with the same
# Blink, without the full browser's window and profile services, for about half the CPU time per page view. The full
# browser runs in its new headless mode when the shell is not installed: Debian's binary itself rather than its
# /usr/bin/chromium launcher, a shell script that adds desktop flags of its own (GPU rasterization, which here runs in
# the software GPU process, and extension loading) and Google API keys, so that the tests run with the flags listed
# above only. (Chromium's CPU time is the same either way within the noise of side-by-side runs.)
BROWSERS = ("chromium-headless-shell", "/usr/lib/chromium/chromium", "chromium", "chromium-browser")


def is_headless_shell(path: str) -> bool:
    return "headless-shell" in Path(path).name


def binary(env: str, *names: str) -> str:
    configured = os.environ.get(env)
    if configured:
        return configured
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError(f"{' or '.join(names)} not found: run scripts/ensure-browser.sh (or set {env})")


def capture(driver: WebDriver, path: Path, limit: int) -> None:
    """The whole page (up to ``limit`` px tall) at the window's width as a PNG at ``path``: Chromium lays it out beyond
    the viewport for the shot instead of the window being resized to the page's height and back, and encodes for
    speed (a larger file than WebDriver's screenshot, the same pixels, a third of Chromium's time)."""
    assert isinstance(driver, ChromiumDriver)
    width, height = driver.execute_script(PAGE_SIZE)
    clip = {"x": 0, "y": 0, "width": int(width), "height": min(int(height), limit), "scale": 1}
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "optimizeForSpeed": True,
                                                             "captureBeyondViewport": True, "clip": clip})
    path.write_bytes(base64.b64decode(shot["data"]))


# The layout width (scrollbars are hidden, so it is the window's) and the page's height, at least 600 px.
PAGE_SIZE = "return [document.documentElement.clientWidth, Math.max(document.documentElement.scrollHeight, 600)];"


def screenshots_wanted() -> bool:
    """The screenshots are for people looking at the console; nothing reads them back. SCIM_BRIDGE_TEST_SCREENSHOTS=0
    skips taking them (about a sixth of Chromium's CPU time over the browser tests); every check made at a width,
    such as no sideways scrolling at 400 px, still runs."""
    return os.environ.get("SCIM_BRIDGE_TEST_SCREENSHOTS", "1") != "0"


def screenshot(driver: WebDriver, name: str) -> Path | None:
    """A full-page screenshot into test-artifacts/console/ (kept out of git), unless screenshots are off."""
    if not screenshots_wanted():
        return None
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    capture(driver, path, 6000)
    return path


LEAVING = "window.__consoleTestLeaving"


def mark_current_page(driver: WebDriver) -> None:
    """Tag the document now shown, so that wait_for_next_page can tell when another one replaced it."""
    driver.execute_script(f"{LEAVING} = true;")


def _next_page_loaded(driver: WebDriver) -> bool:
    return bool(driver.execute_script(f"return {LEAVING} === undefined && document.readyState === 'complete';"))


def wait_for_next_page(driver: WebDriver) -> None:
    """Wait until a new document replaced the marked one and finished loading.

    Chromium answers a command that lands mid-navigation with assorted errors (a stale element, "Node with given id
    does not belong to the document", no execution context); each just means "not yet", so they are polled through
    rather than checking a stale element of the old page. Chromium mostly has the next page by the first check
    (chromedriver waits for a navigation a click started); when not, it is asked again every 20 ms, not
    Selenium's default 500 ms.
    """
    WebDriverWait(driver, 30, poll_frequency=0.02, ignored_exceptions=(WebDriverException,)).until(_next_page_loaded)


def submit(driver: WebDriver, element: WebElement) -> None:
    """Click a submit button (or press Enter in a field) and wait for the next page."""
    mark_current_page(driver)
    if element.tag_name == "button":
        element.click()
    else:
        element.submit()
    wait_for_next_page(driver)


def follow(driver: WebDriver, link: WebElement) -> None:
    mark_current_page(driver)
    link.click()
    wait_for_next_page(driver)


def log_in(driver: WebDriver, root: str, token: str = CONSOLE_TOKEN) -> None:
    """Log in through the form (empty on a new login page)."""
    driver.get(root + "/console/login")
    field = driver.find_element(By.ID, "token")
    field.send_keys(token)
    submit(driver, driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]"))


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def login_form(http: requests.Session, root: str) -> str:
    """GET the login page; returns its CSRF token."""
    page = http.get(root + "/console/login", timeout=10)
    assert page.status_code == 200
    found = CSRF_RE.search(page.text)
    assert found is not None
    return found.group(1)


def console_session(root: str, token: str = CONSOLE_TOKEN) -> requests.Session:
    """An HTTP client logged in to the console through the login form's POST."""
    http = requests.Session()
    csrf = login_form(http, root)
    answer = http.post(root + "/console/login", data={"token": token, "csrf_token": csrf}, allow_redirects=False,
                       timeout=10)
    assert answer.status_code == 302, answer.text
    return http


def open_logged_in(driver: WebDriver, root: str, path: str = "/console/") -> None:
    """Open a console page (by default the status page) in a session logged in over HTTP and handed to the browser
    as the bridge set its cookie: one page view instead of the login form, its POST and the redirect.
    test_console.py::test_login_refuses_wrong_tokens_and_accepts_the_console_token logs in through the form."""
    http = console_session(root)
    for cookie in http.cookies:
        driver.execute_cdp_cmd("Network.setCookie", {
            "name": cookie.name, "value": cookie.value or "", "url": root + (cookie.path or "/"),
            "path": cookie.path, "secure": cookie.secure, "httpOnly": cookie.has_nonstandard_attr("HttpOnly"),
            "sameSite": cookie.get_nonstandard_attr("SameSite") or "Lax"})
    driver.get(root + path)


def heading(driver: WebDriver) -> str:
    return text(driver, "h1")


# The rendered text of an element as WebDriver's "get element text" gives it (no text of hidden elements, no-break
# spaces as spaces, runs of spaces collapsed, each line trimmed, no blank lines; an element whose own text is
# preformatted as laid out), for many elements in one command instead of one round trip to the browser per cell. One
# difference: the preformatted text of a child (a request body within <main>) comes with its lines trimmed.
VISIBLE_TEXT = """
const visibleText = el => !el.checkVisibility() ? '' : getComputedStyle(el).whiteSpace.startsWith('pre')
  ? el.innerText.replace(/^\\n+|\\n+$/g, '')
  : el.innerText.split('\\n').map(line => line.replace(/[ \\t\\r\\u00a0]+/g, ' ').trim()).filter(line => line)
    .join('\\n');
"""
ROWS_TEXT = VISIBLE_TEXT + """
return Array.from((arguments[0] || document).querySelectorAll(arguments[1]),
                  row => Array.from(row.querySelectorAll(arguments[2]), visibleText));
"""


TEXT = VISIBLE_TEXT + """
const found = document.querySelector(arguments[0]);
return found === null ? null : visibleText(found);
"""


def text(driver: WebDriver, selector: str) -> str:
    """The rendered text of the first element matching a CSS selector, as WebDriver's "get element text" gives it, in
    one command instead of two (find the element, then ask for its text); fails when nothing matches."""
    found: Any = driver.execute_script(TEXT, selector)
    assert found is not None, f"nothing matches {selector!r}"
    return str(found)


def rows_text(driver: WebDriver, scope: WebElement | None, rows: str, cells: str = "th, td") -> list[list[str]]:
    """The text of the ``cells`` of each row matching ``rows`` (CSS selectors) inside ``scope`` (None: the
    document)."""
    found: Any = driver.execute_script(ROWS_TEXT, scope, rows, cells)
    return [[str(cell) for cell in row] for row in found]


def table_rows(driver: WebDriver, table_id: str) -> list[list[str]]:
    """The text of each body row's cells (th and td)."""
    return rows_text(driver, None, f"#{table_id} tbody tr")


ACCESSIBILITY_PROBLEMS = """
const problems = [];
document.querySelectorAll('input:not([type=hidden]), select, textarea').forEach(el => {
  const labelled = (el.id && document.querySelector('label[for="' + el.id + '"]')) || el.getAttribute('aria-label');
  if (!labelled) problems.push('unlabelled field ' + (el.name || el.outerHTML.slice(0, 60)));
});
document.querySelectorAll('table').forEach((t, i) => {
  const caption = t.querySelector('caption');
  if (!caption || !caption.textContent.trim()) problems.push('table ' + i + ' has no caption');
  if (!t.querySelector('thead th[scope=col]')) problems.push('table ' + i + ' has no column headers');
});
if (!document.documentElement.lang) problems.push('no lang on html');
if (document.querySelectorAll('h1').length !== 1) problems.push('not exactly one h1');
if (!document.querySelector('main')) problems.push('no main landmark');
document.querySelectorAll('a').forEach(a => { if (!a.textContent.trim()) problems.push('empty link ' + a.href); });
document.querySelectorAll('button').forEach(b => { if (!b.textContent.trim()) problems.push('empty button'); });
return problems;
"""


def accessibility_problems(driver: WebDriver) -> list[str]:
    found: Any = driver.execute_script(ACCESSIBILITY_PROBLEMS)
    return [str(item) for item in found]


WINDOW = (1400, 900)  # the window every test starts with (--window-size above)
WIDTHS = (WINDOW[0], 400)
OVERFLOW = "return document.documentElement.scrollWidth - document.documentElement.clientWidth;"


def screenshots(driver: WebDriver, name: str) -> list[Path]:
    """Full-page screenshots at a desktop width and a narrow (phone) width: NAME-1400.png and NAME-400.png (none when
    screenshots are off).

    At each width the page must not scroll sideways as a whole (wide tables scroll inside their own box).
    """
    wanted = screenshots_wanted()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    paths = []
    for width in WIDTHS:
        if width != WINDOW[0]:  # the window is at its desktop width between steps of a test
            driver.set_window_size(width, WINDOW[1])
        overflow = int(driver.execute_script(OVERFLOW))
        assert overflow <= 0, f"{name} scrolls sideways by {overflow} px at {width} px"
        if wanted:
            path = ARTIFACTS / f"{name}-{width}.png"
            capture(driver, path, 8000)
            paths.append(path)
    driver.set_window_size(*WINDOW)
    return paths
