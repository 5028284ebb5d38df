"""The delivery log's routes, included in the receiver app (mounted at ``/dailybot``).

:func:`add_delivery_log` is what :func:`~airflow_provider_dailybot.webhooks.receiver.create_receiver_app`
calls: it includes :func:`delivery_log_router` (the JSON API of :mod:`.api` and the HTML pages of
:mod:`.page`) and the handler that answers a refused request. Every route is ``GET``, depends on
the login and permission check of :mod:`access` and answers with the security headers of
:mod:`.responses`. Without the handler a refused request is a 500, never a read.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from airflow_provider_dailybot.delivery_log.access import Refused, answer_refused
from airflow_provider_dailybot.delivery_log.api import api_router
from airflow_provider_dailybot.delivery_log.page import page_router


def delivery_log_router() -> APIRouter:
    """Return one router with every route of the delivery log."""
    router = APIRouter()
    router.include_router(api_router())
    router.include_router(page_router())
    return router


def add_delivery_log(app: FastAPI) -> None:
    """Include the delivery log's routes in ``app`` and register the answer to a refused request.

    :param app: The receiver app.
    """
    app.include_router(delivery_log_router())
    app.add_exception_handler(Refused, answer_refused)
