"""Reading a ``dailybot`` connection from a coroutine without blocking the event loop.

Used by :func:`airflow_provider_dailybot.hooks.dailybot.async_dailybot_hook`; it takes the hook
class as an argument, so this module does not import the hook.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_dailybot import scrubbing
from airflow_provider_dailybot.connection import ConnectionFields, DailyBotConnectionSettings


async def read_settings(conn_id: str, hook_class: Any, overrides: dict[str, Any]) -> DailyBotConnectionSettings:
    """Read and validate ``conn_id`` with Airflow's async accessors; mask its API key.

    Airflow 3.3.2+ has ``aget_connection`` / ``aextra_dejson``; before, the ``common.compat``
    helpers (a worker thread) are used.

    :param conn_id: The Airflow connection id.
    :param hook_class: The hook class (``common.compat`` looks the connection type up through it).
    :param overrides: Validated explicit settings (see ``connection.validate_overrides``).
    """
    conn = await _aget_connection(conn_id, hook_class)
    extra = await _aextra_dejson(conn)
    if conn.password:
        for form in scrubbing.protect(conn.password):
            await _amask_secret(form)
    fields = ConnectionFields(
        conn_id=conn_id, password=conn.password, host=conn.host, port=conn.port, extra_dejson=extra
    )
    return DailyBotConnectionSettings.from_connection(fields, **overrides)


async def _aget_connection(conn_id: str, hook_class: Any) -> Any:
    try:
        from airflow.providers.common.compat.connection import get_async_connection
    except ImportError:  # common.compat is optional; same strategy as its helper
        from asgiref.sync import sync_to_async

        return await sync_to_async(hook_class.get_connection)(conn_id)
    return await get_async_connection(conn_id, hook=hook_class)


async def _aextra_dejson(conn: Any) -> dict[str, Any]:
    if hasattr(conn, "aextra_dejson"):  # Airflow 3.3.2+
        return dict(await conn.aextra_dejson() or {})
    from asgiref.sync import sync_to_async

    return dict(await sync_to_async(lambda: conn.extra_dejson)() or {})


async def _amask_secret(secret: str) -> None:
    from airflow.sdk import log as sdk_log

    amask_secret = getattr(sdk_log, "amask_secret", None)  # Airflow 3.3+
    if amask_secret is not None:
        await amask_secret(secret)
        return
    from asgiref.sync import sync_to_async  # before 3.3: the sync call, from a worker thread

    await sync_to_async(sdk_log.mask_secret)(secret)
