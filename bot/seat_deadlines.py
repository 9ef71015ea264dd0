"""The periodic job that gives away seats whose confirmation deadline passed.

Like the reminders job (bot/scheduler.py), it only ticks: each tick asks the database which seat
offers lapsed, withdraws those applicants, tells them, and offers the seats to the waitlist, all
in one transaction. An offer handled once is never handled again, so a tick may run twice, late,
or on two workers (PostgreSQL skips the rows another holds).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from bot.periodic import Periodic
from messages.render import Templates
from storage.db import Database
from training.seats import expire_lapsed

log = logging.getLogger(__name__)


async def tick(
    db: Database, templates: Templates, *, now: datetime | None = None, wake: Callable[[], None] | None = None
) -> dict[str, int]:
    """One run: expire the lapsed offers and promote the waitlist; counts for the log."""
    async with db.transaction() as session:
        counts = await expire_lapsed(session, templates, now or datetime.now(UTC))
    if counts["expired"]:
        log.info("seat deadlines: %s", counts)
        if wake is not None:
            wake()
    return counts


def seat_deadlines_job(
    db: Database, templates: Templates, interval: float = 300, *, wake: Callable[[], None] | None = None
) -> Periodic:
    """First after a minute, then every `interval` seconds."""

    async def run() -> None:
        await tick(db, templates, wake=wake)

    return Periodic("seat_deadlines", interval, first=60, job=run)
