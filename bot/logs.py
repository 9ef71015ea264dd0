"""Logging for every `blkbot` command: one handler, and what must never reach it kept out.

Residents' personal data and the bot's token stay out of the logs at every level. Where they
come from is stopped at the source: the loggers whose debug lines carry message texts are held
at INFO, and SQLAlchemy never logs parameters (storage/db.py). The handler's filter is the safety
net for what slips past (a library that lowers its own level, an exception quoting its input):
it drops those debug lines too and masks NIKs and tokens in every message and traceback.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TextIO

from bot.settings import Settings
from training.nik import RedactNiks

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

MESSAGE_TEXT_LOGGERS = ("telegram", "sqlalchemy.engine", "aiosqlite")
"""At DEBUG, python-telegram-bot logs each update whole and each Bot API call's parameters and
answer (what residents type, what the bot sends); SQLAlchemy logs result rows; aiosqlite logs each
statement with its parameters (SQLAlchemy's hide_parameters does not reach it)."""

QUIET_LOGGERS = {
    "alembic": logging.WARNING,
    "apscheduler": logging.WARNING,  # not a line a minute for the reminders tick
    "httpx": logging.WARNING,  # not a line per Bot API call (each with the token in its URL)
}

TOKEN_SHAPE = re.compile(r"\d+(?::|%3A)[A-Za-z0-9_-]{30,}")
"""A Telegram bot token as BotFather issues it, also URL-encoded."""


class PrivateLogs(RedactNiks):
    """Masks NIKs and tokens everywhere in a record; drops debug lines that carry message texts
    unless BLKBOT_LOG_MESSAGE_TEXTS allows them."""

    def __init__(self, token: str | None = None, *, message_texts: bool = False) -> None:
        super().__init__()
        self.token = token
        self.message_texts = message_texts

    def redact(self, text: str) -> str:
        if self.token:
            text = text.replace(self.token, "<token>")
        return TOKEN_SHAPE.sub("<token>", super().redact(text))

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.message_texts and record.levelno < logging.INFO and _carries_texts(record.name):
            return False
        return super().filter(record)


def _carries_texts(name: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in MESSAGE_TEXT_LOGGERS)


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """blkbot's handler: writes to the stream given, else to whatever sys.stderr is at the time
    (as logging's last resort does), and is replaced, not doubled, when logging is set up again."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream)
        self._given = stream

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return self._given or sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        self._given = value if value is not sys.stderr else None


def configure_logging(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """Send every logger's lines through one filtered handler on `stream` (stderr); returns it."""
    level = logging.getLevelName(settings.log_level.upper())
    level = level if isinstance(level, int) else logging.INFO
    token = settings.telegram_token.get_secret_value() if settings.telegram_token else None
    handler = _Handler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(PrivateLogs(token, message_texts=settings.log_message_texts))
    root = logging.getLogger()
    for earlier in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(earlier)
    root.addHandler(handler)
    root.setLevel(level)
    for name, quiet in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(quiet)
    for name in MESSAGE_TEXT_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if settings.log_message_texts else max(level, logging.INFO))
    return handler
