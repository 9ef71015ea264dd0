"""Wiring: from settings to a ready database and conversation runner."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.settings import Settings
from conversations.context import Services
from conversations.runner import Conversations
from handlers.telegram_sender import TelegramSender
from messages.render import Templates
from outreach.budget import SendBudget
from outreach.budget_shares import BudgetShares
from outreach.delivery import DeliveryLoop
from storage.db import Database, database_label
from storage.errors import BlkbotError
from storage.migrate import current_revision, head_revision, upgrade
from storage.repositories import catalog as catalog_repo
from training.catalog_store import load_catalog_file

log = logging.getLogger(__name__)


class SchemaBehind(BlkbotError):
    """The database was made by an older blkbot; `blkbot db upgrade` brings it up to date."""


@dataclass
class Runtime:
    settings: Settings
    db: Database
    conversations: Conversations
    budget: SendBudget

    async def close(self) -> None:
        await self.db.dispose()


def now_utc() -> datetime:
    return datetime.now(UTC)


def send_budget(settings: Settings) -> SendBudget:
    """The platform's rate, split between replies and pushed messages; `budget_shares` sizes it to
    this process's part when others send for the same bot."""
    return SendBudget(
        rate=settings.telegram_rate,
        bulk_share=settings.bulk_share,
        per_chat_interval=settings.per_chat_interval,
    )


def budget_shares(settings: Settings, db: Database, budget: SendBudget, role: str) -> BudgetShares:
    """This process as a member of the bot's budget: it holds `budget` until its share is known.
    The bot serves conversations, so it keeps the replies' part of the rate."""
    return BudgetShares(
        db,
        budget,
        name=f"{socket.gethostname()}:{role}:{os.getpid()}",
        role=role,
        answers=role == "bot",
        rate=settings.telegram_rate,
        bulk_share=settings.bulk_share,
    )


def telegram_bot(settings: Settings) -> Bot:
    if settings.telegram_token is None:
        raise BlkbotError("BLKBOT_TELEGRAM_TOKEN is not set (see README: creating a Telegram bot)")
    base = settings.telegram_base_url
    kwargs = {"base_url": base, "base_file_url": base.replace("/bot", "/file/bot")} if base else {}
    return Bot(settings.telegram_token.get_secret_value(), request=HTTPXRequest(connection_pool_size=64), **kwargs)


STABLE_ROLES = ("bot", "deliver")
"""`blkbot run` and `blkbot deliver` are restarted as such; `broadcast --deliver` runs once."""


def worker_name(settings: Settings, role: str) -> str:
    """Who holds a claim in the outbox. With one process per role (BLKBOT_WORKERS=1) the name
    survives a restart, so a restarted bot takes back at once what it had claimed before a crash;
    any other process's claims wait for their lease, as that process may still be sending them."""
    host = socket.gethostname()
    return f"{host}:{role}" if settings.workers == 1 and role in STABLE_ROLES else f"{host}:{role}:{os.getpid()}"


def make_delivery_loop(settings: Settings, db: Database, budget: SendBudget, bot: Bot, role: str) -> DeliveryLoop:
    return DeliveryLoop(db, {"telegram": TelegramSender(bot)}, budget, worker=worker_name(settings, role))


async def delivery_loop(settings: Settings, role: str) -> tuple[DeliveryLoop, Callable[[], Awaitable[None]]]:
    """A delivery loop of its own (for `blkbot deliver` and `broadcast --deliver`), and how to close it."""
    db = await prepare_database(settings)
    bot = telegram_bot(settings)
    await bot.initialize()
    budget = send_budget(settings)
    stop = asyncio.Event()
    beating = asyncio.create_task(budget_shares(settings, db, budget, role).run(stop))
    loop = make_delivery_loop(settings, db, budget, bot, role)
    await loop.start_up()

    async def close() -> None:
        stop.set()
        await beating
        await bot.shutdown()
        await db.dispose()

    return loop, close


async def prepare_database(settings: Settings) -> Database:
    """Create the schema on an empty database and load the configured catalog if none is loaded.

    A database at an older revision is refused rather than upgraded behind the staff's back,
    since several workers may share it: `blkbot db upgrade` is the one place that migrates it.
    """
    db = Database(settings.database_url)
    revision = await current_revision(db.engine)
    if revision is None:
        # Said at WARNING: a staff command pointed at the wrong place must not quietly answer "0".
        log.warning("the database %s was empty: created a new one", database_label(settings.database_url))
        await upgrade(db.engine)
    elif revision != head_revision():
        await db.dispose()
        raise SchemaBehind(
            f"the database is at revision {revision}, this blkbot needs {head_revision()}: run `blkbot db upgrade`"
        )
    async with db.transaction() as session:
        if await catalog_repo.info(session) is None:
            log.info("no catalog yet: loading %s", settings.catalog)
            await load_catalog_file(session, settings.catalog)
    return db


async def office_timezone(settings: Settings, db: Database) -> ZoneInfo:
    """BLKBOT_TIMEZONE when set; otherwise the catalog city's, so a WITA city needs no setting."""
    async with db.transaction() as session:
        return await office_zone(settings, session)


async def office_zone(settings: Settings, session: AsyncSession) -> ZoneInfo:
    """office_timezone inside a transaction the caller already holds (a staff command's)."""
    if "timezone" in settings.model_fields_set:
        return ZoneInfo(settings.timezone)
    info = await catalog_repo.info(session)
    return ZoneInfo(info.timezone if info else settings.timezone)


async def build_runtime(settings: Settings) -> Runtime:
    db = await prepare_database(settings)
    timezone = await office_timezone(settings, db)
    services = Services(templates=Templates(), timezone=timezone, staff=settings.staff_roles())
    return Runtime(settings, db, Conversations(db, services, default_language=settings.language), send_budget(settings))
