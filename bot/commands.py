"""What each `blkbot` subcommand does, given the settings and its arguments."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot import event_loop
from bot.periodic import Periodic
from bot.progress import ProgressBoard
from bot.runtime import (
    NO_CHANNEL,
    Runtime,
    WhatsAppParts,
    budget_shares,
    build_runtime,
    make_delivery_loop,
    now_utc,
    prepare_database,
    whatsapp_channel,
    whatsapp_parts,
)
from bot.settings import Settings
from handlers.console import Console
from handlers.whatsapp.channel import WhatsAppChannel
from outreach.delivery import DeliveryLoop
from outreach.reminders import ReminderOffset
from storage.db import Database, database_label
from storage.errors import BlkbotError
from storage.migrate import current_revision, head_revision, upgrade
from training.catalog_file import parse_catalog
from training.catalog_store import store_catalog
from training.participants import import_csv
from training.reports import export_applications, funnel, render_stats

log = logging.getLogger(__name__)


async def start(settings: Settings, args: argparse.Namespace) -> int:
    if settings.telegram_token is None and not settings.whatsapp_on:
        print(
            "BLKBOT_TELEGRAM_TOKEN is not set: chatting in this terminal (Ctrl-D to leave); "
            f"kept in {database_label(settings.database_url)}",
            file=sys.stderr,
        )
        return await chat(settings, args)
    return await run(settings, args)


async def chat(settings: Settings, args: argparse.Namespace) -> int:
    runtime = await build_runtime(settings)
    try:
        await Console(runtime.conversations, chat_id=args.chat_id).run(sys.stdin, start=not args.no_start)
    finally:
        await runtime.close()
    return 0


async def run(settings: Settings, args: argparse.Namespace, stop: asyncio.Event | None = None) -> int:
    """Telegram, WhatsApp or both in one process: their webhooks on one HTTP app, the WhatsApp worker,
    one delivery loop with a sender per channel, and the reminder and expiry ticks; until SIGINT or
    SIGTERM, or until `stop` is set when one is given."""
    if settings.telegram_token is None and not settings.whatsapp_on:
        print(f"blkbot: {NO_CHANNEL}", file=sys.stderr)
        return 2
    from bot.scheduler import reminder_offsets

    offsets = reminder_offsets()  # a bad BLKBOT_REMINDER_OFFSETS stops us here, not at the first tick
    secrets = settings.whatsapp_webhook_secrets() if settings.whatsapp_on else None  # before the database
    if settings.telegram_token is not None and settings.telegram_webhook_url:
        settings.webhook_secret()  # webhook mode without a secret stops here, before the database is touched
    runtime = await build_runtime(settings)
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
    whatsapp = None
    try:
        if secrets is not None:
            whatsapp = whatsapp_parts(settings, runtime.db, runtime.conversations.services.templates)
            await whatsapp.sender.start_up()
        channel = whatsapp_channel(settings, runtime, whatsapp, secrets) if whatsapp and secrets else None
        event_loop.settle()
        if settings.telegram_token is not None:
            await _run_with_telegram(settings, runtime, offsets, stop, whatsapp, channel)
        else:
            await _run_without_telegram(settings, runtime, offsets, stop, whatsapp, channel)
    finally:
        if whatsapp is not None:
            await whatsapp.graph.aclose()
        await runtime.close()
    return 0


async def _run_with_telegram(
    settings: Settings,
    runtime: Runtime,
    offsets: list[ReminderOffset],
    stop: asyncio.Event,
    whatsapp: WhatsAppParts | None,
    channel: WhatsAppChannel | None,
) -> None:
    """PTB runs Telegram; the delivery loop sends through the bot's own connection; APScheduler (PTB's
    JobQueue) ticks the reminders, which live in the database. WhatsApp's webhook joins the HTTP app."""
    from telegram import Bot
    from telegram.ext import Application

    from bot.periodic import on_job_queue
    from handlers.telegram import run_telegram

    loops: list[DeliveryLoop] = []

    def setup(app: Application) -> None:
        loops.append(make_delivery_loop(settings, runtime.db, runtime.budget, "bot", bot=app.bot, whatsapp=whatsapp))
        for job in _periodic_jobs(settings, runtime, offsets, wake=loops[0].wake):
            on_job_queue(app.job_queue, job)

    async def deliver(_bot: Bot, stop: asyncio.Event) -> None:
        await loops[0].start_up()
        await loops[0].run(stop)

    shares = budget_shares(settings, runtime.db, runtime.budget, "bot")

    async def share_budget(_bot: Bot, stop: asyncio.Event) -> None:
        await shares.run(stop)

    async def answer_whatsapp(_bot: Bot, stop: asyncio.Event) -> None:
        if channel is not None:
            await channel.run(stop)

    async def share_whatsapp_budget(_bot: Bot, stop: asyncio.Event) -> None:
        if whatsapp is not None:
            await whatsapp.shares.run(stop)

    board = ProgressBoard(runtime.db, runtime.conversations.services.templates, settings.language)
    await run_telegram(
        runtime.conversations,
        settings,
        runtime.budget,
        setup=[setup],
        background=[share_budget, share_whatsapp_budget, deliver, board.run, answer_whatsapp],
        on_tracked=board.track,
        stop=stop,
        routes=channel.routes() if channel else (),
    )


async def _run_without_telegram(
    settings: Settings,
    runtime: Runtime,
    offsets: list[ReminderOffset],
    stop: asyncio.Event,
    whatsapp: WhatsAppParts | None,
    channel: WhatsAppChannel | None,
) -> None:
    """WhatsApp alone, with no PTB: the HTTP app, the worker, the delivery loop and the ticks as tasks."""
    from bot.periodic import as_task
    from handlers.http import build_app, listen, serve_in_background

    assert whatsapp is not None and channel is not None
    sock = listen(settings.webhook_listen, settings.webhook_port)
    log.info("WhatsApp webhook listening on %s:%s/whatsapp", settings.webhook_listen, settings.webhook_port)
    delivery = make_delivery_loop(settings, runtime.db, runtime.budget, "bot", whatsapp=whatsapp)
    await delivery.start_up()
    tasks = [
        serve_in_background(build_app(channel.routes()), sock, stop),
        asyncio.create_task(whatsapp.shares.run(stop)),
        asyncio.create_task(channel.run(stop)),
        asyncio.create_task(delivery.run(stop)),
        *(as_task(job, stop) for job in _periodic_jobs(settings, runtime, offsets, wake=delivery.wake)),
    ]
    await stop.wait()
    for outcome in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(outcome, Exception):
            log.error("stopped with an error", exc_info=outcome)


def _periodic_jobs(
    settings: Settings, runtime: Runtime, offsets: list[ReminderOffset], *, wake: Callable[[], None]
) -> list[Periodic]:
    """The same jobs for both paths of `blkbot run`: reminders, abandoned registrations, seat deadlines,
    the tracer study."""
    from bot.scheduler import periodic_jobs
    from training.outcomes import parse_months

    return periodic_jobs(
        runtime.db,
        runtime.conversations.services.templates,
        offsets,
        timedelta(days=settings.abandoned_after_days),
        tracer_months=parse_months(settings.tracer_months),
        tracer_reminder=timedelta(days=settings.tracer_reminder_days),
        wake=wake,
    )


async def db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    db = Database(settings.database_url)
    try:
        before = await current_revision(db.engine)
        await upgrade(db.engine)
        print(f"database upgraded: {before or 'empty'} -> {head_revision()}")
    finally:
        await db.dispose()
    return 0


async def catalog_check(settings: Settings, args: argparse.Namespace) -> int:
    catalog = parse_catalog(args.file)
    print(
        f"{args.file}: OK — {len(catalog.clusters)} clusters, {len(catalog.venues)} venues, "
        f"{len(catalog.programmes)} programmes, {len(catalog.districts)} districts"
    )
    return 0


CATALOG_TEMPLATE = Path(__file__).resolve().parent.parent / "training" / "demo" / "catalog-template.toml"


async def catalog_new(settings: Settings, args: argparse.Namespace) -> int:
    if args.file.exists():
        raise BlkbotError(f"{args.file} exists already; give a new file name")
    args.file.write_text(CATALOG_TEMPLATE.read_text(encoding="utf-8"), encoding="utf-8")
    print(
        f"{args.file}: written. Fill it in, then `blkbot catalog check {args.file}` and `blkbot catalog load {args.file}`."
    )
    return 0


async def catalog_load(settings: Settings, args: argparse.Namespace) -> int:
    """Replace the catalog, then tell those who asked ("Kabari saya") about programmes it opened."""
    from datetime import UTC, datetime

    from bot.runtime import office_zone
    from messages.render import Templates
    from outreach import openings

    catalog = parse_catalog(args.file)  # raises before the database is touched
    now = datetime.now(UTC)
    async with staff_transaction(settings) as session:
        today = now.astimezone(await office_zone(settings, session)).date()
        before = await openings.available(session, today)
        await store_catalog(session, catalog, str(args.file), close=args.close)
        told = await openings.announce(session, Templates(), before, today, now)
    print(
        f"{args.file}: loaded {len(catalog.clusters)} clusters, {len(catalog.venues)} venues, "
        f"{len(catalog.programmes)} programmes, {len(catalog.districts)} districts"
        + (f"; {told} message(s) queued to people waiting for a programme that opened" if told else "")
    )
    return 0


@asynccontextmanager
async def staff_transaction(settings: Settings) -> AsyncIterator[AsyncSession]:
    """One transaction on a ready database for a staff command; all of it or nothing."""
    db = await prepare_database(settings)
    try:
        async with db.transaction() as session:
            yield session
    finally:
        await db.dispose()


async def participants_import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli_outreach import acting

    async with staff_transaction(settings) as session:
        imported = await import_csv(session, await acting(session, settings, args), args.file, now_utc())
    print(
        f"{args.file}: {imported.total} past participants imported "
        f"({imported.new} new, {imported.updated} already listed and updated)"
    )
    if imported.flagged:
        print(
            f"{imported.flagged} applications in the running belong to people on this list; they are flagged "
            "for staff to check (see the export's notes column)"
        )
    return 0


async def applications_export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli_outreach import acting

    async with staff_transaction(settings) as session:
        fmt = args.format or ("csv" if args.out.suffix.lower() == ".csv" else "xlsx")
        actor = await acting(session, settings, args)
        count = await export_applications(session, args.programme, fmt, args.out, codes=args.codes, actor=actor)
    print(f"{args.out}: {count} applications")
    return 0


async def stats(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli_outreach import acting

    async with staff_transaction(settings) as session:
        print(render_stats(await funnel(session, await acting(session, settings, args), args.programme)))
    return 0
