"""The command menu Telegram shows beside the text box, as `blkbot run` sets it."""

from __future__ import annotations

import json

from telegram.ext import Application

from conversations.runner import Conversations
from handlers.telegram import set_commands
from tests.fakes.telegram_server import FakeTelegramServer

DEFAULT_SCOPE = json.dumps({"type": "default"}, sort_keys=True)


async def test_the_menu_shows_start_as_mulai_and_no_second_mulai(
    bot: Application, conversations: Conversations, server: FakeTelegramServer
) -> None:
    await set_commands(bot, conversations)

    indonesian = server.commands[(DEFAULT_SCOPE, "")]
    assert indonesian[0] == {"command": "start", "description": "🏠 Mulai dari awal"}
    assert {"command": "langganan", "description": "Terima pengumuman lagi"} in indonesian
    assert "mulai" not in [c["command"] for c in indonesian]
    assert not [c for c in indonesian if c["command"] != "start" and "mulai" in c["description"].casefold()]
    english = server.commands[(DEFAULT_SCOPE, "en")]
    assert english[0] == {"command": "start", "description": "🏠 Start again"}
