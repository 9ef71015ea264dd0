"""The periodic job of the tracer study: asks graduates what they do 1, 3 and 6 months after their
training (BLKBOT_TRACER_MONTHS) and reminds them once (BLKBOT_TRACER_REMINDER_DAYS later).

Like the other ticks it only asks the database what is due: the rounds asked are rows, and each
question has a dedupe key, so a tick run twice, late, or on two workers asks once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from bot.periodic import Periodic
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


def tracer_job(
    db: Database,
    templates: Templates,
    months: Sequence[int],
    remind_after: timedelta,
    interval: float = 3600,
    *,
    wake: Callable[[], None] | None = None,
) -> Periodic:
    """Hourly, the first run two minutes after start."""

    async def run() -> None:
        await tick(db, templates, months, remind_after, wake=wake)

    return Periodic("tracer", interval, first=120, job=run)
