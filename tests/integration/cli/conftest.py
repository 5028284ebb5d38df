"""Fixtures of the CLI tests: the receiver's (channels with DAGs of a shape, real deliveries) and the log's (rows)."""

from __future__ import annotations

from tests.integration.receiver.conftest import _fresh_caches, client, make_channel  # noqa: F401
from tests.integration.ui.conftest import delivery_table, store_delivery  # noqa: F401
