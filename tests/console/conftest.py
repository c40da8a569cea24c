"""A real headless Chromium driven through chromedriver, for the operator console's tests."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from console.browser import BROWSERS
from console.browser import CHROMIUM_FLAGS
from console.browser import binary
from console.browser import is_headless_shell


@pytest.fixture(scope="session")
def browser() -> Iterator[WebDriver]:
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager look for drivers online
    profile = tempfile.mkdtemp(prefix="console-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary("SCIM_BRIDGE_TEST_CHROMIUM", *BROWSERS)
    if is_headless_shell(options.binary_location):
        options.set_capability("browserName", "chrome-headless-shell")  # so chromedriver opens its first tab
    else:
        options.add_argument("--headless=new")
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    service = Service(executable_path=binary("SCIM_BRIDGE_TEST_CHROMEDRIVER", "chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture()
def page(browser: WebDriver) -> WebDriver:
    """The browser with no cookies left from an earlier test (each test starts by clearing them; a new browser has
    none)."""
    browser.delete_all_cookies()
    return browser


