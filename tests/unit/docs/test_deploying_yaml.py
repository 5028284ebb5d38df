"""The YAML blocks of ``docs/deploying.rst``: valid YAML, keys of the official Helm chart, real settings.

The chart's keys cannot be read offline, so :data:`CHART_KEYS` lists the ones the page may use, each
checked against the apache/airflow chart (``chart/values.yaml`` and the templates that read them:
``templates/api-server/api-server-deployment.yaml`` reads ``apiServer.replicas`` and ``apiServer.env``,
``templates/api-server/api-server-ingress.yaml`` reads ``ingress.apiServer.*`` and ``hosts[].name`` /
``hosts[].tls``). A key outside the list fails the test: check it in the chart, then add it here.
The ``config`` section becomes the chart's ``airflow.cfg``; its ``[dailybot]`` options must be the
provider's own (``get_provider_info()["config"]``), so the page cannot document an invented setting.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider_dailybot.get_provider_info import get_provider_info
from airflow_provider_dailybot.store import DB_MANAGER

PAGE = Path(__file__).resolve().parents[3] / "docs" / "deploying.rst"

#: Key paths of the chart's values the page may set; ``[]`` stands for the items of a list.
CHART_KEYS = frozenset({
    "airflowVersion",
    "defaultAirflowRepository",
    "defaultAirflowTag",
    "images",
    "images.airflow",
    "images.airflow.repository",
    "images.airflow.tag",
    "images.airflow.digest",
    "images.airflow.pullPolicy",
    "images.useDefaultImageForMigration",
    "apiServer",
    "apiServer.enabled",
    "apiServer.replicas",
    "apiServer.env",
    "apiServer.env[]",
    "apiServer.env[].name",
    "apiServer.env[].value",
    "ingress",
    "ingress.apiServer",
    "ingress.apiServer.enabled",
    "ingress.apiServer.annotations",
    "ingress.apiServer.ingressClassName",
    "ingress.apiServer.path",
    "ingress.apiServer.pathType",
    "ingress.apiServer.hosts",
    "ingress.apiServer.hosts[]",
    "ingress.apiServer.hosts[].name",
    "ingress.apiServer.hosts[].tls",
    "ingress.apiServer.hosts[].tls.enabled",
    "ingress.apiServer.hosts[].tls.secretName",
    "env",
    "env[]",
    "env[].name",
    "env[].value",
    "secret",
    "secret[]",
    "secret[].envName",
    "secret[].secretName",
    "secret[].secretKey",
    "config",
})  # fmt: skip

#: ``config`` sections of Airflow's own the page may set, with the options it may use.
AIRFLOW_OPTIONS = {"api": {"base_url"}, "database": {"external_db_managers"}}

_DIRECTIVE = re.compile(r"^(?P<indent>\s*)\.\. code-block:: yaml\s*$")


def yaml_blocks(text: str) -> list[str]:
    """Return the contents of every ``.. code-block:: yaml`` of an rst page, dedented."""
    lines = text.splitlines()
    blocks: list[str] = []
    for i, line in enumerate(lines):
        match = _DIRECTIVE.match(line)
        if match is None:
            continue
        indent = len(match["indent"])
        body: list[str] = []
        j = i + 1
        while j < len(lines) and re.match(r"^\s+:[a-z-]+:", lines[j]):  # directive options
            j += 1
        for line_ in lines[j:]:
            if line_.strip() and len(line_) - len(line_.lstrip()) <= indent:
                break
            body.append(line_)
        blocks.append(textwrap.dedent("\n".join(body)).strip("\n"))
    return blocks


def key_paths(value: Any, prefix: str = "") -> list[str]:
    """Return the key paths of a loaded YAML value (``a.b``, list items as ``a[]``); ``config`` is not entered."""
    paths: list[str] = []
    if isinstance(value, dict):
        for key, child in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            paths.append(path)
            if path != "config":
                paths += key_paths(child, path)
    elif isinstance(value, list):
        for child in value:
            paths.append(f"{prefix}[]")
            paths += key_paths(child, f"{prefix}[]")
    return paths


BLOCKS = yaml_blocks(PAGE.read_text(encoding="utf-8"))


def test_the_page_has_the_chart_values_blocks() -> None:
    assert len(BLOCKS) >= 2, f"expected the values.yaml and its Airflow 3.1 additions in {PAGE}"


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_every_yaml_block_is_chart_values_with_known_keys(block: str) -> None:
    values = yaml.safe_load(block)
    assert isinstance(values, dict), "a values.yaml block must be a mapping"
    unknown = sorted(set(key_paths(values)) - CHART_KEYS)
    assert not unknown, f"keys not verified against the Airflow Helm chart: {unknown}"


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_config_sets_only_real_options(block: str) -> None:
    config = yaml.safe_load(block).get("config", {})
    ours = set(get_provider_info()["config"]["dailybot"]["options"])
    for section, options in config.items():
        assert isinstance(options, dict), f"config.{section} must map options to values"
        known = ours if section == "dailybot" else AIRFLOW_OPTIONS.get(section, set())
        assert set(options) <= known, f"config.{section}: unknown options {sorted(set(options) - known)}"
        assert all(not isinstance(v, (dict, list)) for v in options.values()), "airflow.cfg values are scalars"
    if "database" in config:
        assert config["database"]["external_db_managers"] == DB_MANAGER


def test_the_checks_refuse_what_the_chart_does_not_have() -> None:
    made_up = yaml.safe_load("apiServer:\n  replica: 2\nconfig:\n  dailybot:\n    receiver_port: 1\n")
    assert "apiServer.replica" in set(key_paths(made_up)) - CHART_KEYS
    with pytest.raises(AssertionError, match="receiver_port"):
        test_config_sets_only_real_options(yaml.safe_dump(made_up))


def test_yaml_blocks_reads_options_and_stops_at_the_dedent() -> None:
    page = ".. code-block:: yaml\n   :caption: x\n\n   a: 1\n\n   b: [2]\n\nafter: text\n"
    assert yaml_blocks(page) == ["a: 1\n\nb: [2]"]
