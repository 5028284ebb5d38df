"""The request bodies of the hook's POST actions, each defined once: send-message and kudos.

:class:`MessageRequest` and :class:`KudosRequest` are the single definition of each action's
arguments, shared by :class:`~airflow_provider_dailybot.hooks.dailybot.DailyBotHook`, the operators
and the notifier: their fields (with docs), which of them are templated, their validation and the
JSON body (reference §4.5, §4.6). Nothing here does I/O or imports Airflow.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

from airflow_provider_dailybot.resources import as_iterable, identifier_list, validate_identifier

#: DailyBot accepts at most this many buttons per message (``buttons_count_out_of_range`` beyond).
MAX_BUTTONS = 25
#: Keys of a button that each name a callback; a button may set at most one of them.
BUTTON_CALLBACK_KEYS = ("callback_url", "callback_form", "callback_command", "callback_prompt", "callback_workflow")
_TEMPLATED = {"templated": True}

_R = TypeVar("_R", bound="_Request")
_F = TypeVar("_F", bound=Callable[..., Any])


class _Request:
    """Shared behaviour of the request dataclasses below."""

    #: What the action is called in messages ("send_message", "give_kudos").
    action: ClassVar[str]

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Every argument name, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]

    @classmethod
    def template_fields(cls) -> tuple[str, ...]:
        """The arguments an operator or notifier renders as Jinja templates."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get("templated"))  # type: ignore[arg-type]

    @classmethod
    def take(cls: type[_R], kwargs: dict[str, Any], **defaults: Any) -> dict[str, Any]:
        """Pop this request's arguments out of ``kwargs`` (the rest stays for the caller's base class).

        :param kwargs: Keyword arguments given to an operator or notifier; modified in place.
        :param defaults: Defaults that differ from the dataclass's (e.g. the notifier's message).
        :raises TypeError: When a required argument is missing.
        """
        taken: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name in kwargs:
                taken[f.name] = kwargs.pop(f.name)
            elif f.name in defaults:
                taken[f.name] = defaults[f.name]
            elif f.default is not dataclasses.MISSING:
                taken[f.name] = f.default
            else:
                raise TypeError(f"{cls.action} is missing the required argument {f.name!r}")
        return taken

    @classmethod
    def arguments_of(cls, **defaults: Any) -> Callable[[_F], _F]:
        """Decorate an ``__init__(self, *, own..., **kwargs)`` so its signature lists this request's fields.

        The fields (with their defaults, or ``defaults``) become keyword-only parameters before the
        function's own, so Airflow's operator metaclass (required arguments, ``default_args``,
        ``partial``/``expand``) and ``help()`` see them; the body takes them with :meth:`take`.

        :param defaults: Defaults that differ from the dataclass's.
        """

        def decorate(func: _F) -> _F:
            own = list(inspect.signature(func).parameters.values())
            fields = [
                inspect.Parameter(
                    f.name,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=defaults.get(
                        f.name, inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
                    ),
                    annotation=f.type,
                )
                for f in dataclasses.fields(cls)  # type: ignore[arg-type]
            ]
            keyword = [p for p in own[1:] if p.kind is inspect.Parameter.KEYWORD_ONLY]
            variadic = [p for p in own if p.kind is inspect.Parameter.VAR_KEYWORD]
            func.__signature__ = inspect.Signature([own[0], *fields, *keyword, *variadic])  # type: ignore[attr-defined]
            return func

        return decorate

    def to_payload(self) -> dict[str, Any]:
        """Validate every field and return the JSON body; raises before any request is sent."""
        raise NotImplementedError


@dataclass(frozen=True)
class MessageRequest(_Request):
    """The arguments of a bot message (``POST /v1/send-message/``).

    :param message: The text (DailyBot renders the chat platform's markdown).
    :param target_users: User UUIDs (DailyBot also accepts emails or chat ids); one string or a list.
    :param target_teams: Team UUIDs; one string or a list.
    :param target_channels: Channel ids, or objects ``{"id": ..., "thread": ...}``; one or a list.
    :param buttons: Up to 25 button objects, each with a ``label`` (``{"label", "button_type": "link",
        "url"}`` or ``{"label", "button_type": "interactive", "value"}``).
    :param image_url: An https image URL shown with the message.
    :param extra: Further body fields passed through unchanged (``platform_settings``, ``metadata``,
        ``skip_users_on_time_off`` …); they cannot override the fields above.
    """

    action: ClassVar[str] = "send_message"

    message: Any = field(metadata=_TEMPLATED)
    target_users: Any = field(default=None, metadata=_TEMPLATED)
    target_teams: Any = field(default=None, metadata=_TEMPLATED)
    target_channels: Any = field(default=None, metadata=_TEMPLATED)
    buttons: Any = field(default=None, metadata=_TEMPLATED)
    image_url: Any = field(default=None, metadata=_TEMPLATED)
    extra: Mapping[str, Any] | None = None

    def has_target(self) -> bool:
        """Whether any target is given (templates and XCom references count as given)."""
        return any(t not in (None, "", [], ()) for t in (self.target_users, self.target_teams, self.target_channels))

    def to_payload(self) -> dict[str, Any]:
        """Validate the arguments and return the ``POST /v1/send-message/`` body."""
        text = _non_empty_text(self.message, "message")
        users = identifier_list(self.target_users, "target_users")
        teams = identifier_list(self.target_teams, "target_teams", uuids=True)
        channels = _channel_targets(self.target_channels)
        if not (users or teams or channels):
            raise ValueError("send_message needs at least one target: target_users, target_teams or target_channels")
        payload: dict[str, Any] = {"message": text}
        if users:
            payload["target_users"] = users
        if teams:
            payload["target_teams"] = teams
        if channels:
            payload["target_channels"] = channels
        button_list = _buttons(self.buttons)
        if button_list:
            payload["buttons"] = button_list
        if self.image_url is not None:
            url = _non_empty_text(self.image_url, "image_url")
            if urlsplit(url).scheme != "https":
                raise ValueError(f"image_url must be an https URL, got {url!r}")
            payload["image_url"] = url
        return _merge_extra(payload, self.extra)


@dataclass(frozen=True)
class KudosRequest(_Request):
    """The arguments of kudos (``POST /v1/kudos/``).

    :param receivers: User UUIDs receiving the kudos; one string or a list.
    :param content: The kudos text.
    :param is_anonymous: Hide the giver.
    :param by_dailybot: Give the kudos as the DailyBot bot instead of the API key's owner.
    :param company_value: A company value the kudos celebrates.
    :param extra: Further body fields passed through unchanged; they cannot override the fields above.
    """

    action: ClassVar[str] = "give_kudos"

    receivers: Any = field(metadata=_TEMPLATED)
    content: Any = field(metadata=_TEMPLATED)
    is_anonymous: bool = False
    by_dailybot: bool = False
    company_value: Any = field(default=None, metadata=_TEMPLATED)
    extra: Mapping[str, Any] | None = None

    def to_payload(self) -> dict[str, Any]:
        """Validate the arguments and return the ``POST /v1/kudos/`` body."""
        users = identifier_list(self.receivers, "receivers", uuids=True)
        if not users:
            raise ValueError("give_kudos needs at least one receiver (a user UUID)")
        text = _non_empty_text(self.content, "content")
        for name, flag in (("is_anonymous", self.is_anonymous), ("by_dailybot", self.by_dailybot)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be a bool, got {flag!r}")
        payload: dict[str, Any] = {
            "receivers": users,
            "content": text,
            "is_anonymous": self.is_anonymous,
            "by_dailybot": self.by_dailybot,
        }
        if self.company_value is not None:
            payload["company_value"] = _non_empty_text(self.company_value, "company_value")
        return _merge_extra(payload, self.extra)


def build_message_payload(**arguments: Any) -> dict[str, Any]:
    """Validate the arguments of a bot message and return its body (see :class:`MessageRequest`).

    :param arguments: The fields of :class:`MessageRequest`.
    """
    return MessageRequest(**arguments).to_payload()


def build_kudos_payload(**arguments: Any) -> dict[str, Any]:
    """Validate the arguments of kudos and return its body (see :class:`KudosRequest`).

    :param arguments: The fields of :class:`KudosRequest`.
    """
    return KudosRequest(**arguments).to_payload()


def _non_empty_text(value: object, argument: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{argument} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{argument} must not be empty")
    return value


def _channel_targets(values: object) -> list[str | dict[str, Any]]:
    if values is None:
        return []
    items = [values] if isinstance(values, (str, Mapping)) else list(as_iterable(values, "target_channels"))
    result: list[str | dict[str, Any]] = []
    for item in items:
        if isinstance(item, Mapping):
            channel = dict(item)
            channel["id"] = validate_identifier(channel.get("id"), "target_channels item 'id'")
            result.append(channel)
        else:
            result.append(validate_identifier(item, "target_channels item"))
    return result


def _buttons(buttons: object) -> list[dict[str, Any]]:
    if buttons is None:
        return []
    if isinstance(buttons, (str, bytes, Mapping)) or not isinstance(buttons, Iterable):
        raise TypeError(f"buttons must be a list of button objects, got {type(buttons).__name__}")
    result = [dict(b) if isinstance(b, Mapping) else b for b in buttons]
    if len(result) > MAX_BUTTONS:
        raise ValueError(f"DailyBot accepts at most {MAX_BUTTONS} buttons per message, got {len(result)}")
    for index, button in enumerate(result, start=1):
        if not isinstance(button, dict):
            raise TypeError(f"button #{index} must be an object such as {{'label': ..., 'url': ...}}")
        label = button.get("label")
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"button #{index} needs a non-empty 'label'")
        callbacks = [key for key in BUTTON_CALLBACK_KEYS if button.get(key) not in (None, "")]
        if len(callbacks) > 1:
            raise ValueError(f"button {label!r} sets more than one callback: {', '.join(callbacks)}")
    return result


def _merge_extra(payload: dict[str, Any], extra: Mapping[str, Any] | None) -> dict[str, Any]:
    if not extra:
        return payload
    if not isinstance(extra, Mapping):
        raise TypeError(f"extra must be a dict of body fields, got {type(extra).__name__}")
    clash = sorted(set(extra) & set(payload))
    if clash:
        raise ValueError(f"extra must not repeat fields set by arguments: {', '.join(clash)}")
    return {**payload, **extra}
