"""Two create tasks on one channel at once, through a real executor, then deliveries through both (issue 13, item 5).

Real processes on 127.0.0.1: api-server (with the receiver), scheduler (LocalExecutor) and
dag-processor, on a PostgreSQL database of the test's own; the fake DailyBot in this process. A DAG
has two independent create tasks on channel ``checkins``. The fake holds each create request until
both have arrived, so the two tasks are provably inside DailyBot's create call at the same moment,
and both then record their subscriptions within milliseconds of each other (0.1's read-modify-write
of the one channel document could drop one of the two secret hashes right there).

Afterwards DailyBot delivers an event through both subscriptions: both deliveries must be accepted
(202), which they are only if the channel accepts both secrets; the state in the database holds two
change records and both subscriptions.
"""

from __future__ import annotations

import json
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dailybot.testing.airflow_components import airflow_command, airflow_environment
from airflow_provider_dailybot.testing.processes import ProcessGroup, free_port, wait_for, wait_for_http
from airflow_provider_dailybot.testing.server import FakeDailyBotServer
from airflow_provider_dailybot.testing.wire import Request
from airflow_provider_dailybot.webhooks.channels import (
    ChannelState,
    record_key_prefix,
    state_from_variables,
    variable_key,
)
from tests.conftest import require_service

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(420)]

CHANNEL = "checkins"
CHECKIN = "followups.response.completed"
DAG_ID = "dailybot_state_two_creates"
CREATES = ("create_first", "create_second")
API_KEY = "sk-state-e2e-" + uuid.uuid4().hex[:8]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))

DAG_FILE = textwrap.dedent(
    f"""
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    from airflow_provider_dailybot.operators.webhook_subscription import DailyBotCreateWebhookSubscriptionOperator
    from airflow_provider_dailybot.webhooks.assets import dailybot_webhook_asset

    with DAG({DAG_ID!r}, schedule=None, catchup=False):
        for task_id in {list(CREATES)!r}:  # no dependency: the executor runs them at the same time
            DailyBotCreateWebhookSubscriptionOperator(task_id=task_id, channel={CHANNEL!r}, events=[{CHECKIN!r}])

    with DAG("dailybot_state_consumer", schedule=[dailybot_webhook_asset({CHANNEL!r})], catchup=False):
        EmptyOperator(task_id="noop")  # declares the channel's asset, so the receiver records deliveries
    """
)


class MeetingDailyBot(FakeDailyBotServer):
    """The fake DailyBot, holding every subscription create until ``parties`` of them are in flight at once."""

    def __init__(self, parties: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.meeting = threading.Barrier(parties, timeout=120)
        self.met = threading.Event()

    def _handle(self, request: Request) -> Any:
        if request.method == "POST" and request.path.rstrip("/") == "/v1/webhook-subscription":
            self.meeting.wait()  # raises BrokenBarrierError (a 500) if the other create never comes
            self.met.set()
        return super()._handle(request)


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database of this test's own (dropped afterwards); yields its SQLAlchemy URL."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    pytest.importorskip("asyncpg", reason="the api-server opens an async engine too: pip install asyncpg")
    import psycopg2

    database = f"dailybot_state_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{database}"')
    try:
        yield database
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()


def query(database: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    import psycopg2

    with psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=database) as conn:
        cur = conn.cursor()
        cur.execute(sql, params)
        return list(cur.fetchall())


def stored_state(database: str, fernet_key: str) -> tuple[ChannelState | None, list[str]]:
    """The channel's state as stored (decrypted with the stack's Fernet key, merged), and its Variable keys."""
    from cryptography.fernet import Fernet

    fernet = Fernet(fernet_key.encode())
    rows = query(database, "SELECT key, val, is_encrypted FROM variable WHERE key LIKE %s ORDER BY key",
                 variable_key(CHANNEL) + "%")  # fmt: skip
    values = {key: fernet.decrypt(val.encode()).decode() if encrypted else val for key, val, encrypted in rows}
    return state_from_variables(CHANNEL, values), sorted(values)


def test_two_creates_at_once_on_one_channel_both_deliver(tmp_path: Path, postgres_database: str) -> None:
    started = time.monotonic()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "two_creates.py").write_text(DAG_FILE)

    with MeetingDailyBot(len(CREATES), api_key=API_KEY) as fake:
        connection = {"conn_type": "dailybot", "host": fake.base_url, "password": API_KEY}
        env = airflow_environment(
            tmp_path, port, sql_alchemy_conn=f"postgresql+psycopg2://postgres@127.0.0.1:5432/{postgres_database}",
            dags_folder=dags,
            extra={"AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                   "AIRFLOW_CONN_DAILYBOT_DEFAULT": json.dumps(connection)},
        )  # fmt: skip
        stack = ProcessGroup(tmp_path / "logs", env)
        try:
            stack.run("migrate", [AIRFLOW, "db", "migrate"], timeout=240)
            for component in ("api-server", "scheduler", "dag-processor"):
                stack.start(component, airflow_command(component, port=port))
            wait_for_http(f"{base_url}/dailybot/health", timeout=120, process=stack)
            wait_for(
                "the dag-processor to declare the channel's asset and the DAG",
                lambda: (
                    query(postgres_database, "SELECT 1 FROM asset_active WHERE name = 'dailybot_checkins'")
                    and query(postgres_database, "SELECT 1 FROM dag WHERE dag_id = %s AND NOT is_paused", DAG_ID)
                ),
                timeout=120,
                process=stack,
            )
            stack.run("trigger", [AIRFLOW, "dags", "trigger", DAG_ID], timeout=120)

            def finished() -> list[tuple[Any, ...]]:
                return query(
                    postgres_database,
                    "SELECT state FROM dag_run WHERE dag_id = %s AND state IN ('success', 'failed')",
                    DAG_ID,
                )

            ((run_state,),) = wait_for("the DAG run to finish", finished, timeout=240, process=stack)
            tasks = dict(query(postgres_database, "SELECT task_id, state FROM task_instance WHERE dag_id = %s", DAG_ID))
            assert run_state == "success", (tasks, stack.tail("scheduler"))
            assert fake.met.is_set(), "the two create calls were not in flight at the same time"

            # The two tasks overlapped in time: each was running while the other was.
            windows = query(
                postgres_database,
                "SELECT start_date, end_date FROM task_instance WHERE dag_id = %s ORDER BY start_date",
                DAG_ID,
            )
            assert len(windows) == 2
            assert windows[1][0] < windows[0][1], windows

            subscriptions = {s.id: s for s in fake.subscriptions}
            assert len(subscriptions) == 2
            samples = fake.wait_for_deliveries(2, timeout=60)
            assert sorted((a.hook_id, a.sample, a.status) for a in samples) == sorted(
                (hook_id, True, 202) for hook_id in subscriptions
            ), [(a.hook_id, a.status, a.error) for a in samples]

            # DailyBot delivers one event through both subscriptions, each with its own secret: both accepted.
            attempts = fake.emit(CHECKIN)
            assert sorted((a.hook_id, a.status) for a in attempts) == sorted((h, 202) for h in subscriptions), [
                (a.hook_id, a.status, a.error) for a in attempts
            ]

            state, keys = stored_state(postgres_database, env["AIRFLOW__CORE__FERNET_KEY"])
            assert state is not None
            assert sorted(state.secret_sha256) == sorted(s.bearer_sha256 for s in subscriptions.values())
            assert sorted((s.hook_id, s.secret_sha256) for s in state.subscriptions) == sorted(
                (s.id, s.bearer_sha256) for s in subscriptions.values()
            )
            records = [k for k in keys if k.startswith(record_key_prefix(CHANNEL) + "change.")]
            assert len(records) == 2, keys  # one change record per create task, each in a slot of its own
            assert variable_key(CHANNEL) not in keys  # the (0.1) base document is never written by operators
        finally:
            stack.stop()
            print(f"\nstate e2e wall time: {time.monotonic() - started:.1f} s")
    logs = "\n".join(p.read_text(errors="replace") for p in (tmp_path / "logs").rglob("*.log"))
    assert "Created DailyBot subscription" in logs  # the task logs are there ...
    assert API_KEY not in logs  # ... and the API key is not
