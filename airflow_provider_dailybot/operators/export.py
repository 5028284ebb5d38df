"""Export DailyBot check-in or form responses of a date range as JSON Lines to object storage.

The destination is an Airflow ``ObjectStoragePath`` (``file://``, ``s3://``, ``gs://``, ``abfs://`` …
whatever object storage Airflow is configured for), so the same DAG writes to a local folder in
development and to a bucket in production. Only the path and the row count reach XCom, never the
data. The object of an interval is rewritten whole on every run: backfills and re-runs are
idempotent.

The module imports only ``airflow.sdk`` and the operators' shared base; the hook and the
object-storage layer are imported when the task runs.

With ``apache-airflow-providers-openlineage`` installed, the operators report OpenLineage lineage
(``get_openlineage_facets_on_start`` / ``_on_complete``): the check-in or form read as input,
namespace ``dailybot://<API host>`` and name ``checkins/<id>`` or ``forms/<uuid>``, and the object
written as output, named as OpenLineage names files and blob objects (namespace ``file`` or
``s3://<bucket>``, ``gs://<bucket>`` …; name the path or key), with the rows and bytes written.
See :mod:`airflow_provider_dailybot.lineage`. Without that provider nothing of it is imported and
both methods return None.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from airflow_provider_dailybot.links import DailyBotCheckinLink, DailyBotFormLink
from airflow_provider_dailybot.operators._base import (
    DEFAULT_CONN_ID,
    DailyBotBaseOperator,
    is_deferred,
    require_bool,
    require_text,
)

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context, ObjectStoragePath

#: Rows are buffered in memory up to this size, then in a temporary file, until the last page is read.
SPOOL_MAX_BYTES = 8 * 1024 * 1024


def _local(value: object, timezone: Any) -> object:
    """Express a datetime in the DAG's time zone, so that its date is the DAG's calendar day."""
    if isinstance(value, dt.datetime) and timezone is not None and value.tzinfo is not None:
        return value.astimezone(timezone)
    return value


def json_line(row: Any) -> bytes:
    """Serialise one row as a JSON Lines line: sorted keys, compact, UTF-8, so re-runs write the same bytes.

    :param row: A JSON-serialisable value.
    """
    return json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def destination_text(destination: object) -> str:
    """Return the export destination as given (a URL or an absolute path naming an object), stripped.

    :param destination: The ``destination`` argument (after rendering), when it is not an ``ObjectStoragePath``.
    :raises ValueError: For anything else: a relative path, a folder, an empty or non-string value.
    """
    if not isinstance(destination, str) or not destination.strip():
        raise ValueError(f"destination must be a path or URL string, got {destination!r}")
    text = destination.strip()
    if "://" not in text and not text.startswith("/"):
        raise ValueError(
            "destination must be a URL such as s3://bucket/dailybot/{{ ds }}.jsonl or an absolute path, "
            f"got {text!r}"
        )
    if text.endswith("/"):
        raise ValueError(f"destination must name an object (a file), not a folder: {text!r}")
    return text


def _static_destination(destination: object) -> None:
    if not hasattr(destination, "protocol"):  # an ObjectStoragePath is checked by its own constructor
        destination_text(destination)


def _static_date(argument: str) -> Any:
    def check(value: object) -> None:
        from airflow_provider_dailybot.resources import as_date

        as_date(value, argument)

    return check


def _static_range(dates: tuple[object, object]) -> None:
    from airflow_provider_dailybot.resources import date_range

    date_range(*dates)


def _static_identifier(argument: str) -> Any:
    def check(value: object) -> None:
        from airflow_provider_dailybot.resources import validate_identifier

        validate_identifier(value, argument)

    return check


class _DailyBotExportResponsesOperator(DailyBotBaseOperator):
    """Shared export logic: date range, destination, buffered write, XCom summary."""

    template_fields: Sequence[str] = (
        "destination",
        "date_start",
        "date_end",
        "destination_conn_id",
        "dailybot_conn_id",
    )
    source = ""
    #: ``(path, rows, bytes)`` of the object the last run of this task wrote (for the lineage on completion).
    _written: tuple[str, int, int] | None = None

    def __init__(
        self,
        *,
        destination: str | ObjectStoragePath,
        date_start: Any = None,
        date_end: Any = None,
        destination_conn_id: str | None = None,
        dailybot_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(dailybot_conn_id=dailybot_conn_id, **kwargs)
        self.destination = destination
        self.date_start = date_start
        self.date_end = date_end
        self.destination_conn_id = destination_conn_id
        self.check_static({
            "destination": (destination, _static_destination),
            "date_start": (date_start or None, _static_date("date_start")),
            "date_end": (date_end or None, _static_date("date_end")),
            "destination_conn_id": (destination_conn_id, require_text("destination_conn_id")),
        })  # fmt: skip
        if date_start and date_end and not is_deferred(date_start) and not is_deferred(date_end):
            self.check_static({"date_end": ((date_start, date_end), _static_range)})

    def _rows(self, date_start: str, date_end: str) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def _summary(self) -> dict[str, Any]:
        raise NotImplementedError

    def _resource_id(self) -> object:
        raise NotImplementedError

    def get_openlineage_facets_on_start(self) -> OperatorLineage | None:
        """Return the OpenLineage input (the check-in or form) and output (the destination) of this task.

        Called by the OpenLineage provider when the task starts (templates rendered); None when that
        provider is not installed.
        """
        return self._lineage(None)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage | None:
        """Return the lineage of the finished task: as on start, with the rows and bytes written on the output.

        :param task_instance: The finished task instance (unused: what was written is kept on the operator).
        """
        return self._lineage(self._written)

    def _lineage(self, written: tuple[str, int, int] | None) -> OperatorLineage | None:
        try:
            import airflow.providers.openlineage.extractors  # noqa: F401  (installed? otherwise no lineage)
        except ImportError:
            return None
        from airflow_provider_dailybot import lineage

        source = (
            lineage.api_namespace(self.hook.settings.base_url),
            lineage.resource_name(self.source, self._resource_id()),
        )
        target = lineage.storage_dataset(written[0] if written else self._path())
        rows, size = (written[1], written[2]) if written else (None, None)
        return lineage.operator_lineage(inputs=[source], outputs=[target], rows=rows, size=size)

    def _date_range(self, context: Context) -> tuple[str, str]:
        from airflow_provider_dailybot.resources import date_range

        timezone = getattr(context.get("dag"), "timezone", None)
        start = self.date_start if self.date_start not in (None, "") else context.get("data_interval_start")
        end = self.date_end
        if end in (None, ""):
            end = context.get("data_interval_end")
            # The interval's end is exclusive: its last day is the one before. A zero-length interval
            # (Airflow 3's default cron timetable) stands for the day it starts.
            if isinstance(end, dt.datetime) and isinstance(start, dt.datetime):
                end = max(start, end - dt.timedelta(microseconds=1))
        if start is None or end is None:
            raise ValueError(
                "This run has no data interval (e.g. a manual run without a logical date): "
                "pass date_start and date_end (YYYY-MM-DD, inclusive)"
            )
        return date_range(_local(start, timezone), _local(end, timezone))

    def _path(self) -> ObjectStoragePath:
        from airflow.sdk import ObjectStoragePath

        if isinstance(self.destination, ObjectStoragePath):
            return self.destination
        return ObjectStoragePath(destination_text(self.destination), conn_id=self.destination_conn_id)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_dailybot.resources import resource_id

        date_start, date_end = self._date_range(context)
        path = self._path()
        rows = self._rows(date_start, date_end)  # validates its arguments before any request
        seen: set[str] = set()
        count = 0
        self._written = None
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_BYTES) as buffer:
            for row in rows:
                key = resource_id(row)
                if key is not None and key in seen:
                    self.log.warning("Skipping response %s returned twice (the list changed while paging)", key)
                    continue
                if key is not None:
                    seen.add(key)
                buffer.write(json_line(row))
                count += 1
            # Every page was read: only now is the destination (re)written, as one object.
            size = buffer.tell()
            buffer.seek(0)
            self._write(path, buffer)
        self._written = (str(path), count, size)
        self.log.info("Wrote %d %s response(s) of %s..%s to %s", count, self.source, date_start, date_end, path)
        return {
            "path": str(path),
            "rows": count,
            "date_start": date_start,
            "date_end": date_end,
            "source": self.source,
            **self._summary(),
        }

    @staticmethod
    def _write(path: ObjectStoragePath, data: IO[bytes]) -> None:
        if path.protocol in ("file", "local", ""):
            path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            shutil.copyfileobj(data, out)


class DailyBotExportCheckinResponsesOperator(_DailyBotExportResponsesOperator):
    """Write a check-in's responses of a date range as JSON Lines to an ``ObjectStoragePath``.

    The range defaults to the run's data interval, as calendar days in the DAG's time zone (a daily
    DAG exports one day); pass ``date_start``/``date_end`` (inclusive, e.g. templates) to choose.
    Every page of ``GET /v1/checkins/<id>/responses/`` (legacy ``/v1/followups/...`` as fallback) is
    read before the destination is written, in one piece: a failure leaves the previous object
    untouched, and a re-run of the same interval replaces it with the same content. One line per
    response, exactly as DailyBot returned it (keys sorted); a response listed twice while paging is
    written once.

    Returns (XCom) ``{"path", "rows", "date_start", "date_end", "source", "checkin_id"}``, never the data.
    The task instance links to the check-in in DailyBot's web app
    (:class:`~airflow_provider_dailybot.links.DailyBotCheckinLink`); with the OpenLineage provider installed
    it reports its input ``dailybot://<API host>`` / ``checkins/<id>`` and its output (the object written),
    see :mod:`airflow_provider_dailybot.lineage`.

    .. code-block:: python

        DailyBotExportCheckinResponsesOperator(
            task_id="export_standups",
            checkin_id="{{ var.value.dailybot_standup_id }}",
            destination="s3://analytics/dailybot/standups/{{ ds }}.jsonl",
            destination_conn_id="aws_default",
        )

    :param checkin_id: The check-in's ``id``. (templated)
    :param destination: Where to write: a URL (``s3://…``, ``gs://…``, ``file:///…``), an absolute local
        path, or an ``ObjectStoragePath``; include the interval in it (e.g. ``{{ ds }}``). (templated)
    :param date_start: First day (``YYYY-MM-DD``, a date or a datetime); defaults to the data interval's
        start. (templated)
    :param date_end: Last day, inclusive; defaults to the data interval's last day. (templated)
    :param destination_conn_id: Airflow connection of the object storage (e.g. ``aws_default``). (templated)
    :param dailybot_conn_id: The DailyBot connection. (templated)
    """

    template_fields: Sequence[str] = (*_DailyBotExportResponsesOperator.template_fields, "checkin_id")
    source = "checkin"
    operator_extra_links = (DailyBotCheckinLink(),)

    def __init__(self, *, checkin_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checkin_id = checkin_id
        self.check_static({"checkin_id": (checkin_id, _static_identifier("checkin_id"))})

    def _rows(self, date_start: str, date_end: str) -> Iterator[dict[str, Any]]:
        return self.hook.iter_checkin_responses(self.checkin_id, date_start=date_start, date_end=date_end)

    def _summary(self) -> dict[str, Any]:
        return {"checkin_id": str(self.checkin_id)}

    def _resource_id(self) -> object:
        return self.checkin_id


class DailyBotExportFormResponsesOperator(_DailyBotExportResponsesOperator):
    """Write a form's responses of a date range as JSON Lines to an ``ObjectStoragePath``.

    Same contract as :class:`DailyBotExportCheckinResponsesOperator` (data-interval default, one
    object per interval rewritten whole, path and row count to XCom), for
    ``GET /v1/forms/<uuid>/responses/`` with ``date_from``/``date_to``. DailyBot lists only the
    caller's own responses unless ``all=true`` is sent, which needs the form's owner or an admin;
    ``all_responses`` sends it (default).

    Returns (XCom) ``{"path", "rows", "date_start", "date_end", "source", "form_id"}``. The task instance
    links to the form in DailyBot's web app (:class:`~airflow_provider_dailybot.links.DailyBotFormLink`); its
    OpenLineage input is ``dailybot://<API host>`` / ``forms/<uuid>``.

    .. code-block:: python

        DailyBotExportFormResponsesOperator(
            task_id="export_incidents",
            form_id="<form uuid>",
            destination="gs://analytics/dailybot/incidents/{{ ds }}.jsonl",
            destination_conn_id="google_cloud_default",
        )

    :param form_id: The form's UUID. (templated)
    :param all_responses: Export every respondent's responses (``all=true``), not only the key owner's.
    :param destination: See :class:`DailyBotExportCheckinResponsesOperator`. (templated)
    :param date_start: First day; defaults to the data interval's start. (templated)
    :param date_end: Last day, inclusive; defaults to the data interval's last day. (templated)
    :param destination_conn_id: Airflow connection of the object storage. (templated)
    :param dailybot_conn_id: The DailyBot connection. (templated)
    """

    template_fields: Sequence[str] = (*_DailyBotExportResponsesOperator.template_fields, "form_id")
    source = "form"
    operator_extra_links = (DailyBotFormLink(),)

    def __init__(self, *, form_id: str, all_responses: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.form_id = form_id
        self.all_responses = all_responses
        self.check_static({
            "form_id": (form_id, _static_identifier("form_id")),
            "all_responses": (all_responses, require_bool("all_responses")),
        })  # fmt: skip

    def _rows(self, date_start: str, date_end: str) -> Iterator[dict[str, Any]]:
        return self.hook.iter_form_responses(
            self.form_id, date_from=date_start, date_to=date_end, all_responses=self.all_responses
        )

    def _summary(self) -> dict[str, Any]:
        return {"form_id": str(self.form_id)}

    def _resource_id(self) -> object:
        return self.form_id
