"""The ``dailybot`` asset URI scheme: its normaliser and its OpenLineage converter (provider info ``asset-uris``).

Airflow calls :func:`sanitize_uri` whenever an ``Asset`` with a ``dailybot://`` URI is built (after
it lower-cased the scheme, sorted the query and dropped trailing slashes and the fragment), so
every form of the same URI becomes one asset, and a malformed one is refused when the DAG file is
parsed, with the rule in the message. Three forms exist:

``dailybot://webhooks/<channel>``
    A receiver channel's asset (:func:`~airflow_provider_dailybot.webhooks.assets.dailybot_webhook_asset`):
    ``<channel>`` is 1 to 64 lower-case letters, digits, ``_`` and ``-``.
``dailybot://checkins/<id>[/<view>]`` and ``dailybot://forms/<uuid>[/<view>]``
    A check-in or form of the connection's DailyBot, optionally a view of it named by the DAG's author
    (``<view>``: lower-case letters, digits, ``_``, ``-``), e.g. the polled blockers of the example
    ``dailybot_blocker_alert``: ``dailybot://checkins/<id>/blockers``.
``dailybot://<API host>[:<port>]/checkins/<id>`` and ``.../forms/<uuid>``
    A check-in or form of a given DailyBot API, as the export operators' OpenLineage input names it
    (:mod:`airflow_provider_dailybot.lineage`): ``dailybot://api.dailybot.com/checkins/42``.

The host is lower-cased (a port is kept as written); credentials, a query string and any
other path are refused. :func:`convert_asset_to_openlineage` turns such an asset into the
OpenLineage dataset of the same name (namespace ``dailybot://<authority>``, name the path).

This module imports no Airflow code at module level: Airflow's providers manager imports it on the
first ``Asset`` of any scheme, at DAG-parse time.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult

from airflow_provider_dailybot.webhooks.assets import ASSET_URI_PREFIX, validate_channel_name

if TYPE_CHECKING:
    from airflow.providers.common.compat.openlineage.facet import Dataset

#: The authority of the receiver channels' URIs (``dailybot://webhooks/<channel>``).
WEBHOOKS_AUTHORITY = ASSET_URI_PREFIX[len("dailybot://") :].rstrip("/")
#: The resources a ``dailybot://<API host>/...`` URI may name: ``checkins/<id>``, ``forms/<uuid>``.
RESOURCES = ("checkins", "forms")
_IDENTIFIER = re.compile(r"[A-Za-z0-9._~%-]{1,128}")
_VIEW = re.compile(r"[a-z0-9_-]{1,64}")
_HOST = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:.]+\]"
)
_FORMS = (
    "dailybot://webhooks/<channel>, dailybot://checkins/<id>[/<view>], dailybot://forms/<uuid>[/<view>] "
    "or dailybot://<API host>/checkins/<id> (/forms/<uuid>)"
)


def _refuse(uri: SplitResult, reason: str) -> ValueError:
    return ValueError(f"Invalid DailyBot asset URI {uri.geturl()!r}: {reason}. Expected {_FORMS}.")


def _authority(uri: SplitResult) -> str:
    if "@" in uri.netloc:
        raise _refuse(uri, "it must not contain credentials")
    try:
        port = uri.port
    except ValueError:
        raise _refuse(uri, "its port is not a number from 0 to 65535") from None
    host = (uri.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if not _HOST.fullmatch(host):
        raise _refuse(uri, f"{uri.netloc!r} is not a host name")
    return host if port is None else f"{host}:{port}"


def sanitize_uri(uri: SplitResult) -> SplitResult:
    """Normalise a ``dailybot://`` asset URI, or raise ``ValueError`` saying what is wrong and which forms exist.

    :param uri: The URI as Airflow split it (scheme lower-cased, trailing slashes removed).
    :raises ValueError: For a URI of no form above, a bad channel name, identifier or view, credentials or a query.
    """
    if uri.query:
        raise _refuse(uri, "it must not have a query string")
    authority = _authority(uri)
    segments = uri.path.split("/")[1:] if uri.path.startswith("/") else []
    if authority == WEBHOOKS_AUTHORITY:
        if len(segments) != 1:
            raise _refuse(uri, "a channel URI is dailybot://webhooks/<channel>, with one path segment")
        try:
            channel = validate_channel_name(segments[0])
        except ValueError as err:
            raise _refuse(uri, str(err).rstrip(".")) from None
        return uri._replace(netloc=authority, path=f"/{channel}", fragment="")
    if authority in RESOURCES:  # dailybot://checkins/<id>[/<view>]
        if not 1 <= len(segments) <= 2:
            raise _refuse(uri, f"a {authority} URI is dailybot://{authority}/<id>, optionally followed by /<view>")
        _check_identifier(uri, segments[0])
        if len(segments) == 2 and not _VIEW.fullmatch(segments[1]):
            raise _refuse(uri, f"the view {segments[1]!r} must be 1 to 64 lower-case letters, digits, '_' or '-'")
    else:  # dailybot://<API host>/checkins/<id>
        if len(segments) != 2 or segments[0] not in RESOURCES:
            raise _refuse(uri, f"with the API host {authority!r} the path must be /checkins/<id> or /forms/<uuid>")
        _check_identifier(uri, segments[1])
    return uri._replace(netloc=authority, path="/" + "/".join(segments), fragment="")


def _check_identifier(uri: SplitResult, identifier: str) -> None:
    if not _IDENTIFIER.fullmatch(identifier):
        raise _refuse(uri, f"{identifier!r} is not a DailyBot identifier (letters, digits, '-', '_', '.', '~', '%')")


def convert_asset_to_openlineage(asset: Any, lineage_context: Any) -> Dataset:
    """Return the OpenLineage dataset of a ``dailybot://`` asset (called by the OpenLineage provider only).

    ``dailybot://api.dailybot.com/checkins/42`` becomes namespace ``dailybot://api.dailybot.com``, name
    ``checkins/42`` (what the export operators report); ``dailybot://webhooks/checkins`` becomes
    namespace ``dailybot://webhooks``, name ``checkins``.

    :param asset: An ``Asset`` whose URI has the ``dailybot`` scheme (already normalised).
    :param lineage_context: The OpenLineage provider's context (unused).
    """
    from urllib.parse import urlsplit

    from airflow.providers.common.compat.openlineage.facet import Dataset

    parts = sanitize_uri(urlsplit(asset.uri))
    return Dataset(namespace=f"{parts.scheme}://{parts.netloc}", name=parts.path.lstrip("/"))
