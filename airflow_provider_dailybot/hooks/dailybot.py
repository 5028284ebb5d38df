"""DailyBot REST API hook: identity, webhook subscriptions, messages and kudos, on the shared transport.

Layers, each its own module, arrows one way: :mod:`._transport` (settings, session, the request path,
pagination) ← :mod:`._reads` (list and read endpoints) ← this module (identity, webhook
subscriptions, send-message, kudos, the async factory). Arguments are validated by
:mod:`airflow_provider_dailybot.payloads` and :mod:`.subscriptions`; DailyBot's uncertain contract is
read through :mod:`airflow_provider_dailybot._api_compat`.
"""

from __future__ import annotations

import warnings
from typing import Any

from airflow.exceptions import AirflowProviderDeprecationWarning

from airflow_provider_dailybot import _api_compat, scrubbing, shapes
from airflow_provider_dailybot._api_compat import WEBHOOK_SUBSCRIPTION_PATH
from airflow_provider_dailybot.api_types import Kudos, Profile, SampleEnvelope, SentMessage
from airflow_provider_dailybot.connection import validate_overrides
from airflow_provider_dailybot.connection_form import UI_FIELD_BEHAVIOUR
from airflow_provider_dailybot.events import validate_event_names
from airflow_provider_dailybot.exceptions import (
    DailyBotApiError,
    DailyBotError,
    DailyBotNotFoundError,
)
from airflow_provider_dailybot.hooks import _async_connection
from airflow_provider_dailybot.hooks._reads import DailyBotReads
from airflow_provider_dailybot.hooks._transport import shown
from airflow_provider_dailybot.hooks.subscriptions import (
    SubscriptionRequest,
    WebhookSubscription,
    validate_hook_url,
)
from airflow_provider_dailybot.payloads import KudosRequest, MessageRequest
from airflow_provider_dailybot.resources import resource_id

__all__ = [
    "WEBHOOK_SUBSCRIPTION_PATH",
    "DailyBotHook",
    "WebhookSubscription",
    "async_dailybot_hook",
    "validate_hook_url",
]


class DailyBotHook(DailyBotReads):
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

    Constructor arguments: see :class:`~airflow_provider_dailybot.hooks._transport.DailyBotTransport`.
    """

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Return the connection form customisation for Airflow 3.1 (3.2+ reads provider info)."""
        return {
            "hidden_fields": list(UI_FIELD_BEHAVIOUR["hidden-fields"]),
            "relabeling": dict(UI_FIELD_BEHAVIOUR["relabeling"]),
            "placeholders": dict(UI_FIELD_BEHAVIOUR["placeholders"]),
        }

    # -- API methods ------------------------------------------------------------------------

    def get_me(self) -> Profile:
        """Return the API key owner's profile and organization (``GET /v1/me/``).

        :raises DailyBotUnexpectedResponseError: When the 2xx body names no owner or no organization.
        """
        result: Profile = self.request("GET", "me/", expect=shapes.profile)
        return result

    def test_connection(self) -> tuple[bool, str]:
        """Check the key with ``GET /v1/me/``; never raises, never shows the key.

        ``True`` only for an answer that is a profile naming the key's owner and organization; the
        message ("Authenticated as <user> (<organization>)") is also logged at INFO, because
        ``airflow connections test`` prints only "Connection success!" on success (it drops the message,
        and shows log lines only with ``--verbose``). The UI shows the message itself.
        """
        try:
            me = self.get_me()
        except DailyBotError as err:
            return False, str(err)
        except Exception as err:  # Airflow shows this text in the UI: keep it informative, never fail.
            return False, self._safe_text(f"{type(err).__name__}: {err}")
        user, organization = shapes.profile_names(me)
        message = scrubbing.cut(f"Authenticated as {shown(user)} ({shown(organization)})", 300)
        self.log.info("DailyBot connection %s: %s", self.dailybot_conn_id, message)
        return True, message

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
            events_argument="events" if subscriptions is None else "subscriptions",
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
            "Created DailyBot webhook subscription %s for %s", shown(subscription.id), shown(subscription.events)
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

    def get_sample_event(self, event: str, *, allow_unknown_events: bool = False) -> SampleEnvelope:
        """Return DailyBot's sample delivery envelope for ``event`` (``POST /v1/webhook-subscription/sample/``).

        Side-effect free, so it is retried like a GET.

        :param event: An event name, e.g. ``"kudos.posted"``.
        :param allow_unknown_events: Let through event names the provider does not know yet.
        """
        (name,) = validate_event_names([event], allow_unknown=allow_unknown_events, argument="event")
        envelope: SampleEnvelope = self.request(
            "POST",
            f"{WEBHOOK_SUBSCRIPTION_PATH}sample/",
            json_body=_api_compat.sample_request(name),
            idempotent=True,
            expect=shapes.sample_envelope,
        )
        return envelope

    def send_message(self, request: MessageRequest | None = None, /, **arguments: Any) -> SentMessage:
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
        answer: SentMessage = self.request(
            "POST", "send-message/", json_body=payload, expect=shapes.action_answer("the message sent", empty_ok=True)
        )
        self.log.info(
            "Sent a DailyBot message (%s) to %d user(s), %d team(s) and %d channel(s)",
            shown(answer.get("bot_message_id") or "no id returned"),
            len(payload.get("target_users", [])),
            len(payload.get("target_teams", [])),
            len(payload.get("target_channels", [])),
        )
        return answer

    def give_kudos(self, request: KudosRequest | None = None, /, **arguments: Any) -> Kudos:
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
        answer: Kudos = self.request(
            "POST", "kudos/", json_body=payload, expect=shapes.action_answer("the kudos created", empty_ok=False)
        )
        self.log.info(
            "Gave DailyBot kudos %s to %d user(s)", shown(resource_id(answer) or "?"), len(payload["receivers"])
        )
        return answer


def _request(cls: Any, request: Any, arguments: dict[str, Any]) -> Any:
    if request is None:
        return cls(**arguments)
    if arguments or not isinstance(request, cls):
        raise TypeError(f"pass either a {cls.__name__} or its fields as keyword arguments")
    return request


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
