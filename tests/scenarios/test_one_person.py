"""One person on Telegram and WhatsApp: linked by a number both platforms vouch for, never by a typed one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from messages.render import Templates
from outreach.results import change_stage
from storage.db import Database
from storage.models import Application, Contact, OutboxMessage, Stage
from tests.conftest import Clock
from tests.e2e.conftest import Resident
from tests.fakes.telegram_server import FakeTelegramServer
from tests.scenarios.drivers import (
    REGISTRATION,
    SITI_PHONE,
    OnTelegram,
    OnWhatsApp,
    Press,
    ShareOwnPhone,
    Type,
    play,
    replaced,
)
from tests.whatsapp.conftest import Phone, WhatsApp


@pytest.fixture
def on_telegram(server: FakeTelegramServer, bot: object) -> OnTelegram:
    return OnTelegram(Resident(server, 7001))


@pytest.fixture
def on_whatsapp(whatsapp: WhatsApp) -> OnWhatsApp:
    return OnWhatsApp(Phone(whatsapp, SITI_PHONE))


async def push_result(db: Database, templates: Templates, clock: Clock, stage: Stage) -> OutboxMessage:
    """Staff move Siti's application on; returns the message queued for her."""
    async with db.transaction() as session:
        application = await session.scalar(select(Application))
        assert application is not None
        await change_stage(session, templates, [application], stage, clock())
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key.endswith(stage.value)))
        assert row is not None
        return row


async def test_own_number_on_both_links_status_pushes_and_erasure(
    on_telegram: OnTelegram, on_whatsapp: OnWhatsApp, db: Database, templates: Templates, clock: Clock
) -> None:
    await play(on_telegram, REGISTRATION)  # she shares her own contact on Telegram
    clock.now += timedelta(minutes=5)

    assert "BOGA1-2027-0001" in await on_whatsapp.type("/status")  # WhatsApp knows her by her wa_id

    pushed = await push_result(db, templates, clock, Stage.ADMIN_PASSED)
    assert (pushed.channel, pushed.chat_id) == ("whatsapp", SITI_PHONE)  # the chat she used last

    clock.now += timedelta(minutes=5)
    await on_telegram.type("/status")
    pushed = await push_result(db, templates, clock, Stage.SELECTED)
    assert (pushed.channel, pushed.chat_id) == ("telegram", "7001")
    async with db.transaction() as session:
        assert len(list(await session.scalars(select(OutboxMessage)))) == 2  # once each, not once per chat

    clock.now += timedelta(minutes=5)
    await on_whatsapp.type("/hapusdata")
    assert "dihapus" in await on_whatsapp.press("Ya, hapus data saya")

    async with db.transaction() as session:
        application = await session.scalar(select(Application))
        chats = list(await session.scalars(select(Contact).order_by(Contact.id)))
    assert application is not None and application.anonymised_at is not None and application.nik is None
    assert [(c.channel, c.erased_at is not None, c.verified_phone) for c in chats] == [
        ("telegram", True, None),
        ("whatsapp", True, None),
    ]
    assert "BOGA1-2027-0001" not in await on_telegram.type("/status")


async def test_a_typed_number_equal_to_a_whatsapp_number_links_nothing(
    on_telegram: OnTelegram, on_whatsapp: OnWhatsApp, db: Database
) -> None:
    await play(on_telegram, replaced(REGISTRATION, ShareOwnPhone(), Type("0812 3456 7890")))

    assert "BOGA1-2027-0001" not in await on_whatsapp.type("/status")
    async with db.transaction() as session:
        application = await session.scalar(select(Application))
        telegram = await session.scalar(select(Contact).where(Contact.channel == "telegram"))
    assert application is not None and application.phone == "+6281234567890"  # the typed number is kept ...
    assert telegram is not None and telegram.verified_phone is None  # ... but vouches for nobody


async def test_someone_elses_shared_contact_links_nothing(
    on_telegram: OnTelegram, on_whatsapp: OnWhatsApp, db: Database
) -> None:
    before_phone = REGISTRATION[: REGISTRATION.index(ShareOwnPhone())]
    await play(on_telegram, before_phone)
    said = await on_telegram.share_someone_elses(SITI_PHONE)
    assert "Periksa data Anda" in said
    await play(on_telegram, [Press("Kirim pendaftaran")])

    assert "BOGA1-2027-0001" not in await on_whatsapp.type("/status")
    async with db.transaction() as session:
        telegram = await session.scalar(select(Contact).where(Contact.channel == "telegram"))
    assert telegram is not None and telegram.verified_phone is None
