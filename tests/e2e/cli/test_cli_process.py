"""The CLI as a user runs it: ``airflow dailybot`` (Airflow 3.2+) or ``python -m airflow_provider_dailybot.cli``.

A fresh ``AIRFLOW_HOME`` migrated by ``airflow db migrate`` (on 3.1 with ``[database]
external_db_managers`` naming the store's manager, as documented), then the commands as processes:
their JSON on stdout parses (Airflow's log lines go to stderr), and a missing selector fails with
exit status 1 and one line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from airflow_provider_dailybot.store import DB_MANAGER
from airflow_provider_dailybot.testing.airflow_components import clean_environment

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

AIRFLOW_3_2_PLUS = tuple(int(p) for p in version("apache-airflow").split(".")[:2]) >= (3, 2)
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
MODULE = [sys.executable, "-m", "airflow_provider_dailybot.cli"]


@pytest.fixture(scope="module")
def home_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("cli-home")
    env = clean_environment({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS": DB_MANAGER,  # Airflow 3.1; 3.2+ reads the provider info
        "AIRFLOW__DAILYBOT__RECEIVER_RETENTION_DAYS": "9",
    })  # fmt: skip
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, timeout=240, check=True)
    return env


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("prefix", [MODULE, [AIRFLOW, "dailybot"]], ids=["python -m", "airflow dailybot"])
def test_the_commands_run_as_processes(prefix: list[str], home_env: dict[str, str]) -> None:
    if prefix[0] == AIRFLOW and not AIRFLOW_3_2_PLUS:
        done = _run([*prefix, "--help"], home_env)
        assert done.returncode != 0  # Airflow 3.1 ignores the provider info's "cli": python -m is the way there
        return
    listed = _run([*prefix, "deliveries", "list", "-o", "json"], home_env)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert json.loads(listed.stdout) == {"deliveries": [], "next_before_id": None}
    channels = _run([*prefix, "channels", "list", "-o", "json"], home_env)
    assert json.loads(channels.stdout) == []
    purge = _run([*prefix, "deliveries", "purge", "--dry-run"], home_env)
    assert "(9 days ago); deleted none." in purge.stdout
    refused = _run([*prefix, "deliveries", "replay"], home_env)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1] == (
        "error: name delivery ids, or select with --channel and/or --since/--until"
    )
