"""Debian's headless Chromium, driven by its chromedriver, looking at the dashboard.

Used by tests/e2e/test_dashboard.py, and run as a module to take the README's picture:

    python -m tests.e2e.dashboard_browser http://127.0.0.1:8501/city_overview docs/images/dashboard.png

Nothing is downloaded: Selenium is pointed at the Debian packages' browser and driver
(the set-up installs `chromium` and `chromium-driver`), and told to stay offline.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

WINDOW = (1400, 1000)
RENDER_TIMEOUT_S = 60.0

# Streamlit marks its root element with the state of the page's script run.
SCRIPT_DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
SKELETON = '[data-testid="stSkeleton"], [data-testid="stAppSkeleton"]'
CHART = '[data-testid="stVegaLiteChart"]'
# A chart is drawn once Vega has put its canvas (or SVG) inside the element.
DRAWN = "canvas, svg"


class BrowserMissing(RuntimeError):
    pass


def browser_paths() -> tuple[str, str]:
    """Chromium and chromedriver; BrowserMissing says how to get them."""
    chromium = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        missing = " and ".join(
            name
            for name, path in (("chromium", chromium), ("chromedriver", driver))
            if path is None
        )
        raise BrowserMissing(
            f"{missing} not found: run the set-up (make setup), which installs the Debian "
            "packages chromium and chromium-driver"
        )
    return chromium, driver


@contextmanager
def chromium() -> Iterator[WebDriver]:
    binary, driver = browser_paths()
    # Selenium Manager would otherwise look for a browser and driver build to download.
    os.environ.setdefault("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        # Root (the set-up's and CI's user) cannot use Chromium's sandbox.
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service(driver), options=options)
    try:
        # --window-size sizes the window, not the page inside it: fix the page's size.
        browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False},
        )
        yield browser
    finally:
        browser.quit()


def _rendered(browser: WebDriver) -> bool:
    if not browser.find_elements(By.CSS_SELECTOR, SCRIPT_DONE):
        return False
    # Placeholders of elements still on their way from the server.
    if browser.find_elements(By.CSS_SELECTOR, SKELETON):
        return False
    if not browser.find_elements(By.CSS_SELECTOR, "h1"):
        return False
    charts = browser.find_elements(By.CSS_SELECTOR, CHART)
    return all(chart.find_elements(By.CSS_SELECTOR, DRAWN) for chart in charts)


def open_page(browser: WebDriver, url: str, timeout_s: float = RENDER_TIMEOUT_S) -> None:
    """Load ``url`` and wait until its script has run and every chart is drawn."""
    browser.get(url)
    WebDriverWait(browser, timeout_s, poll_frequency=0.1).until(
        _rendered, message=f"{url} did not finish rendering within {timeout_s:.0f} s"
    )


def screenshot(url: str, path: str) -> None:
    with chromium() as browser:
        open_page(browser, url)
        browser.save_screenshot(path)


if __name__ == "__main__":
    screenshot(sys.argv[1], sys.argv[2])
