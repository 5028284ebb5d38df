"""A fake DailyBot API server: a real HTTP(S) server implementing ``dailybot-api.md`` §6.4.

It serves ``GET /v1/me/``, the webhook-subscription endpoints (create, the three DELETE forms,
``sample/``), the seeded organisation's endpoints and the ``/_fake/`` control API, delivers webhook
envelopes to subscribed ``hook_url`` values, and lets tests inject faults into both directions. It
depends only on the standard library and ``requests`` (no Airflow import), so it starts in
milliseconds.

:class:`FakeDailyBotServer` is the public face; it puts together one module per concern, each
importing only those before it:

* :mod:`.contract` (DailyBot's event names and limits, the fake's own), :mod:`.wire` (requests,
  answers, DRF error bodies), :mod:`.samples`, :mod:`.seed`;
* :mod:`.state` (subscriptions, the request log, switches), :mod:`.faults`, :mod:`deliveries`;
* :mod:`.routes` (the one routing table), :mod:`access`, and the handlers: :mod:`.subscriptions_api`,
  :mod:`.organisation_api`, :mod:`.actions_api`, :mod:`.control`;
* :mod:`.transport` (the socket layer).
"""

from __future__ import annotations

import base64
import copy
import logging
import ssl
from collections.abc import Callable
from types import TracebackType
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

from airflow_provider_dailybot.testing import faults, seed
from airflow_provider_dailybot.testing.access import Access
from airflow_provider_dailybot.testing.actions_api import ActionsAPI
from airflow_provider_dailybot.testing.contract import (
    CHECKIN_COMPLETED,
    CREATE_ID_KEYS,
    DELETE_FORMS,
    MAX_BUTTONS,
    MAX_LIMIT,
    MAX_PAGE_SIZE,
    PAGINATION_STYLES,
    SAMPLE_HOOK_ID,
    UPGRADE_URL,
)
from airflow_provider_dailybot.testing.control import ControlAPI
from airflow_provider_dailybot.testing.deliveries import Deliveries, DeliveryAttempt, Transport
from airflow_provider_dailybot.testing.faults import DeliveryFault, Fault, FaultQueue
from airflow_provider_dailybot.testing.organisation_api import OrganisationAPI
from airflow_provider_dailybot.testing.routes import Router
from airflow_provider_dailybot.testing.state import REDACTED, Delegated, FakeSubscription, RecordedRequest, State
from airflow_provider_dailybot.testing.subscriptions_api import SubscriptionsAPI
from airflow_provider_dailybot.testing.transport import MAX_BODY_BYTES, Listener
from airflow_provider_dailybot.testing.wire import USER_AGENT, Request, Response, server_error

__all__ = [
    "CHECKIN_COMPLETED",
    "CREATE_ID_KEYS",
    "DELETE_FORMS",
    "MAX_BODY_BYTES",
    "MAX_BUTTONS",
    "MAX_LIMIT",
    "MAX_PAGE_SIZE",
    "PAGINATION_STYLES",
    "REDACTED",
    "SAMPLE_HOOK_ID",
    "UPGRADE_URL",
    "USER_AGENT",
    "DeliveryAttempt",
    "DeliveryFault",
    "FakeDailyBotServer",
    "FakeSubscription",
    "Fault",
    "RecordedRequest",
    "Transport",
]

log = logging.getLogger(__name__)




def _key_forms(key: str) -> set[str]:
    """Return the forms the API key can take inside a request line: raw, percent-encoded, base64.

    The fake's own list, not the provider's scrubber (``scrubbing``): the fake stays independent of the
    client it tests.
    """
    forms = {key}
    forms.update({quote(key, safe=""), quote(key), quote_plus(key)})  # other escapes: _redact decodes the line
    raw = key.encode("utf-8", "surrogatepass")
    for b64 in (base64.b64encode(raw).decode("ascii"), base64.urlsafe_b64encode(raw).decode("ascii")):
        forms.update({b64, b64.rstrip("=")})
    return forms

class FakeDailyBotServer:
    """A fake DailyBot API server on a real socket, for tests, demos and benchmarks.

    Use it as a context manager (``with FakeDailyBotServer() as server: ...``) or call
    :meth:`start` and :meth:`stop`. Point a client at :attr:`base_url` with :attr:`api_key`.

    Switches are plain attributes that may be changed at any time: ``free_plan``, ``org_admin``,
    ``auth_failure_status``, ``create_status``, ``create_id_key``, ``delete_forms``,
    ``deliver_samples``, ``pagination_style``, ``default_page_size``, ``teams_bare_list``,
    ``legacy_checkin_responses`` and ``kudos_daily_limit`` (see the project documentation).
    :meth:`reset` restores the values they had when the server was started.

    :param api_key: The only ``X-API-KEY`` value accepted.
    :param host: The interface to listen on.
    :param port: The port; ``0`` picks a free one (read it back from :attr:`url`).
    :param ssl_context: A server-side TLS context; when given the server speaks HTTPS.
    :param organization_name: Reported by ``GET /v1/me/``.
    :param user_full_name: The API key owner reported by ``GET /v1/me/``.
    :param delivery_timeout: Seconds the default transport waits for a webhook receiver.
    :param transport: ``transport(url, headers, body, timeout) -> status`` replaces the HTTP POST
        of deliveries (for example to call an in-process ASGI app). Exceptions are recorded as
        delivery errors.
    """

    api_key: Delegated[str] = Delegated("_state")
    organization_name: Delegated[str] = Delegated("_state")
    user_full_name: Delegated[str] = Delegated("_state")
    delivery_timeout: Delegated[float] = Delegated("_deliveries", "timeout")
    transport: Delegated[Transport] = Delegated("_deliveries")
    free_plan: Delegated[bool] = Delegated("_state.switches")
    org_admin: Delegated[bool] = Delegated("_state.switches")
    auth_failure_status: Delegated[int] = Delegated("_state.switches")
    create_status: Delegated[int] = Delegated("_state.switches")
    create_id_key: Delegated[str] = Delegated("_state.switches")
    delete_forms: Delegated[set[str]] = Delegated("_state.switches")
    deliver_samples: Delegated[bool] = Delegated("_state.switches")
    pagination_style: Delegated[str] = Delegated("_state.switches")
    default_page_size: Delegated[int] = Delegated("_state.switches")
    teams_bare_list: Delegated[bool] = Delegated("_state.switches")
    legacy_checkin_responses: Delegated[bool] = Delegated("_state.switches")
    kudos_daily_limit: Delegated[int] = Delegated("_state.switches")

    def __init__(
        self,
        api_key: str = "fake-dailybot-api-key",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        ssl_context: ssl.SSLContext | None = None,
        organization_name: str = "Acme Corp",
        user_full_name: str = "Ada Lovelace",
        delivery_timeout: float = 5.0,
        transport: Transport | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("api_key must not be empty")
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self._state = State(api_key, organization_name, user_full_name)
        self._faults = FaultQueue(self._state.lock)
        self._deliveries = Deliveries(self._state, self._faults, delivery_timeout, transport)
        self._switches_at_start = copy.deepcopy(self._state.switches)
        access = Access(self._state)
        self._router = Router(checks=(access.authenticate, access.plan))
        self._organisation = OrganisationAPI(self._state, self._deliveries)
        SubscriptionsAPI(self._state, self._deliveries, access).register(self._router)
        self._organisation.register(self._router)
        ActionsAPI(self._state, self._deliveries, self._organisation).register(self._router)
        ControlAPI(
            self._state,
            self._faults,
            self._deliveries,
            add_checkin_response=self.add_checkin_response,
            reset_all=self.reset,
        ).register(self._router)
        self._listener: Listener | None = None
        self._url: str | None = None
        self._key_forms: tuple[str | None, tuple[str, ...]] = (None, ())

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> FakeDailyBotServer:
        """Bind the socket and serve in a background thread; return ``self``."""
        if self._listener is not None:
            raise RuntimeError("the fake DailyBot server is already started")
        self._switches_at_start = copy.deepcopy(self._state.switches)
        self._listener = Listener(self.host, self.port, self._handle, self.ssl_context, redact=self._redact)
        self._url = self._listener.url
        log.info("Fake DailyBot server listening on %s", self._url)
        return self

    def stop(self) -> None:
        """Stop serving, close open keep-alive connections and free the port. Idempotent."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        listener.stop()
        self._deliveries.close()

    def __enter__(self) -> FakeDailyBotServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http(s)://host:port`` of the server (still readable after :meth:`stop`)."""
        if self._url is None:
            raise RuntimeError("the fake DailyBot server is not started")
        return self._url

    @property
    def base_url(self) -> str:
        """The API base URL, ``url + "/v1/"``."""
        return f"{self.url}/v1/"

    @property
    def connections_accepted(self) -> int:
        """How many TCP connections the server has accepted (to check keep-alive reuse)."""
        return 0 if self._listener is None else self._listener.connections_accepted

    def _redact(self, text: str) -> str:
        """``text`` with every encoding of the API key (the current one) replaced by ``***``: for log lines."""
        key = self._state.api_key
        if self._key_forms[0] != key:
            forms = sorted((_key_forms(key) | _key_forms(key.strip())) - {""}, key=len, reverse=True)
            self._key_forms = (key, tuple(forms))
        for form in self._key_forms[1]:
            if form in text:
                text = text.replace(form, REDACTED)
        decoded = unquote_plus(text)  # a key percent-encoded only in part matches no form above
        if key in decoded or key.strip() in decoded:
            text = decoded.replace(key, REDACTED).replace(key.strip(), REDACTED)
        return text

    def _handle(self, request: Request) -> tuple[Response | None, Callable[[], None] | None]:
        """Answer one request under the next matching fault and log it (the transport's ``app``)."""
        fault = self._faults.take(request.method, request.path)
        answer, processed = faults.apply(fault, request.method, lambda: self._process(request))
        self._state.record(request, None if answer is None else answer.status)
        return answer, None if processed is None else processed.after

    def _process(self, request: Request) -> Response:
        try:
            return self._router.dispatch(request)
        except Exception:
            log.exception("The fake DailyBot server failed on %s %s", request.method, request.path)
            return server_error()

    # ----------------------------------------------------------------- inspection

    @property
    def subscriptions(self) -> list[FakeSubscription]:
        """Copies of the current subscriptions, oldest first."""
        return self._state.public_subscriptions()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Copies of the recorded API requests, oldest first."""
        with self._state.lock:
            return copy.deepcopy(self._state.requests)

    @property
    def deliveries(self) -> list[DeliveryAttempt]:
        """Copies of the finished delivery attempts, oldest first."""
        return self._deliveries.attempts

    def wait_for_deliveries(self, count: int, timeout: float = 10.0) -> list[DeliveryAttempt]:
        """Block until at least ``count`` delivery attempts have finished; return them all.

        :param count: How many attempts (since start or the last :meth:`reset`) to wait for.
        :param timeout: Seconds to wait before raising :class:`TimeoutError`.
        """
        return self._deliveries.wait_for(count, timeout)

    def reset(self) -> None:
        """Drop subscriptions, logs, faults, messages and kudos; restore the seeded data and the switches.

        The switches get the values they had at :meth:`start`.
        """
        with self._state.lock:
            self._state.reset(self._switches_at_start)
            self._deliveries.clear()
            self._faults.clear()

    @property
    def organisation(self) -> seed.FakeOrganisation:
        """A deep copy of the organisation the server serves: users, teams, check-ins, forms, responses."""
        with self._state.lock:
            return copy.deepcopy(self._state.org)

    @property
    def sent_messages(self) -> list[dict[str, Any]]:
        """Copies of the messages accepted by ``POST /v1/send-message/``, oldest first.

        Each is ``{"bot_message_id", "message", "target_users", "target_teams", "target_channels",
        "buttons", "extra", "sent_at"}`` (``extra``: any other body field).
        """
        with self._state.lock:
            return copy.deepcopy(self._state.messages)

    @property
    def kudos(self) -> list[dict[str, Any]]:
        """Copies of the kudos created by ``POST /v1/kudos/``, oldest first (as the API returned them)."""
        with self._state.lock:
            return copy.deepcopy(self._state.kudos)

    def checkin_responses(
        self, checkin_id: str = seed.CHECKIN_ID, date_start: str = "0000-00-00", date_end: str = "9999-99-99"
    ) -> list[dict[str, Any]]:
        """Copies of a check-in's responses in an inclusive ``YYYY-MM-DD`` range, in the API's order.

        :param checkin_id: The check-in's id (default: the seeded *Daily Standup*).
        :param date_start: First ``response_date``.
        :param date_end: Last ``response_date``.
        """
        with self._state.lock:
            rows = self._state.org.checkin_responses.get(checkin_id, [])
            return copy.deepcopy([r for r in rows if date_start <= r["response_date"] <= date_end])

    def add_checkin_response(
        self,
        *,
        user_id: str = seed.GRACE,
        checkin_id: str = seed.CHECKIN_ID,
        response_date: str | None = None,
        done: str = "Finished the demo",
        plan: str = "Working on the next demo",
        blocker: str | None = None,
        deliver: bool = True,
    ) -> dict[str, Any]:
        """Append a new check-in response (a "new standup") and deliver ``followups.response.completed``.

        The delivery goes to every subscription to that event whose ``subscribed_objects`` is empty
        or names the check-in, in this thread (see :meth:`deliveries`).

        :param user_id: The respondent's UUID (a seeded user).
        :param checkin_id: The check-in's id.
        :param response_date: The day, ``YYYY-MM-DD``; defaults to today (UTC).
        :param done: Answer to "What did you complete yesterday?".
        :param plan: Answer to "What are you planning to work on today?".
        :param blocker: A blocker (``has_issue`` becomes true), or ``None``.
        :param deliver: Deliver the webhook event.
        :return: A copy of the new response.
        """
        return self._organisation.add_checkin_response(
            user_id=user_id,
            checkin_id=checkin_id,
            response_date=response_date,
            done=done,
            plan=plan,
            blocker=blocker,
            deliver=deliver,
        )

    # ----------------------------------------------------------------- faults and deliveries

    def inject(
        self,
        *,
        status: int | None = None,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
        delay: float | None = None,
        drop: bool = False,
        code: str | None = None,
        detail: str | None = None,
        body: bytes | None = None,
        after_processing: bool = False,
    ) -> Fault:
        """Make the next ``times`` matching requests fail; faults are consumed in the order injected.

        :param status: Answer with this status and a DRF error body (``500``: Django's HTML page;
            ``429``: DRF's throttling text).
        :param times: How many matching requests get the fault.
        :param method: Only requests with this method (case-insensitive).
        :param path: Only requests whose URL path starts with this prefix. Control endpoints under
            ``/_fake/`` are only matched by a ``path`` starting with ``/_fake``.
        :param retry_after: Send ``Retry-After`` (seconds, rounded up) with the fault.
        :param delay: Sleep this long before answering (then answer normally unless ``status`` or
            ``drop`` is given).
        :param drop: Close the connection without any response.
        :param code: Override the ``code`` of the error body.
        :param detail: Override the ``detail`` of the error body.
        :param body: Send these bytes as the response body instead.
        :param after_processing: Process the request for real first (state changes, samples are
            delivered), then replace the real answer with the fault.
        """
        fault = Fault(
            status=status,
            times=times,
            method=method,
            path=path,
            retry_after=retry_after,
            delay=delay,
            drop=drop,
            code=code,
            detail=detail,
            body=body,
            after_processing=after_processing,
        )
        return self._faults.add(fault)

    def inject_delivery(
        self,
        *,
        times: int = 1,
        drop: bool = False,
        duplicate: bool = False,
        delay: float | None = None,
        event: str | None = None,
    ) -> DeliveryFault:
        """Disturb the next ``times`` matching outgoing deliveries (samples included).

        :param times: How many deliveries get the fault.
        :param drop: Never send it (recorded as an attempt with ``status=None`` and an ``error``).
        :param duplicate: Send it twice (two attempts are recorded).
        :param delay: Wait this many seconds before sending.
        :param event: Only deliveries of this event.
        """
        return self._faults.add(DeliveryFault(times=times, drop=drop, duplicate=duplicate, delay=delay, event=event))

    def clear_faults(self) -> None:
        """Cancel every pending request and delivery fault; state and switches stay as they are."""
        self._faults.clear()

    def emit(self, event: str, body: dict[str, Any] | None = None, *, wait: bool = True) -> list[DeliveryAttempt]:
        """Deliver ``event`` to every subscription subscribed to it.

        :param event: A known DailyBot event name (the fake's own list, :data:`.contract.EVENTS`).
        :param body: The envelope ``body``; defaults to :func:`sample_body` for the event.
        :param wait: Deliver in this thread and return the attempts; with ``False`` deliver in a
            background thread and return ``[]`` (use :meth:`wait_for_deliveries`).
        """
        return self._deliveries.emit(event, body, wait=wait)
