"""Send a DailyBot bot message to users, teams or channels from a task.

The module imports only ``airflow.sdk`` and the operators' shared base; the hook is imported when
the task runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_dailybot.operators._base import DEFAULT_CONN_ID, DailyBotBaseOperator
from airflow_provider_dailybot.payloads import MessageRequest

if TYPE_CHECKING:
    from airflow.sdk import Context


def require_target(operator: str, *targets: object) -> None:
    """Refuse, at DAG parse time, a message without any recipient.

    :param operator: The class name, for the message.
    :param targets: The target arguments as given (templates and XCom references count as given).
    """
    if not any(target not in (None, "", [], ()) for target in targets):
        raise ValueError(f"{operator} needs at least one of target_users, target_teams or target_channels")


class DailyBotSendMessageOperator(DailyBotBaseOperator):
    """Send a message through the DailyBot bot (``POST /v1/send-message/``).

    The message reaches users (direct messages), every member of teams, and/or chat channels, on the
    chat platform the organization uses (Slack, Teams, Google Chat, Discord). Every argument is
    validated before the request: at least one target, team UUIDs, at most 25 buttons each with a
    ``label``, an https ``image_url``.

    The request is sent once: a timeout or a 5xx after it went out is raised, not retried, because
    DailyBot may have delivered the message. Airflow's task ``retries`` would then send it again;
    leave them at 0 where a duplicate message matters.

    Returns (XCom) ``{"bot_message_id": ...}``: DailyBot's id of the message, usable to edit it.

    .. code-block:: python

        DailyBotSendMessageOperator(
            task_id="announce",
            message="Nightly load of {{ ds }} finished: {{ ti.xcom_pull(task_ids='load') }} rows",
            target_teams=["<team uuid>"],
            buttons=[{"label": "Open the report", "button_type": "link", "url": "https://bi.example.com"}],
        )

    :param message: The text. (templated)
    :param target_users: User UUIDs (DailyBot also accepts emails or chat ids). (templated)
    :param target_teams: Team UUIDs. (templated)
    :param target_channels: Channel ids, or objects ``{"id": ..., "thread": ...}``. (templated)
    :param buttons: Up to 25 button objects. (templated)
    :param image_url: An https image URL shown with the message. (templated)
    :param extra: Further body fields (``platform_settings``, ``metadata``, ``skip_users_on_time_off`` …).
    :param dailybot_conn_id: The DailyBot connection. (templated)
    """

    #: The templated fields of :class:`~airflow_provider_dailybot.payloads.MessageRequest`, and the connection.
    template_fields: Sequence[str] = (*MessageRequest.template_fields(), "dailybot_conn_id")
    template_fields_renderers = {"message": "md", "buttons": "json", "target_channels": "json"}

    @MessageRequest.arguments_of()
    def __init__(self, *, dailybot_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        arguments = MessageRequest.take(kwargs)
        super().__init__(dailybot_conn_id=dailybot_conn_id, **kwargs)
        require_target(
            type(self).__name__, arguments["target_users"], arguments["target_teams"], arguments["target_channels"]
        )
        for name, value in arguments.items():
            setattr(self, name, value)

    def execute(self, context: Context) -> dict[str, Any]:
        request = MessageRequest(**{name: getattr(self, name) for name in MessageRequest.field_names()})
        result = self.hook.send_message(request)
        return {"bot_message_id": result.get("bot_message_id")}
