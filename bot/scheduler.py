"""The periodic job that turns the schedule in the database into reminders in the outbox.

APScheduler (through python-telegram-bot's JobQueue) only ticks: each tick asks the database
what is due and enqueues it, so nothing is lost with the process. A tick also enqueues what falls
due before the next tick, held in the outbox until its due time, so reminders go out on the minute
however the ticks fall.

    schedule_reminders(app.job_queue, db, templates, reminder_offsets(), wake=delivery.wake)

or, without PTB (WhatsApp alone), run `reminders_forever(db, templates, offsets, stop)` and
`expiry_forever(db, after, stop)` beside the delivery loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from messages.render import Templates
from outreach.reminders import (
    DEFAULT_OFFSETS_SETTING,
    ReminderOffset,
    ScheduleError,
    enqueue_due_reminders,
    parse_offsets,
)
from storage.db import Database
from storage.repositories import conversations

log = logging.getLogger(__name__)

OFFSETS_VARIABLE = "BLKBOT_REMINDER_OFFSETS"


def reminder_offsets(environ: Mapping[str, str] = os.environ) -> list[ReminderOffset]:
    """The offsets from BLKBOT_REMINDER_OFFSETS ("1d@17:00,2h" when unset)."""
    setting = environ.get(OFFSETS_VARIABLE, "").strip() or DEFAULT_OFFSETS_SETTING
    try:
        return parse_offsets(setting)
    except ScheduleError as problem:
        raise ScheduleError(f"{OFFSETS_VARIABLE}: {problem}") from None


async def tick(
    db: Database,
    templates: Templates,
    offsets: Sequence[ReminderOffset],
    *,
    now: datetime | None = None,
    lookahead: timedelta = timedelta(0),
    wake: Callable[[], None] | None = None,
) -> dict[str, int]:
    """One run of the job, in one transaction: enqueue what is due, log the counts."""
    async with db.transaction() as session:
        counts = await enqueue_due_reminders(session, templates, now or datetime.now(UTC), offsets, lookahead=lookahead)
    if counts["enqueued"]:
        log.info("reminders: %s", counts)
        if wake is not None:
            wake()
    else:
        log.debug("reminders: %s", counts)
    return counts


async def expire_abandoned(db: Database, after: timedelta, *, now: datetime | None = None) -> int:
    """Forget the answers of registrations left unfinished for `after` (BLKBOT_ABANDONED_AFTER_DAYS):
    a name and a NIK typed and never submitted are not kept for ever. Returns how many, for the log."""
    async with db.transaction() as session:
        count = await conversations.expire_abandoned(session, (now or datetime.now(UTC)) - after)
    if count:
        log.info("abandoned registrations cleared: %d", count)
    return count


async def expiry_forever(db: Database, after: timedelta, stop_event: asyncio.Event, interval: float = 3600) -> None:
    """The hourly expiry without PTB: the first run after a minute, as on the JobQueue."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop_event.wait(), timeout=min(60.0, interval))
    while not stop_event.is_set():
        try:
            await expire_abandoned(db, after)
        except Exception:  # the next run tries again
            log.exception("expiring abandoned registrations failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop_event.wait(), timeout=interval)


def schedule_expiry(job_queue: Any, db: Database, after: timedelta, interval: float = 3600) -> Any:
    """Register the hourly expiry of abandoned registrations on a PTB JobQueue; returns the PTB Job."""

    async def run_expiry(_context: Any) -> None:
        try:
            await expire_abandoned(db, after)
        except Exception:  # the next run tries again
            log.exception("expiring abandoned registrations failed")

    return job_queue.run_repeating(
        run_expiry, interval=interval, first=60, name="abandoned", job_kwargs={"max_instances": 1, "coalesce": True}
    )


def _lookahead(interval: float) -> timedelta:
    """Two intervals, so a late or slow tick leaves no reminder to the next one."""
    return timedelta(seconds=2 * interval)


def schedule_reminders(
    job_queue: Any,
    db: Database,
    templates: Templates,
    offsets: Sequence[ReminderOffset],
    interval: float = 60,
    *,
    wake: Callable[[], None] | None = None,
) -> Any:
    """Register the repeating reminders job on a PTB JobQueue; it runs at once, then every `interval` s.

    `wake` (the delivery loop's) is called when something was enqueued. Returns the PTB Job.
    """
    offsets = list(offsets)

    async def run_tick(_context: Any) -> None:
        try:
            await tick(db, templates, offsets, lookahead=_lookahead(interval), wake=wake)
        except Exception:  # the next tick tries again; the database remembers what is due
            log.exception("reminders tick failed")

    return job_queue.run_repeating(
        run_tick,
        interval=interval,
        first=0,
        name="reminders",
        # An explicit first run time: with only `first`, a job added before the JobQueue starts
        # (the usual wiring, before app.start()) would skip its first run and wait an interval.
        job_kwargs={
            "max_instances": 1,
            "coalesce": True,
            "misfire_grace_time": None,
            "next_run_time": datetime.now(UTC),
        },
    )


async def reminders_forever(
    db: Database,
    templates: Templates,
    offsets: Sequence[ReminderOffset],
    stop_event: asyncio.Event,
    interval: float = 60,
    *,
    wake: Callable[[], None] | None = None,
) -> None:
    """The same job without PTB: tick now and every `interval` seconds until `stop_event` is set."""
    offsets = list(offsets)
    while not stop_event.is_set():
        try:
            await tick(db, templates, offsets, lookahead=_lookahead(interval), wake=wake)
        except Exception:
            log.exception("reminders tick failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop_event.wait(), timeout=interval)
