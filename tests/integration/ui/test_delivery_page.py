"""The delivery log's HTML pages in the real api-server app (in-process), and its answers to strangers.

The suite runs the simple auth manager with ``simple_auth_manager_all_admins`` (on Airflow 3.3 its
middleware logs every request of the full app in as admin), so the requests without a login go to
the receiver app mounted alone, under the same auth manager: what a browser without the ``_token``
cookie meets on an api-server that requires login.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from airflow_provider_dailybot.delivery_log.responses import CONTENT_SECURITY_POLICY
from tests.integration.ui.conftest import envelope

PAGE = "/dailybot/ui/deliveries"
HOSTILE = "</pre><script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture
def stranger(api_app: Any, delivery_table: None) -> Iterator[Any]:
    """A client of the receiver app alone (no all-admins middleware), sending no credentials."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from airflow_provider_dailybot.webhooks.receiver import create_receiver_app

    root = FastAPI()
    root.mount("/dailybot", create_receiver_app())
    with TestClient(root, follow_redirects=False) as client:
        yield client


def test_the_page_lists_deliveries_with_payloads_as_text_under_a_strict_csp(api_client: Any, store_delivery: Any):
    channel = f"page-{uuid.uuid4().hex[:10]}"
    _, delivery_id, _ = store_delivery(channel, envelope({"text": HOSTILE}))
    store_delivery(channel, envelope({"text": "waiting"}), recorded=False)

    answer = api_client.get(PAGE, params={"channel": channel})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert answer.headers["X-Frame-Options"] == "SAMEORIGIN"
    html = answer.text
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    assert html.count('<tr><td class="nowrap">') == 2
    assert f'href="/dailybot/ui/deliveries/{delivery_id}"' in html
    assert "no_consumer" in html
    assert "waiting" in html


def test_the_delivery_page_shows_the_whole_payload_escaped(api_client: Any, store_delivery: Any):
    big = "y" * 5000  # longer than a list preview
    _, delivery_id, event_id = store_delivery(f"page-{uuid.uuid4().hex[:10]}", envelope({"a": HOSTILE, "b": big}))
    answer = api_client.get(f"{PAGE}/{delivery_id}")
    assert answer.status_code == 200
    assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "<script" not in answer.text
    assert big in answer.text
    assert f"<dd>{event_id}</dd>" in answer.text


def test_an_unknown_delivery_page_is_404(api_client: Any, delivery_table: None):
    answer = api_client.get(f"{PAGE}/{uuid.uuid4()}")
    assert answer.status_code == 404
    assert "No such delivery." in answer.text
    assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_a_bad_filter_shows_the_form_with_the_reason(api_client: Any, delivery_table: None):
    answer = api_client.get(PAGE, params={"channel": "<b>x</b>", "limit": "25"})
    assert answer.status_code == 400
    assert 'role="alert">channel: 1 to 64 characters' in answer.text
    assert "<b>x</b>" not in answer.text
    assert '<form class="filters"' in answer.text


def test_the_stylesheet_is_served_as_css(api_client: Any):
    answer = api_client.get("/dailybot/ui/static/delivery-log.css")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/css; charset=utf-8"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert ".dailybot-log" in answer.text


def test_a_browser_without_a_login_is_sent_to_the_login_page_and_back(stranger: Any):
    from airflow.api_fastapi.app import get_auth_manager

    answer = stranger.get(PAGE, params={"channel": "checkins", "outcome": "recorded"})
    assert answer.status_code == 303
    location = urlsplit(answer.headers["location"])
    assert location.path == urlsplit(get_auth_manager().get_url_login()).path
    assert parse_qs(location.query)["next"] == [f"{PAGE}?channel=checkins&outcome=recorded"]
    assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "checkins" not in answer.text


@pytest.mark.parametrize("cookie", ["not-a-jwt", "eyJhbGciOiJIUzUxMiJ9.e30.AAAA"])
def test_a_bad_or_expired_token_cookie_is_also_sent_to_log_in(stranger: Any, cookie: str):
    stranger.cookies.set("_token", cookie)
    answer = stranger.get(f"{PAGE}/{uuid.uuid4()}")
    assert answer.status_code == 303
    assert "next=" in answer.headers["location"]


def test_the_api_answers_401_with_a_bearer_challenge_instead(stranger: Any):
    for path in ("/dailybot/api/deliveries", f"/dailybot/api/deliveries/{uuid.uuid4()}", "/dailybot/api/channels"):
        answer = stranger.get(path)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        assert answer.json() == {"detail": "Not authenticated"}


def test_a_cookie_login_reads_the_log(stranger: Any, admin_token: str, store_delivery: Any):
    channel = f"page-{uuid.uuid4().hex[:10]}"
    store_delivery(channel, envelope())
    stranger.cookies.set("_token", admin_token)  # what the UI's login leaves in the browser
    answer = stranger.get(PAGE, params={"channel": channel})
    assert answer.status_code == 200
    assert channel in answer.text


def test_a_user_without_read_on_assets_gets_403(api_client: Any, delivery_table: None, monkeypatch: pytest.MonkeyPatch):
    from airflow.api_fastapi.app import get_auth_manager

    monkeypatch.setattr(get_auth_manager(), "is_authorized_asset", lambda **kwargs: False)
    answer = api_client.get(PAGE)
    assert answer.status_code == 403
    assert "needs read permission on assets" in answer.text
    assert "<table" not in answer.text


def test_the_stylesheet_needs_no_login(stranger: Any):
    assert stranger.get("/dailybot/ui/static/delivery-log.css").status_code == 200


def test_a_payload_over_the_preview_bound_is_not_loaded_for_the_list(api_client: Any, store_delivery: Any):
    from airflow_provider_dailybot.delivery_log.views import PREVIEW_MAX_BYTES

    channel = f"page-{uuid.uuid4().hex[:10]}"
    marker = "z" * (PREVIEW_MAX_BYTES + 1)
    _, delivery_id, _ = store_delivery(channel, envelope({"text": marker}))
    listed = api_client.get(PAGE, params={"channel": channel}).text
    assert "open the delivery to see it" in listed
    assert marker[:100] not in listed
    assert marker in api_client.get(f"{PAGE}/{delivery_id}").text
