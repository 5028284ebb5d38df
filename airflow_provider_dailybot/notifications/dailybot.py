"""Send Airflow callbacks (task and DAG failure/success, deadline alerts) as DailyBot messages.

:class:`DailyBotNotifier` is an Airflow ``BaseNotifier``, used like the Slack provider's
``SlackNotifier``: the pipeline's alerts land in the team's chat through the DailyBot bot the team
already uses (``POST /v1/send-message/``, to users, teams or channels).

The module imports only ``airflow.sdk``; the hook is imported when a notification is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseNotifier

from airflow_provider_dailybot.connection import DEFAULT_CONN_ID
from airflow_provider_dailybot.payloads import MessageRequest

if TYPE_CHECKING:
    import jinja2
    from airflow.sdk import Context

    from airflow_provider_dailybot.hooks.dailybot import DailyBotHook


#: The default message: which DAG (and task), its state, the run, the try, the error and the log link.
#: Every name is checked with ``is defined`` so that the same text renders in task callbacks, DAG
#: callbacks and the reduced context of deadline alerts.
DEFAULT_MESSAGE = (
    "{% set t = ti if ti is defined and ti else none %}"
    "{% set r = dag_run if dag_run is defined and dag_run else none %}"
    "{% set dag_id = dag.dag_id if dag is defined and dag else (r.dag_id if r else 'unknown') %}"
    "{% set state = t.state if t and t.state else (r.state if r and r.state else 'notification') %}"
    "{% set state = state.value if state.value is defined else state %}"
    "Airflow {% if t %}task *{{ t.task_id }}*"
    "{% if t.map_index is defined and t.map_index is not none and t.map_index >= 0 %}[{{ t.map_index }}]{% endif %}"
    " of DAG{% else %}DAG{% endif %} *{{ dag_id }}*: {{ state }}"
    "{% if r %} (run {{ r.run_id }}{% if t %}, try {{ t.try_number }}{% endif %}){% endif %}"
    "{% if exception is defined and exception %}\nError: {{ exception | string | truncate(300) }}{% endif %}"
    "{% if t and t.log_url is defined and t.log_url %}\nLogs: {{ t.log_url }}{% endif %}"
)


class DailyBotNotifier(BaseNotifier):
    """Send a templated DailyBot message when an Airflow callback fires.

    Use it wherever Airflow takes a notifier: ``on_failure_callback``, ``on_success_callback``,
    ``on_retry_callback`` of tasks and DAGs, and (Airflow 3.1+) deadline alerts, which run
    notifiers in the triggerer through :meth:`async_notify`. The message and the targets are
    Jinja templates rendered with the callback's context (``dag``, ``ti``, ``dag_run``, ``run_id``,
    ``exception`` …); the default message names the DAG, the task, its state, the run, the try,
    the error and the log URL.

    .. code-block:: python

        from airflow_provider_dailybot.notifications.dailybot import DailyBotNotifier

        alert = DailyBotNotifier(target_teams=["<team uuid>"])
        with DAG("etl", on_failure_callback=alert, default_args={"on_failure_callback": alert}): ...

    Each call renders from the original templates, so one instance may serve many tasks. A message
    is sent once per callback: a lost answer is not retried (it could post twice). The API key
    never appears in the message or in the logs.

    :param message: The message; a Jinja template. (templated)
    :param target_users: User UUIDs (or emails/chat ids) to message directly. (templated)
    :param target_teams: Team UUIDs whose members get the message. (templated)
    :param target_channels: Channel ids, or ``{"id", "thread"}`` objects. (templated)
    :param buttons: Up to 25 button objects, e.g. ``[{"label": "Open Airflow", "button_type": "link",
        "url": "{{ ti.log_url }}"}]``. (templated)
    :param image_url: An https image URL. (templated)
    :param extra: Further ``send-message`` body fields (``platform_settings`` …).
    :param dailybot_conn_id: The DailyBot connection. (templated)
    :param context: The context of an awaited (async) notification; Airflow passes it for deadline
        alerts.
    """

    #: The templated fields of :class:`~airflow_provider_dailybot.payloads.MessageRequest`, and the connection.
    template_fields: Sequence[str] = (*MessageRequest.template_fields(), "dailybot_conn_id")

    @MessageRequest.arguments_of(message=DEFAULT_MESSAGE)
    def __init__(
        self, *, dailybot_conn_id: str = DEFAULT_CONN_ID, context: Context | None = None, **kwargs: Any
    ) -> None:
        arguments = MessageRequest.take(kwargs, message=DEFAULT_MESSAGE)
        if kwargs:
            raise TypeError(f"DailyBotNotifier got unexpected keyword arguments: {', '.join(sorted(kwargs))}")
        request = MessageRequest(**arguments)
        if not request.has_target():
            raise ValueError("DailyBotNotifier needs at least one of target_users, target_teams or target_channels")
        if not isinstance(request.message, str) or not request.message.strip():
            raise ValueError("DailyBotNotifier message must be a non-empty string (a Jinja template)")
        super().__init__(context=context)
        for name, value in arguments.items():
            setattr(self, name, value)
        self.dailybot_conn_id = dailybot_conn_id
        self._templates = {name: getattr(self, name) for name in self.template_fields}

    def render_template_fields(self, context: Context, jinja_env: jinja2.Environment | None = None) -> None:
        """Render the template fields from their original templates (a notifier may be called many times).

        :param context: The callback's context.
        :param jinja_env: The Jinja environment; the DAG's by default.
        """
        # Rendered one by one and always set: Airflow 3.1's Templater keeps the template text when it
        # renders to an empty value, which would send "{{ ... }}" to DailyBot.
        env = jinja_env or self.get_template_env(dag=context.get("dag"))
        for name, template in self._templates.items():
            setattr(self, name, self.render_template(template, context, env, set()))

    @cached_property
    def hook(self) -> DailyBotHook:
        """The DailyBot hook for ``dailybot_conn_id`` (built on first use, after rendering)."""
        from airflow_provider_dailybot.hooks.dailybot import DailyBotHook

        return DailyBotHook(dailybot_conn_id=self._conn_id())

    def _conn_id(self) -> str:
        if not isinstance(self.dailybot_conn_id, str) or not self.dailybot_conn_id.strip():
            raise ValueError(f"dailybot_conn_id must be a non-empty string, got {self.dailybot_conn_id!r}")
        return self.dailybot_conn_id.strip()

    def _request(self) -> MessageRequest:
        return MessageRequest(**{name: getattr(self, name) for name in MessageRequest.field_names()})

    def notify(self, context: Context) -> None:
        """Send the rendered message (sync: task and DAG callbacks).

        :param context: The callback's context (already used to render the fields).
        """
        self.hook.send_message(self._request())

    async def async_notify(self, context: Context) -> None:
        """Send the rendered message without blocking the event loop (deadline alerts, in the triggerer).

        :param context: The callback's context.
        """
        from airflow_provider_dailybot.hooks.dailybot import async_dailybot_hook

        hook = await async_dailybot_hook(self._conn_id())
        try:
            await asyncio.to_thread(hook.send_message, self._request())
        finally:
            hook.close()


#: Functional alias, like the Slack provider's ``send_slack_notification``.
send_dailybot_notification = DailyBotNotifier
