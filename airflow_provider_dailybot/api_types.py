"""Typed shapes of the DailyBot answers the hook returns (reference §3.3, §4.1, §4.5, §4.6).

``TypedDict`` views, not validators: :mod:`airflow_provider_dailybot.shapes` checks each answer
before it is returned, and DailyBot may send further keys, which stay in the dict. Every key is
optional (``total=False``) because DailyBot's sources disagree on which are always present.
"""

from __future__ import annotations

from typing import Any, TypedDict


class Organization(TypedDict, total=False):
    """The nested ``organization`` of ``GET /v1/me/``."""

    uuid: str
    name: str


class Profile(TypedDict, total=False):
    """``GET /v1/me/``: the API key's owner and organization (flat keys and legacy ones)."""

    uuid: str
    full_name: str
    user: str
    email: str
    role: str
    timezone: str
    organization: Organization
    organization_name: str
    organization_uuid: str


class SentMessage(TypedDict, total=False):
    """``POST /v1/send-message/``: DailyBot's id of the message (absent on an empty 2xx)."""

    bot_message_id: str


class Kudos(TypedDict, total=False):
    """``POST /v1/kudos/``: the kudos created (kudos carry ``id``, reference §2.5)."""

    id: str
    uuid: str


class SampleEnvelope(TypedDict, total=False):
    """``POST /v1/webhook-subscription/sample/``: a delivery envelope (reference §3.5)."""

    event: str
    body: dict[str, Any]
    hook: dict[str, Any]
    event_timestamp: float | str
