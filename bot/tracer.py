"""The periodic job of the tracer study: asks graduates what they do 1, 3 and 6 months after their
training (BLKBOT_TRACER_MONTHS) and reminds them once (BLKBOT_TRACER_REMINDER_DAYS later).

Like the other ticks it only asks the database what is due: the rounds asked are rows, and each
question has a dedupe key, so a tick run twice, late, or on two workers asks once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from messages.render import Templates
from storage.db import Database
from training.outcomes import enqueue_due

log = logging.getLogger(__name__)


async def tick(
    db: Database,
    templates: Templates,
    months: Sequence[int],
    remind_after: timedelta,
    *,
    now: datetime | None = None,
    wake: Callable[[], None] | None = None,
) -> dict[str, int]:
    """One run, in one transaction; counts for the log."""
    async with db.transaction() as session:
        counts = await enqueue_due(session, templates, now or datetime.now(UTC), months, remind_after)
    if counts["asked"] or counts["reminded"]:
        log.info("tracer study: %s", counts)
        if wake is not None:
            wake()
    return counts


def schedule_tracer(
    job_queue: Any,
    db: Database,
    templates: Templates,
    months: Sequence[int],
    remind_after: timedelta,
    interval: float = 3600,
    *,
    wake: Callable[[], None] | None = None,
) -> Any:
    """Register the hourly job on a PTB JobQueue (first after two minutes)."""

    async def run_tick(_context: Any) -> None:
        try:
            await tick(db, templates, months, remind_after, wake=wake)
        except Exception:  # the next tick tries again; the database remembers what was asked
            log.exception("tracer tick failed")

    return job_queue.run_repeating(
        run_tick, interval=interval, first=120, name="tracer", job_kwargs={"max_instances": 1, "coalesce": True}
    )
