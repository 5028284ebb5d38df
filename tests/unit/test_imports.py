"""The modules DAG files import stay light: no hook, no HTTP client until a task, callback or trigger runs."""

from __future__ import annotations

import subprocess
import sys

MODULES = (
    "airflow_provider_dailybot.operators.message",
    "airflow_provider_dailybot.operators.kudos",
    "airflow_provider_dailybot.operators.export",
    "airflow_provider_dailybot.notifications.dailybot",
    "airflow_provider_dailybot.triggers.checkin_responses",
)
HEAVY = ("airflow_provider_dailybot.hooks.dailybot", "requests", "urllib3")


def test_dag_facing_modules_import_no_hook_and_no_http_client() -> None:
    code = (
        "import sys\n"
        f"for name in {MODULES!r}: __import__(name)\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip().splitlines()[-1:] in ([], [""])
