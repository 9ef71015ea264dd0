"""What each `blkbot` subcommand does, given the settings and its arguments."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot
from telegram.ext import Application

from bot.progress import ProgressBoard
from bot.runtime import budget_shares, build_runtime, make_delivery_loop, now_utc, prepare_database
from bot.settings import Settings
from handlers.console import Console
from outreach.delivery import DeliveryLoop
from storage.db import Database, database_label
from storage.errors import BlkbotError
from storage.migrate import current_revision, head_revision, upgrade
from training.catalog_file import parse_catalog
from training.catalog_store import store_catalog
from training.participants import import_csv
from training.reports import export_applications, funnel, render_stats


async def start(settings: Settings, args: argparse.Namespace) -> int:
    if settings.telegram_token is None:
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


async def run(settings: Settings, args: argparse.Namespace) -> int:
    if settings.telegram_token is None:
        print("blkbot: BLKBOT_TELEGRAM_TOKEN is not set (see README: creating a Telegram bot)", file=sys.stderr)
        return 2
    from bot.scheduler import reminder_offsets, schedule_expiry, schedule_reminders
    from handlers.telegram import run_telegram

    offsets = reminder_offsets()  # a bad BLKBOT_REMINDER_OFFSETS stops us here, not at the first tick
    if settings.telegram_webhook_url:
        settings.webhook_secret()  # webhook mode without a secret stops here, before the database is touched
    runtime = await build_runtime(settings)
    loops: list[DeliveryLoop] = []

    def setup(app: Application) -> None:
        """The delivery loop sends through the bot's own connection; APScheduler (PTB's JobQueue)
        ticks the reminders, which live in the database."""
        loops.append(make_delivery_loop(settings, runtime.db, runtime.budget, app.bot, "bot"))
        schedule_reminders(
            app.job_queue, runtime.db, runtime.conversations.services.templates, offsets, wake=loops[0].wake
        )
        schedule_expiry(app.job_queue, runtime.db, timedelta(days=settings.abandoned_after_days))

    async def deliver(_bot: Bot, stop: asyncio.Event) -> None:
        await loops[0].start_up()
        await loops[0].run(stop)

    shares = budget_shares(settings, runtime.db, runtime.budget, "bot")

    async def share_budget(_bot: Bot, stop: asyncio.Event) -> None:
        await shares.run(stop)

    board = ProgressBoard(runtime.db, runtime.conversations.services.templates, settings.language)
    try:
        await run_telegram(
            runtime.conversations,
            settings,
            runtime.budget,
            setup=[setup],
            background=[share_budget, deliver, board.run],
            on_tracked=board.track,
        )
    finally:
        await runtime.close()
    return 0


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
    catalog = parse_catalog(args.file)  # raises before the database is touched
    async with staff_transaction(settings) as session:
        await store_catalog(session, catalog, str(args.file), close=args.close)
    print(
        f"{args.file}: loaded {len(catalog.clusters)} clusters, {len(catalog.venues)} venues, "
        f"{len(catalog.programmes)} programmes, {len(catalog.districts)} districts"
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
    async with staff_transaction(settings) as session:
        imported = await import_csv(session, args.file, now_utc())
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
    async with staff_transaction(settings) as session:
        fmt = args.format or ("csv" if args.out.suffix.lower() == ".csv" else "xlsx")
        count = await export_applications(session, args.programme, fmt, args.out, codes=args.codes)
    print(f"{args.out}: {count} applications")
    return 0


async def stats(settings: Settings, args: argparse.Namespace) -> int:
    async with staff_transaction(settings) as session:
        print(render_stats(await funnel(session)))
    return 0
