"""Both chat platforms at once, on one database: the Telegram bot (real PTB against the fake Bot API)
and the WhatsApp webhook (against the fake Cloud API), each driven the way its residents use it."""

from __future__ import annotations

from tests.e2e.conftest import bot, server
from tests.whatsapp.conftest import whatsapp

__all__ = ["bot", "server", "whatsapp"]
