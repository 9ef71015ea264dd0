"""Wiring: from settings to a ready database and conversation runner."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.settings import Settings
from conversations.context import Services
from conversations.runner import Conversations
from messages.render import Templates
from storage.db import Database
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

    async def close(self) -> None:
        await self.db.dispose()


async def prepare_database(settings: Settings) -> Database:
    """Create the schema on an empty database and load the configured catalog if none is loaded.

    A database at an older revision is refused rather than upgraded behind the staff's back,
    since several workers may share it: `blkbot db upgrade` is the one place that migrates it.
    """
    db = Database(settings.database_url)
    revision = await current_revision(db.engine)
    if revision is None:
        log.info("empty database: creating the schema")
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


async def build_runtime(settings: Settings) -> Runtime:
    db = await prepare_database(settings)
    services = Services(templates=Templates(), timezone=ZoneInfo(settings.timezone), staff=settings.staff_roles())
    return Runtime(settings, db, Conversations(db, services, default_language=settings.language))
