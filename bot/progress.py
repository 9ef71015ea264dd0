"""Messages kept up to date in place: a staff member's broadcast progress fills in as it goes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError

from messages.render import Templates
from outreach import broadcasts
from storage.db import Database

log = logging.getLogger(__name__)


@dataclass
class _Tracked:
    chat_id: int
    message_id: int
    broadcast_id: int
    shown: str = ""


@dataclass
class ProgressBoard:
    db: Database
    templates: Templates
    language: str = "id"
    interval: float = 3.0
    tracked: list[_Tracked] = field(default_factory=list)

    def track(self, chat_id: int, message_id: int, what: str) -> None:
        kind, _, ident = what.partition(":")
        if kind == "broadcast" and ident.isdigit():
            self.tracked.append(_Tracked(chat_id, message_id, int(ident)))

    async def refresh(self, bot: Bot) -> None:
        """Edit each tracked message whose figures changed; forget those that are done."""
        still: list[_Tracked] = []
        for item in self.tracked:
            async with self.db.transaction() as session:
                progress = await broadcasts.progress(session, item.broadcast_id)
            text = self.templates.render(self.language, "broadcasts/progress", id=item.broadcast_id, progress=progress)
            if text != item.shown:
                with contextlib.suppress(TelegramError):  # too old to edit, or deleted: nothing to do
                    await bot.edit_message_text(text, item.chat_id, item.message_id, parse_mode=ParseMode.HTML)
                item.shown = text
            if not progress.done:
                still.append(item)
        self.tracked = still

    async def run(self, bot: Bot, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.refresh(bot)
            except Exception:
                log.exception("progress refresh failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)
