"""Give DailyBot kudos from a task (a thank-you in the team's chat, counted in DailyBot's kudos wall).

The module imports only ``airflow.sdk`` and the operators' shared base; the hook is imported when
the task runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_dailybot.links import DailyBotKudosLink
from airflow_provider_dailybot.operators._base import DEFAULT_CONN_ID, DailyBotBaseOperator
from airflow_provider_dailybot.payloads import KudosRequest

if TYPE_CHECKING:
    from airflow.sdk import Context


class DailyBotGiveKudosOperator(DailyBotBaseOperator):
    """Give kudos to one or more users (``POST /v1/kudos/``).

    The arguments are validated before the request (user UUIDs, non-empty content, boolean flags).
    Sent once: an ambiguous failure (timeout, 5xx after sending) is raised, not retried, since
    DailyBot may have recorded the kudos; at the organization's daily kudos limit DailyBot answers
    406, raised as :class:`~airflow_provider_dailybot.exceptions.DailyBotApiError`.

    Returns (XCom) ``{"kudos_id": ..., "receivers": [...]}``. Once given, the task instance links to DailyBot's
    kudos page (:class:`~airflow_provider_dailybot.links.DailyBotKudosLink`).

    .. code-block:: python

        DailyBotGiveKudosOperator(
            task_id="thank_on_call",
            receivers=["{{ var.value.on_call_user_uuid }}"],
            content="Thanks for keeping the {{ dag.dag_id }} pipeline green all week!",
            company_value="Ownership",
        )

    :param receivers: User UUIDs receiving the kudos. (templated)
    :param content: The kudos text. (templated)
    :param is_anonymous: Hide the giver.
    :param by_dailybot: Give the kudos as the DailyBot bot rather than the API key's owner.
    :param company_value: A company value the kudos celebrates. (templated)
    :param extra: Further ``POST /v1/kudos/`` body fields.
    :param dailybot_conn_id: The DailyBot connection. (templated)
    """

    #: The templated fields of :class:`~airflow_provider_dailybot.payloads.KudosRequest`, and the connection.
    template_fields: Sequence[str] = (*KudosRequest.template_fields(), "dailybot_conn_id")
    template_fields_renderers = {"content": "md"}
    operator_extra_links = (DailyBotKudosLink(),)
    #: The id DailyBot gave the kudos this run gave (None until given); its link shows only then.
    given_kudos_id: str | None = None

    @KudosRequest.arguments_of()
    def __init__(self, *, dailybot_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        arguments = KudosRequest.take(kwargs)
        super().__init__(dailybot_conn_id=dailybot_conn_id, **kwargs)
        if arguments["receivers"] in (None, "", [], ()):
            raise ValueError("DailyBotGiveKudosOperator needs at least one receiver (a user UUID)")
        for name, value in arguments.items():
            setattr(self, name, value)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_dailybot.resources import identifier_list, resource_id

        request = KudosRequest(**{name: getattr(self, name) for name in KudosRequest.field_names()})
        self.given_kudos_id = None
        result = self.hook.give_kudos(request)
        self.given_kudos_id = resource_id(result) or ""  # given, even if DailyBot's answer named no id
        return {"kudos_id": resource_id(result), "receivers": identifier_list(request.receivers, "receivers")}
