"""Secrets audit: run the demo scenario with a recognisable API key, then search everything it left.

``python -m demo`` runs the example DAGs on real Airflow processes (api-server with the receiver,
scheduler, dag-processor, triggerer; LocalExecutor; sqlite) against the fake DailyBot. Its tasks
create subscriptions, and so their ``X-BEARER`` secrets. Those are generated inside task processes
and never leave them except toward DailyBot, so the audit learns each one's SHA-256 from the fake
DailyBot's state while the demo runs.

Afterwards it searches for the API key, and for any 43-character url-safe token whose SHA-256 is one
of those hashes, in:

* every file under the kept ``AIRFLOW_HOME``: process logs, task logs, the sqlite DB and its WAL, and
  the config;
* the demo's output and JSON report;
* a dump of every table of the metadata DB: XCom values, rendered template fields, the audit log,
  variables and connections. Fernet-encrypted cells are decrypted first, with the key of this run's
  own Airflow processes.

Zero hits are asserted. Positive controls show that the search would have found them: the scanner
finds a planted token, and the decrypted channel Variable holds the current bearer's hash.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_dailybot.webhooks.channels import state_from_variables
from tests.conftest import API_KEY as SUITE_API_KEY
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

#: The suite's key, made unique to this run so that nothing an earlier run left can match it.
API_KEY = f"{SUITE_API_KEY}-{uuid.uuid4().hex[:12]}"
TOKEN_LENGTH = 43  # secrets.token_urlsafe(32), what the create operator generates
URLSAFE_RUN = re.compile(rb"[A-Za-z0-9_-]{%d,}" % TOKEN_LENGTH)
FERNET_TOKEN = re.compile(r"^gAAAAA[A-Za-z0-9_=-]+$")
CHANNEL_VARIABLE = "dailybot_webhook_channel__checkins"


@dataclass
class Harvest:
    """What the audit learns while the demo runs: the fake's URL, every bearer's hash, the Fernet key."""

    home: Path
    fake_url: str | None = None
    bearer_sha256: dict[str, str] = field(default_factory=dict)  # hook id -> hash
    fernet_key: str | None = None

    def poll(self) -> None:
        if self.fake_url is None:
            log = self.home / "process-logs" / "fake-dailybot.log"
            match = re.search(r"listening on (\S+)", log.read_text()) if log.exists() else None
            self.fake_url = match.group(1).rstrip("/") if match else None
        if self.fake_url is not None:
            with contextlib.suppress(requests.RequestException, ValueError):
                state = requests.get(f"{self.fake_url}/_fake/state", headers={"X-API-KEY": API_KEY}, timeout=2).json()
                for sub in state["subscriptions"]:
                    if sub.get("bearer_sha256"):
                        self.bearer_sha256[sub["id"]] = sub["bearer_sha256"]
        if self.fernet_key is None:
            self.fernet_key = _fernet_key_of_this_run(self.home)


def _fernet_key_of_this_run(home: Path) -> str | None:
    """The Fernet key of the Airflow processes whose ``AIRFLOW_HOME`` is this test's folder (and only those)."""
    marker = f"AIRFLOW_HOME={home}".encode()
    for environ in Path("/proc").glob("[0-9]*/environ"):
        with contextlib.suppress(OSError):
            variables = environ.read_bytes().split(b"\0")
            if marker in variables:
                for variable in variables:
                    if variable.startswith(b"AIRFLOW__CORE__FERNET_KEY="):
                        return variable.split(b"=", 1)[1].decode()
    return None


def run_demo(home: Path, report_path: Path) -> tuple[subprocess.CompletedProcess[str], Harvest]:
    """Run ``python -m demo`` (the key through the environment, as ``make demo`` recommends) and harvest."""
    from airflow_provider_dailybot.testing.airflow_components import clean_environment

    harvest = Harvest(home=home)
    done = threading.Event()

    def poll_until_done() -> None:
        while not done.wait(0.2):
            harvest.poll()

    poller = threading.Thread(target=poll_until_done, daemon=True)
    poller.start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "demo", "--keep-home", str(home), "--report-json", str(report_path)],
            cwd=REPO_ROOT,
            env=clean_environment({"DAILYBOT_FAKE_API_KEY": API_KEY}),
            capture_output=True,
            text=True,
            timeout=280,
            check=False,
        )
    finally:
        done.set()
        poller.join(timeout=10)
    return result, harvest


# -- the search -------------------------------------------------------------------------------------
@dataclass
class Corpus:
    """Named byte strings to search."""

    items: list[tuple[str, bytes]] = field(default_factory=list)
    decrypted: int = 0
    cells: int = 0

    def add(self, where: str, data: bytes | str) -> None:
        self.items.append((where, data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data))


def find_secrets(corpus: Iterable[tuple[str, bytes]], literals: Iterable[str], token_hashes: set[str]) -> list[str]:
    """Return where a literal, or a token whose SHA-256 is in ``token_hashes``, occurs (also inside longer runs)."""
    hits = []
    needles = [literal.encode() for literal in literals if literal]
    for where, data in corpus:
        hits += [f"{where}: the literal {needle[:12]!r}…" for needle in needles if needle in data]
        for run in URLSAFE_RUN.finditer(data):
            text = run.group()
            for start in range(len(text) - TOKEN_LENGTH + 1):
                window = text[start : start + TOKEN_LENGTH]
                if hashlib.sha256(window).hexdigest() in token_hashes:
                    hits.append(f"{where}: a bearer secret at byte {run.start() + start}")
    return hits


def _cells(value: Any, fernet: Callable[[str], str | None]) -> Iterator[str]:
    if value is None:
        return
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    yield text
    if FERNET_TOKEN.match(text):
        plain = fernet(text)
        if plain is not None:
            yield plain


def dump_database(path: Path, fernet_key: str | None, corpus: Corpus) -> dict[str, list[dict[str, Any]]]:
    """Add every cell of every table (Fernet cells also decrypted) to the corpus; return the Variable rows."""
    from cryptography.fernet import Fernet, InvalidToken

    cipher = Fernet(fernet_key.encode()) if fernet_key else None

    def decrypt(token: str) -> str | None:
        if cipher is None:
            return None
        try:
            plain = cipher.decrypt(token.encode()).decode()
        except InvalidToken:
            return None
        corpus.decrypted += 1
        return plain

    variables: list[dict[str, Any]] = []
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cursor = db.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            lines = []
            for row in cursor:
                cells = [list(_cells(value, decrypt)) for value in row]
                corpus.cells += len(row)
                lines.append("\t".join(" | ".join(c) for c in cells))
                if table == "variable":
                    variables.append({col: (c[-1] if c else None) for col, c in zip(columns, cells, strict=True)})
            corpus.add(f"db table {table}", "\n".join(lines))
    return variables


# -- the test ---------------------------------------------------------------------------------------
def test_scanner_finds_a_planted_secret() -> None:
    """The search itself works: a token inside a longer url-safe run, and a literal, are found."""
    import secrets

    token = secrets.token_urlsafe(32)
    corpus = [("log", f"x=abc{token}def y".encode()), ("other", b"nothing here")]
    hits = find_secrets(corpus, [API_KEY], {hashlib.sha256(token.encode()).hexdigest()})
    assert hits == ["log: a bearer secret at byte 5"]
    assert find_secrets([("out", f"key {API_KEY}".encode())], [API_KEY], set()) == [
        f"out: the literal {API_KEY[:12].encode()!r}…"
    ]


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads the Fernet key of its own Airflow processes")
def test_demo_scenario_leaks_no_secret(tmp_path: Path, output_dir: Path, report_figure: Callable[[str], None]) -> None:
    home = tmp_path / "home"
    report_path = output_dir / "secrets-audit-demo-report.json"
    started = time.monotonic()
    result, harvest = run_demo(home, report_path)
    output = result.stdout + result.stderr
    (output_dir / "secrets-audit-demo-output.txt").write_text(output)
    assert result.returncode == 0, output[-4000:]

    # What the audit knows: every subscription the demo created, with its bearer's hash.
    facts = json.loads(report_path.read_text())["facts"]
    created = {facts[step]["created"]["hook_id"] for step in ("lifecycle", "first_rotation", "rotation")}
    assert created <= set(harvest.bearer_sha256), f"missed a subscription: {created - set(harvest.bearer_sha256)}"
    assert harvest.fernet_key, "could not read the Fernet key of the demo's Airflow processes"
    bearer_hashes = set(harvest.bearer_sha256.values())

    corpus = Corpus()
    files = [p for p in home.rglob("*") if p.is_file()]
    for path in files:
        corpus.add(str(path.relative_to(home)), path.read_bytes())
    corpus.add("demo output", output)
    corpus.add("demo JSON report", report_path.read_text())
    variables = dump_database(home / "airflow.db", harvest.fernet_key, corpus)
    tables = sum(1 for where, _ in corpus.items if where.startswith("db table "))

    # Positive control: the decrypted channel Variables hold the current subscription's hash, not its secret.
    stored = {v["key"]: v["val"] for v in variables if v["key"].startswith(CHANNEL_VARIABLE)}
    state = state_from_variables("checkins", stored)  # the base document (none here) and the change records
    assert state is not None
    assert state.secret_sha256 == [harvest.bearer_sha256[facts["rotation"]["created"]["hook_id"]]]

    hits = find_secrets(corpus.items, [API_KEY], bearer_hashes)
    assert hits == [], hits
    report_figure(
        f"secrets audit (demo on Airflow {version('apache-airflow')}, {time.monotonic() - started:.0f} s): "
        f"API key + {len(bearer_hashes)} bearer secrets searched in {len(files)} files, the demo's output and "
        f"report, and {tables} DB tables ({corpus.cells} cells, {corpus.decrypted} decrypted): 0 found"
    )
