"""The receiver in a real api-server on PostgreSQL reached through a TCP proxy the test cuts and restores.

One PostgreSQL database of its own per module (created, migrated with ``airflow db migrate`` through
the delivery store's DB manager, dropped at the end), one api-server worker, the consumer DAGs parsed
by ``airflow dags reserialize``. Before the api-server starts the database is made to look like a
0.1 receiver's (store migrated away, a delivery recorded as 0.1 recorded it) and migrated again, so
the upgrade's backfill runs as it would for a user.

* An unreachable database is answered 503 with ``Retry-After`` and records nothing; afterwards every
  delivery that got 202 is in the table exactly once, and none that only got 503 is.
* A delivery recorded by 0.1 and repeated after the upgrade is a duplicate.
* Two replays at once record every waiting delivery exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from airflow_provider_dailybot.testing.airflow_components import AirflowComponent, airflow_environment
from airflow_provider_dailybot.testing.processes import free_port, run_command, wait_for_http
from airflow_provider_dailybot.testing.samples import make_envelope
from airflow_provider_dailybot.webhooks.asset_events import delivery_dedupe_key
from airflow_provider_dailybot.webhooks.channels import generate_secret
from tests.conftest import REPO_ROOT, require_service
from tests.e2e.receiver.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(900)]

PG_HOST, PG_PORT = "127.0.0.1", 5432
CHECKIN = "followups.response.completed"
RETRY_AFTER = "7"
#: Channels and their consumer DAG (the replay channel's is paused by the test until it replays).
CHANNELS = ("upgrade", "outage", "replay")
DAGS = """
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

from airflow_provider_dailybot.webhooks.assets import dailybot_webhook_asset

for channel in {channels!r}:
    with DAG(dag_id=f"consume_{{channel}}", schedule=[dailybot_webhook_asset(channel)], catchup=False):
        EmptyOperator(task_id="noop")
"""


def envelope(n: int, hook_id: str = "hook-1") -> dict[str, Any]:
    return make_envelope(CHECKIN, hook_id=hook_id, hook_name="Airflow", timestamp=1_800_000_000.0 + n)


@dataclass
class Stack:
    """The module's database, proxy, api-server and channel secrets."""

    home: Path
    env: dict[str, str]
    db: Engine
    proxy: TcpProxy
    base_url: str
    secrets: dict[str, str]
    upgraded: dict[str, Any]
    api: AirflowComponent

    def post(self, channel: str, payload: dict[str, Any], *, bearer: str | None = None) -> requests.Response:
        return requests.post(
            f"{self.base_url}/dailybot/webhooks/{channel}",
            headers={"X-BEARER": bearer or self.secrets[channel]},
            json=payload,
            timeout=30,
        )

    def step(self, name: str, **env: str) -> Any:
        """Run a step of ``pg_steps`` with the api-server's environment; return its JSON output."""
        done = subprocess.run(
            [sys.executable, "-m", "tests.e2e.receiver.pg_steps", name],
            env={**self.env, **env},
            cwd=REPO_ROOT,
            capture_output=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
        return json.loads(done.stdout.decode().strip().splitlines()[-1])

    def query(self, sql: str, **params: Any) -> list[Any]:
        with self.db.connect() as conn:
            return list(conn.execute(text(sql), params))


def _run(stack_env: dict[str, str], home: Path, name: str, *args: str) -> None:
    airflow = str(Path(sys.executable).with_name("airflow"))
    run_command([airflow, *args], env=stack_env, log_path=home / f"{name}.log", timeout=600)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_service("PostgreSQL", PG_HOST, PG_PORT)
    home = tmp_path_factory.mktemp("receiver-pg")
    name = f"dailybot_e2e_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"postgresql+psycopg2://postgres@{PG_HOST}:{PG_PORT}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = create_engine(f"postgresql+psycopg2://postgres@{PG_HOST}:{PG_PORT}/{name}")
    proxy = TcpProxy(PG_HOST, PG_PORT).start()
    dags = home / "dags"
    dags.mkdir()
    (dags / "consumers.py").write_text(DAGS.format(channels=CHANNELS))
    port = free_port()
    env = airflow_environment(
        home,
        port,
        sql_alchemy_conn=f"postgresql+psycopg2://postgres@127.0.0.1:{proxy.port}/{name}",
        dags_folder=dags,
        extra={
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__DAILYBOT__RECEIVER_RETRY_AFTER_SECONDS": RETRY_AFTER,
            "PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p),
        },
    )
    api = AirflowComponent("api-server", env=env, log_path=home / "api-server.log", port=port)
    try:
        _run(env, home, "migrate", "db", "migrate")
        _run(env, home, "reserialize", "dags", "reserialize")
        secrets = {channel: generate_secret() for channel in CHANNELS}
        partial = Stack(home, env, db, proxy, f"http://127.0.0.1:{port}", secrets, {}, api)
        old = envelope(0, hook_id="hook-01")
        upgraded = partial.step(
            "as-0.1", E2E_CHANNELS=json.dumps(secrets), E2E_CHANNEL="upgrade", E2E_ENVELOPE=json.dumps(old)
        )
        assert partial.query("SELECT to_regclass('dailybot_delivery')") == [(None,)]  # as before 0.2
        _run(env, home, "migrate-again", "db", "migrate")  # the upgrade: creates the table, backfills
        partial.upgraded = {**upgraded, "envelope": old}
        api.start()
        wait_for_http(f"{partial.base_url}/dailybot/health", timeout=180, process=api)
        yield partial
    finally:
        api.stop()
        proxy.close()
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_delivery_recorded_by_0_1_is_a_duplicate_after_the_upgrade(stack: Stack) -> None:
    old = stack.upgraded["envelope"]
    again = {**old, "hook": {"id": "hook-02", "name": "Airflow"}}  # the other subscription of a rotation
    answer = stack.post("upgrade", again)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"delivery_id": stack.upgraded["delivery_id"], "duplicate": True, "outcome": "duplicate"}
    ((extra,),) = stack.query(
        "SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.name = 'dailybot_upgrade'"
    )
    extra = json.loads(extra) if isinstance(extra, str) else extra
    assert extra["delivered_by"] == ["hook-01", "hook-02"]  # merged into the 0.1 event, read by the sensor


def test_an_unreachable_database_is_503_and_no_acknowledged_delivery_is_lost(stack: Stack) -> None:
    answers: dict[str, list[tuple[int, dict[str, Any]]]] = {}  # dedupe key -> answers

    def send(n: int) -> requests.Response:
        payload = envelope(100 + n)
        response = stack.post("outage", payload)
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        answers.setdefault(delivery_dedupe_key(payload), []).append((response.status_code, body))
        return response

    before = [send(n) for n in range(5)]
    assert [r.status_code for r in before] == [202] * 5

    stack.proxy.cut()
    during = [send(n) for n in range(5, 10)] + [send(0)]  # new ones and a repeat of an acknowledged one
    time.sleep(5.5)  # past [dailybot] receiver_state_cache_seconds: the channel state must be read now
    during += [send(n) for n in range(10, 12)]
    assert {r.status_code for r in during} == {503}, [r.text for r in during]
    assert {r.headers.get("retry-after") for r in during} == {RETRY_AFTER}

    stack.proxy.restore()
    after = [send(n) for n in range(12, 15)] + [send(n) for n in range(5, 8)]  # new ones, and retries of 503s
    assert [r.status_code for r in after] == [202] * 6, [r.text for r in after]

    stored = {
        key: (delivery_id, outcome, event_id)
        for key, delivery_id, outcome, event_id in stack.query(
            "SELECT dedupe_key, delivery_id, outcome, asset_event_id FROM dailybot_delivery WHERE channel = 'outage'"
        )
    }
    acknowledged = {key: [b for s, b in got if s == 202] for key, got in answers.items()}
    for key, bodies in acknowledged.items():
        if bodies:
            assert key in stored, "a delivery answered 202 is missing"
            assert {b["delivery_id"] for b in bodies} == {stored[key][0]}
            assert stored[key][1] == "recorded"
        else:
            assert key not in stored, "a delivery answered only 503 was recorded"
    assert len(stored) == sum(1 for bodies in acknowledged.values() if bodies)  # once each (unique key)
    ((events,),) = stack.query(
        "SELECT count(*) FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.name = 'dailybot_outage'"
    )
    assert events == len(stored)
    logged = stack.home.joinpath("api-server.log").read_text(errors="replace")
    assert logged.count("the metadata database is unavailable") == 1  # one line per minute
    assert all(secret not in logged for secret in stack.secrets.values())


def test_two_replays_at_once_record_each_waiting_delivery_once(stack: Stack) -> None:
    with stack.db.begin() as conn:
        conn.execute(text("UPDATE dag SET is_paused = true WHERE dag_id = 'consume_replay'"))
    ids = []
    for n in range(40):
        answer = stack.post("replay", envelope(1000 + n))
        assert answer.json()["outcome"] == "no_consumer", answer.text
        ids.append(answer.json()["delivery_id"])
    with stack.db.begin() as conn:
        conn.execute(text("UPDATE dag SET is_paused = false WHERE dag_id = 'consume_replay'"))

    command = [sys.executable, "-m", "tests.e2e.receiver.pg_steps", "replay"]
    env = {**stack.env, "E2E_CHANNEL": "replay"}
    replays = [
        subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in replays]
    assert [p.returncode for p in replays] == [0, 0], [err.decode()[-2000:] for _, err in outputs]
    first, second = (json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs)

    assert sorted(first + second) == sorted(ids)  # every one, by one replay only
    ((events,),) = stack.query(
        "SELECT count(*) FROM asset_event e JOIN asset a ON a.id = e.asset_id WHERE a.name = 'dailybot_replay'"
    )
    assert events == len(ids)
    assert stack.query(
        "SELECT outcome, count(*), count(payload) FROM dailybot_delivery WHERE channel = 'replay' GROUP BY outcome"
    ) == [("recorded", len(ids), 0)]
