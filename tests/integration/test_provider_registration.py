"""The provider is discovered by Airflow: provider info, entry point, CLI listing, connection form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import airflow
import jsonschema
import pytest

from airflow_provider_dailybot import __version__
from airflow_provider_dailybot.get_provider_info import get_provider_info
from airflow_provider_dailybot.hooks.dailybot import DailyBotHook

AIRFLOW_DIR = Path(airflow.__file__).parent
AIRFLOW_3_2_PLUS = tuple(int(p) for p in airflow.__version__.split(".")[:2]) >= (3, 2)


def test_package_name_equals_the_distribution_name():
    # A mismatch makes Airflow's ProvidersManager crash for every provider.
    assert get_provider_info()["package-name"] == "airflow-provider-dailybot"
    assert get_provider_info()["versions"] == [__version__]


def test_provider_info_validates_against_airflows_runtime_schema():
    schema = json.loads((AIRFLOW_DIR / "provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


@pytest.mark.skipif(
    not (AIRFLOW_DIR / "provider.yaml.schema.json").exists(), reason="this Airflow ships no provider.yaml schema"
)
def test_connection_type_validates_against_the_declarative_form_schema():
    # The stricter provider.yaml schema documents conn-fields and ui-field-behaviour (3.2+).
    full = json.loads((AIRFLOW_DIR / "provider.yaml.schema.json").read_text())
    schema = full["properties"]["connection-types"]
    jsonschema.validate(get_provider_info()["connection-types"], schema)
    # kebab-case keys: the snake_case spellings are silently ignored by Airflow.
    behaviour = get_provider_info()["connection-types"][0]["ui-field-behaviour"]
    assert set(behaviour) == {"hidden-fields", "relabeling", "placeholders"}


def test_entry_point_points_at_get_provider_info():
    eps = [
        ep for ep in entry_points(group="apache_airflow_provider") if ep.value.startswith("airflow_provider_dailybot")
    ]
    assert len(eps) == 1
    assert eps[0].load() is get_provider_info


def test_providers_manager_registers_the_connection_type_and_hook():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert "airflow-provider-dailybot" in manager.providers
    hook_info = manager.hooks["dailybot"]
    assert hook_info is not None
    assert hook_info.hook_class_name == "airflow_provider_dailybot.hooks.dailybot.DailyBotHook"
    assert hook_info.connection_id_attribute_name == "dailybot_conn_id"
    assert hook_info.connection_testable is True


@pytest.mark.e2e  # runs the `airflow` CLI as a process
def test_airflow_providers_list_cli_shows_the_provider(airflow_home):
    airflow_cli = Path(sys.executable).with_name("airflow")
    result = subprocess.run(
        [str(airflow_cli), "providers", "list", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AIRFLOW_HOME": str(airflow_home)},
        check=True,
    )
    listed = {item["package_name"]: item for item in json.loads(result.stdout[result.stdout.index("[") :])}
    assert listed["airflow-provider-dailybot"]["version"] == __version__


_HOOK_META_SCRIPT = """
import json, os
from airflow.utils import db
db.initdb()
from airflow.api_fastapi.app import create_app, get_auth_manager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from fastapi.testclient import TestClient
app = create_app()
token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
with TestClient(app, headers={"Authorization": "Bearer " + token}) as client:
    response = client.get("/ui/connections/hook_meta")
print("HOOK_META", response.status_code, json.dumps(response.json()))
"""


@pytest.mark.e2e  # builds the api-server in a fresh Airflow process (its own DB)
def test_hook_meta_of_the_real_api_server_lists_the_dailybot_form(tmp_path):
    # A fresh interpreter, as a freshly started api-server: on Airflow 3.1 the form metadata of a hook
    # is only collected if hook_meta is the first thing in the process to import that hook.
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path}/a.db",
    }
    result = subprocess.run(
        [sys.executable, "-c", _HOOK_META_SCRIPT], capture_output=True, text=True, timeout=180, env=env, check=True
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("HOOK_META "))
    _, status, body = line.split(" ", 2)
    assert status == "200"
    (meta,) = [item for item in json.loads(body) if item["connection_type"] == "dailybot"]
    assert meta["hook_name"] == "DailyBot"
    fields = meta["standard_fields"]
    assert fields["password"] == {
        "hidden": False,
        "title": "API Key",
        "placeholder": "DailyBot API key (Organization settings → Integrations → API)",
    }
    assert fields["host"]["title"] == "API base URL"
    assert fields["host"]["placeholder"] == "https://api.dailybot.com/v1/"
    for hidden in ("login", "port"):
        assert fields[hidden]["hidden"] is True
    if AIRFLOW_3_2_PLUS:
        # Declarative conn-fields are rendered as typed extra fields.
        assert set(meta["extra_fields"]) == {
            "timeout",
            "total_timeout",
            "max_attempts",
            "max_response_bytes",
            "max_pages",
            "verify_ssl",
            "ca_bundle",
            "app_url",
        }
        assert meta["extra_fields"]["timeout"]["schema"]["title"] == "Request timeout (s)"
    else:
        # Airflow 3.1 has no conn-fields: the form falls back to the Extra JSON field,
        # and the relabelling comes from the hook's legacy get_ui_field_behaviour().
        assert meta["extra_fields"] is None


def test_legacy_field_behaviour_is_derived_from_provider_info():
    legacy = DailyBotHook.get_ui_field_behaviour()
    declarative = get_provider_info()["connection-types"][0]["ui-field-behaviour"]
    assert legacy == {
        "hidden_fields": declarative["hidden-fields"],
        "relabeling": declarative["relabeling"],
        "placeholders": declarative["placeholders"],
    }


def test_every_listed_module_imports():
    import importlib

    info = get_provider_info()
    modules = [
        m
        for key in ("hooks", "operators", "sensors", "triggers")
        for e in info.get(key, [])
        for m in e["python-modules"]
    ]
    modules += info.get("notifications", [])
    assert modules
    for module in modules:
        importlib.import_module(module.rsplit(".", 1)[0] if module.rsplit(".", 1)[1][0].isupper() else module)
