"""Extra links of the DailyBot operators: a button on the task instance that opens the page in DailyBot's web app.

* ``DailyBotExportCheckinResponsesOperator``: button ``DailyBot check-in``, ``<app>/checkins/<check-in id>/``;
* ``DailyBotExportFormResponsesOperator``: button ``DailyBot form``, ``<app>/forms/<form uuid>/``;
* ``DailyBotGiveKudosOperator``: button ``DailyBot kudos``, ``<app>/kudos/``, once the kudos was given.

``<app>`` is the connection's web-app URL: the ``app_url`` extra, else ``https://app.<domain>`` for an
API host ``api.<domain>``, else ``https://app.dailybot.com``
(:func:`airflow_provider_dailybot.connection.app_base_url`). That the web app lives at
``app.dailybot.com`` is CONFIRMED (DailyBot's help centre and CLI docs, which also show
``/forms/<uuid>/responses/create/``); the three page paths above are INFERRED from it and from the
API's resource names: set ``app_url`` (which may carry a path prefix) if your pages live elsewhere.

How Airflow 3 renders them (3.1 and 3.3 alike): when the task ends, the worker calls ``get_link``
on the operator that ran and stores the URL as an XCom (``_link_<class name>``); the UI and the
REST API (``.../taskInstances/<task>/links``) read that XCom. So a link is made from what the task
did (its rendered ids, the connection it read) without a request to DailyBot, and it is empty (a
disabled button) when the task never got as far as reading its connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

#: Web-app paths of the pages linked (INFERRED; relative to the app URL).
CHECKIN_PATH = "/checkins/{id}/"
FORM_PATH = "/forms/{id}/"
KUDOS_PATH = "/kudos/"


def app_url_of(operator: Any) -> str | None:
    """Return the web-app URL of the connection the operator's run read, or None when it read none.

    :param operator: A DailyBot operator after (or during) its run; its cached hook is consulted, never built.
    """
    hook = vars(operator).get("hook")  # the operator's cached_property: present once the task used the hook
    settings = vars(hook).get("settings") if hook is not None else None
    app_url = getattr(settings, "app_url", None)
    return app_url if isinstance(app_url, str) and app_url else None


def page_url(app_url: str | None, path: str, identifier: object = None) -> str:
    """Return ``app_url`` + ``path`` with ``{id}`` filled in (percent-encoded), or ``""`` when a part is missing.

    :param app_url: The web-app base URL (no trailing slash), or None.
    :param path: One of :data:`CHECKIN_PATH`, :data:`FORM_PATH`, :data:`KUDOS_PATH`.
    :param identifier: The check-in id or form UUID, for a path with ``{id}``.
    """
    if not app_url:
        return ""
    if "{id}" in path:
        text = str(identifier).strip() if identifier is not None else ""
        if not text or "{{" in text:  # never rendered: no page to point at
            return ""
        path = path.format(id=quote(text, safe=""))
    return app_url + path


class _DailyBotPageLink(BaseOperatorLink):
    """A link to a DailyBot web-app page built from the operator's own attributes (no request)."""

    path: ClassVar[str] = ""
    #: The operator attribute holding the identifier of the page (None: the page has none).
    id_attribute: ClassVar[str | None] = None

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """Return the page's URL, or ``""`` (a disabled button) when the task read no connection.

        :param operator: The operator that ran (templates rendered).
        :param ti_key: The task instance (unused: the link depends on the operator's run only).
        """
        if not self._applies(operator):
            return ""
        identifier = getattr(operator, self.id_attribute, None) if self.id_attribute else None
        return page_url(app_url_of(operator), self.path, identifier)

    def _applies(self, operator: Any) -> bool:
        return True


class DailyBotCheckinLink(_DailyBotPageLink):
    """The check-in an export read, in DailyBot's web app (``<app>/checkins/<id>/``)."""

    name = "DailyBot check-in"
    path = CHECKIN_PATH
    id_attribute = "checkin_id"


class DailyBotFormLink(_DailyBotPageLink):
    """The form an export read, in DailyBot's web app (``<app>/forms/<uuid>/``)."""

    name = "DailyBot form"
    path = FORM_PATH
    id_attribute = "form_id"


class DailyBotKudosLink(_DailyBotPageLink):
    """DailyBot's kudos page (``<app>/kudos/``), once the task gave its kudos (DailyBot has no page per kudos)."""

    name = "DailyBot kudos"
    path = KUDOS_PATH

    def _applies(self, operator: Any) -> bool:
        return getattr(operator, "given_kudos_id", None) is not None


#: The link classes, as listed in the provider info's ``extra-links``.
LINK_CLASSES = (DailyBotCheckinLink, DailyBotFormLink, DailyBotKudosLink)
