"""The example DAGs end to end: daily standup export, and blocker alerts from a polled or a delivered response.

The example DAG files are parsed from the package's ``example_dags/`` (the DAG bundle of the session) with the
environment each test sets, run under ``dag.test()`` on the sqlite metadata DB, and talk to the fake
DailyBot over real sockets.

Blocker alert, poll: the DAG is written to the DB unpaused, which registers its ``AssetWatcher`` as a
trigger row as the dag-processor does; the trigger is rebuilt from that row (classpath + kwargs) as the
triggerer does, run against the fake, and each event it yields is submitted with Airflow's
``Trigger.submit_event``, which records the asset events. Blocker alert, webhook: the fake delivers
``followups.response.completed`` to the provider's real receiver (the api-server app, in process), which
records the asset events. Either way the run consumes those events, as the scheduler's asset-triggered
run would.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pendulum
import pytest

from airflow_provider_dailybot.testing import FakeDailyBotServer, organisation_api, seed
from tests.conftest import API_KEY, conn_json
from tests.integration.conftest import sync_dags, unpause
from tests.integration.dag_runs import all_xcom_text, asset_event_ids, consuming, run_dag, task_states, xcom

pytestmark = pytest.mark.db
RECEIVER_BASE = "http://127.0.0.1:8080"


# --------------------------------------------------------------------------- standup export


def test_standup_export_example(
    fake: FakeDailyBotServer, example_dag: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake.default_page_size = 2
    monkeypatch.setenv("DAILYBOT_CHECKIN_ID", seed.CHECKIN_ID)
    monkeypatch.setenv("DAILYBOT_EXPORT_BASE", f"file://{tmp_path}/exports/")
    monkeypatch.setenv("DAILYBOT_SUMMARY_TEAM", seed.ENGINEERING_TEAM)
    dag = example_dag("dailybot_standup_export")

    run = run_dag(dag, logical_date=pendulum.datetime(2025, 1, 9, tz="UTC"))  # exports the 8th
    target = tmp_path / "exports" / "standups" / "2025-01-08.jsonl"
    rows = [json.loads(line) for line in target.read_text().splitlines()]

    assert task_states(run) == {"export_standups": "success", "tell_team": "success"}
    assert rows == fake.checkin_responses(date_start="2025-01-08", date_end="2025-01-08")
    assert xcom(run, "export_standups")["rows"] == 4
    (message,) = fake.sent_messages
    assert message["message"] == f"4 standup response(s) of 2025-01-08 exported to file://{target}"
    assert message["target_teams"] == [seed.ENGINEERING_TEAM]
    before = target.read_bytes()
    run_dag(dag, logical_date=pendulum.datetime(2025, 1, 9, tz="UTC"))
    assert target.read_bytes() == before
    assert API_KEY not in all_xcom_text(run)


# --------------------------------------------------------------------------- blocker alert


def _assert_one_message_per_blocker(fake: FakeDailyBotServer, run: Any, expected: dict[str, list[str]]) -> None:
    states = task_states(run)
    assert states["find_blockers"] == "success"
    assert sorted(k for k in states if k.startswith("alert_team")) == [f"alert_team[{i}]" for i in range(len(expected))]
    assert set(states.values()) == {"success"}
    messages = {m["message"].splitlines()[0]: m for m in fake.sent_messages}
    assert len(fake.sent_messages) == len(expected) == len(messages)
    for who, teams in expected.items():
        # The fake dates responses in the organisation's time zone (as created_at), not in UTC.
        message = messages[f"*Blocker reported* by {who} in Daily Standup ({organisation_api.today()}):"]
        assert message["target_teams"] == teams
        assert API_KEY not in message["message"]
    assert API_KEY not in all_xcom_text(run)


def test_blocker_alert_from_polled_responses(
    fake: FakeDailyBotServer, example_dag: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.models.asset import AssetModel
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session
    from sqlalchemy import select

    monkeypatch.setenv("DAILYBOT_CHECKIN_ID", seed.CHECKIN_ID)
    monkeypatch.setenv("DAILYBOT_BLOCKER_SOURCE", "poll")
    dag = example_dag("dailybot_blocker_alert")
    asset_name = f"dailybot_checkin_{seed.CHECKIN_ID}_blockers"
    unpause(dag.dag_id)
    sync_dags(dag)  # watchers are registered for active, unpaused DAGs

    with create_session() as session:
        model = session.scalars(select(AssetModel).where(AssetModel.name == asset_name)).one()
        (row,) = list(model.triggers)
        trigger_id, classpath, kwargs = row.id, row.classpath, row.kwargs
    module, name = classpath.rsplit(".", 1)
    trigger = getattr(importlib.import_module(module), name)(**kwargs)  # as the triggerer rebuilds it
    assert kwargs["only_blockers"] is True

    async def fast(_: float) -> None:
        await asyncio.sleep(0)

    trigger.sleep = fast
    new = iter(
        [
            lambda: fake.add_checkin_response(user_id=seed.ALAN, blocker="The staging DB is down"),
            lambda: fake.add_checkin_response(user_id=seed.GRACE),  # no blocker: no event
            lambda: fake.add_checkin_response(user_id=seed.KATHERINE, blocker="Waiting for brand assets"),
        ]
    )

    async def poll() -> list[Any]:
        events, stream = [], trigger.run()
        fake_sleep = trigger.sleep

        async def sleep_and_answer(seconds: float) -> None:
            next(new, lambda: None)()
            await fake_sleep(seconds)

        trigger.sleep = sleep_and_answer
        while len(events) < 2:
            events.append(await asyncio.wait_for(anext(stream), 10))
        await stream.aclose()
        return events

    events = asyncio.run(poll())
    with create_session() as session:
        for event in [*events, events[0]]:  # the first one twice, as after a triggerer restart
            Trigger.submit_event(trigger_id, event, session=session)
    ids = asset_event_ids(asset_name)
    assert len(ids) == 3

    with consuming(monkeypatch, ids):
        run = run_dag(dag)
    _assert_one_message_per_blocker(
        fake, run, {"Alan Turing": [seed.ENGINEERING_TEAM], "Katherine Johnson": [seed.DESIGN_TEAM]}
    )


@pytest.fixture
def receiver(api_app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    client = TestClient(api_app)
    yield client
    client.close()


def test_blocker_alert_from_webhook_deliveries(
    fake: FakeDailyBotServer, receiver: Any, example_dag: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_dailybot.hooks.dailybot import DailyBotHook
    from airflow_provider_dailybot.webhooks.assets import webhook_asset_name
    from airflow_provider_dailybot.webhooks.channels import ChannelState, MetadataChannelStore, generate_secret

    channel = f"blockers-{pendulum.now('UTC').format('HHmmssSSS')}"
    monkeypatch.setenv("DAILYBOT_BLOCKER_SOURCE", "webhook")
    monkeypatch.setenv("DAILYBOT_CHANNEL", channel)
    monkeypatch.setenv("DAILYBOT_ALERT_TEAM", seed.DESIGN_TEAM)
    dag = example_dag("dailybot_blocker_alert")  # declares the channel's asset: the receiver records deliveries for it

    secret = generate_secret()
    state = ChannelState(channel=channel)
    state.add_secret(secret)
    MetadataChannelStore().save(state)

    def deliver(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        parts = urlsplit(url)
        return int(receiver.post(parts.path, content=body, headers=headers).status_code)

    fake.transport = deliver
    monkeypatch.setenv("AIRFLOW_CONN_DAILYBOT_DEFAULT", conn_json(fake))
    hook = DailyBotHook()
    hook.create_webhook_subscription(
        hook_url=f"{RECEIVER_BASE}/dailybot/webhooks/{channel}",
        events=["followups.response.completed"],
        subscribed_objects=[seed.CHECKIN_ID],
        bearer=secret,
    )
    fake.add_checkin_response(user_id=seed.MARGARET, blocker="Budget approval pending")
    fake.add_checkin_response(user_id=seed.GRACE)
    assert [d.status for d in fake.deliveries] == [202, 202]
    ids = asset_event_ids(webhook_asset_name(channel))
    assert len(ids) == 2

    with consuming(monkeypatch, ids):
        run = run_dag(dag)
    _assert_one_message_per_blocker(fake, run, {"Margaret Hamilton": [seed.DESIGN_TEAM]})
    assert xcom(run, "find_blockers")[0]["target_teams"] == [seed.DESIGN_TEAM]
