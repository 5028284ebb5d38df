"""The delivery log's routes, included in the receiver app (mounted at ``/dailybot``).

:func:`delivery_log_router` is what :func:`~airflow_provider_dailybot.webhooks.receiver.create_receiver_app`
includes: the JSON API (:mod:`.api`) and the HTML pages (:mod:`.page`). Every route is ``GET``,
checks login and permission itself (:mod:`access`) and answers with the security headers of
:mod:`.responses`.
"""

from __future__ import annotations

from fastapi import APIRouter

from airflow_provider_dailybot.delivery_log.api import api_router
from airflow_provider_dailybot.delivery_log.page import page_router


def delivery_log_router() -> APIRouter:
    """Return one router with every route of the delivery log."""
    router = APIRouter()
    router.include_router(api_router())
    router.include_router(page_router())
    return router
