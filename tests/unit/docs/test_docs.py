"""The documentation tells the truth: its runnable snippets run, every page is reachable, no path dangles.

* Every Python block marked ``:class: runnable`` (see :mod:`tests.unit.docs.snippets`) runs as written,
  in a fresh interpreter, with ``dailybot_default`` pointing at a fake DailyBot, and exits 0.
* Every page under ``docs/`` is reachable from ``docs/index.rst`` through toctrees (the Sphinx build
  warns about orphans too, and ``make docs`` makes that warning an error; this check needs no build).
* Every ``docs/`` page path that a file of the repository mentions (Makefile, mk/*.mk, example DAGs,
  docstrings, compose files, the README) exists.
* Every module of the package is in the API reference.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_dailybot.testing import FakeDailyBotServer
from tests.conftest import conn_json
from tests.unit.docs import snippets

RUNNABLE = snippets.runnable_blocks()


def test_the_docs_have_runnable_blocks_on_the_pages_that_promise_them() -> None:
    pages = {block.path.name for block in RUNNABLE}
    assert {"connection.rst", "hook.rst", "task_groups.rst", "triggers.rst", "notifications.rst"} <= pages
    assert all(block.language == "python" for block in RUNNABLE), [b.where for b in RUNNABLE]


def test_every_runnable_mark_is_on_a_code_block_the_test_finds() -> None:
    """A ``:class: runnable`` the scanner does not see (a typo in the directive) would never run."""
    marked = 0
    for path in snippets.doc_sources():
        marked += len(re.findall(r"^\s*:class:.*\brunnable\b", path.read_text(encoding="utf-8"), flags=re.M))
    assert marked == len(RUNNABLE)


@pytest.mark.parametrize("block", RUNNABLE, ids=[block.where for block in RUNNABLE])
def test_runnable_block_runs_against_the_fake(
    block: snippets.CodeBlock, fake: FakeDailyBotServer, tmp_path: Path
) -> None:
    env = dict(os.environ, AIRFLOW_CONN_DAILYBOT_DEFAULT=conn_json(fake))
    done = subprocess.run(
        [sys.executable, "-c", block.code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"{block.where} exited {done.returncode}:\n{done.stdout}\n{done.stderr[-4000:]}"


def test_the_runnable_block_reaches_the_fake(fake: FakeDailyBotServer, tmp_path: Path) -> None:
    """The blocks really talk to the fake: the connection page's block is seen there."""
    (block,) = [b for b in RUNNABLE if b.path.name == "connection.rst"]
    before = len(fake.requests)
    env = dict(os.environ, AIRFLOW_CONN_DAILYBOT_DEFAULT=conn_json(fake))
    done = subprocess.run(
        [sys.executable, "-c", block.code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "Authenticated as Ada Lovelace (Acme Corp)" in done.stdout
    assert [r.path for r in fake.requests[before:]] == ["/v1/me/", "/v1/me/"]


def test_every_page_is_reachable_from_the_index() -> None:
    pages = {snippets.docname(path) for path in snippets.doc_sources()}
    orphans = pages - snippets.reachable_from_index()
    assert not orphans, f"pages in no toctree reachable from docs/index.rst: {sorted(orphans)}"


def test_toctrees_name_only_existing_pages() -> None:
    pages = {snippets.docname(path) for path in snippets.doc_sources()}
    listed = {entry for path in snippets.doc_sources() for entry in snippets.toctree_entries(path)}
    assert listed - pages == set()


def test_no_page_opts_out_of_the_orphan_check() -> None:
    """``:orphan:`` (or ``orphan: true``) would silence Sphinx's warning for a page outside every toctree."""
    opted_out = [p.name for p in snippets.doc_sources() if re.search(r"^:?orphan:", p.read_text(), flags=re.M)]
    assert opted_out == []
    conf = (snippets.DOCS / "conf.py").read_text()
    assert "nitpicky = True" in conf
    assert "toc.not_included" not in conf
    assert "suppress_warnings" not in conf


def test_make_docs_treats_warnings_as_errors() -> None:
    recipe = (snippets.REPO_ROOT / "mk" / "docs.mk").read_text()
    assert re.search(r"-m sphinx -W --keep-going -n\b", recipe)
    assert re.search(r"^test: .*\bdocs\b", (snippets.REPO_ROOT / "Makefile").read_text(), flags=re.M)


def test_every_doc_path_mentioned_in_the_repository_exists() -> None:
    mentioned = snippets.mentioned_doc_paths()
    assert mentioned, "the scan found no docs/ path at all: the pattern is broken"
    missing = {path: where for path, where in mentioned.items() if not (snippets.REPO_ROOT / path).is_file()}
    assert not missing, f"mentioned but missing: {missing}"


def test_every_absolute_link_to_the_repository_names_an_existing_path() -> None:
    """The README is the PyPI page too: its links and images are absolute URLs, which must not dangle."""
    linked = snippets.linked_repository_paths()
    assert any(where.startswith("README.md:") for places in linked.values() for where in places)
    missing = {path: where for path, where in linked.items() if not (snippets.REPO_ROOT / path).exists()}
    assert not missing, f"linked but missing: {missing}"


def test_the_path_scan_finds_what_it_must() -> None:
    """The scanner sees a pointer in a Makefile fragment and in an example DAG's docstring (where they dangled)."""
    mentioned = snippets.mentioned_doc_paths()
    wheres = {where.split(":")[0] for places in mentioned.values() for where in places}
    assert {"mk/demo.mk", "mk/soak.mk", "airflow_provider_dailybot/example_dags/dailybot_blocker_alert.py"} <= wheres


def test_every_module_is_in_the_api_reference() -> None:
    package = snippets.REPO_ROOT / "airflow_provider_dailybot"
    modules = set()
    for path in package.rglob("*.py"):
        parts = path.relative_to(snippets.REPO_ROOT).with_suffix("").parts
        if "example_dags" in parts or "migrations" in parts or parts[-1] == "__main__":
            continue
        modules.add(".".join(part for part in parts if part != "__init__"))
    documented = set()
    for page in (snippets.DOCS / "api").glob("*.rst"):
        documented |= set(re.findall(r"^\.\. automodule:: (\S+)$", page.read_text(), flags=re.M))
    assert modules - documented == set(), "add them to a page of docs/api/"
    assert documented - modules == set()
