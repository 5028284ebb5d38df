"""Fixtures of the browser tests: headless Chromium driven by Selenium, and a real api-server on 127.0.0.1.

The browser is Debian's ``chromium`` with its ``chromedriver`` (``apt-get install chromium
chromium-driver``); nothing is downloaded (``SE_OFFLINE``: Selenium Manager stays offline). Another
binary can be named with ``CHROMIUM_BIN`` / ``CHROMEDRIVER_BIN``. Without a browser the tests are
skipped with a loud reason, and fail under ``CI=true`` (``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dailybot.testing import FakeDailyBotServer
from demo.processes import AirflowStack

#: Flags for a headless browser that talks to nothing but the pages it is sent to.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
)
INSTALL_HINT = "apt-get install -y chromium chromium-driver && pip install selenium"


@dataclass(frozen=True)
class Chromium:
    """Paths of the browser and its WebDriver."""

    browser: str
    driver: str


def _missing(message: str) -> None:
    """Fail under CI (the browser is part of CI's set-up), else skip, loudly."""
    text = f"BROWSER TEST NOT RUN: {message}. Install it: {INSTALL_HINT}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{text} (.ci/run installs it, so under CI this is a failure)", pytrace=False)
    warnings.warn(text, UserWarning, stacklevel=2)
    pytest.skip(text)


@pytest.fixture(scope="session")
def chromium() -> Chromium:
    """Debian's Chromium and chromedriver (or ``CHROMIUM_BIN`` / ``CHROMEDRIVER_BIN``)."""
    browser = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium") or shutil.which("chromium-browser")
    driver = os.environ.get("CHROMEDRIVER_BIN") or shutil.which("chromedriver")
    if not browser:
        _missing("no chromium on PATH")
    if not driver:
        _missing("no chromedriver on PATH (Debian package chromium-driver)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        _missing("the Python package selenium is not installed")
    return Chromium(str(browser), str(driver))


@pytest.fixture
def browser(chromium: Chromium, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A headless Chromium session (Selenium WebDriver) with a throw-away profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never download a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = chromium.browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    service = Service(executable_path=chromium.driver, log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def airflow_ui(tmp_path: Path) -> Iterator[AirflowStack]:
    """A real ``airflow api-server`` (this virtualenv's Airflow, the provider installed) on a free 127.0.0.1 port.

    Fresh ``AIRFLOW_HOME`` and sqlite DB, ``[core] test_connection = Enabled``, SimpleAuthManager with
    every user an admin (no login page).
    """
    stack = AirflowStack(tmp_path / "airflow-home", all_admins=True)
    try:
        stack.migrate()
        stack.start("api-server")
        stack.wait_ready(timeout=90)
        yield stack
    finally:
        left = stack.stop()
    assert left == [], f"processes left running: {left}"


@pytest.fixture
def dailybot_fake_server_options(dailybot_fake_server_options: dict[str, Any]) -> dict[str, Any]:
    """The suite's fake DailyBot, owned by the user whose name the form's test result shows."""
    return {**dailybot_fake_server_options, "user_full_name": "Ada Lovelace"}


@pytest.fixture
def fake_dailybot(dailybot_fake_server: FakeDailyBotServer) -> FakeDailyBotServer:
    """The fake DailyBot the form is pointed at (the plugin's, in this process, on 127.0.0.1)."""
    return dailybot_fake_server
