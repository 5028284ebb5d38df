"""Which channels have a *consumer* (a DAG that acts on their deliveries), cached per api-server process.

**Consumer.** A channel has a consumer when its asset is active and some DAG that is not stale
either *schedules* on it and is not paused (directly, or through ``Asset.ref`` by name or URI), or
reads it through a task's *inlets* (paused or not). A DAG scheduled on the asset acts on an event only
while it is unpaused: Airflow queues no run for a paused DAG and does not catch up later, so such an
event would start nothing, ever; it is stored and replayed instead. A task reading the asset through
``inlet_events`` (the provider's create operator and delivery sensor do) sees every recorded event
whenever it runs, also in a manual or test run of a paused DAG, so an event recorded meanwhile is not
lost to it. A DAG that only declares the asset as an outlet is a producer, not a consumer.

The answer to the question is cached per channel for ``[dailybot] receiver_state_cache_seconds``
(only a "yes": a channel without a consumer is looked up again on every delivery, so a consumer DAG
counts as soon as the dag-processor has written it). Within that time a delivery may therefore be
recorded although its last consumer was just paused or removed: the event is in the database as if
it had arrived a moment earlier, as an event of ``POST /api/v2/assets/events`` would be.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_dailybot.webhooks.assets import webhook_asset_name, webhook_asset_uri
from airflow_provider_dailybot.webhooks.caching import BoundedTTLCache
from airflow_provider_dailybot.webhooks.config import receiver_state_cache_max_channels, receiver_state_cache_seconds

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class ChannelAsset:
    """The asset of a channel that has a consumer (see the module docstring).

    :param id: ``asset.id``.
    :param name: The asset name, ``dailybot_<channel>``.
    :param uri: The asset URI, ``dailybot://webhooks/<channel>``.
    """

    id: int
    name: str
    uri: str


def find_consumed_asset(session: Session, channel: str) -> ChannelAsset | None:
    """Return the channel's asset when a DAG consumes it (see the module docstring), else None; one query.

    :param session: A metadata-database session.
    :param channel: The channel name.
    """
    from airflow.models.asset import (
        AssetActive,
        AssetModel,
        DagScheduleAssetNameReference,
        DagScheduleAssetReference,
        DagScheduleAssetUriReference,
        TaskInletAssetReference,
    )
    from airflow.models.dag import DagModel
    from sqlalchemy import and_, exists, or_, select

    name, uri = webhook_asset_name(channel), webhook_asset_uri(channel)
    live = DagModel.is_stale.is_(False)
    unpaused = DagModel.is_paused.is_(False)

    def dag_with(reference: Any, *conditions: Any) -> Any:
        return exists().where(reference.dag_id == DagModel.dag_id, live, *conditions)

    consumed = or_(
        dag_with(DagScheduleAssetReference, DagScheduleAssetReference.asset_id == AssetModel.id, unpaused),
        dag_with(DagScheduleAssetNameReference, DagScheduleAssetNameReference.name == name, unpaused),
        dag_with(DagScheduleAssetUriReference, DagScheduleAssetUriReference.uri == uri, unpaused),
        dag_with(TaskInletAssetReference, TaskInletAssetReference.asset_id == AssetModel.id),
    )
    asset_id = session.scalar(
        select(AssetModel.id)
        .join(AssetActive, and_(AssetActive.name == AssetModel.name, AssetActive.uri == AssetModel.uri))
        .where(AssetModel.name == name, AssetModel.uri == uri, consumed)
        .limit(1)
    )
    return None if asset_id is None else ChannelAsset(int(asset_id), name, uri)


class ConsumerCache:
    """Per-process cache of :func:`find_consumed_asset`'s positive answers (see the module docstring).

    :param ttl: Seconds an answer is reused; read from ``[dailybot] receiver_state_cache_seconds``
        on every lookup when None.
    :param max_channels: Channels kept; ``[dailybot] receiver_state_cache_max_channels`` when None.
    """

    def __init__(self, ttl: float | None = None, max_channels: int | None = None) -> None:
        self._ttl = ttl
        self._entries: BoundedTTLCache[str, ChannelAsset] = BoundedTTLCache(
            max_channels if max_channels is not None else receiver_state_cache_max_channels
        )

    def lookup(self, session: Session, channel: str) -> ChannelAsset | None:
        """Return the channel's consumed asset, from the cache when a fresh answer is there.

        :param session: The session to query with on a miss.
        :param channel: The channel name.
        """
        ttl = self._ttl if self._ttl is not None else receiver_state_cache_seconds()
        cached = self._entries.get(channel, ttl)
        if cached is not None:
            return cached
        found = find_consumed_asset(session, channel)
        if found is not None and ttl > 0:
            self._entries.put(channel, found)
        return found

    def forget(self, channel: str) -> None:
        """Drop the cached answer of ``channel``.

        :param channel: The channel name.
        """
        self._entries.pop(channel)

    def clear(self) -> None:
        """Drop every cached answer."""
        self._entries.clear()


#: The api-server process's consumer cache.
consumers = ConsumerCache()
