"""Which channels exist and what their state holds, told without revealing a secret.

Used by ``airflow dailybot channels|subscriptions`` and by the delivery log's ``/api/channels``.
A channel exists when its Variable ``dailybot_webhook_channel__<channel>`` does (see
:mod:`.channels`): in the metadata database, or as ``AIRFLOW_VAR_DAILYBOT_WEBHOOK_CHANNEL__<CHANNEL>``
in the environment. Other secrets backends (Vault, AWS …) cannot be listed; a channel kept only
there is shown by name (``channels show <channel>``) but not listed.

Secrets: a channel stores only SHA-256 hashes; the report shows the first
:data:`SECRET_PREFIX_CHARS` hex characters of each hash and its
:func:`~.asset_events.secret_ref` (the reference deliveries and asset events carry), never a
whole hash, which is what the receiver compares presented secrets against.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from airflow_provider_dailybot.webhooks.asset_events import secret_ref
from airflow_provider_dailybot.webhooks.assets import is_valid_channel_name
from airflow_provider_dailybot.webhooks.channels import VARIABLE_KEY_PREFIX, ChannelState, ChannelSubscription

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: Hex characters of a secret's SHA-256 shown (48 bits: enough to tell a channel's secrets apart).
SECRET_PREFIX_CHARS = 12
#: Most channels listed.
MAX_CHANNELS = 1000
#: Prefix of the environment variables that hold a channel state (Airflow's ``AIRFLOW_VAR_`` + key).
ENV_PREFIX = "AIRFLOW_VAR_" + VARIABLE_KEY_PREFIX.upper()


def secret_label(secret_sha256: str) -> dict[str, str]:
    """Return how a secret is shown: ``{"sha256_prefix": <12 hex>, "ref": <secret_ref>}``.

    :param secret_sha256: The stored hash of the secret.
    """
    return {"sha256_prefix": secret_sha256[:SECRET_PREFIX_CHARS], "ref": secret_ref(secret_sha256)}


def subscription_report(channel: str, subscription: ChannelSubscription) -> dict[str, Any]:
    """Return the JSON-ready view of one subscription record (its secret as :func:`secret_label`).

    :param channel: The channel it delivers to.
    :param subscription: The record.
    """
    return {
        "channel": channel,
        "hook_id": subscription.hook_id,
        "hook_url": subscription.hook_url,
        "events": list(subscription.events),
        "created_at": subscription.created_at,
        "secret": secret_label(subscription.secret_sha256),
    }


def channel_report(state: ChannelState) -> dict[str, Any]:
    """Return the JSON-ready view of a channel state: secrets as labels, subscriptions, deleted hook count.

    :param state: The channel's state.
    """
    return {
        "channel": state.channel,
        "secrets": [secret_label(h) for h in state.secret_sha256],
        "subscriptions": [subscription_report(state.channel, s) for s in state.subscriptions],
        "deleted_hook_ids": len(state.deleted_hook_ids),
    }


def _environment_channels() -> set[str]:
    return {
        name[len(ENV_PREFIX) :].lower()
        for name in os.environ
        if name.upper().startswith(ENV_PREFIX) and is_valid_channel_name(name[len(ENV_PREFIX) :].lower())
    }


def channel_names(session: Session, *, limit: int = MAX_CHANNELS) -> list[str]:
    """Return the names of the channels with a state, sorted, at most ``limit``.

    :param session: A metadata-database session.
    :param limit: Most names returned.
    """
    from airflow.models.variable import Variable
    from sqlalchemy import select

    keys = session.scalars(
        select(Variable.key)
        .where(Variable.key.startswith(VARIABLE_KEY_PREFIX, autoescape=True))
        .order_by(Variable.key)
        .limit(limit)
    )
    names = {key[len(VARIABLE_KEY_PREFIX) :] for key in keys} | _environment_channels()
    return sorted(name for name in names if is_valid_channel_name(name))[:limit]
