"""The delivery log in headless Chromium against a real api-server that requires login.

* A browser that is not logged in is sent to the auth manager's login page, and back to the log once
  it has signed in through that page's form.
* Logged in, the log lists the stored deliveries, filters by channel, and shows each payload.
* A payload holding ``<script>`` and ``<img onerror>`` is shown as text: no script element and no
  image exist in the page, the title the script would change is unchanged, no alert opened, and the
  page carries the strict Content-Security-Policy.
* The Airflow UI lists the log under Browse and shows it inside Airflow (an iframe at
  ``/plugin/dailybot-deliveries``); that view is the screenshot in the docs (with
  ``DAILYBOT_UPDATE_DOC_IMAGES=1``, on the Airflow main line).
"""

from __future__ import annotations

import os
import shutil
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from airflow_provider_dailybot.delivery_log.responses import CONTENT_SECURITY_POLICY
from tests.conftest import REPO_ROOT
from tests.e2e.ui.conftest import IMG_TEXT, RECEIVED_TEXT, SCRIPT_TEXT, LogStack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PAGE = "/dailybot/ui/deliveries"
DOC_IMAGE = REPO_ROOT / "docs" / "images" / "delivery-log.png"
MAIN_LINE = tuple(int(p) for p in version("apache-airflow").split(".")[:2]) >= (3, 3)


def _wait(condition: Any, timeout: float = 20.0, what: str = "the page") -> Any:
    """Return ``condition()`` once truthy; an element replaced while it was read (React re-renders) is a miss."""
    from selenium.common.exceptions import StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while True:
        try:
            result = condition()
        except StaleElementReferenceException:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _retrying(action: Any, attempts: int = 5) -> Any:
    """Run ``action`` again when the element it held was replaced under it (a re-rendered page)."""
    from selenium.common.exceptions import StaleElementReferenceException

    for attempt in range(attempts):
        try:
            return action()
        except StaleElementReferenceException:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)
    return None


def _log_in(browser: Any, log_stack: LogStack) -> None:
    """Sign in through the auth manager's login form (the browser is on it)."""
    from selenium.webdriver.common.by import By

    _wait(lambda: browser.find_elements(By.NAME, "username"), what="the login form")
    browser.find_element(By.NAME, "username").send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys(log_stack.password)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def _rows(browser: Any) -> list[Any]:
    from selenium.webdriver.common.by import By

    return browser.find_elements(By.CSS_SELECTOR, "table.deliveries tbody tr")


def _assert_nothing_ran(browser: Any) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    title = browser.execute_script("return document.title")  # this frame's document (WebDriver's title is the top's)
    assert title.startswith("DailyBot deliver"), title
    assert browser.execute_script("return window.__dailybot_xss === undefined") is True
    assert browser.execute_script("return document.scripts.length") == 0
    assert browser.execute_script("return document.images.length") == 0
    assert browser.execute_script("return document.getElementsByTagName('b').length") == 0
    with pytest.raises(NoAlertPresentException):
        _ = browser.switch_to.alert.text


def test_logged_out_browser_is_sent_to_login_then_back_to_the_log(browser: Any, log_stack: LogStack) -> None:
    browser.get(f"{log_stack.base_url}{PAGE}?channel=checkins")
    _wait(lambda: "/auth/login" in browser.current_url, what="the redirect to the login page")
    landed = urlsplit(browser.current_url)
    assert landed.path.rstrip("/").endswith("/auth/login")
    assert parse_qs(landed.query)["next"] == [f"{PAGE}?channel=checkins"]
    assert _rows(browser) == []  # nothing of the log was shown before the login

    _log_in(browser, log_stack)
    _wait(lambda: urlsplit(browser.current_url).path == PAGE, what="the log after the login")
    rows = _wait(lambda: _rows(browser), what="the rows")
    assert len(rows) == log_stack.channel_rows["checkins"]
    assert {row.find_element("css selector", "td:nth-child(2)").text for row in rows} == {"checkins"}


def test_logged_in_user_sees_every_delivery_and_a_script_payload_only_as_text(
    browser: Any, log_stack: LogStack
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{log_stack.base_url}{PAGE}")
    _log_in(browser, log_stack)
    rows = _wait(lambda: _rows(browser), what="the rows")
    assert len(rows) == sum(log_stack.channel_rows.values())
    outcomes = [row.find_element(By.CSS_SELECTOR, "td:nth-child(4)").text for row in rows]
    assert outcomes.count("no_consumer") == 2

    for summary in browser.find_elements(By.CSS_SELECTOR, "details summary"):
        summary.click()  # unfold every payload
    shown = "\n".join(p.text for p in browser.find_elements(By.CSS_SELECTOR, "pre.payload"))
    assert SCRIPT_TEXT in shown
    assert IMG_TEXT in shown.replace('\\"', '"')  # JSON shows its quotes escaped
    assert "Waiting for the VPN." in shown  # the payload kept in the row of the delivery without a consumer
    assert RECEIVED_TEXT in shown  # the one the real receiver stored
    _assert_nothing_ran(browser)

    browser.get(f"{log_stack.base_url}{PAGE}/{log_stack.xss_delivery_id}")
    payload = _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "pre.payload"), what="the delivery page")
    assert SCRIPT_TEXT in payload[0].text
    _assert_nothing_ran(browser)

    token = next(c["value"] for c in browser.get_cookies() if c["name"] == "_token")
    browser.get(f"{log_stack.base_url}{PAGE}/{log_stack.received_xss_id}")
    payload = _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "pre.payload"), what="the received delivery")
    assert RECEIVED_TEXT in payload[0].text
    _assert_nothing_ran(browser)

    for path in (PAGE, f"{PAGE}/{log_stack.xss_delivery_id}", "/dailybot/api/deliveries"):
        answer = requests.get(f"{log_stack.base_url}{path}", cookies={"_token": token}, timeout=10)
        assert answer.status_code == 200
        assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert requests.get(f"{log_stack.base_url}/dailybot/api/deliveries", timeout=10).status_code == 401


def test_the_airflow_ui_lists_the_log_under_browse_and_shows_it_inside(
    browser: Any, log_stack: LogStack, output_dir: Path
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{log_stack.base_url}/")
    _log_in(browser, log_stack)
    browse = "//button[normalize-space()='Browse']"
    entry = "//*[self::a or @role='menuitem'][normalize-space()='DailyBot deliveries']"
    _wait(lambda: browser.find_elements(By.XPATH, browse), what="the Browse menu")
    _retrying(lambda: browser.find_element(By.XPATH, browse).click())
    _wait(lambda: browser.find_elements(By.XPATH, entry), what="the DailyBot deliveries entry under Browse")
    _retrying(lambda: browser.find_element(By.XPATH, entry).click())
    _wait(lambda: "/plugin/dailybot-deliveries" in browser.current_url, what="the plugin page")
    _wait(lambda: browser.find_elements(By.TAG_NAME, "iframe"), what="the iframe")

    def unfold_the_script_payload() -> int:
        # The UI may re-render its iframe while it settles (3.3 keeps the frame's URL in its own): start over.
        browser.switch_to.default_content()
        frame = browser.find_element(By.TAG_NAME, "iframe")
        assert urlsplit(frame.get_attribute("src")).path == PAGE
        browser.switch_to.frame(frame)
        rows = _wait(lambda: _rows(browser), what="the rows inside the Airflow UI")
        xss_row = next(r for r in rows if log_stack.xss_delivery_id in r.get_attribute("innerHTML"))
        xss_row.find_element(By.CSS_SELECTOR, "details summary").click()  # the picture shows it as text
        _assert_nothing_ran(browser)
        return len(rows)

    try:
        assert _retrying(unfold_the_script_payload) == sum(log_stack.channel_rows.values())
    finally:
        browser.switch_to.default_content()
    time.sleep(0.5)
    shot = output_dir / "delivery-log.png"
    browser.save_screenshot(str(shot))
    if MAIN_LINE and os.environ.get("DAILYBOT_UPDATE_DOC_IMAGES") == "1":
        shutil.copy(shot, DOC_IMAGE)
