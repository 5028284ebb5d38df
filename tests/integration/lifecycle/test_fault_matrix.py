"""Fault matrix: every step of a subscription's life x every fault the fake DailyBot can inject.

**Steps.** Each step is a task of a real DAG run with ``dag.test()`` against the fake DailyBot. The fake
delivers into the receiver of the in-process api-server app:

* ``create``: ``create_new_subscription`` of the rotation task group. Its traffic is ``POST /v1/webhook-subscription/``.
* ``verify``: ``verify_new_subscription``. Its traffic is the new subscription's sample delivery.
* ``rotate``: ``promote_new_subscription``. Its traffic is the ``DELETE`` of the previous subscription.
* ``delete``: the ``delete_subscription`` teardown of a create → verify → delete DAG. Its traffic is the ``DELETE``.

Every cell starts from a channel that already has a working subscription (the "previous" one), so
the channel is active throughout.

**Faults.** HTTP 500, HTTP 503, 429 with ``Retry-After``, a delay past the timeout, a dropped
connection, a delivery that never arrives, a delivery that arrives twice, and the delete failing
(405 to every DELETE form).

Each fault is injected into the traffic the step depends on:

* **API faults** are armed for every DailyBot API request while the step's first try runs. They are
  disarmed when the next task, or the step's retry, starts.
* **Delivery faults** hit the sample for ``verify``. For the other steps they hit the real events
  DailyBot delivers while the step runs: every step starts by emitting such a probe event.
* A "delay past the timeout" on ``verify`` delays the sample past the sensor's timeout.

The cells are generated as the product of ``STEPS`` x ``FAULTS``. :func:`plan` derives each cell's
expected outcome from two rules: what traffic the step sends, and what the fault does to it.

* ``retried``: the step's first try fails with a typed error that names the failed request. The
  task retry converges within the same run.
* ``rerun``: the verification times out (Airflow never retries a sensor timeout) and the run fails
  safely: the rollback teardown removes the new subscription. The next run converges.
* ``absorbed``: the step succeeds at its first try (duplicates are recorded once).
* ``unaffected``: the step sends no such traffic. The armed fault is never hit, and the step succeeds.

In every cell, at the start of the step, before a retry, after the run and after convergence:

* a probe event reaches the channel and is recorded exactly once (unless the fault drops it);
* every subscription that exists at DailyBot and is recorded for the channel has its secret
  accepted, the previous one included, until it is gone.

At the end of every cell: DailyBot holds exactly one subscription (no duplicate, no orphan), and the
channel registry records exactly that subscription and accepts only its secret. For ``delete``, that
is the previous subscription. For the rotation steps, it is a new one, and every other secret is
refused.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from airflow_provider_dailybot.exceptions import (
    DailyBotApiError,
    DailyBotError,
    DailyBotRateLimitError,
    DailyBotServerError,
    DailyBotTimeoutError,
    DailyBotTransportError,
)
from airflow_provider_dailybot.operators.webhook_subscription import (
    DailyBotCreateWebhookSubscriptionOperator,
    DailyBotDeleteWebhookSubscriptionOperator,
)
from airflow_provider_dailybot.sensors.webhook_delivery import DailyBotWebhookDeliverySensor
from airflow_provider_dailybot.testing import FakeDailyBotServer, sample_body
from airflow_provider_dailybot.testing.server import FakeSubscription
from airflow_provider_dailybot.testing.server import Fault as InjectedFault
from tests.integration.conftest import channel_events, sync_dags
from tests.integration.dag_runs import task_states
from tests.integration.faults import HOOK_TIMEOUT, TaskError, bearer_accepted

try:  # Airflow 3.2+
    from airflow.sdk.exceptions import AirflowSensorTimeout
except ImportError:  # Airflow 3.1
    from airflow.exceptions import AirflowSensorTimeout  # type: ignore[no-redef]

pytestmark = [pytest.mark.db, pytest.mark.timeout(120)]

EVENTS = ["followups.response.completed", "kudos.posted"]
SAMPLE_EVENT = EVENTS[0]  # the fake sends the immediate sample for the first event
PROBE_EVENT = EVENTS[1]  # real events emitted while a step runs
VERIFY_TIMEOUT = 2.5
POKE_INTERVAL = 0.25
SETTLE_SECONDS = 20.0
WHOLE_STEP = 1000  # ``times`` of a fault that lasts as long as the step's first try
CREATE_REQUEST = "POST /v1/webhook-subscription/"
DELETE_REQUEST = "DELETE /v1/webhook-subscription/"

RETRIED, RERUN, ABSORBED, UNAFFECTED = "retried", "rerun", "absorbed", "unaffected"


@dataclass(frozen=True)
class Fault:
    """A fault the fake DailyBot can inject.

    ``api`` holds the ``FakeDailyBotServer.inject`` arguments for the DailyBot API requests, and
    ``delivery`` the ``inject_delivery`` arguments for deliveries. ``None`` means the fault does
    not apply to that direction.
    """

    name: str
    api: dict[str, Any] | None = None
    delivery: dict[str, Any] | None = None
    error: type[Exception] | None = None  # the hook's typed error for the API fault
    says: str = ""  # what that error's message says about the failure

    @property
    def drops_deliveries(self) -> bool:
        return bool(self.delivery and self.delivery.get("drop"))

    @property
    def duplicates_deliveries(self) -> bool:
        return bool(self.delivery and self.delivery.get("duplicate"))

    @property
    def delete_only(self) -> bool:
        return bool(self.api and self.api.get("method") == "DELETE")


FAULTS = (
    Fault("http_500", api={"status": 500}, error=DailyBotServerError, says="HTTP 500"),
    Fault("http_503", api={"status": 503}, error=DailyBotServerError, says="HTTP 503"),
    Fault("http_429_retry_after", api={"status": 429, "retry_after": 1}, error=DailyBotRateLimitError, says="HTTP 429"),
    Fault(
        "delay_past_timeout",
        # DailyBot does the work at once, but its answer comes after the client has given up.
        api={"delay": HOOK_TIMEOUT + 1, "after_processing": True},
        delivery={"delay": VERIFY_TIMEOUT},  # on the sample, also held until the verification has failed
        error=DailyBotTimeoutError,
        says="timeout",
    ),
    Fault(
        "dropped_connection",
        api={"drop": True, "after_processing": True},  # processed, then the connection is closed unanswered
        error=DailyBotTransportError,
        says="ConnectionError",
    ),
    Fault("delivery_never_arrives", delivery={"drop": True}),
    Fault("delivery_arrives_twice", delivery={"duplicate": True}),
    Fault("delete_fails", api={"status": 405, "method": "DELETE"}, error=DailyBotApiError, says="HTTP 405"),
)


@dataclass(frozen=True)
class Step:
    """A step of a subscription's life: one task of a DAG.

    ``request`` is the DailyBot request the step sends. ``None`` means the step waits for a delivery.
    """

    name: str
    dag: str  # "rotation" or "lifecycle"
    task: str
    request: str | None


STEPS = (
    Step("create", "rotation", "create_new_subscription", CREATE_REQUEST),
    Step("verify", "rotation", "verify_new_subscription", None),
    Step("rotate", "rotation", "promote_new_subscription", DELETE_REQUEST),
    Step("delete", "lifecycle", "delete_subscription", DELETE_REQUEST),
)


@dataclass(frozen=True)
class Cell:
    """One cell of the matrix: where the fault is injected (``target``) and the expected ``outcome``."""

    step: Step
    fault: Fault
    target: str  # "requests" (API requests of the step), "sample" (the sample delivery), "events" (probe events)
    outcome: str

    @property
    def id(self) -> str:
        return f"{self.step.name}-{self.fault.name}"


def plan(step: Step, fault: Fault) -> Cell:
    """Derive where ``fault`` hits ``step`` and what must happen, from the step's traffic and the fault's kind."""
    if step.request is None:  # verify depends on the sample delivery only, never on DailyBot's API
        if fault.delivery is None:
            return Cell(step, fault, "requests", UNAFFECTED)
        # A sample that never arrives, or arrives after the sensor's timeout, fails the verification for good
        # (Airflow does not retry a sensor timeout): the rollback removes the new subscription, the next run converges.
        return Cell(step, fault, "sample", ABSORBED if fault.duplicates_deliveries else RERUN)
    if fault.api is None:  # a delivery fault: the real events delivered while the step runs
        return Cell(step, fault, "events", ABSORBED if fault.duplicates_deliveries else UNAFFECTED)
    if fault.delete_only and not step.request.startswith("DELETE"):
        return Cell(step, fault, "requests", UNAFFECTED)
    return Cell(step, fault, "requests", RETRIED)


CELLS = [plan(step, fault) for step, fault in itertools.product(STEPS, FAULTS)]


def in_floor_subset(cell: Cell) -> bool:
    """The cells run on Airflow 3.1: every fault once, every step twice (a diagonal of the matrix)."""
    return (STEPS.index(cell.step) + FAULTS.index(cell.fault)) % len(STEPS) == 0


def _slow_in_process_tasks() -> bool:
    """Airflow 3.1 runs dag.test() tasks through a WSGI bridge to the Execution API: ~2 s per task."""
    from airflow import __version__
    from packaging.version import Version

    return Version(__version__) < Version("3.2") and os.environ.get("DAILYBOT_FULL_MATRIX") != "1"


def matrix_params() -> list[Any]:
    light = _slow_in_process_tasks()
    skip = pytest.mark.skip(
        reason="Airflow 3.1 runs the diagonal subset (every fault, every step): its in-process task runs "
        "cost ~2 s each; DAILYBOT_FULL_MATRIX=1 runs all cells"
    )
    return [pytest.param(c, id=c.id, marks=[skip] if light and not in_floor_subset(c) else []) for c in CELLS]


def test_matrix_size(report_figure: Callable[[str], None]) -> None:
    """Print the size of the matrix and its outcomes; every fault is injected at every step."""
    outcomes = {name: sum(c.outcome == name for c in CELLS) for name in (RETRIED, RERUN, ABSORBED, UNAFFECTED)}
    assert len(CELLS) == len(STEPS) * len(FAULTS) == len({c.id for c in CELLS})
    floor = [c for c in CELLS if in_floor_subset(c)]
    assert {c.fault.name for c in floor} == {f.name for f in FAULTS}
    assert {c.step.name for c in floor} == {s.name for s in STEPS}
    assert outcomes[UNAFFECTED] < len(CELLS) / 3, "most cells must exercise the fault"
    report_figure(
        f"fault matrix: {len(STEPS)} steps x {len(FAULTS)} faults = {len(CELLS)} cells "
        f"({', '.join(f'{n} {name}' for name, n in outcomes.items())})"
        + (f"; this run: the {len(floor)}-cell diagonal (Airflow 3.1)" if _slow_in_process_tasks() else "")
    )


# -- the harness ------------------------------------------------------------------------------------
@dataclass
class CellRun:
    """Runs one cell: injects the fault around the step and checks the invariants at every checkpoint."""

    cell: Cell
    fake: FakeDailyBotServer
    client: Any
    channel: str
    previous: FakeSubscription | None = None
    problems: list[str] = field(default_factory=list)
    probes: list[tuple[str, str, int]] = field(default_factory=list)  # (where, marker, expected records)
    api_fault: InjectedFault | None = None
    sample_fault: Any = None
    window: str = "closed"  # closed -> open -> done
    late_sample: threading.Event = field(default_factory=threading.Event)  # set: the held sample may go

    # -- fault injection, driven by the tasks' pre_execute hook --------------------------------------
    def before_run(self) -> None:
        if self.cell.target == "sample" and self.window == "closed":
            assert self.cell.fault.delivery is not None
            self.sample_fault = self.fake.inject_delivery(event=SAMPLE_EVENT, **self.cell.fault.delivery)
            if self.cell.fault.delivery.get("delay"):
                self.hold_new_samples()
        else:
            self.late_sample.set()

    def hold_new_samples(self) -> None:
        """Deliver the new subscription's sample only once its verification has failed.

        The fake's delay alone would race with the sensor noticing its timeout, which takes longer on a
        slow or loaded machine; holding the delivery until the rollback starts makes the order certain.
        """
        deliver = self.fake.transport
        previous = self.previous.id if self.previous else None

        def held(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
            envelope = json.loads(body)
            if envelope.get("event") == SAMPLE_EVENT and (envelope.get("hook") or {}).get("id") != previous:
                self.late_sample.wait(SETTLE_SECONDS)
            return deliver(url, headers, body, timeout)

        self.fake.transport = held

    def on_task_start(self, context: Any) -> None:
        ti = context["ti"]
        task = ti.task_id.rsplit(".", 1)[-1]
        if task == "rollback_unverified_subscription":
            self.late_sample.set()
        if task == self.cell.step.task and ti.try_number == 1:
            if self.window == "closed":  # a sensor runs pre_execute on every poke
                self.open_window()
            return
        retrying = task == self.cell.step.task and self.window == "open"
        self.close_window()
        if retrying:
            self.checkpoint(f"before the retry of {task}")

    def open_window(self) -> None:
        self.window = "open"
        fault = self.cell.fault
        if self.cell.target == "requests":
            assert fault.api is not None
            self.api_fault = self.fake.inject(**{"path": "/v1/", **fault.api, "times": WHOLE_STEP})
        elif self.cell.target == "events":
            assert fault.delivery is not None
            self.fake.inject_delivery(event=PROBE_EVENT, times=WHOLE_STEP, **fault.delivery)
        if self.cell.step.request is not None:
            # Not while verifying: any real event from the new subscription would verify it, masking the sample's fate.
            lost = self.cell.target == "events" and fault.drops_deliveries
            self.probe(f"at the start of {self.cell.step.task}", expected=0 if lost else 1)

    def close_window(self) -> None:
        if self.window != "open":
            return
        self.window = "done"
        self.late_sample.set()
        self.settle()
        self.fake.clear_faults()

    def settle(self) -> None:
        """Wait until DailyBot has finished the work it was asked for: every subscription sent its sample."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            delivered = {d.hook_id for d in self.fake.deliveries if d.sample}
            pending = [s.id for s in self.fake.subscriptions if s.id not in delivered]
            if not pending:
                return
            if time.monotonic() > deadline:
                self.problems.append(f"subscriptions {pending} never sent their sample")
                return
            time.sleep(0.05)

    # -- invariants ----------------------------------------------------------------------------------
    def probe(self, where: str, *, expected: int) -> None:
        """Emit a real event: some subscription must deliver it (unless a fault drops it)."""
        marker = uuid.uuid4().hex
        attempts = self.fake.emit(PROBE_EVENT, {**sample_body(PROBE_EVENT), "probe": marker})
        if expected and not any(a.ok for a in attempts):
            self.problems.append(
                f"{where}: no subscription delivered the probe: {[(a.hook_id, a.status, a.error) for a in attempts]}"
            )
        self.probes.append((where, marker, expected))

    def checkpoint(self, where: str) -> None:
        """Every subscription that exists and is recorded still works; so does the previous one."""
        from airflow_provider_dailybot.webhooks.channels import MetadataChannelStore

        existing = {s.id for s in self.fake.subscriptions}
        state = MetadataChannelStore().load(self.channel)
        recorded = {s.hook_id for s in state.subscriptions} if state else set()
        must_work = (existing & recorded) | ({self.previous.id} & existing if self.previous else set())
        for hook_id in sorted(must_work):
            bearer = self.fake.seen_bearers.get(hook_id)  # type: ignore[attr-defined]
            if bearer is not None and not bearer_accepted(self.client, self.channel, bearer):
                self.problems.append(f"{where}: subscription {hook_id} exists but its secret is refused")
        self.probe(where, expected=1)

    def recorded_probes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for event in channel_events(self.channel):
            marker = (event.extra.get("body") or {}).get("probe")
            if marker:
                counts[marker] = counts.get(marker, 0) + 1
        return counts


def establish_previous_subscription(fake: FakeDailyBotServer, channel: str) -> FakeSubscription:
    """Give the channel a working subscription, recorded the way the create operator records one."""
    from airflow_provider_dailybot.hooks.dailybot import DailyBotHook
    from airflow_provider_dailybot.webhooks.channels import (
        ChannelState,
        ChannelSubscription,
        MetadataChannelStore,
        generate_secret,
    )
    from airflow_provider_dailybot.webhooks.config import channel_hook_url

    secret = generate_secret()
    state = ChannelState(channel=channel)
    digest = state.add_secret(secret)
    MetadataChannelStore().save(state)
    created = DailyBotHook().create_webhook_subscription(
        hook_url=channel_hook_url(channel), events=EVENTS, bearer=secret, immediate_sample_event=True
    )
    state.add_subscription(
        ChannelSubscription(hook_id=created.id, hook_url=created.hook_url, events=EVENTS, secret_sha256=digest)
    )
    MetadataChannelStore().save(state)
    (sample,) = fake.wait_for_deliveries(1, timeout=SETTLE_SECONDS)
    assert sample.ok, sample
    (previous,) = fake.subscriptions
    return previous


def build_dag(cell: Cell, channel: str, pre_execute: Callable[[Any], None]) -> Any:
    from airflow.sdk import DAG

    from airflow_provider_dailybot.task_groups.webhook_rotation import dailybot_webhook_rotation

    task_kwargs: dict[str, Any] = {"retries": 1, "retry_delay": timedelta(seconds=0), "pre_execute": pre_execute}
    with DAG(dag_id=f"matrix_{cell.id}_{channel}".replace("-", "_"), schedule=None, catchup=False) as dag:
        if cell.step.dag == "rotation":
            dailybot_webhook_rotation(
                channel=channel,
                events=EVENTS,
                group_id="rotate",
                verify_timeout=VERIFY_TIMEOUT,
                poke_interval=POKE_INTERVAL,
                **task_kwargs,
            )
        else:
            create = DailyBotCreateWebhookSubscriptionOperator(
                task_id="create_subscription", channel=channel, events=EVENTS, **task_kwargs
            )
            verify = DailyBotWebhookDeliverySensor(
                task_id="verify_delivery",
                channel=channel,
                subscription=create.output,
                timeout=VERIFY_TIMEOUT,
                poke_interval=POKE_INTERVAL,
                **task_kwargs,
            )
            delete = DailyBotDeleteWebhookSubscriptionOperator(
                task_id="delete_subscription", subscription=create.output, **task_kwargs
            )
            create >> verify >> delete.as_teardown(setups=create)
    sync_dags(dag)
    return dag


def short_states(dag_run: Any) -> dict[str, str]:
    return {task_id.rsplit(".", 1)[-1]: state for task_id, state in task_states(dag_run).items()}


@pytest.fixture
def cell_run(request: pytest.FixtureRequest, fast_fake: FakeDailyBotServer, receiver_client: Any) -> Iterator[CellRun]:
    cell: Cell = request.param
    channel = f"mx-{uuid.uuid4().hex[:10]}"
    run = CellRun(cell=cell, fake=fast_fake, client=receiver_client, channel=channel)
    yield run
    run.late_sample.set()  # never leave a delivery thread waiting after the test


# -- the matrix -------------------------------------------------------------------------------------
def assert_typed_error(cell: Cell, errors: list[TaskError]) -> None:
    """The step's first try failed with a typed error that names what failed."""
    failures = [e for e in errors if e.task == cell.step.task]
    assert [e.try_number for e in failures] == [1], failures
    error = failures[0].error
    message = str(error)
    assert cell.step.request is not None
    assert cell.fault.error is not None
    assert isinstance(error, DailyBotError), repr(error)
    assert cell.step.request in message, message
    assert cell.fault.says.lower() in message.lower(), message
    if cell.step.name == "rotate":
        # The promote operator collects the failed deletes of every previous subscription into one error.
        assert "could not delete 1 previous subscription" in message, message
    else:
        assert isinstance(error, cell.fault.error), repr(error)
        if cell.fault.error is DailyBotTransportError:
            assert not isinstance(error, DailyBotTimeoutError), repr(error)


def assert_converged(run: CellRun, dag_run: Any) -> None:
    """One subscription at DailyBot, the same one recorded, only its secret accepted; events flow once."""
    from airflow_provider_dailybot.webhooks.channels import MetadataChannelStore

    assert set(short_states(dag_run).values()) == {"success"}, short_states(dag_run)
    previous = run.previous
    assert previous is not None
    subscriptions = run.fake.subscriptions
    assert len(subscriptions) == 1, f"duplicate or orphan subscriptions at DailyBot: {subscriptions}"
    (kept,) = subscriptions
    if run.cell.step.dag == "rotation":
        assert kept.id != previous.id, "the rotation kept the previous subscription"
    else:
        assert kept.id == previous.id, "the delete removed the wrong subscription"
    state = MetadataChannelStore().load(run.channel)
    assert state is not None
    assert [s.hook_id for s in state.subscriptions] == [kept.id]
    assert state.secret_sha256 == [kept.bearer_sha256]
    bearers: dict[str, str] = run.fake.seen_bearers  # type: ignore[attr-defined]
    assert bearer_accepted(run.client, run.channel, bearers[kept.id])
    refused = {hook_id for hook_id, bearer in bearers.items() if not bearer_accepted(run.client, run.channel, bearer)}
    assert refused == set(bearers) - {kept.id}, "a retired secret is still accepted"

    attempts = run.fake.emit(PROBE_EVENT, {**sample_body(PROBE_EVENT), "probe": "final"})
    assert [(a.hook_id, a.status) for a in attempts] == [(kept.id, 202)]
    assert not run.problems, run.problems
    recorded = run.recorded_probes()
    for where, marker, expected in run.probes:
        assert recorded.get(marker, 0) == expected, f"probe {where}: recorded {recorded.get(marker, 0)}x"


@pytest.mark.parametrize("cell_run", matrix_params(), indirect=True)
def test_fault_at_step(cell_run: CellRun, task_errors: list[TaskError]) -> None:
    run, cell = cell_run, cell_run.cell
    dag = build_dag(cell, run.channel, run.on_task_start)  # declares the channel's asset
    run.previous = establish_previous_subscription(run.fake, run.channel)

    run.before_run()
    first = dag.test()
    run.close_window()
    states = short_states(first)

    if cell.outcome in (RETRIED, ABSORBED, UNAFFECTED):
        assert set(states.values()) == {"success"}, (states, task_errors, run.problems)
    if cell.outcome == RETRIED:
        assert_typed_error(cell, task_errors)
    elif cell.outcome in (ABSORBED, UNAFFECTED):
        assert task_errors == [], task_errors
        if run.api_fault is not None:
            assert run.api_fault.hits == 0, "the step sent a request it was not expected to send"
    if cell.target == "sample":
        assert run.sample_fault is not None
        assert run.sample_fault.hits == 1, "the sample fault was not used"
    if cell.outcome == ABSORBED and cell.target == "sample":
        # The sample arrived twice and was recorded once.
        new_hook = next(s.id for s in run.fake.subscriptions if s.id != run.previous.id)
        samples = [e for e in channel_events(run.channel) if new_hook in e.extra["delivered_by"]]
        assert len(samples) == 1
        assert len([d for d in run.fake.deliveries if d.hook_id == new_hook and d.sample]) == 2

    if cell.outcome == RERUN:
        assert states[cell.step.task] == "failed", states
        assert states["promote_new_subscription"] == "upstream_failed", states
        assert states["rollback_unverified_subscription"] == "success", states
        (timeout,) = task_errors
        assert isinstance(timeout.error, AirflowSensorTimeout), repr(timeout.error)
        (sample,) = [d for d in run.fake.deliveries if d.sample and d.hook_id != run.previous.id]
        assert f"No delivery from DailyBot webhook subscription {sample.hook_id}" in str(timeout.error)
        # The failed rotation left the previous subscription working and no orphan behind.
        assert [s.id for s in run.fake.subscriptions] == [run.previous.id]
        run.checkpoint("after the failed run")
        second = dag.test()
        assert_converged(run, second)
    else:
        assert_converged(run, first)
