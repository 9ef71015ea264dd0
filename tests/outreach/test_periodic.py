"""The periodic jobs of `blkbot run`: one list, run on PTB's JobQueue or as asyncio tasks."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from telegram.ext import Application as PtbApplication

from bot.periodic import Periodic, on_job_queue, run_until
from bot.scheduler import periodic_jobs
from messages.render import Templates
from storage.db import Database
from tests.whatsapp.test_run import JOBS


async def test_the_job_queue_gets_every_job_of_the_list(db: Database, templates: Templates) -> None:
    app = PtbApplication.builder().token("123456789:TEST-fake-token").build()
    assert app.job_queue is not None
    for job in periodic_jobs(db, templates, [], timedelta(days=30)):
        on_job_queue(app.job_queue, job)
    assert sorted(job.name for job in app.job_queue.jobs()) == sorted(JOBS)


async def test_a_failing_run_is_logged_and_the_task_goes_on() -> None:
    runs: list[int] = []
    stop = asyncio.Event()

    async def flaky() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("database away")
        stop.set()

    await asyncio.wait_for(run_until(Periodic("flaky", interval=0, first=0, job=flaky), stop), 10)
    assert runs == [0, 1]
