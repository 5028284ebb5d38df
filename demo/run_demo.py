"""The end-to-end demo behind ``make demo``: the provider's main job on a real, local Airflow.

It starts, on 127.0.0.1 only and on free ports: the fake DailyBot server and Airflow (api-server
with the webhook receiver, scheduler, dag-processor, triggerer; LocalExecutor; sqlite) in a
throw-away ``AIRFLOW_HOME``. Then, through Airflow's REST API and the scheduler (not ``dag.test()``),
it runs the example DAGs of ``airflow_provider_dailybot/example_dags/``:

1. ``dailybot_webhook_lifecycle``, triggered: a subscription is **created**, **verified** by its
   sample delivery reaching the receiver, and **deleted** by the teardown.
2. ``dailybot_webhook_rotation``, unpaused: its first (scheduled) run creates the ``checkins``
   channel's subscription.
3. An event is emitted on the fake DailyBot; it is **delivered** to the receiver and starts the
   asset-scheduled ``dailybot_checkin_completed``, whose result says what it received.
4. ``dailybot_webhook_rotation``, triggered: the channel's subscription is **rotated** (a new one is
   verified, the old one deleted and its secret retired).
5. With ``DAILYBOT_API_KEY`` set: *Test connection* against the real DailyBot API (optional
   ``DAILYBOT_API_URL``), through the api-server like the UI's *Test* button.

It checks (from ``/proc``) that every socket its processes listen on is on 127.0.0.1, prints a
report, stops every process it started (and checks that none is left), and exits 0
only when every step succeeded. Neither the output nor ``--report-json`` contains an API key, a
webhook secret, a password or a token.

Run it with ``make demo`` or ``python -m demo [--api-key KEY] [--keep-home DIR] [--report-json PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

if __package__ in (None, ""):  # run as a script: python demo/run_demo.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from airflow_provider_dailybot.testing.processes import ProcessFailure, wait_for
from demo.processes import AirflowStack, FakeDailyBotProcess

REPO_ROOT = Path(__file__).resolve().parent.parent
DAGS_DIR = REPO_ROOT / "airflow_provider_dailybot" / "example_dags"
LIFECYCLE = "dailybot_webhook_lifecycle"
ROTATION = "dailybot_webhook_rotation"
CONSUMER = "dailybot_checkin_completed"
DAG_FILES = [DAGS_DIR / f"{dag_id}.py" for dag_id in (LIFECYCLE, ROTATION, CONSUMER)]
LIFECYCLE_CHANNEL = "lifecycle"
CHANNEL = "checkins"
ROTATION_GROUP = f"rotate_{CHANNEL}"
CHECKIN_COMPLETED = "followups.response.completed"
#: The fake DailyBot's key when ``--api-key`` is not given. Not a secret: the fake accepts only it.
DEMO_API_KEY = "demo-fake-dailybot-key"
#: Who "completes a check-in" in the emitted event, and the blocker they report.
EMITTED_USER = "Grace Hopper"
EMITTED_BLOCKER = "Waiting for access to the staging database"
REAL_API_KEY_ENV = "DAILYBOT_API_KEY"
FAKE_API_KEY_ENV = "DAILYBOT_FAKE_API_KEY"
REAL_API_URL_ENV = "DAILYBOT_API_URL"

#: Bounded waits, in seconds.
TIMEOUT_DAG_PARSED = 120
TIMEOUT_RUN = 240
TIMEOUT_AUTO_RUN = 20


class DemoFailure(RuntimeError):
    """A step of the demo failed; the message says which and why."""


# ---------------------------------------------------------------------------------------- report


@dataclass
class Step:
    """One step of the demo and its outcome."""

    name: str
    ok: bool | None = None
    seconds: float = 0.0
    started_at: float = 0.0
    details: list[str] = field(default_factory=list)
    error: str | None = None


class Report:
    """The steps, printed as they happen and summarised at the end (never containing a secret).

    :param secrets: Strings that must never be printed or written (replaced by ``***``).
    :param out: Where the progress and the report are printed.
    """

    def __init__(self, secrets: Sequence[str], out: Callable[[str], None] = print) -> None:
        self.secrets = [s for s in secrets if s]
        self.out = out
        self.started = time.monotonic()
        self.steps: list[Step] = []
        self.facts: dict[str, Any] = {}

    def clean(self, text: str) -> str:
        """Return ``text`` with every known secret replaced by ``***``."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def say(self, text: str) -> None:
        """Print a progress line, prefixed with the time since the start."""
        self.out(self.clean(f"[{time.monotonic() - self.started:6.1f}s] {text}"))

    @contextmanager
    def step(self, name: str) -> Iterator[Step]:
        """Record a step: its duration, its details, and whether it raised (which fails the demo)."""
        step = Step(name, started_at=round(time.monotonic() - self.started, 1))
        self.steps.append(step)
        self.say(f"{name} ...")
        begun = time.monotonic()
        try:
            yield step
        except Exception as exc:
            step.ok, step.error = False, self.clean(f"{type(exc).__name__}: {exc}")
            raise DemoFailure(f"{name}: {step.error}") from exc
        else:
            step.ok = True
        finally:
            step.seconds = round(time.monotonic() - begun, 1)
            for line in step.details:
                self.say(f"    {line}")
            self.say(f"{name}: {'ok' if step.ok else 'FAILED'} ({step.seconds:.1f} s)")

    @property
    def ok(self) -> bool:
        """Whether every step ran and succeeded."""
        return bool(self.steps) and all(step.ok for step in self.steps)

    def summary(self) -> str:
        """The final report, one block per step."""
        lines = ["", "=" * 78, "DailyBot provider demo: report", "=" * 78]
        for number, step in enumerate(self.steps, 1):
            mark = "ok" if step.ok else "FAILED"
            lines.append(f"{number:2d}. {step.name} [{mark}, {step.seconds:.1f} s]")
            lines.extend(f"      {line}" for line in step.details)
            if step.error:
                lines.append(f"      error: {step.error}")
        story = _story(self.facts)
        if story:
            lines += ["", "What happened (created → verified → event delivered → rotated → deleted):"]
            lines.extend(f"  {line}" for line in story)
        total = time.monotonic() - self.started
        verdict = "every step succeeded" if self.ok else "FAILED"
        lines += ["-" * 78, f"Result: {verdict} in {total:.0f} s", ""]
        return self.clean("\n".join(lines))

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-safe data (for ``--report-json``)."""
        data = {
            "ok": self.ok,
            "seconds": round(time.monotonic() - self.started, 1),
            "steps": [asdict(step) for step in self.steps],
            "facts": self.facts,
        }
        cleaned: dict[str, Any] = json.loads(self.clean(json.dumps(data)))
        return cleaned


# ------------------------------------------------------------------------------------ REST client


class AirflowApi:
    """The few calls of Airflow's public REST API (``/api/v2``) the demo makes, as the admin user."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, *, expect: tuple[int, ...] = (200,), **kwargs: Any) -> Any:
        """Call ``/api/v2<path>`` and return the JSON answer; raise on an unexpected status."""
        response = self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=30, **kwargs)
        if response.status_code not in expect:
            raise DemoFailure(f"{method} /api/v2{path} answered HTTP {response.status_code}: {response.text[:300]}")
        return response.json() if response.content else None

    def wait_parsed(self, dag_id: str) -> None:
        """Wait until the dag-processor has parsed ``dag_id`` (without import errors)."""

        def parsed() -> bool:
            errors = self.call("GET", "/importErrors")
            if errors.get("total_entries"):
                raise DemoFailure(f"import errors in the DAGs folder: {errors['import_errors']}")
            return self.session.get(f"{self.base_url}/api/v2/dags/{dag_id}", timeout=10).status_code == 200

        wait_for(f"the dag-processor to parse {dag_id}", parsed, TIMEOUT_DAG_PARSED)

    def unpause(self, dag_id: str) -> None:
        """Unpause a DAG, as the toggle in the UI does."""
        self.call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str) -> str:
        """Trigger a manual run and return its run id."""
        run = self.call("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None}, expect=(200,))
        return str(run["dag_run_id"])

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        """Every run of a DAG, oldest first."""
        return list(self.call("GET", f"/dags/{dag_id}/dagRuns", params={"order_by": "id", "limit": 100})["dag_runs"])

    def wait_run(self, dag_id: str, run_id: str, check: Callable[[], None]) -> dict[str, Any]:
        """Wait (bounded) for a run to finish and return it; raise unless it succeeded."""

        def finished() -> dict[str, Any] | None:
            check()
            run = self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            return run if run["state"] in ("success", "failed") else None

        run = wait_for(f"{dag_id} run {run_id} to finish", finished, TIMEOUT_RUN, interval=1.0)
        if run["state"] != "success":
            states = {ti["task_id"]: ti["state"] for ti in self.task_instances(dag_id, run_id)}
            raise DemoFailure(f"{dag_id} run {run_id} ended {run['state']}: task states {states}")
        return run

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The task instances of a run."""
        return list(self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"])

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> Any:
        """The ``return_value`` XCom of a task, deserialised."""
        entry = self.call(
            "GET",
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value",
            params={"deserialize": "true"},
        )
        value = entry.get("value")
        for _ in range(2):  # some versions return the JSON text (once or twice encoded)
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    break
        return value

    def recorded_hook_ids(self, channel: str) -> list[str]:
        """The hook ids of the subscriptions a channel's state records: its base document and change records.

        The REST API masks the ``secret_sha256`` fields (their name says "secret"), so the Variables are
        read as plain JSON rather than as a ``ChannelState``; removals win, as in ``merge_state``.
        """
        from airflow_provider_dailybot.webhooks.channels import record_key_prefix, variable_key

        params = {"variable_key_pattern": variable_key(channel), "order_by": "key", "limit": 100}
        listed = {v["key"]: v["value"] for v in self.call("GET", "/variables", params=params)["variables"]}
        records = sorted(k for k in listed if k.startswith(record_key_prefix(channel) + "change."))
        documents = [json.loads(listed[k]) for k in [variable_key(channel), *records] if k in listed]
        deleted = {h for document in documents[1 if variable_key(channel) in listed else 0 :]
                   for h in document.get("deleted_hook_ids", [])}  # fmt: skip
        recorded = dict.fromkeys(s["hook_id"] for document in documents for s in document.get("subscriptions", []))
        return [h for h in recorded if h not in deleted]

    def test_connection(self, body: dict[str, Any]) -> tuple[bool, str]:
        """``POST /api/v2/connections/test`` (the form's *Test* button): run in the api-server."""
        answer = self.call("POST", "/connections/test", json=body)
        return bool(answer["status"]), str(answer["message"])


# ----------------------------------------------------------------------------------------- demo


def _fmt_time(epoch: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(epoch)) + f".{int(epoch % 1 * 10)}"


def _emitted_body() -> dict[str, Any]:
    """A ``followups.response.completed`` body that is recognisable in the report: a new response by Grace Hopper."""
    from airflow_provider_dailybot.testing.samples import sample_body

    body = sample_body(CHECKIN_COMPLETED)
    body["uuid"] = str(uuid.uuid4())
    body["user"] = {**body["user"], "uuid": str(uuid.uuid4()), "full_name": EMITTED_USER}
    body["checkins"] = [{"uuid": str(uuid.uuid4()), "name": "Daily standup"}]
    blocker_question = next(f["uuid"] for f in body["questions"]["fields"] if f.get("is_blocker"))
    body["content"] = {**body["content"], blocker_question: EMITTED_BLOCKER}
    body["blockers_status"] = {blocker_question: True}
    body["has_issue"] = True
    return body


class Demo:
    """The demo's steps on a started stack (see the module docstring)."""

    def __init__(self, stack: AirflowStack, fake: FakeDailyBotProcess, report: Report) -> None:
        self.stack = stack
        self.fake = fake
        self.report = report
        self.api: AirflowApi | None = None

    @property
    def rest(self) -> AirflowApi:
        """The REST client (after :meth:`start`)."""
        if self.api is None:
            raise DemoFailure("the api-server is not started")
        return self.api

    def fake_state(self) -> dict[str, Any]:
        """The fake DailyBot's subscriptions and deliveries (``GET /_fake/state``)."""
        state: dict[str, Any] = self.fake.control("GET", "state")
        return state

    def subscription(self, hook_id: str) -> dict[str, Any] | None:
        """The fake's record of a subscription, or None once deleted."""
        return next((s for s in self.fake_state()["subscriptions"] if s["id"] == hook_id), None)

    def deliveries(self, hook_id: str) -> list[dict[str, Any]]:
        """The fake's delivery attempts of a subscription."""
        return [d for d in self.fake_state()["deliveries"] if d["hook_id"] == hook_id]

    # ----------------------------------------------------------------------------- steps

    def start(self) -> None:
        """Create the metadata DB and start every component; log in to the REST API."""
        with self.report.step("Start Airflow on 127.0.0.1") as step:
            self.stack.migrate()
            self.stack.start("api-server", "scheduler", "dag-processor", "triggerer")
            self.stack.wait_ready()
            self.api = AirflowApi(self.stack.base_url, self.stack.token())
            from importlib.metadata import version

            step.details += [
                f"Airflow {version('apache-airflow')}: api-server {self.stack.base_url} (receiver at /dailybot), "
                "scheduler, dag-processor, triggerer; LocalExecutor, sqlite",
                f"AIRFLOW_HOME {self.stack.home}",
                f"fake DailyBot {self.fake.base_url} is the dailybot_default connection",
            ]
            for dag_id in (LIFECYCLE, ROTATION, CONSUMER):
                self.rest.wait_parsed(dag_id)
            self.rest.unpause(CONSUMER)
            step.details.append(f"DAGs parsed: {LIFECYCLE}, {ROTATION}, {CONSUMER} (unpaused)")
            self.report.facts["airflow_version"] = version("apache-airflow")
            self.report.facts["api_server"] = self.stack.base_url
            self.report.facts["fake_dailybot"] = self.fake.base_url

    def lifecycle_and_first_rotation(self) -> None:
        """Run the lifecycle DAG (triggered) and the rotation's first, scheduled run, side by side."""
        self.rest.unpause(LIFECYCLE)
        lifecycle_run = self.rest.trigger(LIFECYCLE)
        self.rest.unpause(ROTATION)  # @weekly, catchup=False: the scheduler starts the latest interval's run
        with self.report.step("Lifecycle: create → verify by the sample delivery → delete") as step:
            self.rest.wait_run(LIFECYCLE, lifecycle_run, self.stack.processes.check_running)
            created = self.rest.xcom(LIFECYCLE, lifecycle_run, "create_subscription")
            verified = self.rest.xcom(LIFECYCLE, lifecycle_run, "verify_delivery")
            deleted = self.rest.xcom(LIFECYCLE, lifecycle_run, "delete_subscription")
            hook_id = created["hook_id"]
            (sample,) = [d for d in self.deliveries(hook_id) if d["sample"]]
            created_at = _iso_epoch(created["created_at"])
            if sample["status"] != 202 or verified["hook_id"] != hook_id:
                raise DemoFailure(f"the sample of {hook_id} was not accepted: {sample['status']} {sample['error']}")
            if not deleted["deleted"] or self.subscription(hook_id) is not None:
                raise DemoFailure(f"subscription {hook_id} is still at DailyBot")
            step.details += [
                f"run {lifecycle_run} (triggered through the REST API, run by the scheduler)",
                f"created   subscription {hook_id} at {_fmt_time(created_at)}: {created['hook_url']}",
                f"          events {', '.join(created['events'])}",
                f"verified  its sample ({sample['event']}) reached the receiver at {_fmt_time(sample['started_at'])} "
                f"(DailyBot sends it during the create call): HTTP {sample['status']}, recorded as asset event "
                f"dailybot_{LIFECYCLE_CHANNEL} at {verified['recorded_at'][11:22]}, found by verify_delivery",
                f"deleted   subscription {hook_id} by the teardown delete_subscription; its secret is retired",
            ]
            self.report.facts["lifecycle"] = {
                "run_id": lifecycle_run,
                "created": created,
                "sample": {k: sample[k] for k in ("event", "status", "started_at")},
                "verified": verified,
                "deleted": deleted,
            }

        with self.report.step(f"Rotation, first run: the '{CHANNEL}' channel's first subscription") as step:
            run_id = self._first_rotation_run()
            self.rest.wait_run(ROTATION, run_id, self.stack.processes.check_running)
            created = self.rest.xcom(ROTATION, run_id, f"{ROTATION_GROUP}.create_new_subscription")
            if self.subscription(created["hook_id"]) is None:
                raise DemoFailure(f"subscription {created['hook_id']} is missing at DailyBot")
            step.details += [
                f"run {run_id}",
                f"created   subscription {created['hook_id']} → {created['hook_url']}, verified by its sample",
            ]
            self.report.facts["first_rotation"] = {"run_id": run_id, "created": created}

    def _first_rotation_run(self) -> str:
        """The run the scheduler created when the DAG was unpaused (triggered by hand if none appears)."""
        try:
            runs = wait_for(f"the scheduler to start {ROTATION}", lambda: self.rest.runs(ROTATION), TIMEOUT_AUTO_RUN)
        except TimeoutError:
            self.report.say(f"    no scheduled run of {ROTATION} appeared; triggering one")
            return self.rest.trigger(ROTATION)
        return str(runs[0]["dag_run_id"])

    def event_to_dag(self) -> None:
        """Emit an event on the fake DailyBot and follow it to the asset-scheduled DAG."""
        with self.report.step("Event → receiver → asset event → DAG run") as step:
            hook_id = self.report.facts["first_rotation"]["created"]["hook_id"]
            known_runs = {run["dag_run_id"] for run in self.rest.runs(CONSUMER)}
            answer = self.fake.control("POST", "emit", {"event": CHECKIN_COMPLETED, "body": _emitted_body()})
            attempts = answer["deliveries"]
            if [(a["hook_id"], a["status"]) for a in attempts] != [(hook_id, 202)]:
                raise DemoFailure(f"the event was not delivered by {hook_id} with 202: {attempts}")
            emitted_at = attempts[0]["started_at"]

            def received() -> tuple[str, dict[str, Any]] | None:
                self.stack.processes.check_running()
                for run in self.rest.runs(CONSUMER):
                    if run["dag_run_id"] in known_runs or run["state"] not in ("success", "failed"):
                        continue
                    if run["state"] == "failed":
                        raise DemoFailure(f"{CONSUMER} run {run['dag_run_id']} failed")
                    summary = self.rest.xcom(CONSUMER, run["dag_run_id"], "summarize_checkins")
                    if any(c["who"] == EMITTED_USER for c in summary["checkins"]):
                        return str(run["dag_run_id"]), summary
                    known_runs.add(run["dag_run_id"])  # a run for an earlier delivery (a sample)
                return None

            run_id, summary = wait_for(f"a {CONSUMER} run with the event", received, TIMEOUT_RUN, interval=1.0)
            run = self.rest.call("GET", f"/dags/{CONSUMER}/dagRuns/{run_id}")
            checkin = next(c for c in summary["checkins"] if c["who"] == EMITTED_USER)
            blockers = "; ".join(f"{b['question']}: {b['answer']}" for b in checkin["blockers"])
            step.details += [
                f"emitted   {CHECKIN_COMPLETED} on the fake DailyBot at {_fmt_time(emitted_at)}",
                f"delivered by subscription {hook_id} to the receiver: HTTP {attempts[0]['status']} "
                f"in {attempts[0]['duration'] * 1000:.0f} ms",
                f"DAG run   {CONSUMER} {run_id} (run type {run['run_type']}, "
                f"{_iso_epoch(run['end_date']) - emitted_at:.1f} s from emission to the run's end)",
                f"received  {summary['deliveries']} delivery: {checkin['who']} completed "
                f"{', '.join(checkin['checkins'])}; blocked: {checkin['blocked']} ({blockers})",
            ]
            self.report.facts["event"] = {"run_id": run_id, "delivered_by": hook_id, "summary": summary}

    def rotation(self) -> None:
        """Trigger the rotation: a new subscription is verified, the old one deleted, its secret retired."""
        old = self.report.facts["first_rotation"]["created"]["hook_id"]
        with self.report.step(f"Rotation: replace the '{CHANNEL}' subscription and its secret") as step:
            run_id = self.rest.trigger(ROTATION)
            self.rest.wait_run(ROTATION, run_id, self.stack.processes.check_running)
            created = self.rest.xcom(ROTATION, run_id, f"{ROTATION_GROUP}.create_new_subscription")
            verified = self.rest.xcom(ROTATION, run_id, f"{ROTATION_GROUP}.verify_new_subscription")
            promoted = self.rest.xcom(ROTATION, run_id, f"{ROTATION_GROUP}.promote_new_subscription")
            new = created["hook_id"]
            subscriptions = [s for s in self.fake_state()["subscriptions"] if s["hook_url"] == created["hook_url"]]
            recorded = self.rest.recorded_hook_ids(CHANNEL)
            if promoted["deleted"] != [old] or [s["id"] for s in subscriptions] != [new]:
                raise DemoFailure(f"expected only {new} left, deleted {old}; got {promoted}, {subscriptions}")
            if recorded != [new] or promoted["retired_secrets"] < 1:
                raise DemoFailure(f"the channel's state does not hold only {new}: {recorded}")
            step.details += [
                f"run {run_id} (triggered)",
                f"created   subscription {new}, verified by its sample at {verified['recorded_at'][11:22]}",
                f"deleted   the previous subscription {old} (promote_new_subscription); "
                f"secrets retired: {promoted['retired_secrets']}",
                f"now       DailyBot delivers '{CHANNEL}' through {new} only; the channel accepts only its secret",
            ]
            self.report.facts["rotation"] = {"run_id": run_id, "created": created, "promoted": promoted}

    def real_api_check(self, api_key: str, api_url: str | None) -> None:
        """Test connection against the real DailyBot API, through the api-server (the UI's *Test* button)."""
        with self.report.step("Test connection against the real DailyBot API") as step:
            body: dict[str, Any] = {"connection_id": "dailybot_demo_real", "conn_type": "dailybot", "password": api_key}
            if api_url:
                body["host"] = api_url
            ok, message = self.rest.test_connection(body)
            step.details.append(f"{api_url or 'https://api.dailybot.com/v1/'}: {message}")
            self.report.facts["real_api"] = {"ok": ok, "message": message}
            if not ok:
                raise DemoFailure(f"DailyBot answered: {message}")

    def check_loopback(self) -> None:
        """Check from ``/proc`` that every socket the run's processes listen on is on 127.0.0.1."""
        with self.report.step("Check: every listening socket is on 127.0.0.1") as step:
            listeners = self.stack.processes.listening_sockets()
            exposed = [str(item) for item in listeners if not item.loopback]
            step.details += [f"listening {item}" for item in listeners]
            self.report.facts["listening"] = [str(item) for item in listeners]
            if not listeners or exposed:
                raise DemoFailure(f"listening beyond loopback: {exposed}" if exposed else "no listening socket found")


def _story(facts: dict[str, Any]) -> list[str]:
    """The demo's outcome in five lines, from what the steps recorded (empty lines for steps not reached)."""
    lines = []
    if "lifecycle" in facts:
        created, sample, verified = (facts["lifecycle"][key] for key in ("created", "sample", "verified"))
        lines += [
            f"created    {created['hook_id']} → {created['hook_url']}",
            f"verified   by its sample delivery: the receiver answered HTTP {sample['status']} at "
            f"{_fmt_time(sample['started_at'])} and recorded it at {verified['recorded_at'][11:22]}",
        ]
    if "event" in facts:
        event = facts["event"]
        who = ", ".join(c["who"] + (" (blocked)" if c["blocked"] else "") for c in event["summary"]["checkins"])
        lines.append(f"delivered  an emitted event via {event['delivered_by']} → {CONSUMER} {event['run_id']}: {who}")
    if "rotation" in facts:
        old, new = ", ".join(facts["rotation"]["promoted"]["deleted"]), facts["rotation"]["created"]["hook_id"]
        lines.append(f"rotated    '{CHANNEL}': {old} → {new}")
    deleted = []
    if facts.get("lifecycle", {}).get("deleted", {}).get("deleted"):
        deleted.append(f"{facts['lifecycle']['created']['hook_id']} (lifecycle teardown)")
    if "rotation" in facts:
        deleted += [f"{hook_id} (replaced by the rotation)" for hook_id in facts["rotation"]["promoted"]["deleted"]]
    if deleted:
        lines.append(f"deleted    {', '.join(deleted)}")
    return lines


def _iso_epoch(value: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


# ------------------------------------------------------------------------------------------ main


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m demo",
        description="Run the provider's example DAGs end to end on a local Airflow and the fake DailyBot "
        "(everything on 127.0.0.1), print a report, and exit 0 only if every step succeeded.",
        epilog=f"With {REAL_API_KEY_ENV} set (and optionally {REAL_API_URL_ENV}), also runs Test connection "
        "against the real DailyBot API.",
    )
    parser.add_argument(
        "--api-key",
        default=None,
        help=f"the key the fake DailyBot accepts and the dailybot_default connection uses (default: "
        f"${FAKE_API_KEY_ENV}, which keeps it out of ps, else a built-in demo key); never printed",
    )
    parser.add_argument(
        "--keep-home",
        metavar="DIR",
        type=Path,
        help="use DIR (new or empty) as AIRFLOW_HOME and keep it, with every process's log, for inspection "
        "(default: a temporary folder, removed at the end)",
    )
    parser.add_argument("--report-json", metavar="PATH", type=Path, help="also write the report as JSON to PATH")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo and return the exit status (0 only if every step succeeded)."""
    args = _parser().parse_args(argv)
    fake_key = args.api_key or os.environ.get(FAKE_API_KEY_ENV, "").strip() or DEMO_API_KEY
    real_key = os.environ.get(REAL_API_KEY_ENV, "").strip()
    real_url = os.environ.get(REAL_API_URL_ENV, "").strip() or None
    if args.keep_home:
        home = args.keep_home.resolve()
        if home.exists() and any(home.iterdir()):
            print(f"--keep-home {home}: the folder must be new or empty", file=sys.stderr)
            return 2
        home.mkdir(parents=True, exist_ok=True)
    else:
        home = Path(tempfile.mkdtemp(prefix="dailybot-demo-"))
    stack = AirflowStack(home, dag_files=DAG_FILES)
    report = Report(secrets=[fake_key, real_key, *stack.secrets()])
    report.out("DailyBot provider demo: the example DAGs on a local Airflow and the fake DailyBot, on 127.0.0.1 only")
    fake = FakeDailyBotProcess(stack.processes, fake_key)
    demo = Demo(stack, fake, report)
    failure: str | None = None
    try:
        fake.start()
        stack.processes.env["AIRFLOW_CONN_DAILYBOT_DEFAULT"] = fake.connection_json()
        demo.start()
        demo.lifecycle_and_first_rotation()
        demo.event_to_dag()
        demo.rotation()
        demo.check_loopback()
        if real_key:
            demo.real_api_check(real_key, real_url)
        else:
            report.say(f"{REAL_API_KEY_ENV} is not set: skipping Test connection against the real DailyBot API")
    except (DemoFailure, ProcessFailure, TimeoutError, OSError, requests.RequestException) as exc:
        failure = report.clean(str(exc))
    except KeyboardInterrupt:
        failure = "interrupted"
    finally:
        stop = Step("Stop every process and check that none is left")
        report.steps.append(stop)
        begun = time.monotonic()
        left = stack.stop()
        stop.seconds = round(time.monotonic() - begun, 1)
        stop.ok = not left
        stop.details.append("nothing left running" if not left else f"still running: pids {left}")
        if args.keep_home:
            stop.details.append(f"kept AIRFLOW_HOME and logs in {home} (process logs in {home / 'process-logs'})")
        else:
            shutil.rmtree(home, ignore_errors=True)
    if failure:
        report.out(report.clean(f"\nFAILED: {failure}"))
        if args.keep_home is None:
            report.out("Re-run with --keep-home DIR to keep the logs of every process.")
    report.out(report.summary())
    if args.report_json:
        args.report_json.parent.mkdir(parents=True, exist_ok=True)
        args.report_json.write_text(json.dumps(report.to_json(), indent=2) + "\n")
    return 0 if report.ok and failure is None else 1


if __name__ == "__main__":
    sys.exit(main())
