"""OpenLineage datasets of the export operators: the DailyBot check-in or form read, the file written.

Naming (what a lineage backend such as Marquez shows; also the ``dailybot`` asset URIs of
:mod:`airflow_provider_dailybot.asset_uris`, so an ``Asset`` and a lineage dataset name the same thing):

=====================  ============================================  ==========================
dataset                namespace                                     name
=====================  ============================================  ==========================
a check-in (input)     ``dailybot://<API host>`` (``[:port]`` if     ``checkins/<check-in id>``
                       not the default), e.g.
                       ``dailybot://api.dailybot.com``
a form (input)         the same                                      ``forms/<form uuid>``
a local file (output)  ``file``                                      ``/absolute/path.jsonl``
an object (output)     ``<scheme>://<bucket>``: ``s3://analytics``,  the object key,
                       ``gs://analytics``, ``abfs://container`` …    ``dailybot/2025-01-08.jsonl``
=====================  ============================================  ==========================

The output follows OpenLineage's naming spec for blob stores (namespace ``s3://{bucket}``, name the
object key) and Airflow's ``file`` assets for local files (namespace ``file``, name the absolute
path). ``gcs://`` is written ``gs://`` and ``s3a://``/``s3n://`` ``s3://``, as the spec names them.
The output carries an ``outputStatistics`` facet (rows and bytes written) once the task completed.

Nothing here imports OpenLineage at module import time: :func:`operator_lineage` imports it when
called and returns None when ``apache-airflow-providers-openlineage`` is not installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

#: Scheme of the DailyBot datasets (and of the provider's asset URIs).
SCHEME = "dailybot"
#: The API resources whose responses an export reads, by the operator's ``source``.
RESOURCE_PATHS = {"checkin": "checkins", "form": "forms"}
#: fsspec protocols written as OpenLineage's naming spec names them.
_PROTOCOL_ALIASES = {"gcs": "gs", "s3a": "s3", "s3n": "s3", "local": "file"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def api_namespace(base_url: str) -> str:
    """Return the dataset namespace of a DailyBot API: ``dailybot://<host>[:<port>]``.

    The port is kept only when it is not the scheme's default; a proxy path prefix is dropped (it
    does not change which DailyBot is read).

    :param base_url: The API base URL, e.g. ``https://api.dailybot.com/v1/``.
    :raises ValueError: When the URL has no host.
    """
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError(f"DailyBot base URL {base_url!r} has no host")
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    return f"{SCHEME}://{host}"


def resource_name(source: str, identifier: object) -> str:
    """Return the dataset name of a check-in or form: ``checkins/<id>`` or ``forms/<uuid>``.

    :param source: ``"checkin"`` or ``"form"`` (the export operator's ``source``).
    :param identifier: The check-in's id or the form's UUID (percent-encoded if it needs to be).
    :raises ValueError: For another source or an empty identifier.
    """
    if source not in RESOURCE_PATHS:
        raise ValueError(f"Unknown DailyBot export source {source!r}: expected one of {sorted(RESOURCE_PATHS)}")
    text = str(identifier).strip() if identifier is not None else ""
    if not text:
        raise ValueError(f"A DailyBot {source} dataset needs an identifier, got {identifier!r}")
    return f"{RESOURCE_PATHS[source]}/{quote(text, safe='')}"


def storage_dataset(destination: object) -> tuple[str, str]:
    """Return ``(namespace, name)`` of an export destination (an ``ObjectStoragePath`` or a URL/absolute path).

    :param destination: Where the export wrote, e.g. ``s3://analytics/dailybot/2025-01-08.jsonl``.
    :raises ValueError: When it is neither a URL nor an absolute path.
    """
    text = str(destination).strip()  # an ObjectStoragePath prints as its URL (a local one as its path)
    if "://" in text:
        parts = urlsplit(text)
        scheme, bucket, path = parts.scheme.lower(), parts.netloc, parts.path
    elif text.startswith("/"):
        scheme, bucket, path = "file", "", text
    else:
        raise ValueError(f"An export destination must be a URL or an absolute path, got {text!r}")
    scheme = _PROTOCOL_ALIASES.get(scheme, scheme)
    if scheme == "file":
        # file:///<path> (no host) or file://<host>/<path>: Airflow's `file` assets use the namespace `file`.
        return ("file" if not bucket else f"file://{bucket}"), "/" + path.lstrip("/")
    return f"{scheme}://{bucket}", path.lstrip("/")


def operator_lineage(
    *,
    inputs: list[tuple[str, str]],
    outputs: list[tuple[str, str]],
    rows: int | None = None,
    size: int | None = None,
) -> OperatorLineage | None:
    """Build the ``OperatorLineage`` of a task, or return None when the OpenLineage provider is not installed.

    :param inputs: ``(namespace, name)`` of each dataset read.
    :param outputs: ``(namespace, name)`` of each dataset written.
    :param rows: Rows written (an ``outputStatistics`` facet on every output), when known.
    :param size: Bytes written, when known.
    """
    try:
        from airflow.providers.common.compat.openlineage.facet import (
            Dataset,
            OutputDataset,
            OutputStatisticsOutputDatasetFacet,
        )
        from airflow.providers.openlineage.extractors import OperatorLineage
    except ImportError:
        return None

    output_facets: dict[str, Any] = {}
    if rows is not None:
        output_facets["outputStatistics"] = OutputStatisticsOutputDatasetFacet(rowCount=rows, size=size)
    return OperatorLineage(
        inputs=[Dataset(namespace=namespace, name=name) for namespace, name in inputs],
        outputs=[
            OutputDataset(namespace=namespace, name=name, outputFacets=dict(output_facets))
            for namespace, name in outputs
        ],
    )
