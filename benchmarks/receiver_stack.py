"""The receiver benchmark's throw-away Airflow: database, consumer DAGs, channel, the peer, the api-server.

One stack serves the three recording targets of :mod:`benchmarks.bench_receiver` on one api-server and
one database:

- ours: ``POST /dailybot/webhooks/bench`` (channel ``bench``, asset ``dailybot_bench``);
- the peer, ``airflow-provider-inbound-webhooks`` configured for DailyBot: connection
  ``webhook_dailybot`` of type ``inbound_webhook`` with ``token_header`` on ``X-BEARER`` (the same
  secret, header and bodies as ours), served on ``POST /webhooks/dailybot`` and recording on the asset
  ``dailybot/<event>``; its table is created by ``airflow db migrate`` through its DB manager;
- Airflow's own ``POST /api/v2/assets/events`` (asset ``dailybot_benchrest``).

The peer is not installed into the virtualenv (its plugin, provider and cluster policy would then load
in every Airflow process of the test suite): ``make bench`` installs it into a folder of its own
(``DAILYBOT_BENCH_PEER_PATH``, by default ``<venv>/bench-peer``) that only the stack's processes get on
their ``PYTHONPATH``. Without it the peer's columns are left out and the report says so.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import secrets
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from airflow_provider_dailybot.testing.airflow_components import AirflowComponent, airflow_environment
from airflow_provider_dailybot.testing.processes import (
    LOOPBACK,
    ManagedProcess,
    free_port,
    port_open,
    run_command,
    wait_for_http,
)
from benchmarks.common import REPO_ROOT, clean_env

CHANNEL = "bench"
REST_CHANNEL = "benchrest"
EVENT = "followups.response.completed"
HOOK_ID = "bench-hook"
PEER_DISTRIBUTION = "airflow-provider-inbound-webhooks"
PEER_PATH_VARIABLE = "DAILYBOT_BENCH_PEER_PATH"
PEER_WEBHOOK = "dailybot"
PEER_ASSET = f"{PEER_WEBHOOK}/{EVENT}"  # the name the peer offers for a delivery without a path
#: The peer's connection extra for DailyBot: the secret in X-BEARER, the event name in ``event``; the
#: hook id stands in for a delivery id (the peer's duplicate key is webhook + delivery id + body SHA-256,
#: and it detects no duplicate without a delivery id; ``event_timestamp`` is a float, which it refuses).
PEER_CONNECTION_EXTRA = {"source_type": "token_header", "token_header": "X-BEARER", "event_field": "event",
                         "delivery_id_field": "hook.id"}  # fmt: skip
PEER_DB_MANAGER = "airflow_inbound_webhooks.db.WebhooksDBManager"
OUR_DB_MANAGER = "airflow_provider_dailybot.store.db_manager.DailyBotDBManager"  # store.DB_MANAGER, spelled out: the
# benchmark also runs against checkouts whose package has no store
PEER_TABLE = "inbound_webhooks_delivery"
PREFILL_HOOK = "busy-hook"  # the hook id of the prefilled deliveries
PREFILL_SENTINEL = "<g>"  # stands for the event timestamp in the prefilled identity
OUR_TABLE = "dailybot_delivery"
PG_DSN_VARIABLE = "DAILYBOT_BENCH_PG_DSN"
PG_HOST, PG_PORT = "127.0.0.1", 5432
POOL_SIZE = 15  # the api-server's connections to PostgreSQL (Airflow's default pool_size + max_overflow)

CONSUMER_DAGS = f'''
"""Consumers of the benchmark's three assets (they declare the assets; no scheduler runs them)."""
import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset

from airflow_provider_dailybot.webhooks.assets import dailybot_webhook_asset

START = pendulum.datetime(2026, 1, 1, tz="UTC")
for dag_id, asset in (("consume_{CHANNEL}", dailybot_webhook_asset("{CHANNEL}")),
                      ("consume_{REST_CHANNEL}", dailybot_webhook_asset("{REST_CHANNEL}")),
                      ("consume_peer", Asset("{PEER_ASSET}"))):
    with DAG(dag_id=dag_id, schedule=[asset], start_date=START, catchup=False):
        EmptyOperator(task_id="noop")
'''

# Runs inside the stack's environment: parse the DAGs folder into the DB (which activates the assets),
# unpause, store our channel and the peer's connection (in the DB, as a deployment would).
DECLARE = """
import json, os, sys
from airflow.dag_processing.bundles.manager import DagBundlesManager
from airflow.dag_processing.collection import update_dag_parsing_results_in_db
from airflow.models.connection import Connection
from airflow.models.dag import DagModel
from airflow.serialization.serialized_objects import LazyDeserializedDAG
from airflow.utils.session import create_session
from sqlalchemy import update
try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:
    from airflow.models.dagbag import DagBag
from airflow_provider_dailybot.webhooks.channels import ChannelState, MetadataChannelStore

bag = DagBag()
assert not bag.import_errors, bag.import_errors
assert len(bag.dags) == 3, sorted(bag.dags)
with create_session() as session:
    DagBundlesManager().sync_bundles_to_db(session=session)
    session.commit()
    update_dag_parsing_results_in_db("dags-folder", None, [LazyDeserializedDAG.from_dag(d) for d in bag.dags.values()],
                                     {}, None, set(), session=session)
with create_session() as session:
    session.execute(update(DagModel).where(DagModel.dag_id.in_(list(bag.dags))).values(is_paused=False))
    session.add(Connection(conn_id=sys.argv[3], conn_type="inbound_webhook", password=os.environ["BENCH_SECRET"],
                           extra=sys.argv[4]))
state = ChannelState(channel=sys.argv[1])
state.add_secret_hash(sys.argv[2])
MetadataChannelStore().save(state)
print("declared", sorted(bag.dags))
"""


# -- the peer --------------------------------------------------------------------------------------
def peer_path() -> Path | None:
    """Return the folder the peer is installed in (``DAILYBOT_BENCH_PEER_PATH`` or ``<venv>/bench-peer``), or None."""
    configured = os.environ.get(PEER_PATH_VARIABLE)
    folder = Path(configured) if configured else Path(sys.prefix) / "bench-peer"
    return folder if (folder / "airflow_inbound_webhooks").is_dir() else None


def peer_version(folder: Path) -> str | None:
    """Return the version of the peer installed in ``folder``."""
    for dist in importlib.metadata.distributions(path=[str(folder)]):
        if dist.metadata["Name"] == PEER_DISTRIBUTION:
            return str(dist.version)
    return None


def has_our_store() -> bool:
    """Return whether this checkout has the provider's own delivery store (issue 13)."""
    package = importlib.util.find_spec("airflow_provider_dailybot")  # without importing Airflow or the store
    if package is None or package.origin is None:
        return False
    return (Path(package.origin).parent / "store" / "db_manager.py").is_file()


# -- databases -------------------------------------------------------------------------------------
@dataclass
class Database:
    """A metadata database for one stack.

    :param kind: ``"sqlite"`` or ``"postgresql"``.
    :param url: SQLAlchemy URL given to Airflow.
    :param label: How the tables name it.
    """

    kind: str
    url: str
    label: str

    @property
    def name(self) -> str | None:
        """The PostgreSQL database name (whose backends the CPU meter counts); None for SQLite."""
        return self.url.rsplit("/", 1)[-1].split("?", 1)[0] if self.kind == "postgresql" else None

    def connect(self) -> Any:
        """Return a DB-API connection (sqlite3 or psycopg2)."""
        if self.kind == "sqlite":
            import sqlite3

            return sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=30)
        import psycopg2

        return psycopg2.connect(self.url.replace("postgresql+psycopg2://", "postgresql://", 1))

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one query and return its rows."""
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []
        finally:
            conn.close()

    def events_per_asset(self) -> dict[str, int]:
        """Return the number of ``asset_event`` rows of each asset, by asset name."""
        rows = self.query("SELECT a.name, count(e.id) FROM asset a LEFT JOIN asset_event e ON e.asset_id = a.id "
                          "GROUP BY a.name")  # fmt: skip
        return {str(name): int(count) for name, count in rows}

    def columns(self, table: str) -> dict[str, str]:
        """Return the columns of a PostgreSQL table (name -> type), empty when it does not exist."""
        rows = self.query("SELECT column_name, udt_name FROM information_schema.columns "
                          "WHERE table_schema = current_schema() AND table_name = %s", (table,))  # fmt: skip
        return {str(name): str(kind) for name, kind in rows}

    def prefill_ours(self, count: int, channel: str = CHANNEL) -> dict[str, int]:
        """Store ``count`` recorded deliveries of ``channel`` with SQL (PostgreSQL only), timestamp now.

        Delivery ``g`` (1 .. ``count``) is :func:`prefill_envelope` ``(g)``: an asset event of the channel's
        asset with the receiver's ``extra`` (what the 0.1 receiver scans) and, when the provider's
        ``dailybot_delivery`` table exists, its delivery row, whose dedupe key is the one the receiver
        computes for that envelope (a replay of it is a duplicate). Their ``event_timestamp`` is ``g``
        seconds after the epoch, so no delivery stamped with a current time can share a key with them.
        """
        from airflow_provider_dailybot.webhooks.asset_events import delivery_identity

        envelope = prefill_envelope(0)
        template = {"channel": channel, "event": EVENT, "hook": envelope["hook"], "body": envelope["body"],
                    "delivered_by": [PREFILL_HOOK]}  # fmt: skip
        # The canonical identity of envelope g is prefix || g || suffix: hashed on the server.
        prefix, suffix = delivery_identity({**envelope, "event_timestamp": PREFILL_SENTINEL}).split(
            json.dumps(PREFILL_SENTINEL)
        )
        identity = "%(key_prefix)s::text || g::text || %(key_suffix)s::text"
        keys = ("jsonb_build_object('delivery_id', gen_random_uuid()::text, 'dedupe_key', "
                f"encode(sha256(convert_to({identity}, 'UTF8')), 'hex'), 'event_timestamp', g)")  # fmt: skip
        payload_bytes = len(json.dumps(envelope).encode())
        delivery = {
            "delivery_id": "extra->>'delivery_id'", "channel": "%(channel)s", "dedupe_key": "extra->>'dedupe_key'",
            "event": "%(event)s", "event_timestamp": "extra->>'event_timestamp'", "hook_id": f"'{PREFILL_HOOK}'",
            "deliveries": "%(deliveries)s", "received_at": "now()", "outcome": "'recorded'",
            "asset_event_id": "id", "recorded_at": "now()", "payload": "NULL", "payload_bytes": str(payload_bytes),
        }  # fmt: skip
        table = self.columns(OUR_TABLE)
        params = {
            "channel": channel,
            "event": EVENT,
            "deliveries": json.dumps([{"hook_id": PREFILL_HOOK, "secret_ref": None, "hook_id_mismatch": False}]),
            "key_prefix": prefix,
            "key_suffix": suffix,
        }
        insert_rows = ""
        if table:
            names = [name for name in delivery if name in table]
            values = [_cast(delivery[name], table[name]) for name in names]
            insert_rows = f"INSERT INTO {OUR_TABLE} ({', '.join(names)}) SELECT {', '.join(values)} FROM ev"
        self._prefill_events(f"dailybot_{channel}", template, keys, count, insert_rows, params)
        return {"asset_event": count, OUR_TABLE: count if table else 0}

    def prefill_peer(self, count: int) -> dict[str, int]:
        """Store ``count`` accepted deliveries of the peer's webhook with SQL: asset events and delivery rows."""
        from airflow_provider_dailybot.testing.samples import make_envelope

        envelope = make_envelope(EVENT, hook_id="busy-hook", hook_name="busy", timestamp=0.0)
        template = {"from_webhook": True, "webhook": PEER_WEBHOOK, "source_type": "token_header",
                    "source": PEER_WEBHOOK, "path": None, "delivery_id": "busy-hook", "correlation_key": None,
                    "payload": envelope, "payload_truncated": False}  # fmt: skip
        keys = "jsonb_build_object('inbound_delivery_id', gen_random_uuid()::text, 'n', g)"
        table = self.columns(PEER_TABLE)
        row = {
            "id": "extra->>'inbound_delivery_id'", "webhook": f"'{PEER_WEBHOOK}'", "delivery_id": "'busy-hook'",
            "body_digest": "encode(sha256(('peer-busy-' || (extra->>'n'))::bytea), 'hex')", "received_at": "now()",
            "source_type": "'token_header'", "path": "NULL", "candidates": "%(candidates)s",
            "asset_events": f"json_build_object('{PEER_ASSET}', id)", "correlation_key": "NULL",
            "outcome": "'accepted'", "team_name": "NULL", "payload": "%(payload)s",
        }  # fmt: skip
        names = [name for name in row if name in table]
        values = [_cast(row[name], table[name]) for name in names]
        insert_rows = f"INSERT INTO {PEER_TABLE} ({', '.join(names)}) SELECT {', '.join(values)} FROM ev"
        params = {"candidates": json.dumps([PEER_ASSET]), "payload": json.dumps(envelope)}
        self._prefill_events(PEER_ASSET, template, keys, count, insert_rows, params)
        return {"asset_event": count, PEER_TABLE: count}

    def _prefill_events(self, asset_name: str, template: dict[str, Any], keys: str, count: int, insert_rows: str,
                        params: dict[str, Any]) -> None:  # fmt: skip
        """Insert ``count`` asset events (``template`` merged with ``keys``, SQL of ``g``), then ``insert_rows``.

        Batches of 10,000, each one statement generated by the server, so nothing crosses the socket per row.
        """
        extra_type = self.columns("asset_event")["extra"]
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute("SELECT id FROM asset WHERE name = %s", (asset_name,))
            (asset_id,) = cur.fetchone()
            for first in range(1, count + 1, 10_000):
                last = min(count, first + 9_999)
                events = (f"INSERT INTO asset_event (asset_id, extra, timestamp) SELECT %(asset_id)s, "
                          f"(%(template)s::jsonb || {keys})::{extra_type}, now() "
                          "FROM generate_series(%(first)s, %(last)s) AS g "
                          "RETURNING id, extra::jsonb AS extra")  # fmt: skip
                sql = f"WITH ev AS ({events}) {insert_rows}" if insert_rows else events
                cur.execute(sql, {**params, "asset_id": asset_id, "template": json.dumps(template),
                                  "first": first, "last": last})  # fmt: skip
                conn.commit()
            conn.autocommit = True
            for table in ("asset_event", OUR_TABLE, PEER_TABLE):
                if self.columns(table):
                    cur.execute(f"ANALYZE {table}")
        finally:
            conn.close()


def prefill_envelope(number: int) -> dict[str, Any]:
    """Return the envelope of prefilled delivery ``number`` (:meth:`Database.prefill_ours`), as DailyBot would POST it.

    :param number: 1 .. the count prefilled; its ``event_timestamp``, in whole seconds after the epoch.
    """
    from airflow_provider_dailybot.testing.samples import make_envelope

    return {**make_envelope(EVENT, hook_id=PREFILL_HOOK, hook_name="busy", timestamp=0.0), "event_timestamp": number}


def _cast(expression: str, udt: str) -> str:
    """Return ``expression`` cast to a column's type when that is JSON (text parameters otherwise fit)."""
    return f"({expression})::{udt}" if udt in ("json", "jsonb") else expression


def postgres_available() -> tuple[bool, str]:
    """Return whether the PostgreSQL part can run and, if not, why."""
    missing = [m for m in ("psycopg2", "asyncpg") if importlib.util.find_spec(m) is None]
    if missing:
        return False, f"skipped: {' and '.join(missing)} not installed (the api-server needs both on PostgreSQL)"
    if os.environ.get(PG_DSN_VARIABLE):
        return True, f"{PG_DSN_VARIABLE}"
    if port_open(PG_HOST, PG_PORT):
        return True, f"database created on {PG_HOST}:{PG_PORT}"
    return False, f"skipped: no PostgreSQL server answers on {PG_HOST}:{PG_PORT} and {PG_DSN_VARIABLE} is not set"


@contextlib.contextmanager
def postgres_database() -> Iterator[Database]:
    """Yield the PostgreSQL database of the run: the DSN setting, or a database created (and dropped) here."""
    dsn = os.environ.get(PG_DSN_VARIABLE)
    if dsn:
        yield Database("postgresql", dsn, f"PostgreSQL ({PG_DSN_VARIABLE})")
        return
    import psycopg2

    name = f"dailybot_bench_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host=PG_HOST, port=PG_PORT, user="postgres", dbname="postgres")
    admin.autocommit = True
    try:
        admin.cursor().execute(f'CREATE DATABASE "{name}"')
        cur = admin.cursor()
        cur.execute("SHOW server_version")
        version = cur.fetchone()[0]
        try:
            yield Database("postgresql", f"postgresql+psycopg2://postgres@{PG_HOST}:{PG_PORT}/{name}",
                           f"PostgreSQL {version}")  # fmt: skip
        finally:
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


# -- the Airflow stack -----------------------------------------------------------------------------
class ApiServerStack:
    """A throw-away Airflow (home, DB, DAGs, channel, peer connection) and its api-server on 127.0.0.1.

    :param home: The ``AIRFLOW_HOME`` (also holds the logs).
    :param database: The metadata database.
    :param workers: api-server worker processes.
    :param peer: The folder the peer is installed in, or None to leave it out.
    """

    def __init__(self, home: Path, database: Database, workers: int, peer: Path | None) -> None:
        self.home = home
        self.database = database
        self.workers = workers
        self.peer = peer
        self.port = free_port()
        self.base_url = f"http://{LOOPBACK}:{self.port}"
        self.secret = secrets.token_urlsafe(32)
        dags = home / "dags"
        dags.mkdir(parents=True, exist_ok=True)
        (dags / "bench_consumers.py").write_text(CONSUMER_DAGS)
        base = clean_env()
        extra = {"AIRFLOW__CORE__FERNET_KEY": ""}  # the channel's Variable unencrypted, as measured so far
        if database.kind == "postgresql":
            # Airflow's default of 5 + 10 overflow connections, kept open: an overflow connection closed when a
            # load ends would take its backend's CPU with it, unseen by the CPU meter.
            extra["AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE"] = str(POOL_SIZE)
            extra["AIRFLOW__DATABASE__SQL_ALCHEMY_MAX_OVERFLOW"] = "0"
        managers = [OUR_DB_MANAGER] if has_our_store() else []
        if peer is not None:
            base["PYTHONPATH"] = os.pathsep.join(filter(None, [base.get("PYTHONPATH"), str(peer)]))
            extra["AIRFLOW__INBOUND_WEBHOOKS__WEBHOOK_NAMES"] = PEER_WEBHOOK
            managers.append(PEER_DB_MANAGER)
        if managers:  # what Airflow 3.1 needs; 3.2+ also find them in the provider info
            extra["AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS"] = ",".join(managers)
        self.env = airflow_environment(home, self.port, sql_alchemy_conn=database.url, dags_folder=dags, base=base,
                                       extra=extra)  # fmt: skip

    def log(self, name: str) -> Path:
        """Return the log file of a step or process."""
        return self.home / f"{name}.log"

    def prepare(self) -> None:
        """Migrate the DB, write the consumer DAGs into it, store the channel and the peer's connection."""
        airflow = str(Path(sys.executable).with_name("airflow"))
        run_command([airflow, "db", "migrate"], env=self.env, log_path=self.log("db-migrate"), timeout=300,
                    cwd=REPO_ROOT, name="airflow db migrate")  # fmt: skip
        secret_hash = hashlib.sha256(self.secret.encode()).hexdigest()
        args = [CHANNEL, secret_hash, f"webhook_{PEER_WEBHOOK}", json.dumps(PEER_CONNECTION_EXTRA)]
        run_command([sys.executable, "-c", DECLARE, *args], env={**self.env, "BENCH_SECRET": self.secret},
                    log_path=self.log("declare"), timeout=120, cwd=REPO_ROOT,
                    name="declaring the DAGs, the channel and the peer's connection")  # fmt: skip

    @contextlib.contextmanager
    def serving(self) -> Iterator[ManagedProcess]:
        """Run the api-server for the duration of the ``with`` block; yield its process."""
        with AirflowComponent("api-server", env=self.env, log_path=self.log("api-server"), port=self.port,
                              workers=self.workers, cwd=REPO_ROOT) as server:  # fmt: skip
            wait_for_http(f"{self.base_url}/dailybot/health", timeout=180, process=server, interval=0.5,
                          accept=lambda body: json.loads(body) == {"status": "ok"})  # fmt: skip
            if self.peer is not None:
                wait_for_http(f"{self.base_url}/webhooks/_health", timeout=30, process=server, interval=0.5)
            yield server

    def token(self) -> str:
        """Return a JWT of the simple auth manager (all users are admins in this stack)."""
        answer = requests.get(f"{self.base_url}/auth/token", timeout=30)
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def asset_id(self, token: str, name: str) -> int:
        """Return the id of the asset called ``name`` through the public REST API."""
        answer = requests.get(f"{self.base_url}/api/v2/assets", params={"name_pattern": name},
                              headers={"Authorization": f"Bearer {token}"}, timeout=30)  # fmt: skip
        answer.raise_for_status()
        (asset,) = [a for a in answer.json()["assets"] if a["name"] == name]
        return int(asset["id"])
