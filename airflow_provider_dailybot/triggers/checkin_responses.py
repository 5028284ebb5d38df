"""Poll DailyBot for new check-in responses, for event-driven DAGs without a public webhook URL.

:class:`DailyBotNewCheckinResponsesTrigger` is a ``BaseEventTrigger``: put it in an ``AssetWatcher``
and a DAG scheduled on the asset runs when new standups arrive. It polls the check-in's response
list (DailyBot has no event feed) over a short look-back window and yields one event per response
it has not seen.

Where the cursor lives
    On Airflow 3.3+ the triggerer gives watchers a state store (``asset_state_store``): the ids of
    the responses already seen are kept there, so a triggerer restart or a move to another
    triggerer neither replays nor loses responses. Airflow 3.1 and 3.2 have no such store: the
    cursor lives in the trigger's memory, and after a restart the trigger starts afresh. With
    ``emit_existing=False`` (the default) the responses then in the look-back window become the
    new baseline, so responses that arrived while no triggerer ran are not announced; with
    ``emit_existing=True`` every response in the window is announced again (duplicates instead of
    gaps). Pick what a missed or a repeated event costs you.

Never blocking the triggerer
    The connection is read with Airflow's async accessors and every HTTP request runs in a worker
    thread (``asyncio.to_thread``); waits are ``asyncio.sleep``.

Errors
    Transient failures (no answer, timeouts, 429, 5xx) back off exponentially, honouring
    ``Retry-After``, up to ``max_consecutive_failures`` in a row, then the trigger raises (the
    triggerer logs it and restarts the watcher). Refusals that waiting cannot fix (400, 401, 403,
    404: a wrong key, plan or check-in id) raise at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from airflow_provider_dailybot import validation
from airflow_provider_dailybot.connection import DEFAULT_CONN_ID

if TYPE_CHECKING:
    from airflow_provider_dailybot.hooks.dailybot import DailyBotHook

#: Prefix of the state-store key; the check-in id follows, so one asset may watch several check-ins.
STATE_KEY_PREFIX = "dailybot_checkin_responses:"


def blockers_of(response: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the blockers a check-in response reports, as ``[{"question", "answer"}]``.

    A response is blocked when ``has_issue`` is true or a ``blockers_status`` entry is true; the
    question text comes from the response's ``questions.fields`` when present.

    :param response: A check-in response (REST list item or ``followups.response.completed`` body).
    """
    fields = (response.get("questions") or {}).get("fields") or []
    questions = {f.get("uuid"): f for f in fields if isinstance(f, dict)}
    answers = response.get("content") or {}
    blockers = []
    for question_id, blocked in (response.get("blockers_status") or {}).items():
        if blocked:
            question = questions.get(question_id) or {}
            label = question.get("question_short") or question.get("question") or question_id
            blockers.append({"question": label, "answer": answers.get(question_id)})
    if not blockers and response.get("has_issue"):
        blockers.append({"question": None, "answer": None})
    return blockers


class DailyBotNewCheckinResponsesTrigger(BaseEventTrigger):
    """Yield one event per new response of a DailyBot check-in, polling its response list.

    .. code-block:: python

        from airflow.sdk import Asset, AssetWatcher

        standups = Asset(
            "dailybot_standups",
            watchers=[
                AssetWatcher(
                    name="dailybot_standup_poll",
                    trigger=DailyBotNewCheckinResponsesTrigger(checkin_id="<check-in id>", poll_interval=120),
                )
            ],
        )

    Event payload (``triggering_asset_events[...].extra["payload"]``)::

        {"checkin_id", "response_id", "response_date", "user": {"uuid", "full_name"},
         "has_blocker", "blockers": [{"question", "answer"}], "response": <the full response>}

    The window polled is ``today - lookback_days`` to ``tomorrow`` (UTC dates, so organizations east
    of UTC are covered); responses leave the cursor when they leave the window, which keeps it small.

    :param checkin_id: The check-in's ``id``.
    :param dailybot_conn_id: The DailyBot connection.
    :param poll_interval: Seconds between polls.
    :param lookback_days: Days before today to include (late or edited-in responses).
    :param only_blockers: Yield only responses that report a blocker (others are still recorded as seen).
    :param emit_existing: On the first poll without a stored cursor, yield the responses already in
        the window instead of taking them as the baseline.
    :param max_consecutive_failures: Transient failures in a row before the trigger raises.
    :param backoff_max: Longest wait, in seconds, between two attempts after failures.
    """

    def __init__(
        self,
        *,
        checkin_id: str,
        dailybot_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 60.0,
        lookback_days: int = 1,
        only_blockers: bool = False,
        emit_existing: bool = False,
        max_consecutive_failures: int = 5,
        backoff_max: float = 600.0,
    ) -> None:
        super().__init__()
        from airflow_provider_dailybot.resources import validate_identifier

        self.checkin_id = validate_identifier(checkin_id, "checkin_id")
        if not isinstance(dailybot_conn_id, str) or not dailybot_conn_id.strip():
            raise ValueError(f"dailybot_conn_id must be a non-empty string, got {dailybot_conn_id!r}")
        self.dailybot_conn_id = dailybot_conn_id
        self.poll_interval = validation.positive_seconds(poll_interval, "poll_interval")
        self.backoff_max = validation.positive_seconds(backoff_max, "backoff_max")
        if isinstance(lookback_days, bool) or not isinstance(lookback_days, int) or not 0 <= lookback_days <= 31:
            raise ValueError(f"lookback_days must be an integer from 0 to 31, got {lookback_days!r}")
        self.lookback_days = lookback_days
        if isinstance(max_consecutive_failures, bool) or not isinstance(max_consecutive_failures, int):
            raise TypeError(f"max_consecutive_failures must be an integer, got {max_consecutive_failures!r}")
        if max_consecutive_failures < 1:
            raise ValueError(f"max_consecutive_failures must be at least 1, got {max_consecutive_failures}")
        self.max_consecutive_failures = max_consecutive_failures
        for name, flag in (("only_blockers", only_blockers), ("emit_existing", emit_existing)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be a bool, got {flag!r}")
        self.only_blockers = only_blockers
        self.emit_existing = emit_existing
        #: Where waits go; tests replace it to record the backoff without sleeping.
        self.sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
        #: The cursor of Airflow versions without a state store (and of a trigger run on its own).
        self._memory_cursor: dict[str, str] | None = None
        self._store_unusable = False

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the class path and the constructor arguments (JSON-safe, no secret)."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "checkin_id": self.checkin_id,
                "dailybot_conn_id": self.dailybot_conn_id,
                "poll_interval": self.poll_interval,
                "lookback_days": self.lookback_days,
                "only_blockers": self.only_blockers,
                "emit_existing": self.emit_existing,
                "max_consecutive_failures": self.max_consecutive_failures,
                "backoff_max": self.backoff_max,
            },
        )

    # -- cursor ------------------------------------------------------------------------------------

    @property
    def state_key(self) -> str:
        """The state-store key of this check-in's cursor."""
        return STATE_KEY_PREFIX + self.checkin_id

    def _store(self) -> Any:
        """The state store Airflow 3.3+ injects into watchers, or ``None`` (older Airflow, or not a watcher)."""
        return None if self._store_unusable else getattr(self, "asset_state_store", None)

    async def _load_cursor(self) -> dict[str, str] | None:
        """Return the seen responses (id -> day), or ``None`` before the first poll."""
        store = self._store()
        if store is not None:
            try:
                value = await store.aget(self.state_key, None)
            except ValueError:  # one trigger watching several assets: the store wants an asset key
                self.log.warning("This trigger watches several assets: its cursor is kept in memory")
                self._store_unusable = True
            else:
                if isinstance(value, dict) and isinstance(value.get("seen"), dict):
                    return {str(k): str(v) for k, v in value["seen"].items()}
                return None
        return None if self._memory_cursor is None else dict(self._memory_cursor)

    async def _save_cursor(self, seen: dict[str, str]) -> None:
        self._memory_cursor = dict(seen)
        store = self._store()
        if store is not None:
            await store.aset(self.state_key, {"seen": dict(seen)})

    # -- polling -----------------------------------------------------------------------------------

    def _window(self) -> tuple[str, str]:
        today = dt.datetime.now(tz=dt.timezone.utc).date()
        start = today - dt.timedelta(days=self.lookback_days)
        return start.isoformat(), (today + dt.timedelta(days=1)).isoformat()

    def _fetch(self, hook: DailyBotHook, start: str, end: str) -> list[dict[str, Any]]:
        return list(hook.iter_checkin_responses(self.checkin_id, date_start=start, date_end=end))

    def _event(self, response: dict[str, Any], response_id: str) -> TriggerEvent:
        user = response.get("user") or {}
        blockers = blockers_of(response)
        return TriggerEvent(
            {
                "checkin_id": self.checkin_id,
                "response_id": response_id,
                "response_date": response.get("response_date"),
                "user": {"uuid": user.get("uuid"), "full_name": user.get("full_name")},
                "has_blocker": bool(blockers),
                "blockers": blockers,
                "response": response,
            }
        )

    def _wait_after(self, failures: int, error: Exception) -> float:
        backoff = min(self.backoff_max, self.poll_interval * 2 ** (failures - 1))
        retry_after = getattr(error, "retry_after", None)
        if isinstance(retry_after, (int, float)):
            backoff = max(backoff, min(float(retry_after), self.backoff_max))
        return backoff

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll forever, yielding one event per new response (a watcher keeps running)."""
        from airflow_provider_dailybot.exceptions import (
            DailyBotApiError,
            DailyBotRateLimitError,
            DailyBotServerError,
            DailyBotTransportError,
        )
        from airflow_provider_dailybot.hooks.dailybot import async_dailybot_hook
        from airflow_provider_dailybot.resources import resource_id

        # One attempt per poll: the trigger's own backoff (asyncio.sleep) replaces the hook's
        # blocking retries.
        hook = await async_dailybot_hook(self.dailybot_conn_id, max_attempts=1)
        seen = await self._load_cursor()
        stored = "state store" if self._store() is not None else "memory"
        self.log.info(
            "Watching DailyBot check-in %s every %gs (cursor in %s: %s)",
            self.checkin_id,
            self.poll_interval,
            stored,
            "new" if seen is None else f"{len(seen)} seen",
        )
        failures = 0
        try:
            while True:
                window_start, window_end = self._window()
                try:
                    responses = await asyncio.to_thread(self._fetch, hook, window_start, window_end)
                except (DailyBotTransportError, DailyBotRateLimitError, DailyBotServerError) as err:
                    failures += 1
                    if failures >= self.max_consecutive_failures:
                        raise
                    wait = self._wait_after(failures, err)
                    self.log.warning(
                        "Polling check-in %s failed (%d of %d): %s; next try in %.1fs",
                        self.checkin_id,
                        failures,
                        self.max_consecutive_failures,
                        err,
                        wait,
                    )
                    await self.sleep(wait)
                    continue
                except DailyBotApiError:
                    raise  # 400/401/403/404: waiting does not fix a wrong key, plan or check-in id
                failures = 0
                current = [(rid, r) for r in responses if (rid := resource_id(r)) is not None]
                if seen is None and not self.emit_existing:
                    seen = {rid: _day(r, window_end) for rid, r in current}
                    await self._save_cursor(seen)
                    self.log.info("Baseline: %d response(s) already in the window", len(seen))
                else:
                    seen = dict(seen or {})
                    for rid, response in current:
                        if rid in seen:
                            continue
                        # The cursor moves before the event is handed over: a crash in between
                        # loses this one event rather than repeating it forever.
                        seen[rid] = _day(response, window_end)
                        await self._save_cursor(seen)
                        event = self._event(response, rid)
                        if self.only_blockers and not event.payload["has_blocker"]:
                            continue
                        self.log.info("New response %s to check-in %s", rid, self.checkin_id)
                        yield event
                    # Forget the responses that left the window: they are never listed again.
                    kept = {rid: day for rid, day in seen.items() if day >= window_start}
                    if kept != seen:
                        seen = kept
                        await self._save_cursor(seen)
                await self.sleep(self.poll_interval)
        finally:
            hook.close()


def _day(response: dict[str, Any], default: str) -> str:
    day = response.get("response_date") or str(response.get("created_at") or "")[:10]
    return str(day) if day else default
