"""The functions behind ``airflow dailybot ...`` (each takes the parsed ``argparse.Namespace``).

They run where ``airflow db`` commands run: with the metadata database of ``[database]
sql_alchemy_conn``. Errors end the command with exit status 1 and a one-line message (no traceback,
never a secret). ``replay`` and ``purge`` ask for confirmation unless ``--yes`` or ``--dry-run`` is
given, and refuse to run unattended without ``--yes``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, NoReturn

from airflow_provider_dailybot.cli.output import emit, safe_text
from airflow_provider_dailybot.delivery_log.filters import InvalidFilter, checked_delivery_id, parse_filter, parse_time

DELIVERY_COLUMNS = (
    "id",
    "received_at",
    "channel",
    "event",
    "outcome",
    "hook_id",
    "asset_event_id",
    "payload_bytes",
    "delivery_id",
)
#: Most delivery ids a text report lists (``-o json`` lists up to 1000).
MAX_LISTED = 100
SUBSCRIPTION_COLUMNS = ("channel", "hook_id", "events", "created_at", "secret_sha256_prefix", "secret_ref", "hook_url")


def _fail(message: str) -> NoReturn:
    raise SystemExit(f"error: {safe_text(message)}")


@contextmanager
def _session() -> Iterator[Any]:
    from airflow.utils.session import create_session

    with create_session() as session:
        yield session


def _confirm(question: str, args: argparse.Namespace) -> None:
    if getattr(args, "yes", False):
        return
    if not sys.stdin.isatty():
        _fail(f"{question} Not asked: the input is not a terminal; pass --yes to confirm.")
    if input(f"{question} [y/N] ").strip().lower() not in ("y", "yes"):
        _fail("cancelled")


def _channel(name: str) -> str:
    from airflow_provider_dailybot.webhooks.assets import is_valid_channel_name

    if not is_valid_channel_name(name):
        _fail("a channel name is 1 to 64 characters of a-z, 0-9, '_' and '-'")
    return name


def _load_state(name: str) -> Any:
    from airflow_provider_dailybot.webhooks.channels import MetadataChannelStore, variable_key

    try:
        return MetadataChannelStore().load(name)
    except ValueError as err:
        _fail(f"the Variable {variable_key(name)} is not a valid channel state: {err}")


# -- channels and subscriptions -------------------------------------------------------------------
def channels_list(args: argparse.Namespace) -> None:
    """``channels list``: every channel with a state, with its secret and subscription counts.

    :param args: ``output``.
    """
    from airflow_provider_dailybot.webhooks.channel_listing import channel_names

    with _session() as session:
        names = channel_names(session)
    rows = []
    for name in names:
        state = _load_state(name)
        if state is not None:
            rows.append({
                "channel": name,
                "secrets": len(state.secret_sha256),
                "subscriptions": len(state.subscriptions),
                "deleted_hook_ids": len(state.deleted_hook_ids),
            })  # fmt: skip
    emit(rows, args.output, columns=("channel", "secrets", "subscriptions", "deleted_hook_ids"))


def channels_show(args: argparse.Namespace) -> None:
    """``channels show CHANNEL``: accepted secrets (hash prefixes and references) and subscriptions.

    :param args: ``channel``, ``output``.
    """
    from airflow_provider_dailybot.webhooks.channel_listing import channel_report

    state = _load_state(_channel(args.channel))
    if state is None:
        _fail(f"no channel {args.channel!r} (no Variable dailybot_webhook_channel__{args.channel})")
    report = channel_report(state)
    if args.output == "json":
        emit(report, "json")
        return
    emit({"channel": report["channel"], "deleted_hook_ids": report["deleted_hook_ids"]}, "table")
    print("\nAccepted secrets (SHA-256 prefix, reference):")
    emit(report["secrets"], "table", columns=("sha256_prefix", "ref"))
    print("\nSubscriptions:")
    emit([_flat_subscription(s) for s in report["subscriptions"]], "table", columns=SUBSCRIPTION_COLUMNS)


def _flat_subscription(report: dict[str, Any]) -> dict[str, Any]:
    secret = report["secret"]
    return {**report, "secret_sha256_prefix": secret["sha256_prefix"], "secret_ref": secret["ref"]}


def subscriptions_list(args: argparse.Namespace) -> None:
    """``subscriptions list``: the subscriptions the channels record (DailyBot has no list endpoint).

    :param args: ``channel`` (optional), ``output``.
    """
    from airflow_provider_dailybot.webhooks.channel_listing import channel_names, subscription_report

    if args.channel is not None:
        names = [_channel(args.channel)]
    else:
        with _session() as session:
            names = channel_names(session)
    reports: list[dict[str, Any]] = []
    for name in names:
        state = _load_state(name)
        reports.extend(subscription_report(name, s) for s in (state.subscriptions if state else []))
    if args.output == "json":
        emit(reports, "json")
    else:
        emit([_flat_subscription(r) for r in reports], "table", columns=SUBSCRIPTION_COLUMNS)


# -- deliveries ------------------------------------------------------------------------------------
def deliveries_list(args: argparse.Namespace) -> None:
    """``deliveries list``: one page of stored deliveries, newest first; the next page's option on stderr.

    :param args: ``channel``, ``event``, ``outcome``, ``since``, ``until``, ``limit``, ``before_id``, ``output``.
    """
    from airflow_provider_dailybot.delivery_log.views import list_page

    try:
        params = {name: getattr(args, name) for name in ("channel", "event", "outcome", "since", "until")}
        flt = parse_filter({**params, "limit": args.limit, "before_id": args.before_id})
    except InvalidFilter as err:
        _fail(str(err))
    with _session() as session:
        page = list_page(session, flt)
    if args.output == "json":
        emit({"deliveries": page.rows, "next_before_id": page.next_before_id}, "json")
    else:
        emit(page.rows, "table", columns=DELIVERY_COLUMNS)
    if page.next_before_id is not None:
        print(f"More: add --before-id {page.next_before_id}", file=sys.stderr)


def deliveries_show(args: argparse.Namespace) -> None:
    """``deliveries show DELIVERY_ID``: one delivery with its payload.

    :param args: ``delivery_id``, ``output``.
    """
    from airflow_provider_dailybot.delivery_log.views import find_delivery

    try:
        wanted = checked_delivery_id(args.delivery_id)
    except InvalidFilter as err:
        _fail(str(err))
    with _session() as session:
        found = find_delivery(session, wanted)
    if found is None:
        _fail(f"no stored delivery {wanted}")
    row, payload = found
    if args.output == "json":
        emit({**row, "payload": payload.to_dict()}, "json")
        return
    emit({k: v for k, v in row.items() if k != "deliveries"}, "table")
    print("delivered by:")
    for delivery in row["deliveries"]:
        flag = " (hook id mismatch)" if delivery.get("hook_id_mismatch") else ""
        print(f"  {safe_text(delivery.get('hook_id'))} secret_ref={safe_text(delivery.get('secret_ref'))}{flag}")
    print(f"payload ({payload.source}):")
    print(safe_text(payload.pretty(), keep_newlines=True) or "(not available)")


def deliveries_replay(args: argparse.Namespace) -> None:
    """``deliveries replay``: record stored "no consumer" deliveries whose channel now has a consumer.

    :param args: ``delivery_ids``, ``channel``, ``since``, ``until``, ``limit``, ``dry_run``, ``yes``, ``output``.
    """
    from airflow_provider_dailybot.cli.replay import Selection, replay

    try:
        ids = [checked_delivery_id(i) for i in args.delivery_ids] or None
        since, until = parse_time(args.since, "--since"), parse_time(args.until, "--until")
        selection = Selection(ids, _channel(args.channel) if args.channel is not None else None, since, until)
    except (InvalidFilter, ValueError) as err:
        _fail(str(err))
    if not args.dry_run:
        _confirm("Record the selected stored deliveries as asset events?", args)
    with _session() as session:
        report = replay(session, selection, limit=args.limit, dry_run=args.dry_run)
    if args.output == "json":
        emit(report.to_dict(), "json")
        return
    print(f"{'Would record' if args.dry_run else 'Recorded'} {len(report.recorded)} deliveries.")
    for delivery_id in report.recorded[:MAX_LISTED]:
        print(f"  {delivery_id}")
    if report.waiting:
        channels = ", ".join(report.waiting_channels)
        print(f"{report.waiting} stay stored: no DAG consumes their channel yet ({channels}).")
    if report.over_limit:
        print(f"{report.over_limit} more could be recorded: run again (--limit {args.limit}).")
    for label, ids_ in (("Already recorded (skipped)", report.already_recorded), ("Not stored", report.unknown)):
        if ids_:
            print(f"{label}: {', '.join(ids_[:MAX_LISTED])}")


def deliveries_purge(args: argparse.Namespace) -> None:
    """``deliveries purge``: delete rows older than ``--older-than-days`` (default the retention), in batches.

    :param args: ``older_than_days``, ``batch_size``, ``dry_run``, ``yes``.
    """
    from airflow_provider_dailybot.store.deliveries import count_older_than, purge_older_than
    from airflow_provider_dailybot.webhooks import metrics
    from airflow_provider_dailybot.webhooks.config import receiver_retention_days

    try:
        days = args.older_than_days or receiver_retention_days()
    except ValueError as err:
        _fail(str(err))
    cutoff = datetime.now(tz=timezone.utc) - timedelta(days=days)
    with _session() as session:
        count = count_older_than(session, cutoff)
        when = cutoff.isoformat(timespec="seconds")
        if args.dry_run or count == 0:
            print(f"{count} stored deliveries were received before {when} ({days} days ago); deleted none.")
            return
        _confirm(f"Delete {count} stored deliveries received before {when}?", args)
        deleted = purge_older_than(session, cutoff, batch_size=args.batch_size)
    metrics.purged(deleted)
    print(f"Deleted {deleted} stored deliveries received before {when} ({days} days ago).")
