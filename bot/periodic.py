"""A periodic job, and the two ways `blkbot run` runs one.

A job only ticks: it asks the database what is due and acts on it, so nothing is lost with the
process and a late or doubled run does no harm. With Telegram, PTB's JobQueue (APScheduler) runs
the jobs; without it (WhatsApp alone), each runs as an asyncio task until the stop event is set.
Both paths take the same list (bot/scheduler.py `periodic_jobs`), so neither misses a job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

log = logging.getLogger(__name__)

TASK_PREFIX = "periodic:"
"""An asyncio task running a job is named after it ("periodic:reminders")."""


@dataclass(frozen=True)
class Periodic:
    """Run `job` `first` seconds after start, then every `interval` seconds."""

    name: str
    interval: float
    first: float
    job: Callable[[], Awaitable[object]]

    async def run_once(self) -> None:
        """One run; a failure is logged and the next run tries again (the database remembers what is due)."""
        try:
            await self.job()
        except Exception:
            log.exception("%s failed", self.name)


def on_job_queue(job_queue: Any, periodic: Periodic) -> Any:
    """Register `periodic` on a PTB JobQueue; returns the PTB Job."""

    async def callback(_context: Any) -> None:
        await periodic.run_once()

    return job_queue.run_repeating(
        callback,
        interval=periodic.interval,
        first=periodic.first,
        name=periodic.name,
        # An explicit first run time: with only `first`, a job added before the JobQueue starts
        # (the usual wiring, before app.start()) would skip its first run and wait an interval.
        job_kwargs={
            "max_instances": 1,
            "coalesce": True,
            "misfire_grace_time": None,
            "next_run_time": datetime.now(UTC) + timedelta(seconds=periodic.first),
        },
    )


async def run_until(periodic: Periodic, stop: asyncio.Event) -> None:
    """The same job without PTB: first after `first` seconds, then every `interval`, until `stop` is set."""
    if periodic.first > 0:
        await _wait(stop, periodic.first)
    while not stop.is_set():
        await periodic.run_once()
        await _wait(stop, periodic.interval)


def as_task(periodic: Periodic, stop: asyncio.Event) -> asyncio.Task[None]:
    return asyncio.create_task(run_until(periodic, stop), name=f"{TASK_PREFIX}{periodic.name}")


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
