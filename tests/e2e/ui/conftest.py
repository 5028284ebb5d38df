"""Fixtures of the delivery-log browser tests: Chromium (the browser tests' fixtures) and a real api-server
that requires login, with deliveries stored in its metadata DB.

The api-server runs the simple auth manager *without* ``simple_auth_manager_all_admins``: the user
``admin`` has a random password (``AirflowStack``), so a browser without the ``_token`` cookie is
not logged in. Rows are written into the api-server's sqlite DB with the store's own queries, from
this process, before the browser looks; one more delivery is POSTed to the real receiver (a channel
that no DAG consumes, so it is stored with its body).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dailybot.store import DB_MANAGER
from airflow_provider_dailybot.webhooks.asset_events import Delivery, build_event_extra, secret_ref
from demo.processes import ADMIN_USER, AirflowStack
from tests.e2e.browser.conftest import browser, chromium  # noqa: F401

#: The payload that must be shown as text: it would change the title and set a flag if it ran.
SCRIPT_TEXT = "<script>document.title='pwned';window.__dailybot_xss=1</script>"
IMG_TEXT = "<img src=x onerror=\"document.title='pwned'\">"
#: The channel of the delivery POSTed to the real receiver, and what its answer says.
RECEIVED_CHANNEL = "standups"
RECEIVED_TEXT = "<script>window.__dailybot_xss=2</script><b>bold?</b>"


@dataclass
class LogStack:
    """The api-server and what was stored in it."""

    stack: AirflowStack
    password: str
    xss_delivery_id: str
    received_xss_id: str
    channel_rows: dict[str, int]

    @property
    def base_url(self) -> str:
        return self.stack.base_url


def _checkin(name: str, text: str) -> dict[str, Any]:
    return {
        "event": "followups.response.completed",
        "event_timestamp": datetime.now(tz=timezone.utc).isoformat(),
        "hook": {"id": f"hook-{uuid.uuid4().hex[:8]}", "name": "Daily standup"},
        "body": {
            "followup": {"name": "Daily standup", "uuid": str(uuid.uuid4())},
            "user": {"full_name": name},
            "response": [{"question": "What did you do yesterday?", "answer": text}],
        },
    }


def _seed(db_url: str) -> tuple[str, dict[str, int]]:
    """Store deliveries (recorded ones with their asset event; one without a consumer); return the XSS one's id."""
    from airflow.models.asset import AssetEvent
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from airflow_provider_dailybot.store.deliveries import NewDelivery, insert_delivery, mark_recorded

    rows = [
        ("checkins", _checkin("Ada Lovelace", "Reviewed the analytical engine notes."), True),
        ("checkins", _checkin("Grace Hopper", "Fixed the compiler; found a moth."), True),
        ("checkins", {**_checkin("Mallory", ""), "body": {"answer": f"{SCRIPT_TEXT} {IMG_TEXT}"}}, True),
        ("kudos", {**_checkin("Alan Turing", "Thanks for the review!"), "event": "kudos.posted"}, True),
        ("blockers", _checkin("Linus", "Waiting for the VPN."), False),
    ]
    engine = create_engine(db_url)
    started = datetime.now(tz=timezone.utc) - timedelta(minutes=len(rows))
    xss_id = ""
    counts: dict[str, int] = {}
    try:
        with Session(engine) as session:
            for index, (channel, env, recorded) in enumerate(rows):
                delivery_id = str(uuid.uuid4())
                ref = secret_ref(uuid.uuid4().hex * 2)
                new = NewDelivery.from_envelope(
                    channel, env, json.dumps(env).encode(), delivery_id=delivery_id, outcome="no_consumer",
                    delivery=Delivery(env["hook"]["id"], ref), received_at=started + timedelta(minutes=index),
                )  # fmt: skip
                record = insert_delivery(session, new).record
                if recorded:
                    event = AssetEvent(asset_id=0, extra=build_event_extra(channel, env, delivery_id, ref=ref))
                    session.add(event)
                    session.flush()
                    assert mark_recorded(session, record.id, event.id)
                if SCRIPT_TEXT in json.dumps(env):
                    xss_id = delivery_id
                counts[channel] = counts.get(channel, 0) + 1
            session.commit()
    finally:
        engine.dispose()
    return xss_id, counts


def _deliver_through_the_receiver(stack: AirflowStack) -> str:
    """POST a hostile check-in to the real receiver (a channel no DAG consumes: stored, body kept); return its id."""
    import requests

    from airflow_provider_dailybot.webhooks.channels import ChannelState, generate_secret, variable_key

    secret = generate_secret()
    state = ChannelState(channel=RECEIVED_CHANNEL)
    state.add_secret(secret)
    created = requests.post(
        f"{stack.base_url}/api/v2/variables",
        json={"key": variable_key(RECEIVED_CHANNEL), "value": state.to_json()},
        headers={"Authorization": f"Bearer {stack.token()}"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    env = {**_checkin("Eve", ""), "body": {"answer": RECEIVED_TEXT}}
    answer = requests.post(
        f"{stack.base_url}/dailybot/webhooks/{RECEIVED_CHANNEL}", json=env, headers={"X-BEARER": secret}, timeout=30
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["outcome"] == "no_consumer"
    return str(answer.json()["delivery_id"])


@pytest.fixture(scope="module")
def log_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LogStack]:
    """A real ``airflow api-server`` that requires login (simple auth manager), with deliveries stored."""
    home: Path = tmp_path_factory.mktemp("delivery-log") / "airflow-home"
    # Airflow 3.1 runs the store's migration only when [database] external_db_managers names it (3.2+: provider info).
    stack = AirflowStack(home, all_admins=False, env={"AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS": DB_MANAGER})
    try:
        stack.migrate()
        xss_id, counts = _seed(f"sqlite:///{home / 'airflow.db'}")
        stack.start("api-server")
        stack.wait_ready(timeout=120)
        password = json.loads(stack.passwords_file.read_text())[ADMIN_USER]
        received = _deliver_through_the_receiver(stack)
        counts[RECEIVED_CHANNEL] = counts.get(RECEIVED_CHANNEL, 0) + 1
        yield LogStack(stack, password, xss_id, received, counts)
    finally:
        left = stack.stop()
    assert left == [], f"processes left running: {left}"
