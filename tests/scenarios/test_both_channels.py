"""One registration scenario, played on Telegram and on WhatsApp: the same conversation, whatever the platform."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import Application, Contact
from tests.e2e.conftest import Resident
from tests.scenarios.drivers import REGISTRATION, Driver, OnTelegram, OnWhatsApp, play
from tests.whatsapp.conftest import Phone


@pytest.fixture(params=["telegram", "whatsapp"])
def siti(request: pytest.FixtureRequest) -> Driver:
    if request.param == "telegram":
        request.getfixturevalue("bot")
        return OnTelegram(Resident(request.getfixturevalue("server"), 7001))
    return OnWhatsApp(Phone(request.getfixturevalue("whatsapp")))


async def test_a_whole_registration_reads_the_same_on_both_platforms(siti: Driver, db: Database) -> None:
    said = await play(siti, REGISTRATION)

    assert "Nomor pendaftaran Anda: BOGA1-2027-0001" in said
    async with db.transaction() as session:
        application = await session.scalar(select(Application))
        assert application is not None
        contact = await session.get(Contact, application.contact_id)
    assert contact is not None
    assert (application.number, application.full_name, application.phone) == (
        "BOGA1-2027-0001",
        "Siti Nur Aini",
        "+6281234567890",
    )
    assert (contact.channel, contact.chat_id) == (siti.channel, siti.chat_id)
    assert contact.verified_phone == "+6281234567890"  # her own number, vouched for by the platform
