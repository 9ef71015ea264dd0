"""Pushed messages out through the Telegram Bot API, with Telegram's errors mapped onto
outreach.errors so the delivery loop can decide without knowing Telegram."""

from __future__ import annotations

from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from handlers.telegram import retry_after_seconds
from messages.markup import TELEGRAM_LIMIT, html_to_plain, split_message, utf16_len
from outreach.errors import MarkupRejected, RateLimited, Rejected, TransientSendError, Unreachable
from storage.models import OutboxMessage


class TelegramSender:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, message: OutboxMessage, *, plain: bool = False) -> None:
        """Send the message (in parts when over Telegram's 4,096 characters, buttons on the last)."""
        fits = utf16_len(message.text) <= TELEGRAM_LIMIT  # the visible text is never longer than its HTML
        parts = [message.text] if fits else (split_message(message.text) or [message.text])
        try:
            for index, part in enumerate(parts):
                markup = keyboard(message.buttons) if index == len(parts) - 1 else None
                if plain:
                    await self.bot.send_message(int(message.chat_id), html_to_plain(part), reply_markup=markup)
                else:
                    await self.bot.send_message(
                        int(message.chat_id), part, parse_mode=ParseMode.HTML, reply_markup=markup
                    )
        except RetryAfter as limited:
            raise RateLimited(retry_after_seconds(limited)) from None
        except Forbidden as forbidden:
            raise Unreachable(str(forbidden)) from None
        except BadRequest as bad:
            text = str(bad).lower()
            if "parse entities" in text:
                raise MarkupRejected(str(bad)) from None
            if "chat not found" in text or "user is deactivated" in text:
                raise Unreachable(str(bad)) from None
            raise Rejected(str(bad)) from None
        except (TimedOut, NetworkError) as transient:
            raise TransientSendError(str(transient) or type(transient).__name__) from None
        except TelegramError as other:
            raise TransientSendError(str(other)) from None


def keyboard(rows: list[list[dict[str, Any]]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(b["label"], url=b["url"])
                if "url" in b
                else InlineKeyboardButton(b["label"], callback_data=b["data"])
                for b in row
            ]
            for row in rows
        ]
    )
