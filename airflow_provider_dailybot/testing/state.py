"""What the fake DailyBot server holds: subscriptions, the request log, switches, the organisation's data.

One :class:`State` per server, guarded by its one lock. The records handed out
(:class:`FakeSubscription`, :class:`RecordedRequest`) never carry a secret: a subscription's bearer
stays inside :class:`Subscription`, and the request log drops credential headers and replaces every
``bearer`` value in a JSON body with ``"***"``.
"""

from __future__ import annotations

import copy
import dataclasses
import operator
import threading
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

from airflow_provider_dailybot.testing import seed
from airflow_provider_dailybot.testing.contract import DELETE_FORMS, PAGINATION_STYLES
from airflow_provider_dailybot.testing.wire import Request

REDACTED = "***"
_T = TypeVar("_T")
_SENSITIVE_HEADERS = frozenset({"x-api-key", "x-bearer", "authorization", "proxy-authorization", "cookie"})


@dataclass(frozen=True)
class FakeSubscription:
    """A webhook subscription held by the fake server. The bearer itself is never kept here.

    :param id: The hook id returned by the create call.
    :param hook_url: Where deliveries are POSTed.
    :param subscriptions: The subscribed event names.
    :param subscribed_objects: Check-in or form UUIDs (stored, not used to filter deliveries).
    :param name: The subscription name (``""`` when none was given).
    :param created_at: Unix epoch seconds.
    :param has_bearer: Whether deliveries carry an ``X-BEARER`` header.
    :param bearer_sha256: Hex SHA-256 of the bearer, to let tests compare without seeing it.
    """

    id: str
    hook_url: str
    subscriptions: list[str]
    subscribed_objects: list[str]
    name: str
    created_at: float
    has_bearer: bool
    bearer_sha256: str | None


@dataclass(frozen=True)
class Subscription:
    """A subscription as the server keeps it: the public record plus the bearer its deliveries carry.

    :param public: What inspection shows (no secret).
    :param bearer: The ``X-BEARER`` value, or ``None``.
    """

    public: FakeSubscription
    bearer: str | None = field(repr=False)

    def copy(self) -> FakeSubscription:
        """A copy of the public record (its lists copied too)."""
        return dataclasses.replace(
            self.public,
            subscriptions=list(self.public.subscriptions),
            subscribed_objects=list(self.public.subscribed_objects),
        )

    def wants(self, event: str, object_id: str | None = None) -> bool:
        """Whether a delivery of ``event`` (about ``object_id``, when given) goes to this subscription.

        :param event: The event name.
        :param object_id: The check-in or form the event is about; ``None`` matches every subscription.
        """
        if event not in self.public.subscriptions:
            return False
        objects = self.public.subscribed_objects
        return object_id is None or not objects or object_id in objects


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake server answered (control endpoints under ``/_fake/`` are not recorded).

    :param method: The HTTP method.
    :param path: The URL path, without the query string.
    :param query: The query parameters (first value of each).
    :param json: The parsed JSON body with every ``bearer`` value replaced by ``"***"``; ``None``
        when the body was empty or not JSON.
    :param status: The status sent, or ``None`` when an injected fault dropped the connection.
    :param headers: The request headers without ``X-API-KEY``, ``X-BEARER``, ``Authorization``,
        ``Proxy-Authorization`` and ``Cookie``.
    """

    method: str
    path: str
    query: dict[str, str]
    json: Any
    status: int | None
    headers: dict[str, str]


def redact(value: Any) -> Any:
    """Return ``value`` with every ``bearer`` key's value, at any depth, replaced by ``"***"``.

    :param value: A parsed JSON value.
    """
    if isinstance(value, dict):
        return {k: REDACTED if str(k).lower() == "bearer" else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


@dataclass
class Switches:
    """The server's behaviour switches (see :class:`FakeDailyBotServer`); the defaults are DailyBot's."""

    free_plan: bool = False
    org_admin: bool = True
    auth_failure_status: int = 401
    create_status: int = 201
    create_id_key: str = "id"
    delete_forms: set[str] = field(default_factory=lambda: set(DELETE_FORMS))
    deliver_samples: bool = True
    pagination_style: str = "limit_offset"
    default_page_size: int = 50
    teams_bare_list: bool = False
    legacy_checkin_responses: bool = False
    kudos_daily_limit: int = 0

    def to_json(self) -> dict[str, Any]:
        """The switches as JSON values (``delete_forms`` a sorted list)."""
        data = dataclasses.asdict(self)
        data["delete_forms"] = sorted(self.delete_forms)
        return data

    def update_from_json(self, data: dict[str, Any]) -> None:
        """Check every value of ``data`` (as sent to ``POST /_fake/switches``), then set them all.

        :param data: Switch name → JSON value.
        :raises ValueError: For an unknown switch or a value out of range (nothing is set).
        :raises TypeError: For a value of the wrong type (nothing is set).
        """
        defaults = Switches()
        values: dict[str, Any] = {}
        for name, value in data.items():
            if not hasattr(defaults, name):
                raise ValueError(f"unknown switch {name!r}; known: {', '.join(dataclasses.asdict(defaults))}")
            expected = type(getattr(defaults, name))
            if expected is set:
                if not isinstance(value, list) or not set(value) <= DELETE_FORMS:
                    raise ValueError(f"delete_forms must be a list drawn from {sorted(DELETE_FORMS)}")
                value = set(value)
            elif type(value) is not expected:
                raise TypeError(f"{name} must be a {expected.__name__}")
            if name == "pagination_style" and value not in PAGINATION_STYLES:
                raise ValueError(f"pagination_style must be one of {', '.join(PAGINATION_STYLES)}")
            if name == "default_page_size" and value < 1:
                raise ValueError("default_page_size must be positive")
            if name == "kudos_daily_limit" and value < 0:
                raise ValueError("kudos_daily_limit must be zero or more")
            values[name] = value
        for name, value in values.items():
            setattr(self, name, value)


class State:
    """Everything one fake server remembers, behind one lock.

    :param api_key: The only ``X-API-KEY`` value accepted.
    :param organization_name: The organisation's name.
    :param user_full_name: The API key's owner.
    """

    def __init__(self, api_key: str, organization_name: str, user_full_name: str) -> None:
        self.lock = threading.RLock()
        self.api_key = api_key
        self.organization_name = organization_name
        self.user_full_name = user_full_name
        self.switches = Switches()
        self.org = self._seed()
        self.subscriptions: dict[str, Subscription] = {}
        self.requests: list[RecordedRequest] = []
        self.messages: list[dict[str, Any]] = []
        self.kudos: list[dict[str, Any]] = []
        self.kudos_seq = 0

    def _seed(self) -> seed.FakeOrganisation:
        return seed.seed_organisation(owner_name=self.user_full_name, organization_name=self.organization_name)

    def reset(self, switches: Switches) -> None:
        """Drop subscriptions, the request log, messages and kudos; reseed; restore ``switches``.

        :param switches: The switches to go back to (copied).
        """
        with self.lock:
            self.org = self._seed()
            self.subscriptions.clear()
            self.requests.clear()
            self.messages.clear()
            self.kudos.clear()
            self.kudos_seq = 0
            self.switches = copy.deepcopy(switches)

    def add_subscription(self, subscription: Subscription) -> None:
        """Keep ``subscription`` (the newest last).

        :param subscription: The new subscription.
        """
        with self.lock:
            self.subscriptions[subscription.public.id] = subscription

    def remove_subscription(self, hook_id: str, hook_url: str | None) -> bool:
        """Forget a subscription; return whether one with that id (and ``hook_url``, if given) existed.

        :param hook_id: The subscription's id.
        :param hook_url: When given, the subscription's URL must be this one.
        """
        with self.lock:
            found = self.subscriptions.get(hook_id)
            if found is None or (hook_url is not None and hook_url != found.public.hook_url):
                return False
            del self.subscriptions[hook_id]
            return True

    def subscribers(self, event: str, object_id: str | None = None) -> list[Subscription]:
        """The subscriptions a delivery of ``event`` goes to, oldest first.

        :param event: The event name.
        :param object_id: The check-in or form the event is about (``None``: any).
        """
        with self.lock:
            return [s for s in self.subscriptions.values() if s.wants(event, object_id)]

    def public_subscriptions(self) -> list[FakeSubscription]:
        """Copies of the subscriptions' public records, oldest first."""
        with self.lock:
            return [s.copy() for s in self.subscriptions.values()]

    def record(self, request: Request, status: int | None) -> None:
        """Log an answered API request without its secrets (control requests are not logged).

        :param request: The request.
        :param status: The status sent, ``None`` for a dropped connection.
        """
        if request.path.startswith("/_fake/"):
            return
        parsed, value = request.parsed
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            json=redact(value) if parsed else None,
            status=status,
            headers={k: v for k, v in request.headers.items() if k not in _SENSITIVE_HEADERS},
        )
        with self.lock:
            self.requests.append(recorded)


class Delegated(Generic[_T]):
    """A plain-looking attribute of the server whose value lives in one of its parts (state, switches …).

    :param part: Where the value lives, as a dotted attribute path from the server (``"_state.switches"``).
    :param name: The attribute's name there (default: the same name).
    """

    def __init__(self, part: str, name: str | None = None) -> None:
        self._part = operator.attrgetter(part)
        self._name = name or ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = self._name or name

    @overload
    def __get__(self, server: None, owner: type) -> Delegated[_T]: ...

    @overload
    def __get__(self, server: Any, owner: type) -> _T: ...

    def __get__(self, server: Any, owner: type) -> Delegated[_T] | _T:
        if server is None:
            return self
        value: _T = getattr(self._part(server), self._name)
        return value

    def __set__(self, server: Any, value: _T) -> None:
        setattr(self._part(server), self._name, value)
