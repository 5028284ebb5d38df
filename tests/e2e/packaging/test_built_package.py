"""The package as a user gets it: build the sdist and wheel, check them, install the wheel in a fresh venv, run it.

``python -m build --no-isolation`` (the venv's hatchling: no build environment downloaded) builds the sdist,
then the wheel from that sdist, so the sdist is proven to build. ``twine check --strict`` checks both (the
long description is whatever README.md is there). The wheel is installed with ``apache-airflow==3.3.2`` and
``constraints/airflow-3.3.2-py<python>.txt`` into a new venv that does not see this checkout (no
``PYTHONPATH``, started outside the repository), where ``airflow providers list`` must list the provider
and the standup export example DAG, read from the installed wheel's ``example_dags/``, must succeed under
``dag.test()`` against the fake DailyBot started from that wheel too (``python -m
airflow_provider_dailybot.testing``).

Runs once, on the main line: the built files do not depend on the Airflow version, and the fresh
install costs about a minute and a quarter with a warm pip cache.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_dailybot import __version__
from airflow_provider_dailybot.testing import seed
from airflow_provider_dailybot.testing.airflow_components import clean_environment
from tests.conftest import API_KEY, REPO_ROOT, airflow_version

AIRFLOW_VERSION = "3.3.2"
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
CONSTRAINTS = REPO_ROOT / "constraints" / f"airflow-{AIRFLOW_VERSION}-py{PYTHON}.txt"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(900),
    pytest.mark.skipif(
        airflow_version() < (3, 3),
        reason="runs once, on the main line (Airflow 3.3.2): the built sdist and wheel do not depend on the "
        "Airflow version of the venv that builds them, and the fresh venv installs 3.3.2 with its constraints",
    ),
    pytest.mark.skipif(not CONSTRAINTS.exists(), reason=f"no {CONSTRAINTS.name}: the install would not be pinned"),
]

WHEEL = f"airflow_provider_dailybot-{__version__}-py3-none-any.whl"
SDIST = f"airflow_provider_dailybot-{__version__}.tar.gz"
EXAMPLES = {
    "dailybot_blocker_alert.py",
    "dailybot_checkin_completed.py",
    "dailybot_standup_export.py",
    "dailybot_webhook_lifecycle.py",
    "dailybot_webhook_rotation.py",
}
#: Run inside the fresh venv: the standup export example from the installed wheel, under dag.test().
RUN_EXAMPLE = r"""
import json
from pathlib import Path

import pendulum

import airflow_provider_dailybot.example_dags as examples

try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:
    from airflow.models.dagbag import DagBag
from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session
from sqlalchemy import select

path = Path(examples.__path__[0]) / "dailybot_standup_export.py"
bag = DagBag(dag_folder=str(path))
assert not bag.import_errors, bag.import_errors
run = bag.dags["dailybot_standup_export"].test(logical_date=pendulum.datetime(2025, 1, 9, tz="UTC"))
with create_session() as session:
    rows = session.scalars(
        select(TaskInstance).where(TaskInstance.dag_id == run.dag_id, TaskInstance.run_id == run.run_id)
    ).all()
    tasks = {ti.task_id: str(ti.state) for ti in rows}
print("RESULT " + json.dumps({"dag_file": str(path), "state": str(run.state), "tasks": tasks}))
"""


def _run(argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{argv[:4]} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    env = clean_environment(drop=("PYTHONPATH",))
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO_ROOT)], env, out)
    assert sorted(p.name for p in out.iterdir()) == sorted([WHEEL, SDIST])
    return out


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv holding only the built wheel and Airflow 3.3.2, pinned by the constraints file."""
    root = tmp_path_factory.mktemp("fresh-venv")
    env = clean_environment(drop=("PYTHONPATH", "VIRTUAL_ENV"))
    _run([sys.executable, "-m", "venv", str(root / "venv")], env, root)
    python = str(root / "venv" / "bin" / "python")
    install = [python, "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
    _run([*install, str(dist / WHEEL), f"apache-airflow=={AIRFLOW_VERSION}", "-c", str(CONSTRAINTS)], env, root)
    return root / "venv"


def test_sdist_and_wheel_pass_twine_and_carry_what_a_user_needs(dist: Path) -> None:
    env = clean_environment(drop=("PYTHONPATH",))
    checked = _run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dist / SDIST), str(dist / WHEEL)], env, dist
    )
    assert checked.stdout.count("PASSED") == 2, checked.stdout

    wheel = set(zipfile.ZipFile(dist / WHEEL).namelist())
    package = "airflow_provider_dailybot/"
    assert {f"{package}example_dags/{name}" for name in EXAMPLES} <= wheel
    assert {
        f"{package}py.typed",
        f"{package}store/alembic.ini",
        f"{package}delivery_log/static/delivery-log.css",
    } <= wheel
    assert not [name for name in wheel if "__pycache__" in name or name.startswith("tests/")]
    entry_points = zipfile.ZipFile(dist / WHEEL).read(
        f"airflow_provider_dailybot-{__version__}.dist-info/entry_points.txt"
    )
    assert b"[apache_airflow_provider]" in entry_points

    with tarfile.open(dist / SDIST) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE", f"{package}py.typed"} <= names
    assert {f"constraints/{p.name}" for p in (REPO_ROOT / "constraints").glob("*.txt")} <= names
    assert {f"{package}example_dags/{name}" for name in EXAMPLES} <= names
    assert not [name for name in names if name.startswith(("tests/", "demo/", "benchmarks/", ".venv"))]


@pytest.fixture
def fake_from_wheel(venv: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The fake DailyBot server of the installed wheel, as a process; yields its base URL and its log file."""
    env = clean_environment({"DAILYBOT_FAKE_API_KEY": API_KEY}, drop=("PYTHONPATH", "VIRTUAL_ENV"))
    log = tmp_path / "fake.log"
    argv = [
        str(venv / "bin" / "python"),
        "-m",
        "airflow_provider_dailybot.testing",
        "--port",
        "0",
        "--log-level",
        "INFO",
    ]
    with log.open("w") as stderr:
        process = subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "(base URL " in line, line + log.read_text()
        yield line.rsplit("(base URL ", 1)[1].rstrip(")\n"), log
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_installed_wheel_lists_the_provider_and_runs_an_example_dag(
    venv: Path, fake_from_wheel: tuple[str, Path], tmp_path: Path
) -> None:
    base_url, fake_log = fake_from_wheel
    home = tmp_path / "home"
    exports = tmp_path / "exports"
    site = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import airflow_provider_dailybot as p; print(p.__file__)"],
        env=clean_environment(drop=("PYTHONPATH",)), cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert Path(site).is_relative_to(venv), site  # the wheel, not this checkout
    examples = Path(site).parent / "example_dags"
    env = clean_environment(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(examples),
            "AIRFLOW__API_AUTH__JWT_SECRET": "test-only-jwt-secret-" + "0123456789abcdef" * 4,
            "AIRFLOW_CONN_DAILYBOT_DEFAULT": json.dumps(
                {"conn_type": "dailybot", "host": base_url, "password": API_KEY}
            ),
            "DAILYBOT_CHECKIN_ID": seed.CHECKIN_ID,
            "DAILYBOT_EXPORT_BASE": exports.as_uri(),
        },
        drop=("PYTHONPATH", "VIRTUAL_ENV"),
    )
    airflow = str(venv / "bin" / "airflow")

    listed = _run([airflow, "providers", "list", "-o", "json"], env, tmp_path)
    providers = {p["package_name"]: p for p in json.loads(listed.stdout)}
    assert providers["airflow-provider-dailybot"]["version"] == __version__

    _run([airflow, "db", "migrate"], env, tmp_path)
    script = tmp_path / "run_example.py"
    script.write_text(RUN_EXAMPLE)
    done = _run([str(venv / "bin" / "python"), str(script)], env, tmp_path)
    (result_line,) = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    result = json.loads(result_line.removeprefix("RESULT "))

    assert result["dag_file"] == str(examples / "dailybot_standup_export.py")
    assert result["state"] == "success", done.stdout[-3000:] + done.stderr[-3000:]
    assert result["tasks"] == {"export_standups": "success"}
    rows = [json.loads(line) for line in (exports / "standups" / "2025-01-08.jsonl").read_text().splitlines()]
    assert len(rows) == 4  # the seeded Daily Standup's responses of 2025-01-08 (as in the in-process test)
    requests_served = fake_log.read_text()
    assert f"GET /v1/checkins/{seed.CHECKIN_ID}/" in requests_served
    for text in (done.stdout, done.stderr, requests_served, listed.stdout):
        assert API_KEY not in text
