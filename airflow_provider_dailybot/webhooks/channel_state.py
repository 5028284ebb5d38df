"""What a channel's state is: the accepted ``X-BEARER`` secret hashes and the subscriptions that feed it.

:class:`ChannelState` is the *merged* view that the receiver authenticates with and the operators
decide on; :mod:`.channels` describes how it is stored (a 0.1 document plus change records) and
:mod:`.channel_changes` how the stored parts are merged. Its JSON form (version 1) is the document
that 0.1 kept in the channel's single Variable, and that the base Variable of a channel still holds::

    {
      "version": 1,
      "channel": "checkins",
      "secret_sha256": ["<64 hex chars>", "..."],
      "subscriptions": [
        {
          "hook_id": "<id DailyBot returned when the subscription was created>",
          "hook_url": "https://airflow.example.com/dailybot/webhooks/checkins",
          "events": ["followups.response.completed"],
          "created_at": "2026-01-31T12:00:00+00:00",
          "secret_sha256": "<hash of the secret this subscription sends>"
        }
      ],
      "deleted_hook_ids": ["<hook id this channel deleted at DailyBot (or found gone)>", "..."]
    }

``deleted_hook_ids`` (optional, newest last, at most :data:`MAX_DELETED_HOOK_IDS`) lets the promote
operator skip hook ids it already deleted instead of sending DailyBot a DELETE for each of them again.
A provider that does not know the field ignores it (the document stays version 1).

A subscription record *binds* its secret to its hook id: a delivery authenticated with that secret
but naming another hook id is a forgery or a mistake, never evidence about that other subscription
(see :mod:`.bindings`).

Only SHA-256 hashes of secrets are stored: a secret is generated (:func:`generate_secret`), sent to
DailyBot once when the subscription is created and never written anywhere by this provider. A
channel may accept several secrets at once, which is how secrets are rotated: add the new secret,
create the new subscription, delete the old subscription, then remove the old secret.

No Airflow import.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from airflow_provider_dailybot.webhooks.assets import validate_channel_name

#: Version of the JSON document of a channel's state (the 0.1 single-Variable format).
STATE_VERSION = 1

#: Most hook ids kept in ``deleted_hook_ids`` (the oldest are dropped first).
MAX_DELETED_HOOK_IDS = 500
#: Longest hook id kept in ``deleted_hook_ids``; DailyBot's hook ids are UUIDs.
MAX_HOOK_ID_LENGTH = 256

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# Compared against when a channel has no state, so an unknown channel costs the same as a wrong secret.
_NO_MATCH = "0" * 64


def generate_secret() -> str:
    """Return a new random ``X-BEARER`` secret (``secrets.token_urlsafe(32)``, 43 characters)."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """Return the lower-case hex SHA-256 of a secret, the form in which channels store it.

    :param secret: The plaintext secret.
    """
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def checked_sha256(value: object, where: str) -> str:
    """Return ``value`` when it is a lower-case hex SHA-256, otherwise raise ``ValueError`` naming ``where``.

    :param value: The candidate hash.
    :param where: What the value is, for the error message.
    """
    if not isinstance(value, str) or _SHA256_HEX.fullmatch(value) is None:
        raise ValueError(f"{where} must be a lower-case hex SHA-256 (64 characters)")
    return value


def is_hook_id(value: object) -> bool:
    """Return True when ``value`` can be a DailyBot hook id (a string of 1 to :data:`MAX_HOOK_ID_LENGTH`).

    :param value: The candidate.
    """
    return isinstance(value, str) and 0 < len(value) <= MAX_HOOK_ID_LENGTH


def check_hook_ids(values: list[str], name: str) -> None:
    """Raise ``ValueError`` naming ``name`` unless every item of ``values`` passes :func:`is_hook_id`.

    :param values: The hook ids.
    :param name: The field's name, for the error message.
    """
    if not all(is_hook_id(h) for h in values):
        raise ValueError(f"{name} must hold hook ids of 1 to {MAX_HOOK_ID_LENGTH} characters")


def versioned_document(
    value: str | bytes | dict[str, Any], what: str, latest: int, *, default_version: int | None = None
) -> dict[str, Any]:
    """Return a stored JSON document as a dict, once its ``version`` is one this provider reads.

    The common first step of :meth:`ChannelState.from_json` and of the change records' parser.

    :param value: The JSON text, or the already decoded value.
    :param what: What the document is, for the error messages (``"the state of DailyBot channel 'x'"``).
    :param latest: The newest version this provider reads (versions 1 to ``latest`` are accepted).
    :param default_version: The version of a document without ``version``; None: the field is required.
    :raises ValueError: When the text is not JSON, not an object, or of another version.
    """
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object")
    version = value.get("version", default_version)
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= latest:
        raise ValueError(
            f"{what} has version {version!r}; this provider reads version {latest} "
            "(was it written by a newer provider?)"
        )
    return value


def utcnow_iso() -> str:
    """Return the current UTC time in ISO 8601, to the second."""
    return datetime.now(tz=timezone.utc).isoformat(timespec="seconds")


@dataclass
class ChannelSubscription:
    """A DailyBot webhook subscription that delivers to a channel.

    :param hook_id: The id DailyBot returned when the subscription was created.
    :param hook_url: The URL the subscription delivers to.
    :param events: The subscribed event names.
    :param secret_sha256: Hash of the ``X-BEARER`` secret the subscription sends.
    :param created_at: ISO 8601 time the subscription was created (UTC now by default).
    """

    hook_id: str
    hook_url: str
    events: list[str]
    secret_sha256: str
    created_at: str = field(default_factory=utcnow_iso)

    def __post_init__(self) -> None:
        if not isinstance(self.hook_id, str) or not self.hook_id:
            raise ValueError("hook_id must be a non-empty string")
        if not isinstance(self.hook_url, str) or not self.hook_url:
            raise ValueError("hook_url must be a non-empty string")
        if not isinstance(self.events, list) or not all(isinstance(e, str) for e in self.events):
            raise ValueError("events must be a list of event names")
        if not isinstance(self.created_at, str):
            raise ValueError("created_at must be an ISO 8601 string")
        checked_sha256(self.secret_sha256, "subscription secret_sha256")

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready dict of this subscription."""
        return {
            "hook_id": self.hook_id,
            "hook_url": self.hook_url,
            "events": list(self.events),
            "created_at": self.created_at,
            "secret_sha256": self.secret_sha256,
        }

    @classmethod
    def from_dict(cls, data: object) -> ChannelSubscription:
        """Build a subscription from its JSON dict.

        :param data: A dict as written by :meth:`to_dict`.
        :raises ValueError: When a field is missing or has the wrong type.
        """
        if not isinstance(data, dict):
            raise ValueError("a subscription must be a JSON object")
        try:
            return cls(
                hook_id=data["hook_id"],
                hook_url=data["hook_url"],
                events=data["events"],
                created_at=data["created_at"],
                secret_sha256=data["secret_sha256"],
            )
        except KeyError as err:
            raise ValueError(f"a subscription lacks the field {err.args[0]!r}") from None


@dataclass
class ChannelState:
    """The accepted secrets and the subscriptions of one channel.

    :param channel: The channel name.
    :param secret_sha256: Hashes of every accepted ``X-BEARER`` secret.
    :param subscriptions: The subscriptions created for the channel.
    :param deleted_hook_ids: Hook ids this channel deleted at DailyBot (or found already gone), newest last.
    :param version: Version of the stored JSON document.
    """

    channel: str
    secret_sha256: list[str] = field(default_factory=list)
    subscriptions: list[ChannelSubscription] = field(default_factory=list)
    deleted_hook_ids: list[str] = field(default_factory=list)
    version: int = STATE_VERSION

    def __post_init__(self) -> None:
        validate_channel_name(self.channel)
        for value in self.secret_sha256:
            checked_sha256(value, "secret_sha256 items")
        check_hook_ids(self.deleted_hook_ids, "deleted_hook_ids")
        del self.deleted_hook_ids[:-MAX_DELETED_HOOK_IDS]

    # -- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready dict documented in the module docstring."""
        return {
            "version": self.version,
            "channel": self.channel,
            "secret_sha256": list(self.secret_sha256),
            "subscriptions": [s.to_dict() for s in self.subscriptions],
            "deleted_hook_ids": list(self.deleted_hook_ids),
        }

    def to_json(self) -> str:
        """Return the state as the JSON text stored in the channel's Variable."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, channel: str, value: str | bytes | dict[str, Any]) -> ChannelState:
        """Parse a stored state.

        :param channel: The channel the state belongs to; a ``channel`` field that differs is refused.
        :param value: The Variable's JSON text, or the already decoded dict.
        :raises ValueError: When the document is not a valid channel state.
        """
        value = versioned_document(
            value, f"the state of DailyBot channel {channel!r}", STATE_VERSION, default_version=STATE_VERSION
        )
        stored_channel = value.get("channel", channel)
        if stored_channel != channel:
            raise ValueError(f"the state stored for channel {channel!r} names channel {stored_channel!r}")
        hashes = value.get("secret_sha256", [])
        subscriptions = value.get("subscriptions", [])
        deleted = value.get("deleted_hook_ids", [])
        if not isinstance(hashes, list) or not isinstance(subscriptions, list) or not isinstance(deleted, list):
            raise ValueError("secret_sha256, subscriptions and deleted_hook_ids must be JSON arrays")
        return cls(
            channel=channel,
            secret_sha256=list(hashes),
            subscriptions=[ChannelSubscription.from_dict(s) for s in subscriptions],
            deleted_hook_ids=list(deleted),
            version=STATE_VERSION,
        )

    # -- secrets ------------------------------------------------------------------------------
    def accepts(self, bearer: str | None) -> bool:
        """Return True when ``bearer`` is one of the accepted secrets.

        The SHA-256 of ``bearer`` is compared in constant time with **every** accepted hash (no early
        exit), so the time taken does not depend on which secret matched or on their order.

        :param bearer: The presented secret (the ``X-BEARER`` header); None or empty never matches.
        """
        return self.matching_secret(bearer) is not None

    def matching_secret(self, bearer: str | None) -> str | None:
        """Return the accepted hash that ``bearer`` matches, or None; compared like :meth:`accepts`.

        The SHA-256 of ``bearer`` is compared in constant time with every accepted hash (no early exit).

        :param bearer: The presented secret; None or empty never matches.
        """
        presented = hash_secret(bearer or "")
        matched: str | None = None
        for stored in self.secret_sha256 or [_NO_MATCH]:
            if hmac.compare_digest(presented, stored):
                matched = stored
        return matched if bearer else None

    def add_secret(self, secret: str) -> str:
        """Accept ``secret`` on this channel and return its hash (adding it twice is a no-op).

        :param secret: The plaintext secret; only its hash is kept.
        """
        if not secret:
            raise ValueError("an empty secret cannot be accepted")
        return self.add_secret_hash(hash_secret(secret))

    def add_secret_hash(self, secret_sha256: str) -> str:
        """Accept the secret whose hash is ``secret_sha256`` and return the hash.

        :param secret_sha256: Lower-case hex SHA-256 of the secret.
        """
        checked_sha256(secret_sha256, "secret_sha256")
        if secret_sha256 not in self.secret_sha256:
            self.secret_sha256.append(secret_sha256)
        return secret_sha256

    def remove_secret(self, secret: str | None = None, *, secret_sha256: str | None = None) -> bool:
        """Stop accepting a secret, given either in plaintext or as its hash; return True if it was accepted.

        Subscriptions that send this secret are left in place (their deliveries are refused from now
        on); remove them with :meth:`remove_subscription`.

        :param secret: The plaintext secret.
        :param secret_sha256: The secret's hash, instead of ``secret``.
        """
        if (secret is None) == (secret_sha256 is None):
            raise ValueError("pass exactly one of secret and secret_sha256")
        target = hash_secret(secret) if secret is not None else str(secret_sha256)
        if target in self.secret_sha256:
            self.secret_sha256.remove(target)
            return True
        return False

    # -- subscriptions ------------------------------------------------------------------------
    def get_subscription(self, hook_id: str) -> ChannelSubscription | None:
        """Return the subscription with ``hook_id``, or None.

        :param hook_id: The DailyBot hook id.
        """
        return next((s for s in self.subscriptions if s.hook_id == hook_id), None)

    def add_subscription(self, subscription: ChannelSubscription) -> None:
        """Record a subscription, replacing any earlier record with the same hook id.

        The subscription's secret must already be accepted by the channel.

        :param subscription: The subscription to record.
        """
        if subscription.secret_sha256 not in self.secret_sha256:
            raise ValueError("the subscription's secret is not accepted by this channel; add_secret() it first")
        self.remove_subscription(subscription.hook_id)
        self.subscriptions.append(subscription)

    def remove_subscription(self, hook_id: str) -> ChannelSubscription | None:
        """Forget the subscription with ``hook_id`` and return it (None when there was none).

        :param hook_id: The DailyBot hook id.
        """
        found = self.get_subscription(hook_id)
        if found is not None:
            self.subscriptions.remove(found)
        return found

    def subscriptions_with_secret(self, secret_sha256: str) -> list[ChannelSubscription]:
        """Return the recorded subscriptions that send the secret whose hash is ``secret_sha256``.

        :param secret_sha256: Lower-case hex SHA-256 of a secret.
        """
        return [s for s in self.subscriptions if s.secret_sha256 == secret_sha256]

    # -- deleted hook ids ---------------------------------------------------------------------
    def mark_deleted(self, hook_id: str) -> None:
        """Remember that ``hook_id`` was deleted at DailyBot (or found gone); keeps the newest 500.

        :param hook_id: The DailyBot hook id.
        """
        if not is_hook_id(hook_id):
            return  # not a hook id this provider would ever be asked to delete again
        if hook_id in self.deleted_hook_ids:
            self.deleted_hook_ids.remove(hook_id)
        self.deleted_hook_ids.append(hook_id)
        del self.deleted_hook_ids[:-MAX_DELETED_HOOK_IDS]
