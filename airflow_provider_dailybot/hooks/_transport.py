"""The DailyBot hook's transport: connection settings, the pooled session, the one request path, pagination.

:class:`DailyBotTransport` is the base of :class:`~airflow_provider_dailybot.hooks.dailybot.DailyBotHook`:
every endpoint method goes through :meth:`DailyBotTransport.request` (bounded answers, shape checks,
typed errors, safe retries) and list endpoints through :meth:`DailyBotTransport.paginate`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import requests
from airflow.sdk import BaseHook

from airflow_provider_dailybot import __version__, answers, scrubbing, shapes
from airflow_provider_dailybot.bounded_http import BoundedAdapter, ExchangeFailure, Limits, exchange
from airflow_provider_dailybot.connection import DailyBotConnectionSettings, validate_overrides
from airflow_provider_dailybot.exceptions import pagination_error
from airflow_provider_dailybot.pagination import PaginationRefused, walk
from airflow_provider_dailybot.retries import AttemptFailed, RetryPolicy, call_with_retries
from airflow_provider_dailybot.summaries import describe_value

#: Longest server-provided value (an id, a name) shown in a log line or a message.
_SHOWN_CHARS = 120


def shown(value: Any) -> str:
    """A server-provided value as shown in a log line or message: scrubbed, then cut.

    :param value: The value.
    """
    return scrubbing.cut(str(value), _SHOWN_CHARS)


class DailyBotTransport(BaseHook):
    """Connection, session and request path shared by the DailyBot hook's endpoint methods.

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
