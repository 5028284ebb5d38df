"""Faults injected into the fake DailyBot server: API answers (:class:`Fault`) and deliveries (:class:`DeliveryFault`).

A fault is consumed by the next matching request or delivery, in the order injected, until its
``times`` are used up. :class:`FaultQueue` holds both kinds; :func:`apply` runs one request
through an API fault; the answer it builds is DailyBot's for the status (``dailybot-api.md`` §2).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from airflow_provider_dailybot.testing.wire import DRF_ERRORS, HTML, Response, error, phrase, server_error

_F = TypeVar("_F", "Fault", "DeliveryFault")


def _check_times_and_delay(times: int, delay: float | None) -> None:
    if not isinstance(times, int) or isinstance(times, bool) or times < 1:
        raise ValueError(f"times must be a positive integer, got {times!r}")
    if delay is not None and not delay >= 0:
        raise ValueError(f"delay must be a non-negative number of seconds, got {delay!r}")


@dataclass
class Fault:
    """A fault injected into the next ``times`` matching requests; see :meth:`FakeDailyBotServer.inject`.

    ``remaining`` counts down as matching requests consume the fault and ``hits`` counts up.
    """

    status: int | None = None
    times: int = 1
    method: str | None = None
    path: str | None = None
    retry_after: float | None = None
    delay: float | None = None
    drop: bool = False
    code: str | None = None
    detail: str | None = None
    body: bytes | None = None
    after_processing: bool = False
    remaining: int = field(init=False)
    hits: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        _check_times_and_delay(self.times, self.delay)
        if self.status is None and self.delay is None and not self.drop:
            raise ValueError("a fault needs a status, a delay or drop=True")
        if self.status is not None and not 200 <= self.status <= 599:
            raise ValueError(f"fault status must be between 200 and 599, got {self.status}")
        self.remaining = self.times

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to a request.

        Control endpoints (``/_fake/``) match only a fault whose ``path`` names them explicitly.

        :param method: The request's method.
        :param path: The request's URL path.
        """
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if path.startswith("/_fake/") and not (self.path or "").startswith("/_fake"):
            return False
        return self.path is None or path.startswith(self.path)

    def to_json(self) -> dict[str, Any]:
        """The fault as JSON values (``body`` decoded as UTF-8)."""
        data = dataclasses.asdict(self)
        if self.body is not None:
            data["body"] = self.body.decode("utf-8", "replace")
        return data


@dataclass
class DeliveryFault:
    """A fault injected into the next ``times`` matching outgoing deliveries.

    See :meth:`FakeDailyBotServer.inject_delivery`.
    """

    times: int = 1
    drop: bool = False
    duplicate: bool = False
    delay: float | None = None
    event: str | None = None
    remaining: int = field(init=False)
    hits: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        _check_times_and_delay(self.times, self.delay)
        if not (self.drop or self.duplicate or self.delay is not None):
            raise ValueError("a delivery fault needs drop=True, duplicate=True or a delay")
        self.remaining = self.times

    def matches(self, event: str) -> bool:
        """Whether this fault applies to a delivery of ``event``.

        :param event: The event being delivered.
        """
        return self.event is None or self.event == event


class FaultQueue:
    """The pending faults of one server, both kinds, consumed in the order injected.

    :param lock: The server's lock (shared so that a state snapshot is consistent).
    """

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._api: list[Fault] = []
        self._deliveries: list[DeliveryFault] = []

    def add(self, fault: _F) -> _F:
        """Queue ``fault`` behind the pending ones of its kind and return it.

        :param fault: A :class:`Fault` or a :class:`DeliveryFault`.
        """
        with self._lock:
            if isinstance(fault, Fault):
                self._api.append(fault)
            else:
                self._deliveries.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first API fault matching a request, if any.

        :param method: The request's method.
        :param path: The request's URL path.
        """
        return self._consume(self._api, lambda f: f.matches(method, path))

    def take_delivery(self, event: str) -> DeliveryFault | None:
        """Consume one use of the first delivery fault matching ``event``, if any.

        :param event: The event being delivered.
        """
        return self._consume(self._deliveries, lambda f: f.matches(event))

    def clear(self) -> None:
        """Cancel every pending fault."""
        with self._lock:
            self._api.clear()
            self._deliveries.clear()

    def _consume(self, faults: list[_F], predicate: Callable[[_F], bool]) -> _F | None:
        with self._lock:
            for fault in faults:
                if predicate(fault):
                    fault.remaining -= 1
                    fault.hits += 1
                    if fault.remaining <= 0:
                        faults.remove(fault)
                    return fault
        return None


def apply(fault: Fault | None, method: str, process: Callable[[], Response]) -> tuple[Response | None, Response | None]:
    """Answer one request under ``fault``: return ``(answer, processed)``.

    ``answer`` is what the client gets (``None``: drop the connection); ``processed`` is the real
    answer when the request was processed (its ``after`` must still run), else ``None``.

    :param fault: The fault the request consumed, or ``None``.
    :param method: The request's method (for a 405 body).
    :param process: Processes the request for real.
    """
    if fault is None:
        answer = process()
        return answer, answer
    processed = process() if fault.after_processing else None
    if fault.delay:
        time.sleep(fault.delay)
    if fault.drop:
        return None, processed
    if fault.status is not None:
        return fault_response(fault, method), processed
    if processed is None:
        processed = process()
    return processed, processed


def fault_response(fault: Fault, method: str) -> Response:
    """Build DailyBot's answer for an injected status: DRF's texts, Django's HTML 500, or ``fault.body``.

    :param fault: A fault with a ``status`` (500 when it has none).
    :param method: The request's method (for a 405 body).
    """
    status = fault.status if fault.status is not None else 500
    headers: dict[str, str] = {}
    wait = None if fault.retry_after is None else math.ceil(fault.retry_after)
    if wait is not None:
        headers["Retry-After"] = str(wait)
    if fault.body is not None:
        try:
            json.loads(fault.body)
            content_type = "application/json"
        except ValueError:
            content_type = HTML
        return Response(status, fault.body, content_type, headers)
    if status == 500 and fault.detail is None and fault.code is None:
        response = server_error()
        response.headers.update(headers)
        return response
    code: str | None
    if status == 429:
        detail = "Request was throttled."
        if wait is not None:
            detail += f" Expected available in {wait} second{'' if wait == 1 else 's'}."
        code = None
    elif status == 405:
        detail, code = f'Method "{method}" not allowed.', "method_not_allowed"
    elif status in DRF_ERRORS:
        detail, code = DRF_ERRORS[status]
    else:
        text = phrase(status, "Error")
        detail, code = f"{text}.", re.sub(r"\W+", "_", text.lower())
    response = error(status, fault.detail or detail, fault.code or code)
    response.headers.update(headers)
    return response
