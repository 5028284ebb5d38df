"""The fake DailyBot server's control API, under ``/_fake/``: drive and inspect the fake over HTTP.

For processes that cannot call :class:`FakeDailyBotServer` methods (the CLI server, docker-compose,
the demo). Every endpoint needs the server's ``X-API-KEY``; none is recorded in
:attr:`FakeDailyBotServer.requests`, and API faults only reach them when their ``path`` starts with
``/_fake``. Bodies are JSON objects; a bad field or value is a DRF 400 (``code: "invalid"``).

``GET /_fake/state``
    Everything the fake holds, as JSON: ``subscriptions`` (the :class:`FakeSubscription` fields: no
    bearer, only ``has_bearer`` and ``bearer_sha256``), ``deliveries`` (every
    :class:`DeliveryAttempt`, envelopes included), ``request_count`` (recorded API requests),
    ``switches``, ``sent_messages`` and ``kudos``. It never contains the API key or a bearer.
``POST /_fake/emit``
    ``{"event", "body"?, "wait"?}``: :meth:`FakeDailyBotServer.emit`; answers ``{"deliveries": [...]}``.
``POST /_fake/faults``
    The keyword arguments of :meth:`FakeDailyBotServer.inject` (``body`` as text); answers 201
    ``{"fault": {...}}``.
``POST /_fake/delivery-faults``
    The keyword arguments of :meth:`FakeDailyBotServer.inject_delivery`; answers 201 ``{"fault": {...}}``.
``POST /_fake/checkin-responses``
    The keyword arguments of :meth:`FakeDailyBotServer.add_checkin_response`; answers 201
    ``{"response", "deliveries"}``.
``GET /_fake/switches``, ``POST /_fake/switches``
    Read the switches, or set some (``{"free_plan": true, "delete_forms": ["path"]}``) and read them.
``POST /_fake/reset``
    :meth:`FakeDailyBotServer.reset`; answers 204.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_provider_dailybot.testing.deliveries import Deliveries, DeliveryAttempt
from airflow_provider_dailybot.testing.faults import DeliveryFault, Fault, FaultQueue
from airflow_provider_dailybot.testing.routes import Handler, Router
from airflow_provider_dailybot.testing.state import State
from airflow_provider_dailybot.testing.wire import Request, Response, invalid, json_response, parse_error

_EMIT_FIELDS = frozenset({"event", "body", "wait"})
#: A control action: the request's JSON object in, an answer out (``TypeError``/``ValueError``: 400).
_Action = Callable[[dict[str, Any]], Response]


def _attempts_json(attempts: list[DeliveryAttempt]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(a) for a in attempts]


@dataclass(frozen=True)
class ControlAPI:
    """The handlers; :meth:`register` puts them on a router.

    :param state: The server's state.
    :param faults: Where injected faults go.
    :param deliveries: Emits events and lists the attempts.
    :param add_checkin_response: The server's :meth:`FakeDailyBotServer.add_checkin_response`.
    :param reset_all: The server's :meth:`FakeDailyBotServer.reset`.
    """

    state: State
    faults: FaultQueue
    deliveries: Deliveries
    add_checkin_response: Callable[..., dict[str, Any]]
    reset_all: Callable[[], None]

    def register(self, router: Router) -> None:
        """Add the routes.

        :param router: The server's router.
        """
        router.add("GET", "/_fake/state", self.get_state)
        router.add("POST", "/_fake/emit", _with_object(self.emit))
        router.add("POST", "/_fake/faults", _with_object(self.fault))
        router.add("POST", "/_fake/delivery-faults", _with_object(self.delivery_fault))
        router.add("POST", "/_fake/checkin-responses", _with_object(self.checkin_response))
        router.add("GET", "/_fake/switches", self.switches)
        router.add("POST", "/_fake/switches", _with_object(self.set_switches))
        router.add("POST", "/_fake/reset", self.reset)

    def get_state(self, request: Request) -> Response:
        """``GET /_fake/state``: see the module docstring.

        :param request: The request.
        """
        state = self.state
        with state.lock:
            return json_response(
                200,
                {
                    "subscriptions": [dataclasses.asdict(s) for s in state.public_subscriptions()],
                    "deliveries": _attempts_json(self.deliveries.attempts),
                    "request_count": len(state.requests),
                    "switches": state.switches.to_json(),
                    "sent_messages": state.messages,
                    "kudos": state.kudos,
                },
            )

    def reset(self, request: Request) -> Response:
        """``POST /_fake/reset``.

        :param request: The request.
        """
        self.reset_all()
        return Response(204)

    def switches(self, request: Request) -> Response:
        """``GET /_fake/switches``.

        :param request: The request.
        """
        with self.state.lock:
            return json_response(200, self.state.switches.to_json())

    def set_switches(self, data: dict[str, Any]) -> Response:
        """``POST /_fake/switches``: all or nothing.

        :param data: Switch name → value.
        """
        with self.state.lock:
            self.state.switches.update_from_json(data)
            return json_response(200, self.state.switches.to_json())

    def emit(self, data: dict[str, Any]) -> Response:
        """``POST /_fake/emit``.

        :param data: ``{"event", "body"?, "wait"?}``.
        """
        unknown = set(data) - _EMIT_FIELDS
        if unknown:
            raise TypeError(f"unexpected fields: {', '.join(sorted(unknown))}")
        if data.get("body") is not None and not isinstance(data["body"], dict):
            raise TypeError("body must be a JSON object")
        attempts = self.deliveries.emit(data.get("event", ""), data.get("body"), wait=bool(data.get("wait", True)))
        return json_response(200, {"deliveries": _attempts_json(attempts)})

    def fault(self, data: dict[str, Any]) -> Response:
        """``POST /_fake/faults``.

        :param data: :class:`Fault` fields (``body`` as text).
        """
        if isinstance(data.get("body"), str):
            data["body"] = data["body"].encode()
        fault = self.faults.add(Fault(**data))
        return json_response(201, {"fault": fault.to_json()})

    def delivery_fault(self, data: dict[str, Any]) -> Response:
        """``POST /_fake/delivery-faults``.

        :param data: :class:`DeliveryFault` fields.
        """
        fault = self.faults.add(DeliveryFault(**data))
        return json_response(201, {"fault": dataclasses.asdict(fault)})

    def checkin_response(self, data: dict[str, Any]) -> Response:
        """``POST /_fake/checkin-responses``.

        :param data: Keyword arguments of :meth:`FakeDailyBotServer.add_checkin_response`.
        """
        before = len(self.deliveries.attempts)
        response = self.add_checkin_response(**data)
        attempts = self.deliveries.attempts[before:]
        return json_response(201, {"response": response, "deliveries": _attempts_json(attempts)})


def _with_object(action: _Action) -> Handler:
    """Wrap ``action``: parse the body as a JSON object, answer a DRF 400 for a bad body or argument."""

    def handle(request: Request) -> Response:
        parsed, data = request.parsed
        if not parsed:
            return parse_error(data)
        if not isinstance(data, dict):
            return invalid({"non_field_errors": ["Expected a JSON object."]})
        try:
            return action(data)
        except (TypeError, ValueError) as exc:
            return invalid({"non_field_errors": [str(exc)]})

    return handle
