"""DailyBot REST API hook: one pooled ``requests`` session, timeouts, typed errors and safe retries."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from airflow.exceptions import AirflowProviderDeprecationWarning
from airflow.sdk import BaseHook

from airflow_provider_dailybot import __version__, _api_compat, answers, scrubbing, shapes
from airflow_provider_dailybot._api_compat import WEBHOOK_SUBSCRIPTION_PATH
from airflow_provider_dailybot.bounded_http import BoundedAdapter, ExchangeFailure, Limits, exchange
from airflow_provider_dailybot.connection import DailyBotConnectionSettings, validate_overrides
from airflow_provider_dailybot.connection_form import UI_FIELD_BEHAVIOUR
from airflow_provider_dailybot.events import validate_event_names
from airflow_provider_dailybot.exceptions import (
    DailyBotApiError,
    DailyBotError,
    DailyBotNotFoundError,
    pagination_error,
)
from airflow_provider_dailybot.hooks import _async_connection
from airflow_provider_dailybot.hooks.subscriptions import (
    SubscriptionRequest,
    WebhookSubscription,
    validate_hook_url,
)
from airflow_provider_dailybot.pagination import PaginationRefused, walk
from airflow_provider_dailybot.payloads import KudosRequest, MessageRequest
from airflow_provider_dailybot.resources import as_date, date_range, resource_id, validate_identifier
from airflow_provider_dailybot.retries import AttemptFailed, RetryPolicy, call_with_retries
from airflow_provider_dailybot.summaries import describe_value

__all__ = [
    "WEBHOOK_SUBSCRIPTION_PATH",
    "DailyBotHook",
    "WebhookSubscription",
    "async_dailybot_hook",
    "validate_hook_url",
]

#: Longest server-provided value (an id, a name) shown in a log line or a message.
_SHOWN_CHARS = 120


class DailyBotHook(BaseHook):
    """Interact with the DailyBot REST API (``https://api.dailybot.com/v1/``).

    The connection's password holds the API key (``X-API-KEY``); its host optionally overrides
    the base URL (a bare host, with or without scheme and ``/v1``). Extras: ``timeout``
    (seconds per connect and per read, default 30), ``total_timeout`` (seconds for a whole attempt,
    headers and body included, default 120, never below ``timeout``), ``max_response_bytes``
    (default 16 MiB), ``max_attempts`` (default 3; each 429 wait is capped at 60 s, so 3 attempts
    can hold a worker slot about 120 s), ``max_pages`` (default 10,000), ``verify_ssl``, ``ca_bundle``.

    The hook does no I/O until the first request, keeps one keep-alive ``requests.Session``
    per instance, reads every answer through :func:`airflow_provider_dailybot.bounded_http.exchange`
    (bounded bytes and time), checks each 2xx body's shape (:mod:`airflow_provider_dailybot.shapes`),
    raises the typed errors of :mod:`airflow_provider_dailybot.exceptions`, retries only what is
    safe to retry (:mod:`airflow_provider_dailybot.retries`), masks the API key in Airflow's logs
    and scrubs it, in every encoding, from every text it shows (:mod:`airflow_provider_dailybot.scrubbing`).

    .. code-block:: python

        hook = DailyBotHook()  # connection "dailybot_default"
        me = hook.get_me()
        sub = hook.create_webhook_subscription(
            hook_url="https://airflow.example.com/dailybot/webhooks/standups",
            events=["followups.response.completed"],
            bearer=secret,
            immediate_sample_event=True,
        )
        hook.delete_webhook_subscription(sub.id, hook_url=sub.hook_url)

    :param dailybot_conn_id: Airflow connection id of type ``dailybot``.
    :param timeout: Seconds per connect and per read; overrides the connection's ``timeout`` extra.
    :param max_attempts: Attempts for retryable failures; overrides the ``max_attempts`` extra.
    :param retry_policy: Full control of waits and retry counts (``max_attempts`` is then ignored).
    :param total_timeout: Seconds one attempt may take in all; overrides the ``total_timeout`` extra.
    :param max_response_bytes: Largest response body read; overrides the ``max_response_bytes`` extra.
    :param max_pages: Most pages one list call follows; overrides the ``max_pages`` extra.
    :param settings: Connection settings already read (e.g. by :func:`async_dailybot_hook`); the
        connection is then not read again.
    """

    conn_name_attr = "dailybot_conn_id"
    default_conn_name = "dailybot_default"
    conn_type = "dailybot"
    hook_name = "DailyBot"

    def __init__(
        self,
        dailybot_conn_id: str = default_conn_name,
        *,
        timeout: float | None = None,
        max_attempts: int | None = None,
        retry_policy: RetryPolicy | None = None,
        total_timeout: float | None = None,
        max_response_bytes: int | None = None,
        max_pages: int | None = None,
        settings: DailyBotConnectionSettings | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._overrides = validate_overrides(
            timeout=timeout,
            max_attempts=max_attempts,
            total_timeout=total_timeout,
            max_response_bytes=max_response_bytes,
            max_pages=max_pages,
        )
        self.dailybot_conn_id = dailybot_conn_id
        self._retry_policy = retry_policy
        self._given_settings = settings
        self._delete_form: str | None = None
        #: Which check-in responses path answered last ("checkins" or the legacy "followups").
        self._checkin_responses_form: str | None = None

    # -- connection and session ------------------------------------------------------------

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Return the connection form customisation for Airflow 3.1 (3.2+ reads provider info)."""
        return {
            "hidden_fields": list(UI_FIELD_BEHAVIOUR["hidden-fields"]),
            "relabeling": dict(UI_FIELD_BEHAVIOUR["relabeling"]),
            "placeholders": dict(UI_FIELD_BEHAVIOUR["placeholders"]),
        }

    @cached_property
    def settings(self) -> DailyBotConnectionSettings:
        """The validated connection settings, read once per hook; the API key is masked at once."""
        from airflow.sdk.log import mask_secret

        if self._given_settings is not None:
            return self._given_settings
        conn = self.get_connection(self.dailybot_conn_id)
        if conn.password:
            for form in scrubbing.protect(conn.password):
                mask_secret(form)
        return DailyBotConnectionSettings.from_connection(conn, **self._overrides)

    @cached_property
    def limits(self) -> Limits:
        """The byte and time bounds of every attempt."""
        settings = self.settings
        return Limits(
            timeout=settings.timeout,
            total_timeout=settings.total_timeout,
            max_response_bytes=settings.max_response_bytes,
        )

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        """The retry policy in force for this hook."""
        return self._retry_policy or RetryPolicy(max_attempts=self.settings.max_attempts)

    @cached_property
    def session(self) -> requests.Session:
        """The hook's keep-alive HTTP session, with DailyBot's headers set."""
        from airflow import __version__ as airflow_version

        settings = self.settings
        session = requests.Session()
        session.headers.update(
            {
                "X-API-KEY": settings.api_key,
                "Accept": "application/json",
                # Decoded by bounded_http with the byte cap; other encodings are refused.
                "Accept-Encoding": "gzip, deflate",
                "Content-Type": "application/json",
                "User-Agent": (
                    f"airflow-provider-dailybot/{__version__} apache-airflow/{airflow_version} "
                    f"python-requests/{requests.__version__}"
                ),
            }
        )
        session.verify = settings.verify
        # Connection-level retries are ours (they know which requests are safe), not urllib3's.
        adapter = BoundedAdapter(max_retries=0, pool_connections=1, pool_maxsize=10)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    def get_conn(self) -> requests.Session:
        """Return the hook's :class:`requests.Session` (Airflow's ``BaseHook`` interface)."""
        return self.session

    def close(self) -> None:
        """Close pooled connections; the hook opens new ones if used again."""
        if "session" in self.__dict__:
            self.__dict__.pop("session").close()

    # -- the one request path -------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        idempotent: bool | None = None,
        expect: Callable[[Any], Any] | None = None,
    ) -> Any:
        """Send one API request with retries and return the decoded JSON body (``None`` when empty).

        Every attempt is bounded by ``timeout`` (each read), ``total_timeout`` (the whole answer) and
        ``max_response_bytes`` (the body); see :mod:`airflow_provider_dailybot.bounded_http`.

        :param method: HTTP method, e.g. ``"GET"``.
        :param path: Path relative to the base URL, e.g. ``"me/"`` or ``"webhook-subscription/"``.
        :param params: Query parameters.
        :param json_body: JSON body.
        :param idempotent: Treat the request as safe to repeat even if it is a POST (e.g. a
            side-effect-free sample request). Defaults to the method's own semantics.
        :param expect: A check of :mod:`airflow_provider_dailybot.shapes` for a 2xx body; its result is
            returned, and a body it refuses raises
            :class:`~airflow_provider_dailybot.exceptions.DailyBotUnexpectedResponseError`.
        """
        method = method.upper()
        settings, limits, session = self.settings, self.limits, self.session
        url = settings.base_url + path.lstrip("/")
        url_path = urlsplit(url).path

        def attempt() -> Any:
            try:
                answer = exchange(
                    session,
                    method,
                    url,
                    limits=limits,
                    params=params,
                    json_body=json_body,
                    # Explicit, or REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE would override the connection's TLS settings.
                    verify=settings.verify,
                )
            except ExchangeFailure as failure:
                bare_host = urlsplit(url).netloc if settings.implicit_https else None
                error = answers.transport_error(
                    method, url_path, failure, timeout=settings.timeout, bare_host=bare_host
                )
                raise AttemptFailed(error, request_sent=failure.request_sent) from None
            if answer.status_code >= 300:
                raise AttemptFailed(answers.api_error(method, url_path, answer), request_sent=True)
            body = answers.decode(method, url_path, answer)
            if expect is None:
                return body
            try:
                return expect(body)
            except shapes.UnexpectedShape as err:
                raise answers.unexpected(method, url_path, answer.status_code, str(err)) from None

        retry_method = "GET" if idempotent else method
        return call_with_retries(attempt, method=retry_method, policy=self.retry_policy, log=self.log)

    # -- API methods ------------------------------------------------------------------------

    def get_me(self) -> dict[str, Any]:
        """Return the API key owner's profile and organization (``GET /v1/me/``).

        :raises DailyBotUnexpectedResponseError: When the 2xx body names no owner or no organization.
        """
        result: dict[str, Any] = self.request("GET", "me/", expect=shapes.profile)
        return result

    def test_connection(self) -> tuple[bool, str]:
        """Check the key with ``GET /v1/me/``; never raises, never shows the key.

        ``True`` only for an answer that is a profile naming the key's owner and organization.
        """
        try:
            me = self.get_me()
        except DailyBotError as err:
            return False, str(err)
        except Exception as err:  # Airflow shows this text in the UI: keep it informative, never fail.
            return False, self._safe_text(f"{type(err).__name__}: {err}")
        user, organization = shapes.profile_names(me)
        return True, scrubbing.cut(f"Authenticated as {_shown(user)} ({_shown(organization)})", 300)

    def _safe_text(self, text: str) -> str:
        try:
            return scrubbing.cut(text, 1_000)
        except Exception:
            return "the connection test failed (its message could not be made safe to show)"

    def create_webhook_subscription(
        self,
        *,
        hook_url: str,
        events: list[str] | None = None,
        subscribed_objects: list[str] | None = None,
        name: str | None = None,
        bearer: str | None = None,
        immediate_sample_event: bool = False,
        allow_unknown_events: bool = False,
        allow_insecure_hook_url: bool = False,
        subscriptions: list[str] | None = None,
    ) -> WebhookSubscription:
        """Create a webhook subscription (``POST /v1/webhook-subscription/``).

        Sent once: a timeout, a dropped connection or a 5xx is raised without retry, because
        DailyBot may have created the subscription and a duplicate would deliver every event twice.

        :param hook_url: Absolute https URL DailyBot delivers to (http only for loopback or with
            ``allow_insecure_hook_url``).
        :param events: Event names, e.g. ``["followups.response.completed"]``.
        :param subscribed_objects: Check-in or form UUIDs to limit the subscription to.
        :param name: Display name in DailyBot.
        :param bearer: Secret DailyBot sends back in the ``X-BEARER`` header of every delivery.
        :param immediate_sample_event: Ask DailyBot to deliver a sample event right away.
        :param allow_unknown_events: Let through event names the provider does not know yet.
        :param allow_insecure_hook_url: Accept plain http to a non-loopback host.
        :param subscriptions: Deprecated alias of ``events``.
        """
        if subscriptions is not None:
            if events is not None:
                raise TypeError("pass events, not both events and the deprecated subscriptions")
            warnings.warn(
                "create_webhook_subscription(subscriptions=...) is deprecated; use events=...",
                AirflowProviderDeprecationWarning,
                stacklevel=2,
            )
            events = subscriptions
        request = SubscriptionRequest.build(
            hook_url=hook_url,
            events=events,
            subscribed_objects=subscribed_objects,
            name=name,
            bearer=bearer,
            immediate_sample_event=immediate_sample_event,
            allow_unknown_events=allow_unknown_events,
            allow_insecure_hook_url=allow_insecure_hook_url,
        )
        if request.bearer:
            from airflow.sdk.log import mask_secret

            for form in scrubbing.protect(request.bearer):
                mask_secret(form)
        body: dict[str, Any] = self.request(
            "POST", WEBHOOK_SUBSCRIPTION_PATH, json_body=request.to_payload(), expect=shapes.created_subscription
        )
        subscription = WebhookSubscription.from_response(body, request)
        self.log.info(
            "Created DailyBot webhook subscription %s for %s", _shown(subscription.id), _shown(subscription.events)
        )
        return subscription

    def delete_webhook_subscription(
        self, hook_id: str, *, hook_url: str | None = None, missing_ok: bool = True
    ) -> bool:
        """Delete a webhook subscription; return ``True`` if deleted, ``False`` if it was already gone.

        DailyBot's sources disagree on the DELETE form, so the hook sends ``hook_id`` (and
        ``hook_url``) both as query parameters and as a JSON body on the collection URL and falls
        back to ``DELETE /v1/webhook-subscription/<id>/`` when that form is not understood. The
        form that worked is remembered for the hook's next deletes.

        :param hook_id: The id returned on creation.
        :param hook_url: The subscription's URL, sent along as some DailyBot versions expect.
        :param missing_ok: Treat "not found" as success (``False`` is returned); otherwise raise
            :class:`~airflow_provider_dailybot.exceptions.DailyBotNotFoundError`.
        """
        if not isinstance(hook_id, str) or not hook_id.strip():
            raise ValueError(f"hook_id must be a non-empty string, got {hook_id!r}")
        hook_id = hook_id.strip()
        if hook_url is not None:
            hook_url = validate_hook_url(hook_url, allow_insecure=True)
        forms = _api_compat.delete_forms(self._delete_form)
        errors: dict[str, DailyBotApiError] = {}
        for form in forms:
            path, query, body = _api_compat.delete_request(form, hook_id, hook_url)
            try:
                self.request("DELETE", path, params=query, json_body=body)
            except DailyBotApiError as err:
                if err.status_code in _api_compat.DELETE_FALLBACK_STATUSES:
                    errors[form] = err
                    continue
                raise
            self._delete_form = form
            self.log.info("Deleted DailyBot webhook subscription %s", hook_id)
            return True
        not_found = [err for err in errors.values() if isinstance(err, DailyBotNotFoundError)]
        if not_found:
            if missing_ok:
                self.log.info("DailyBot webhook subscription %s was already gone", hook_id)
                return False
            raise not_found[0]
        raise errors[forms[0]]

    def get_sample_event(self, event: str, *, allow_unknown_events: bool = False) -> dict[str, Any]:
        """Return DailyBot's sample delivery envelope for ``event`` (``POST /v1/webhook-subscription/sample/``).

        Side-effect free, so it is retried like a GET.

        :param event: An event name, e.g. ``"kudos.posted"``.
        :param allow_unknown_events: Let through event names the provider does not know yet.
        """
        (name,) = validate_event_names([event], allow_unknown=allow_unknown_events, argument="event")
        envelope: dict[str, Any] = self.request(
            "POST",
            f"{WEBHOOK_SUBSCRIPTION_PATH}sample/",
            json_body=_api_compat.sample_request(name),
            idempotent=True,
            expect=shapes.sample_envelope,
        )
        return envelope

    # -- lists, messages and kudos ----------------------------------------------------------------

    def paginate(self, path: str, *, params: dict[str, Any] | None = None) -> Iterator[Any]:
        """Yield every item of a DailyBot list endpoint, following its ``next`` links.

        Accepts DailyBot's envelope (``{"count", "next", "previous", "results"}``) and bare lists
        (``/v1/teams/``, ``/v1/forms/``); a null, ``false`` or empty ``next`` ends the list. Both
        pagination styles work (``limit``/``offset`` and ``page``/``page_size``) because the hook
        follows the link rather than computing pages. A ``next`` link is followed only when it has
        the scheme, host and port of the connection's base URL (the API key is sent with every page)
        and stays under its base path once normalised (``..``, ``%2e%2e``, ``//`` …; see
        :mod:`airflow_provider_dailybot.pagination`), and the normalised path is what is requested.
        A link elsewhere, a link outside the base path, a link seen before (a loop) or more than
        ``max_pages`` pages raise :class:`~airflow_provider_dailybot.exceptions.DailyBotError` instead
        of returning a partial list. Items are yielded as received (any JSON value); the ``list_*``
        methods require objects.

        Each page is one :meth:`request`, with its timeout and retries. Nothing is sent until the
        first item is requested.

        :param path: Path relative to the base URL, e.g. ``"users/"``.
        :param params: Query parameters of the first page (later pages use the ``next`` link's own).
        """
        settings = self.settings

        def fetch(page_path: str, page_params: dict[str, Any] | None) -> tuple[list[Any], str | None]:
            page: tuple[list[Any], str | None] = self.request(
                "GET", page_path, params=page_params, expect=shapes.list_page
            )
            return page

        try:
            yield from walk(fetch, path, params, base_url=settings.base_url, max_pages=settings.max_pages)
        except PaginationRefused as err:
            raise pagination_error(err.path, str(err)) from None

    def _records(self, path: str, params: dict[str, Any] | None, what: str) -> Iterator[dict[str, Any]]:
        """Yield the items of a list endpoint, each checked to be an object."""
        for index, item in enumerate(self.paginate(path, params=params), start=1):
            if not isinstance(item, dict):
                url_path = urlsplit(self.settings.base_url + path).path
                detail = f"expected every item to be a {what} object, item #{index} is {describe_value(item)}"
                raise answers.unexpected("GET", url_path, 200, detail)
            yield item

    def _list(self, path: str, params: dict[str, Any] | None, what: str = "resource") -> list[dict[str, Any]]:
        return list(self._records(path, params, what))

    def list_users(self, *, include_email: bool = False, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Return the organization's users (``GET /v1/users/``, every page).

        :param include_email: Ask for ``email`` (DailyBot only sends it to admins and managers).
        :param params: Further query parameters.
        """
        query = dict(params or {})
        if include_email:
            query["include_email"] = "true"
        return self._list("users/", query or None, "user")

    def get_user(self, user_id: str) -> dict[str, Any]:
        """Return one user (``GET /v1/users/<uuid>/``).

        :param user_id: The user's UUID.
        """
        path = f"users/{quote(validate_identifier(user_id, 'user_id'), safe='')}/"
        user: dict[str, Any] = self.request("GET", path, expect=shapes.resource("user"))
        return user

    def list_teams(self, *, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Return the teams the key's owner may see (``GET /v1/teams/``; envelope or bare list).

        :param params: Query parameters.
        """
        return self._list("teams/", params, "team")

    def list_team_members(self, team_id: str) -> list[dict[str, Any]]:
        """Return a team's members as user objects (``GET /v1/teams/<uuid>/members/``).

        :param team_id: The team's UUID.
        """
        team = validate_identifier(team_id, "team_id")
        return self._list(f"teams/{quote(team, safe='')}/members/", None, "user")

    def list_checkins(
        self, *, include_archived: bool = False, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Return the check-ins the key's owner may see (``GET /v1/checkins/``); they carry ``id``, not ``uuid``.

        :param include_archived: Include archived check-ins.
        :param params: Further query parameters (``search``, ``labels`` …).
        """
        query = dict(params or {})
        if include_archived:
            query["include_archived"] = "true"
        return self._list("checkins/", query or None, "check-in")

    def iter_checkin_responses(
        self,
        checkin_id: str,
        *,
        date_start: Any,
        date_end: Any,
        user: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield a check-in's responses of an inclusive date range, page after page.

        Reads ``GET /v1/checkins/<id>/responses/`` and falls back to the legacy
        ``GET /v1/followups/<id>/responses/`` when the first answers 404 (older DailyBot
        deployments); the path that worked is tried first next time. Both 404 raise the first
        :class:`~airflow_provider_dailybot.exceptions.DailyBotNotFoundError`. The arguments are
        validated at once, before any request.

        :param checkin_id: The check-in's ``id`` (check-ins have no ``uuid``).
        :param date_start: First day: a ``date``, ``datetime`` or ``YYYY-MM-DD`` string.
        :param date_end: Last day, inclusive.
        :param user: Only this participant's responses (a user UUID; admins and managers only).
        :param params: Further query parameters (e.g. ``search``).
        """
        checkin = validate_identifier(checkin_id, "checkin_id")
        start, end = date_range(date_start, date_end)
        query = dict(params or {})
        query.update(date_start=start, date_end=end)
        if user is not None:
            query["user"] = validate_identifier(user, "user")
        return self._iter_checkin_responses(quote(checkin, safe=""), query)

    def _iter_checkin_responses(self, checkin: str, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        forms = list(_api_compat.CHECKIN_RESPONSE_FORMS)
        if self._checkin_responses_form == forms[1]:
            forms.reverse()
        first_error: DailyBotNotFoundError | None = None
        for form in forms:
            pages = self._records(f"{form}/{checkin}/responses/", query, "check-in response")
            try:
                first = next(pages, None)
            except DailyBotNotFoundError as err:
                first_error = first_error or err
                continue
            if form != _api_compat.CHECKIN_RESPONSE_FORMS[0]:
                self.log.info("DailyBot check-in responses of %s read from the legacy followups path", checkin)
            self._checkin_responses_form = form
            if first is not None:
                yield from itertools.chain([first], pages)
            return
        assert first_error is not None
        raise first_error

    def list_checkin_responses(self, checkin_id: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Return a check-in's responses of an inclusive date range, every page read.

        :param checkin_id: The check-in's ``id``.
        :param kwargs: ``date_start``, ``date_end`` (required), ``user``, ``params``: see
            :meth:`iter_checkin_responses`.
        """
        return list(self.iter_checkin_responses(checkin_id, **kwargs))

    def list_forms(
        self, *, include_archived: bool = False, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Return the organization's forms (``GET /v1/forms/``; a bare list or an envelope).

        :param include_archived: Include archived forms.
        :param params: Further query parameters (``include=questions``, ``search`` …).
        """
        query = dict(params or {})
        if include_archived:
            query["include_archived"] = "true"
        return self._list("forms/", query or None, "form")

    def iter_form_responses(
        self,
        form_id: str,
        *,
        date_from: Any = None,
        date_to: Any = None,
        all_responses: bool = True,
        state: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield a form's responses (``GET /v1/forms/<uuid>/responses/``), page after page.

        DailyBot returns only the caller's own responses unless ``all=true`` is sent, which needs
        the form's owner or an admin; this method sends it by default.

        :param form_id: The form's UUID.
        :param date_from: First day (inclusive), optional.
        :param date_to: Last day (inclusive), optional.
        :param all_responses: Ask for every respondent's responses (``all=true``).
        :param state: Only responses in this approval state.
        :param params: Further query parameters.
        """
        form = validate_identifier(form_id, "form_id")
        query = dict(params or {})
        if date_from is not None and date_to is not None:
            query["date_from"], query["date_to"] = date_range(date_from, date_to)
        elif date_from is not None:
            query["date_from"] = as_date(date_from, "date_from").isoformat()
        elif date_to is not None:
            query["date_to"] = as_date(date_to, "date_to").isoformat()
        if not isinstance(all_responses, bool):
            raise TypeError(f"all_responses must be a bool, got {all_responses!r}")
        if all_responses:
            query["all"] = "true"
        if state is not None:
            query["state"] = validate_identifier(state, "state")
        return self._records(f"forms/{quote(form, safe='')}/responses/", query or None, "form response")

    def list_form_responses(self, form_id: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Return a form's responses, every page read.

        :param form_id: The form's UUID.
        :param kwargs: ``date_from``, ``date_to``, ``all_responses``, ``state``, ``params``: see
            :meth:`iter_form_responses`.
        """
        return list(self.iter_form_responses(form_id, **kwargs))

    def send_message(self, request: MessageRequest | None = None, /, **arguments: Any) -> dict[str, Any]:
        """Send a bot message to users, teams and/or channels (``POST /v1/send-message/``).

        Takes a :class:`~airflow_provider_dailybot.payloads.MessageRequest`, or its fields as keyword
        arguments (``message``, ``target_users``, ``target_teams``, ``target_channels``, ``buttons``,
        ``image_url``, ``extra``; documented there), validated before any request.

        Sent once, like every POST of this hook: a timeout, a dropped connection or a 5xx after the
        request went out is raised without retry, because DailyBot may have delivered the message
        and a retry would post it twice. A 429 and a refused connection (nothing sent) are retried.

        :param request: The message; or pass its fields as keyword arguments.
        :param arguments: The fields of :class:`~airflow_provider_dailybot.payloads.MessageRequest`.
        :return: DailyBot's answer, e.g. ``{"bot_message_id": ...}``.
        """
        payload = _request(MessageRequest, request, arguments).to_payload()
        answer: dict[str, Any] = self.request(
            "POST", "send-message/", json_body=payload, expect=shapes.action_answer("the message sent", empty_ok=True)
        )
        self.log.info(
            "Sent a DailyBot message (%s) to %d user(s), %d team(s) and %d channel(s)",
            _shown(answer.get("bot_message_id") or "no id returned"),
            len(payload.get("target_users", [])),
            len(payload.get("target_teams", [])),
            len(payload.get("target_channels", [])),
        )
        return answer

    def give_kudos(self, request: KudosRequest | None = None, /, **arguments: Any) -> dict[str, Any]:
        """Give kudos to users (``POST /v1/kudos/``); returns the kudos DailyBot created.

        Takes a :class:`~airflow_provider_dailybot.payloads.KudosRequest`, or its fields as keyword
        arguments (``receivers``, ``content``, ``is_anonymous``, ``by_dailybot``, ``company_value``,
        ``extra``). Sent once (see :meth:`send_message`): an ambiguous failure is raised, not
        retried. At the organization's daily kudos limit DailyBot answers 406, raised as
        :class:`~airflow_provider_dailybot.exceptions.DailyBotApiError`.

        :param request: The kudos; or pass its fields as keyword arguments.
        :param arguments: The fields of :class:`~airflow_provider_dailybot.payloads.KudosRequest`.
        """
        payload = _request(KudosRequest, request, arguments).to_payload()
        answer: dict[str, Any] = self.request(
            "POST", "kudos/", json_body=payload, expect=shapes.action_answer("the kudos created", empty_ok=False)
        )
        self.log.info(
            "Gave DailyBot kudos %s to %d user(s)", _shown(resource_id(answer) or "?"), len(payload["receivers"])
        )
        return answer


def _request(cls: Any, request: Any, arguments: dict[str, Any]) -> Any:
    if request is None:
        return cls(**arguments)
    if arguments or not isinstance(request, cls):
        raise TypeError(f"pass either a {cls.__name__} or its fields as keyword arguments")
    return request


def _shown(value: Any) -> str:
    """A server-provided value as shown in a log line or message: scrubbed, then cut."""
    return scrubbing.cut(str(value), _SHOWN_CHARS)


async def async_dailybot_hook(
    dailybot_conn_id: str = DailyBotHook.default_conn_name, **hook_kwargs: Any
) -> DailyBotHook:
    """Return a :class:`DailyBotHook` whose connection was read without blocking the event loop.

    For coroutines (triggers, async notifiers): the connection and its extras are read with
    Airflow's async accessors (``aget_connection`` / ``aextra_dejson`` on Airflow 3.3.2+; the
    ``common.compat`` helpers, which use a worker thread, before), so the hook's own ``settings``
    never call the synchronous ones. Its requests are still synchronous: call them through
    ``asyncio.to_thread``.

    :param dailybot_conn_id: Airflow connection id of type ``dailybot``.
    :param hook_kwargs: Further :class:`DailyBotHook` arguments (``timeout``, ``max_attempts`` …).
    """
    overrides = validate_overrides(**{key: hook_kwargs.get(key) for key in _OVERRIDES})
    settings = await _async_connection.read_settings(dailybot_conn_id, DailyBotHook, overrides)
    return DailyBotHook(dailybot_conn_id, settings=settings, **hook_kwargs)


_OVERRIDES = ("timeout", "max_attempts", "total_timeout", "max_response_bytes", "max_pages")
