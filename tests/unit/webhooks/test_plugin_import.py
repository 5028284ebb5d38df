"""Importing the plugin module must stay cheap: Airflow imports plugin modules in every task process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# Runs in a fresh interpreter. It first loads what a task process has loaded before Airflow imports
# plugins (the task runner and the plugins manager), then imports our plugin module and reports what
# that import added.
_PROBE = r"""
import json, sys
import airflow.sdk.execution_time.task_runner
try:
    import airflow.sdk.plugins_manager          # Airflow 3.2+: the task-side plugins manager
except ImportError:
    import airflow.plugins_manager              # Airflow 3.1
before = set(sys.modules)
import airflow_provider_dailybot.webhooks.plugin as plugin
added = sorted(set(sys.modules) - before)
watched = ["fastapi", "starlette", "airflow.models.asset", "airflow.assets.manager",
           "airflow_provider_dailybot.webhooks.receiver", "airflow_provider_dailybot.webhooks.channels"]
after_import = {m: m in sys.modules for m in watched}
apps = plugin.DailyBotWebhookReceiverPlugin().fastapi_apps   # what the api-server reads
print(json.dumps({
    "added": added,
    "after_import": after_import,
    "apps": [{"url_prefix": a["url_prefix"], "app": type(a["app"]).__name__} for a in apps],
    "receiver_loaded_after_apps": "airflow_provider_dailybot.webhooks.receiver" in sys.modules,
}))
"""


def test_plugin_import_adds_only_light_modules_and_defers_the_receiver(tmp_path, report_figure) -> None:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report_figure(f"plugin module import in a task-like process added: {', '.join(report['added'])}")

    assert set(report["added"]) <= {
        "airflow_provider_dailybot",
        "airflow_provider_dailybot.webhooks",
        "airflow_provider_dailybot.webhooks.assets",
        "airflow_provider_dailybot.webhooks.config",
        "airflow_provider_dailybot.webhooks.plugin",
        "airflow_provider_dailybot.validation",  # pure checks of the [dailybot] settings (stdlib only)
    }
    loaded_by_import = {m for m, loaded in report["after_import"].items() if loaded} & {
        "fastapi",
        "airflow_provider_dailybot.webhooks.receiver",
        "airflow_provider_dailybot.webhooks.channels",
    }
    assert not loaded_by_import
    for heavy in ("airflow.models.asset", "airflow.assets.manager", "fastapi", "starlette"):
        assert heavy not in report["added"]
    # The api-server reading fastapi_apps is what builds the receiver.
    assert report["apps"] == [{"url_prefix": "/dailybot", "app": "FastAPI"}]
    assert report["receiver_loaded_after_apps"] is True
