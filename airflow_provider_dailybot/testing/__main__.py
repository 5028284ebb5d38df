"""Run the fake DailyBot server from the command line.

``python -m airflow_provider_dailybot.testing --host 127.0.0.1 --port 8765 --api-key KEY``

The API key may also come from the ``DAILYBOT_FAKE_API_KEY`` environment variable, which keeps it
out of ``ps`` output. The server runs until SIGINT or SIGTERM and then exits with status 0.

Each request is logged at INFO on stderr (``GET /v1/me/ -> 200 (0.4 ms)``: method, path without the
query, status; never a header, a body or the API key); ``--log-level WARNING`` silences it.

Inspect and drive the running fake over HTTP with the same key (:mod:`.control` has every endpoint)::

    curl -s -H "X-API-KEY: $DAILYBOT_FAKE_API_KEY" http://127.0.0.1:8765/_fake/state

``GET /_fake/state`` answers everything the fake holds as JSON: ``subscriptions`` (no bearer, only
``has_bearer`` and ``bearer_sha256``), ``deliveries`` (every attempt, envelopes included),
``request_count``, ``switches``, ``sent_messages`` and ``kudos``; never the API key or a bearer.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import ssl
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from airflow_provider_dailybot.testing.contract import CREATE_ID_KEYS, DELETE_FORMS
from airflow_provider_dailybot.testing.server import FakeDailyBotServer

API_KEY_ENV = "DAILYBOT_FAKE_API_KEY"
EPILOG = f"""\
Each request is logged at INFO on stderr: method, path (never the query), status; never a header,
a body or the API key.

Inspect the running fake (and drive it) over HTTP with the same key, under /_fake/:
  curl -s -H "X-API-KEY: ${API_KEY_ENV}" http://127.0.0.1:8765/_fake/state
GET /_fake/state answers everything the fake holds, as JSON: subscriptions (no bearer, only
has_bearer and bearer_sha256), deliveries (every attempt, envelopes included), request_count,
switches, sent_messages and kudos; never the API key or a bearer. Also: POST /_fake/emit,
/_fake/faults, /_fake/delivery-faults, /_fake/checkin-responses, /_fake/reset; GET/POST
/_fake/switches (see airflow_provider_dailybot/testing/control.py).
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_dailybot.testing",
        description="Serve a fake DailyBot API (webhook subscriptions, /v1/me/, deliveries) for tests and demos.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one (default: %(default)s)")
    parser.add_argument(
        "--api-key",
        default=None,
        help=f"the accepted X-API-KEY (default: ${API_KEY_ENV}, else the built-in test key)",
    )
    parser.add_argument(
        "--free-plan", action="store_true", help="answer every API call with plan_free_api_keys_forbidden"
    )
    parser.add_argument("--no-org-admin", action="store_true", help="the key owner is not an org admin")
    parser.add_argument("--no-samples", action="store_true", help="ignore immediate_sample_event")
    parser.add_argument("--auth-failure-status", type=int, choices=(401, 403), default=401)
    parser.add_argument("--create-status", type=int, choices=(200, 201), default=201)
    parser.add_argument("--create-id-key", choices=CREATE_ID_KEYS, default="id")
    parser.add_argument(
        "--delete-forms",
        default=",".join(sorted(DELETE_FORMS)),
        help="comma-separated DELETE forms understood, from query,body,path (default: %(default)s)",
    )
    parser.add_argument("--organization-name", default="Acme Corp")
    parser.add_argument("--user-full-name", default="Ada Lovelace")
    parser.add_argument("--delivery-timeout", type=float, default=5.0, help="seconds (default: %(default)s)")
    parser.add_argument("--tls-cert", help="PEM certificate chain; serve HTTPS (needs --tls-key)")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument(
        "--log-level", default="INFO", help="logging level; INFO logs each request (default: %(default)s)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, serve until SIGINT/SIGTERM and return the exit status.

    :param argv: Command-line arguments without the program name; defaults to ``sys.argv[1:]``.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    forms = {form.strip() for form in args.delete_forms.split(",") if form.strip()}
    if not forms <= DELETE_FORMS:
        parser.error(f"--delete-forms takes a subset of {','.join(sorted(DELETE_FORMS))}")
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    server = FakeDailyBotServer(
        args.api_key or os.environ.get(API_KEY_ENV) or "fake-dailybot-api-key",
        args.host,
        args.port,
        ssl_context=context,
        organization_name=args.organization_name,
        user_full_name=args.user_full_name,
        delivery_timeout=args.delivery_timeout,
    )
    server.free_plan = args.free_plan
    server.org_admin = not args.no_org_admin
    server.deliver_samples = not args.no_samples
    server.auth_failure_status = args.auth_failure_status
    server.create_status = args.create_status
    server.create_id_key = args.create_id_key
    server.delete_forms = forms

    stopping = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    server.start()
    print(f"Fake DailyBot listening on {server.url} (base URL {server.base_url})", flush=True)
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
