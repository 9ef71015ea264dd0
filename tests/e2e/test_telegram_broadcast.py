"""Staff broadcast from Telegram: /siaran -> text -> who -> preview with count -> send -> a progress
message that fills in as the delivery loop works. Residents cannot reach it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from telegram.ext import Application

from bot.progress import ProgressBoard
from conversations.context import Services
from conversations.runner import Conversations
from handlers.telegram import build_application
from handlers.telegram_sender import TelegramSender
from outreach.budget import SendBudget
from outreach.delivery import DeliveryLoop, DeliverySettings
from storage.db import Database
from storage.models import Broadcast
from storage.repositories import contacts
from tests.conftest import Clock
from tests.e2e.conftest import Resident
from tests.fakes.telegram_server import FakeTelegramServer

STAFF = 4242


@pytest.fixture
async def staffed_bot(
    db: Database,
    templates,
    clock: Clock,
    server: FakeTelegramServer,  # type: ignore[no-untyped-def]
) -> AsyncIterator[tuple[Application, ProgressBoard]]:
    services = Services(
        templates=templates, clock=clock, staff={("telegram", str(STAFF)): "admin"}
    )  # only an admin may reach everyone
    board = ProgressBoard(db, templates, interval=0)
    app = build_application(Conversations(db, services), server.token, server.base_url, on_tracked=board.track)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0)
    yield app, board
    await app.updater.stop()
    await app.stop()
    await app.shutdown()


async def subscribers(db: Database, *chats: int) -> None:
    async with db.transaction() as session:
        for chat in chats:
            contact = await contacts.get_or_create(session, "telegram", str(chat), language="id")
            await contacts.set_subscribed(session, contact, True)


async def test_staff_compose_preview_send_and_watch_progress(
    db: Database, server: FakeTelegramServer, staffed_bot: tuple[Application, ProgressBoard]
) -> None:
    app, board = staffed_bot
    await subscribers(db, 501, 502, 503)
    staff = Resident(server, STAFF)

    await server.send_text(STAFF, "/siaran")
    ask = await server.wait_for_message(STAFF)  # a question to type into: no buttons yet
    assert "Siaran baru" in ask.plain_text
    await staff.type("Pendaftaran gelombang 2 dibuka <besok> & gratis!")
    await staff.press("Semua pelanggan")
    confirm = staff.last
    assert "3 penerima" in confirm.plain_text
    assert "Pendaftaran gelombang 2 dibuka <besok> & gratis!" in confirm.plain_text
    send = next(b["callback_data"] for b in confirm.inline_buttons if b["text"] == "📢 Kirim siaran")
    await server.press_button(STAFF, confirm.message_id, send)
    progress = await server.wait_for_message(STAFF, predicate=lambda m: "Siaran #" in m.plain_text)
    assert "Siaran #1" in progress.plain_text and "Terkirim 0 dari 3" in progress.plain_text

    loop = DeliveryLoop(
        db, {"telegram": TelegramSender(app.bot)}, SendBudget(rate=1000), DeliverySettings(flush_interval=0)
    )
    assert (await loop.drain()).sent == 3
    await board.refresh(app.bot)

    edited = server.get_message(STAFF, progress.message_id)
    assert edited is not None and edited.edited
    assert "Siaran #1 selesai" in edited.plain_text and "Terkirim 3 dari 3" in edited.plain_text
    assert board.tracked == []  # done: no more edits
    for chat in (501, 502, 503):
        [received] = server.messages(chat)
        assert "Pendaftaran gelombang 2 dibuka <besok> & gratis!" in received.plain_text
    async with db.transaction() as session:
        [stored] = list(await session.scalars(select(Broadcast)))
    assert (stored.recipients, stored.created_by) == (3, f"telegram:{STAFF}")


async def test_a_resident_cannot_broadcast_and_the_attempt_is_logged(
    db: Database,
    server: FakeTelegramServer,
    staffed_bot: tuple[Application, ProgressBoard],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="conversations.engine")
    await server.send_text(777, "/siaran")

    answer = await server.wait_for_message(777)
    assert "perintah /siaran tidak dikenal" in answer.plain_text
    assert "tried the staff command /siaran" in caplog.text
    async with db.transaction() as session:
        assert list(await session.scalars(select(Broadcast))) == []
