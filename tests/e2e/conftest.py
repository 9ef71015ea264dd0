"""End-to-end fixtures: the real python-telegram-bot Application, with blkbot's handler, talking
HTTP to the fake Bot API server on 127.0.0.1. Nothing inside PTB is patched."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass

import pytest
from telegram.ext import Application

from conversations.runner import Conversations
from handlers.telegram import build_application
from tests.fakes.telegram_server import FakeTelegramServer, StoredMessage


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as fake:
        yield fake


async def start_bot(conversations: Conversations, server: FakeTelegramServer) -> Application:
    app = build_application(conversations, server.token, server.base_url)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0)
    return app


async def stop_bot(app: Application) -> None:
    assert app.updater is not None
    await app.updater.stop()
    await app.stop()
    await app.shutdown()


@pytest.fixture
async def bot(conversations: Conversations, server: FakeTelegramServer) -> AsyncIterator[Application]:
    app = await start_bot(conversations, server)
    yield app
    await stop_bot(app)


@dataclass
class Resident:
    """A person in a private chat with the bot: acts, then reads what the bot answered."""

    server: FakeTelegramServer
    chat_id: int

    async def _turn(self, action: Awaitable[object], keyboards: int = 1) -> list[StoredMessage]:
        """Every turn of the bot ends with a message carrying a keyboard (the next question's
        buttons, a back button, or the share-phone button): wait for it (for the `keyboards`-th
        such message when earlier ones carry buttons too), return the turn's messages."""
        before = {m.message_id for m in self.server.messages(self.chat_id)}
        await action
        await self.server.wait_until(
            lambda: len(self._new_keyboards(before)) >= keyboards, f"{keyboards} message(s) with a keyboard"
        )
        return [m for m in self.server.messages(self.chat_id) if m.message_id not in before]

    def _new_keyboards(self, before: set[int]) -> list[StoredMessage]:
        return [
            m for m in self.server.messages(self.chat_id) if m.reply_markup is not None and m.message_id not in before
        ]

    async def type(self, text: str) -> list[StoredMessage]:
        return await self._turn(self.server.send_text(self.chat_id, text))

    async def start(self) -> list[StoredMessage]:
        """/start: the welcome (with its button for announcements), then the first question."""
        return await self._turn(self.server.send_text(self.chat_id, "/start"), keyboards=2)

    async def edit(self, message: StoredMessage, text: str) -> list[StoredMessage]:
        """Edit an earlier message of the resident's; an edit is answered with one plain note."""
        before = {m.message_id for m in self.server.messages(self.chat_id)}
        await self.server.edit_text(self.chat_id, message.message_id, text)
        await self.server.wait_for_message(self.chat_id, predicate=lambda m: m.message_id not in before)
        return [m for m in self.server.messages(self.chat_id) if m.message_id not in before]

    async def share_phone(self, phone: str) -> list[StoredMessage]:
        return await self._turn(self.server.share_contact(self.chat_id, phone))

    async def press(self, label: str, message: StoredMessage | None = None) -> list[StoredMessage]:
        message = message or self.last
        for button in message.inline_buttons:
            if button["text"] == label:
                return await self.press_data(message, button["callback_data"], check=True)
        raise AssertionError(f"no button {label!r} on message {message.message_id}: {message.button_texts}")

    async def press_data(self, message: StoredMessage, data: str, *, check: bool = False) -> list[StoredMessage]:
        """Press a button (an old one too, without `check`). The bot answers a press with three calls
        at once: the turn is over when the reply came, the spinner was stopped and the pressed
        message was marked (or the bot tried: an old message may refuse the edit). A message whose
        keyboard is gone already is left alone: no edit could change it."""
        edits_before = self._edits_of(message.message_id)
        had_keyboard = message.inline_markup is not None
        query_ids: list[str] = []

        async def press() -> None:
            query_ids.append(await self.server.press_button(self.chat_id, message.message_id, data, check=check))

        seen = await self._turn(press())
        await self.server.wait_until(lambda: self._answered(query_ids[0]), "answer the press")
        if had_keyboard:
            await self.server.wait_until(lambda: self._edits_of(message.message_id) > edits_before, "mark the press")
        return seen

    def _answered(self, query_id: str) -> bool:
        return any(c.params.get("callback_query_id") == query_id for c in self.server.calls_to("answerCallbackQuery"))

    def _edits_of(self, message_id: int) -> int:
        return sum(
            1
            for method in ("editMessageText", "editMessageReplyMarkup")
            for call in self.server.calls_to(method, self.chat_id)
            if call.params.get("message_id") == message_id
        )

    @property
    def last(self) -> StoredMessage:
        return self.server.messages(self.chat_id)[-1]


@pytest.fixture
def resident(server: FakeTelegramServer, bot: Application) -> Resident:
    return Resident(server, 7001)
