"""The periodic jobs of `blkbot run`: reminders from the schedule in the database, and the
expiry of abandoned registrations (the seat deadlines job is in bot/seat_deadlines.py).

APScheduler (through python-telegram-bot's JobQueue) only ticks: each tick asks the database
what is due and enqueues it, so nothing is lost with the process. A tick also enqueues what falls
due before the next tick, held in the outbox until its due time, so reminders go out on the minute
however the ticks fall.

    for job in periodic_jobs(db, templates, reminder_offsets(), abandoned_after, wake=delivery.wake):
        on_job_queue(app.job_queue, job)   # or, without PTB, as_task(job, stop)

(see bot/periodic.py).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from bot.periodic import Periodic
from bot.seat_deadlines import seat_deadlines_job
from bot.tracer import tracer_job
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


def expiry_job(db: Database, after: timedelta, interval: float = 3600) -> Periodic:
    """Hourly, the first run after a minute: forget registrations left unfinished for `after`."""

    async def run() -> None:
        await expire_abandoned(db, after)

    return Periodic("abandoned", interval, first=60, job=run)


def _lookahead(interval: float) -> timedelta:
    """Two intervals, so a late or slow tick leaves no reminder to the next one."""
    return timedelta(seconds=2 * interval)


def reminders_job(
    db: Database,
    templates: Templates,
    offsets: Sequence[ReminderOffset],
    interval: float = 60,
    *,
    wake: Callable[[], None] | None = None,
) -> Periodic:
    """At once, then every `interval` seconds: enqueue the reminders due. `wake` (the delivery
    loop's) is called when something was enqueued."""
    offsets = list(offsets)

    async def run() -> None:
        await tick(db, templates, offsets, lookahead=_lookahead(interval), wake=wake)

    return Periodic("reminders", interval, first=0, job=run)


def periodic_jobs(
    db: Database,
    templates: Templates,
    offsets: Sequence[ReminderOffset],
    abandoned_after: timedelta,
    *,
    tracer_months: Sequence[int] = (1, 3, 6),
    tracer_reminder: timedelta = timedelta(days=7),
    wake: Callable[[], None] | None = None,
) -> list[Periodic]:
    """Every job `blkbot run` runs, with Telegram (on PTB's JobQueue) or without (as tasks)."""
    return [
        reminders_job(db, templates, offsets, wake=wake),
        expiry_job(db, abandoned_after),
        seat_deadlines_job(db, templates, wake=wake),
        tracer_job(db, templates, tracer_months, tracer_reminder, wake=wake),
    ]
