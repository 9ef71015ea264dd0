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
from handlers.whatsapp.channel import WhatsAppChannel
from handlers.whatsapp.graph import GraphApi
from handlers.whatsapp.sender import WhatsAppSender
from messages.render import Templates
from outreach.budget import SendBudget
from outreach.budget_shares import BudgetShares
from outreach.delivery import DeliveryLoop, Sender
from storage.db import Database, database_label
from storage.errors import BlkbotError
from storage.files import LocalFolderStore
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


def budget_shares(
    settings: Settings, db: Database, budget: SendBudget, role: str, channel: str = "telegram"
) -> BudgetShares:
    """This process as a member of the channel's budget (the Telegram bot's, or the WhatsApp
    number's): it holds `budget` until its share is known. The bot serves conversations, so it
    keeps the replies' part of the rate."""
    suffix = "" if channel == "telegram" else f":{channel}"
    return BudgetShares(
        db,
        budget,
        name=f"{socket.gethostname()}:{role}:{os.getpid()}{suffix}",
        role=role,
        answers=role == "bot",
        rate=settings.whatsapp_rate if channel == "whatsapp" else settings.telegram_rate,
        bulk_share=settings.bulk_share,
        channel=channel,
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


@dataclass
class WhatsAppParts:
    """What WhatsApp brings to a process: the Graph API client, the number's budget (replies first)
    with its share of the number's rate among the processes sending for it (`shares.run` keeps it),
    and the outbox's sender; `channel` (the webhook and its worker) only where conversations are served."""

    graph: GraphApi
    budget: SendBudget
    sender: WhatsAppSender
    shares: BudgetShares


def whatsapp_parts(settings: Settings, db: Database, templates: Templates, role: str = "bot") -> WhatsAppParts:
    assert settings.whatsapp_token is not None and settings.whatsapp_phone_number_id
    graph = GraphApi(
        settings.whatsapp_base_url, settings.whatsapp_phone_number_id, settings.whatsapp_token.get_secret_value()
    )
    budget = SendBudget(
        rate=settings.whatsapp_rate,
        bulk_share=settings.bulk_share,
        per_chat_interval=settings.whatsapp_per_chat_interval,
    )
    sender = WhatsAppSender(db, graph, templates, settings.whatsapp_templates(), default_language=settings.language)
    return WhatsAppParts(graph, budget, sender, budget_shares(settings, db, budget, role, "whatsapp"))


def whatsapp_channel(
    settings: Settings, runtime: Runtime, whatsapp: WhatsAppParts, secrets: tuple[str, str]
) -> WhatsAppChannel:
    """The webhook and its worker, answering on the number's budget before any push."""
    app_secret, verify_token = secrets
    return WhatsAppChannel(
        runtime.conversations,
        whatsapp.graph,
        app_secret=app_secret,
        verify_token=verify_token,
        worker=f"{worker_name(settings, 'bot')}:whatsapp",
        budget=whatsapp.budget,
    )


def make_delivery_loop(
    settings: Settings,
    db: Database,
    budget: SendBudget,
    role: str,
    *,
    bot: Bot | None = None,
    whatsapp: WhatsAppParts | None = None,
) -> DeliveryLoop:
    """One loop for every configured channel, each with its own sender; WhatsApp with its own budget."""
    senders: dict[str, Sender] = {}
    budgets: dict[str, SendBudget] = {}
    if bot is not None:
        senders["telegram"] = TelegramSender(bot)
    if whatsapp is not None:
        senders["whatsapp"], budgets["whatsapp"] = whatsapp.sender, whatsapp.budget
    return DeliveryLoop(db, senders, budget, worker=worker_name(settings, role), budgets=budgets)


async def delivery_loop(settings: Settings, role: str) -> tuple[DeliveryLoop, Callable[[], Awaitable[None]]]:
    """A delivery loop of its own (for `blkbot deliver` and `broadcast --deliver`), and how to close it."""
    if settings.telegram_token is None and not settings.whatsapp_on:
        raise BlkbotError(NO_CHANNEL)
    db = await prepare_database(settings)
    bot = telegram_bot(settings) if settings.telegram_token is not None else None
    if bot is not None:
        await bot.initialize()
    whatsapp = whatsapp_parts(settings, db, Templates(), role) if settings.whatsapp_on else None
    if whatsapp is not None:
        await whatsapp.sender.start_up()
    budget = send_budget(settings)
    stop = asyncio.Event()
    shares = [budget_shares(settings, db, budget, role)] if bot is not None else []
    shares += [whatsapp.shares] if whatsapp is not None else []
    beating = asyncio.gather(*(member.run(stop) for member in shares))
    loop = make_delivery_loop(settings, db, budget, role, bot=bot, whatsapp=whatsapp)
    await loop.start_up()

    async def close() -> None:
        stop.set()
        await beating
        if bot is not None:
            await bot.shutdown()
        if whatsapp is not None:
            await whatsapp.graph.aclose()
        await db.dispose()

    return loop, close


NO_CHANNEL = (
    "neither Telegram (BLKBOT_TELEGRAM_TOKEN) nor WhatsApp (BLKBOT_WHATSAPP_TOKEN and BLKBOT_WHATSAPP_PHONE_NUMBER_ID) "
    "is configured (see README: creating a Telegram bot, and WhatsApp)"
)


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


def file_store(settings: Settings) -> LocalFolderStore:
    """The documents' store: the folder BLKBOT_FILES_DIR names."""
    return LocalFolderStore(settings.files_dir)


async def build_runtime(settings: Settings) -> Runtime:
    db = await prepare_database(settings)
    timezone = await office_timezone(settings, db)
    services = Services(
        templates=Templates(), timezone=timezone, staff=settings.staff_roles(), files=file_store(settings)
    )
    return Runtime(settings, db, Conversations(db, services, default_language=settings.language), send_budget(settings))
