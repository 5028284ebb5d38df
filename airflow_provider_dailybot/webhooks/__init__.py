"""Receive DailyBot webhook deliveries on the Airflow api-server and turn them into asset events.

* :mod:`.assets`: channel names and :func:`~.assets.dailybot_webhook_asset`, the asset DAGs schedule on.
* :mod:`.channels`: where each channel's accepted secret hashes and subscriptions are stored (Variables);
  :mod:`.channel_state` (the state), :mod:`.channel_changes` (change records) and :mod:`.channel_log`
  (the append-only log they are kept in).
* :mod:`.asset_events`: the ``AssetEvent.extra`` a delivery is recorded with, written by the receiver, read by tasks.
* :mod:`.bindings`: which hook id a recorded delivery may speak for (secret → hook id bindings).
* :mod:`.config`: receiver options and :func:`~.config.channel_hook_url`, the URL DailyBot posts to.
* :mod:`.receiver`: the FastAPI app (HTTP only; its answers); :mod:`.plugin`: the Airflow plugin that mounts it.
* :mod:`.envelope`: reading a request (presented secrets, the envelope); :mod:`.state_cache`: channel state
  cached per api-server process; :mod:`.caching`: the bounded TTL map both caches use.
* :mod:`.recording`: the database work (one transaction per delivery on the delivery store, replays);
  :mod:`.consumers`: which channels have a consumer; :mod:`.metrics`: the receiver's metrics.

``dailybot_webhook_asset`` and ``channel_hook_url`` are re-exported lazily, so importing this
package loads nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_dailybot.webhooks.assets import dailybot_webhook_asset
    from airflow_provider_dailybot.webhooks.config import channel_hook_url

__all__ = ["channel_hook_url", "dailybot_webhook_asset"]

_LAZY = {
    "dailybot_webhook_asset": "airflow_provider_dailybot.webhooks.assets",
    "channel_hook_url": "airflow_provider_dailybot.webhooks.config",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
