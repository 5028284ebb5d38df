"""``make demo`` end to end: the real demo, as a subprocess, on the Airflow of this virtualenv.

The demo starts its own Airflow (api-server, scheduler, dag-processor, triggerer) and fake DailyBot on
127.0.0.1, runs the example DAGs through the scheduler and prints a report (about 30 s on 2 cores).
Here it also runs its "real DailyBot API" check, pointed at a second fake server, and the test checks
that neither API key appears in its output, its JSON report or any file it left in ``AIRFLOW_HOME``.

It runs on the main Airflow line (3.3) only, which ``make demo`` uses; the 3.1 run of the suite skips it
to save CI time (the demo passes on 3.1.8 too: ``.venv-airflow-3.1/bin/python -m demo``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from airflow_provider_dailybot.testing import FakeDailyBotServer
from airflow_provider_dailybot.testing.airflow_components import clean_environment
from tests.conftest import API_KEY, REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

#: The demo's fake DailyBot key is the suite's; the "real" account's key, which the demo must never use, is another.
FAKE_KEY = API_KEY
REAL_KEY = "sk-demo-real-LEAKCANARY-90ab"


@pytest.mark.skipif(
    not version("apache-airflow").startswith("3.3."),
    reason=f"the demo test runs on the Airflow 3.3 line (make demo's); this is {version('apache-airflow')}",
)
def test_make_demo_runs_every_step_and_leaks_no_key(tmp_path: Path, output_dir: Path, report_figure) -> None:
    home = tmp_path / "home"
    report_path = output_dir / "demo-report.json"
    with FakeDailyBotServer(api_key=REAL_KEY, user_full_name="Real Owner", organization_name="Real Org") as real:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "demo",
                "--api-key",
                FAKE_KEY,
                "--keep-home",
                str(home),
                "--report-json",
                str(report_path),
            ],
            cwd=REPO_ROOT,
            env=clean_environment({"DAILYBOT_API_KEY": REAL_KEY, "DAILYBOT_API_URL": real.base_url}),
            capture_output=True,
            text=True,
            timeout=280,
            check=False,
        )
        real_requests = [(r.method, r.path) for r in real.requests]
    output = done.stdout + done.stderr
    (output_dir / "demo-output.txt").write_text(output)
    assert done.returncode == 0, output[-6000:]

    report = json.loads(report_path.read_text())
    assert report["ok"] is True
    assert [step["ok"] for step in report["steps"]] == [True] * len(report["steps"])
    names = [step["name"] for step in report["steps"]]
    assert any(name.startswith("Lifecycle") for name in names)
    assert any(name.startswith("Rotation: replace") for name in names)
    assert "Test connection against the real DailyBot API" in names
    facts = report["facts"]
    assert facts["airflow_version"].startswith("3.3.")
    assert facts["lifecycle"]["sample"]["status"] == 202
    assert facts["lifecycle"]["deleted"]["deleted"] is True
    assert facts["event"]["summary"]["checkins"][0]["who"] == "Grace Hopper"
    assert facts["rotation"]["promoted"]["deleted"] == [facts["first_rotation"]["created"]["hook_id"]]
    assert facts["real_api"] == {"ok": True, "message": "Authenticated as Real Owner (Real Org)"}
    assert real_requests == [("GET", "/v1/me/")]
    assert all(listener.startswith("127.0.0.1:") for listener in facts["listening"]), facts["listening"]
    for word in ("created", "verified", "delivered", "rotated", "deleted", "nothing left running"):
        assert word in done.stdout

    # No key in what the demo printed or wrote, nor in any log or file it left behind.
    written = output + report_path.read_text()
    leaks = [str(path) for path in home.rglob("*") if path.is_file() and _contains(path, (FAKE_KEY, REAL_KEY))]
    assert FAKE_KEY not in written
    assert REAL_KEY not in written
    assert leaks == []
    report_figure(f"make demo (Airflow {facts['airflow_version']}): every step in {report['seconds']:.0f} s")


def _contains(path: Path, needles: tuple[str, ...]) -> bool:
    data = path.read_bytes()
    return any(needle.encode() in data for needle in needles)
