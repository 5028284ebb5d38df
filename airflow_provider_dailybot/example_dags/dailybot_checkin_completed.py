"""React to DailyBot check-ins: a DAG run for DailyBot deliveries, reporting who checked in and who is blocked.

What it shows
    * ``schedule=[dailybot_webhook_asset(CHANNEL)]``: the DAG is started by DailyBot webhook deliveries.
      The provider's receiver, mounted on the api-server at ``/dailybot``, records every accepted
      delivery on the channel ``CHANNEL`` as an event of this asset.
    * Each delivery is read from ``triggering_asset_events``. ``event.extra`` holds the DailyBot
      envelope (``event``, ``event_timestamp``, ``hook``, ``body``) and the receiver's ``delivery_id``.
    * For ``followups.response.completed`` the task reports who completed which check-in and the
      blocker answers, taken from ``blockers_status`` and ``has_issue`` by the provider's
      ``blockers_of`` (the rule the check-in trigger uses). It ignores other events.

What it needs
    * The provider installed on the api-server. ``[api] base_url``, or ``[dailybot] receiver_base_url``,
      must be an address that DailyBot can reach.
    * A channel named ``checkins``, or the name in the ``DAILYBOT_CHANNEL`` environment variable of
      the dag-processor and the workers. The channel's state, kept in the Variables
      ``dailybot_webhook_channel__checkins…``, holds the hash of a secret. A DailyBot subscription to
      ``followups.response.completed`` posts to ``channel_hook_url("checkins")`` with that secret as
      its bearer. The provider's operators set this up; see ``docs/receiving-webhooks.rst``.
    * The DAG unpaused.

One run may carry several deliveries (apache/airflow#56050)
    The scheduler may start fewer runs than there were deliveries. During a burst, events recorded
    while a run is being created are attached to the next run. Airflow runs that next run only when
    another delivery arrives. So the task loops over *every* triggering event. It never assumes one
    run per delivery, and never assumes the last delivery of a burst is processed promptly. For a
    time bound, use ``AssetOrTimeSchedule``. Another option is to read the events with a watermark
    through ``inlet_events``.

Nothing runs at parse time apart from reading ``DAILYBOT_CHANNEL``.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from typing import Any

from airflow.sdk import dag, task

from airflow_provider_dailybot.triggers.checkin_responses import blockers_of
from airflow_provider_dailybot.webhooks.assets import dailybot_webhook_asset

CHANNEL = os.environ.get("DAILYBOT_CHANNEL", "checkins")
DELIVERIES = dailybot_webhook_asset(CHANNEL)
CHECKIN_COMPLETED = "followups.response.completed"

log = logging.getLogger(__name__)


def summarize_checkin(extra: dict[str, Any]) -> dict[str, Any]:
    """Summarise one ``followups.response.completed`` delivery: who completed which check-in and its blockers."""
    body = extra.get("body") or {}
    user = body.get("user") or {}
    who = "anonymous" if body.get("is_anonymous") else (user.get("full_name") or user.get("uuid") or "unknown")
    blockers = blockers_of(body)
    return {
        "delivery_id": extra.get("delivery_id"),
        "who": who,
        "checkins": [c.get("name") for c in body.get("checkins") or [] if isinstance(c, dict)],
        "blocked": bool(blockers),
        "blockers": blockers,
        "event_timestamp": extra.get("event_timestamp"),
    }


@dag(
    dag_id="dailybot_checkin_completed",
    schedule=[DELIVERIES],
    catchup=False,
    tags=["dailybot", "example"],
    doc_md=__doc__,
)
def dailybot_checkin_completed() -> None:
    """Summarise the DailyBot check-ins delivered to the channel."""

    @task
    def summarize_checkins(triggering_asset_events: Any = None) -> dict[str, Any]:
        """Process every delivery that triggered this run (one run may carry several)."""
        events = list(triggering_asset_events.get(DELIVERIES, [])) if triggering_asset_events else []
        completed: list[dict[str, Any]] = []
        skipped: Counter[str] = Counter()
        for event in events:
            extra = dict(event.extra or {})
            if extra.get("event") != CHECKIN_COMPLETED:
                skipped[str(extra.get("event"))] += 1
                continue
            summary = summarize_checkin(extra)
            completed.append(summary)
            if summary["blocked"]:
                named = [f"{b['question']}: {b['answer']}" for b in summary["blockers"] if b["question"] is not None]
                blockers = "; ".join(named) or "has_issue"
                log.warning("%s completed %s and is blocked (%s)", summary["who"], summary["checkins"], blockers)
            else:
                log.info("%s completed %s", summary["who"], summary["checkins"])
        log.info("Processed %d delivery(ies) on channel %s in this run", len(events), CHANNEL)
        return {
            "channel": CHANNEL,
            "deliveries": len(events),
            "checkins": completed,
            "blocked": [s["who"] for s in completed if s["blocked"]],
            "skipped_events": dict(skipped),
        }

    summarize_checkins()


dailybot_checkin_completed()
