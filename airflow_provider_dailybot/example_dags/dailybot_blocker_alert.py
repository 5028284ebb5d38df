"""Blocker alert: when a DailyBot standup reports a blocker, tell the team in their chat.

What it shows
    * An event-driven DAG: it runs when new check-in responses arrive, from one of two sources
      (``DAILYBOT_BLOCKER_SOURCE``):

      ``poll``
          An ``AssetWatcher`` whose :class:`DailyBotNewCheckinResponsesTrigger` polls the check-in's
          responses from the triggerer (``only_blockers=True``): no public URL is needed. On Airflow
          3.3+ its cursor lives in the asset's state store; on 3.1/3.2 in memory (see the trigger).
      ``webhook``
          The provider's webhook receiver: DailyBot posts ``followups.response.completed`` to the
          channel ``DAILYBOT_CHANNEL`` and each delivery becomes an event of
          ``dailybot_webhook_asset(channel)``.

    * ``find_blockers`` reads *every* triggering event (one run may carry several,
      apache/airflow#56050), keeps the responses that report a blocker (each response once) and
      builds one message per blocked response, for the responder's teams (or ``DAILYBOT_ALERT_TEAM``).
    * ``alert_team`` is :class:`DailyBotSendMessageOperator` mapped over those messages: exactly one
      DailyBot message per blocker, none when nobody is blocked. No retries: a retry after an
      ambiguous failure could post twice.

What it needs
    * A ``dailybot`` connection ``dailybot_default``.
    * ``poll``: ``DAILYBOT_CHECKIN_ID`` (the check-in's id); optional ``DAILYBOT_POLL_INTERVAL``
      (seconds, default 120). The default source is ``poll`` when ``DAILYBOT_CHECKIN_ID`` is set.
    * ``webhook``: the receiver set up for the channel (default ``checkins``) and a subscription to
      ``followups.response.completed`` delivering to it; see ``docs/receiving-webhooks.rst``.
    * Optional ``DAILYBOT_ALERT_TEAM``: a team UUID to alert instead of the responder's teams.
    * The DAG unpaused (watchers register only for active, unpaused DAGs).

Nothing runs at parse time apart from reading these environment variables.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_dailybot.operators.message import DailyBotSendMessageOperator
from airflow_provider_dailybot.triggers.checkin_responses import DailyBotNewCheckinResponsesTrigger
from airflow_provider_dailybot.webhooks.assets import dailybot_webhook_asset

CHECKIN_ID = os.environ.get("DAILYBOT_CHECKIN_ID", "")
SOURCE = os.environ.get("DAILYBOT_BLOCKER_SOURCE") or ("poll" if CHECKIN_ID else "webhook")
CHANNEL = os.environ.get("DAILYBOT_CHANNEL", "checkins")
ALERT_TEAM = os.environ.get("DAILYBOT_ALERT_TEAM", "")
POLL_INTERVAL = float(os.environ.get("DAILYBOT_POLL_INTERVAL", "120"))
CHECKIN_COMPLETED = "followups.response.completed"

log = logging.getLogger(__name__)

if SOURCE == "poll":
    # [START howto_trigger_dailybot_new_checkin_responses]
    STANDUPS = Asset(
        name=f"dailybot_checkin_{CHECKIN_ID}_blockers",
        uri=f"dailybot://checkins/{CHECKIN_ID}/blockers",
        watchers=[
            AssetWatcher(
                name=f"dailybot_blockers_{CHECKIN_ID}",
                trigger=DailyBotNewCheckinResponsesTrigger(
                    checkin_id=CHECKIN_ID, poll_interval=POLL_INTERVAL, only_blockers=True
                ),
            )
        ],
    )
    # [END howto_trigger_dailybot_new_checkin_responses]
elif SOURCE == "webhook":
    STANDUPS = dailybot_webhook_asset(CHANNEL)
else:
    raise ValueError(f"DAILYBOT_BLOCKER_SOURCE must be 'poll' or 'webhook', got {SOURCE!r}")


def response_of(extra: dict[str, Any]) -> dict[str, Any] | None:
    """Return the check-in response an asset event carries, from the poll trigger or the webhook receiver."""
    payload = extra.get("payload")
    if isinstance(payload, dict) and isinstance(payload.get("response"), dict):
        return payload["response"]  # DailyBotNewCheckinResponsesTrigger
    if extra.get("event") == CHECKIN_COMPLETED and isinstance(extra.get("body"), dict):
        return extra["body"]  # webhook delivery recorded by the receiver
    return None


def alert_text(response: dict[str, Any], blockers: list[dict[str, Any]]) -> str:
    """Word the alert for one blocked response."""
    user = response.get("user") or {}
    who = "Someone (anonymous)" if response.get("is_anonymous") else user.get("full_name") or "Someone"
    checkin = ", ".join(c.get("name", "") for c in response.get("checkins") or [] if isinstance(c, dict))
    day = response.get("response_date") or str(response.get("created_at") or "")[:10]
    lines = [f"*Blocker reported* by {who} in {checkin or 'a check-in'} ({day}):"]
    lines += [f"• {b['question'] or 'Blocker'}: {b['answer'] or 'flagged as blocked'}" for b in blockers]
    return "\n".join(lines)


with DAG(
    dag_id="dailybot_blocker_alert",
    schedule=[STANDUPS],
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "dailybot"],
    doc_md=__doc__,
):

    @task
    def find_blockers(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
        """Build one message per blocked response among every event of this run."""
        from airflow_provider_dailybot.hooks.dailybot import DailyBotHook
        from airflow_provider_dailybot.resources import resource_id
        from airflow_provider_dailybot.triggers.checkin_responses import blockers_of

        events = list(triggering_asset_events.get(STANDUPS, [])) if triggering_asset_events else []
        hook = DailyBotHook()
        team_members: dict[str, set[str]] | None = None
        alerts: list[dict[str, Any]] = []
        seen: set[str] = set()
        for event in events:
            response = response_of(dict(event.extra or {}))
            key = resource_id(response)
            if response is None or key is None or key in seen:
                continue
            seen.add(key)
            blockers = blockers_of(response)
            if not blockers:
                continue
            user_id = (response.get("user") or {}).get("uuid")
            if ALERT_TEAM:
                targets: dict[str, Any] = {"target_teams": [ALERT_TEAM]}
            else:
                if team_members is None:
                    team_members = {
                        str(team["uuid"]): {str(m.get("uuid")) for m in hook.list_team_members(team["uuid"])}
                        for team in hook.list_teams()
                    }
                teams = sorted(team for team, members in team_members.items() if user_id in members)
                targets = {"target_teams": teams} if teams else {"target_users": [user_id]}
            alerts.append({"message": alert_text(response, blockers), **targets})
        log.info("%d event(s), %d response(s), %d blocker alert(s)", len(events), len(seen), len(alerts))
        return alerts

    # [START howto_operator_dailybot_send_message_mapped]
    DailyBotSendMessageOperator.partial(task_id="alert_team", retries=0).expand_kwargs(find_blockers())
    # [END howto_operator_dailybot_send_message_mapped]
